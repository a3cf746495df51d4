//! The IMAP reader against a real Dovecot (`tests/support/dovecot.rs`).

mod support;

use std::time::Duration;

use deskbridge_email::imap::{ImapError, ImapReader, ImapSettings, Settle};
use deskbridge_email::tls::Security;
use deskbridge_email::{Limits, parse};
use support::dovecot::{Dovecot, USER};

fn mail(n: u32) -> Vec<u8> {
    format!(
        "From: Customer {n} <c{n}@example.com>\r\nTo: support@acme.test\r\nSubject: Question {n}\r\nMessage-ID: <q{n}@example.com>\r\n\r\nHello, question {n}.\r\n"
    )
    .into_bytes()
}

fn settings(dovecot: &Dovecot, settle: Settle) -> ImapSettings {
    dovecot.imap_settings(settle)
}

#[tokio::test]
async fn reads_after_the_last_uid_settles_with_a_flag_and_idles() {
    let dovecot = Dovecot::start();
    for n in 1..=3 {
        dovecot.deliver(&mail(n));
    }
    let settings = settings(&dovecot, Settle::Flag("$Deskbridge".into()));
    let (mut reader, state) = ImapReader::connect(&settings).await.expect("connect");
    assert_eq!(state.exists, 3);
    assert!(reader.supports_idle(), "Dovecot offers IDLE");

    let fetched = reader.fetch_after(0, 100).await.expect("fetch");
    assert_eq!(
        fetched.iter().map(|f| f.uid).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let first = parse(fetched[0].raw.as_deref().expect("raw"), &Limits::default());
    assert_eq!(first.message_id.as_deref(), Some("q1@example.com"));
    assert_eq!(first.text, "Hello, question 1.");
    // Reading changed nothing on the server: nothing is seen or settled yet.
    assert_eq!(
        reader.unsettled(None).await.expect("unsettled"),
        vec![1, 2, 3]
    );
    // By arrival day too: nothing here arrived after tomorrow began; all of it since yesterday.
    let day_ms = 86_400_000;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .expect("clock");
    assert!(
        reader
            .unsettled(Some(now_ms + day_ms))
            .await
            .expect("since tomorrow")
            .is_empty()
    );
    assert_eq!(
        reader
            .unsettled(Some(now_ms - day_ms))
            .await
            .expect("since yesterday"),
        vec![1, 2, 3]
    );

    reader.settle(1).await.expect("settle");
    reader.settle(2).await.expect("settle");
    assert_eq!(reader.unsettled(None).await.expect("unsettled"), vec![3]);
    let flags = dovecot.doveadm(&["fetch", "-u", USER, "uid flags", "mailbox", "INBOX"]);
    assert!(flags.contains("$Deskbridge"), "{flags}");
    // After a restart the caller passes the last durable UID.
    let rest = reader.fetch_after(2, 100).await.expect("fetch");
    assert_eq!(rest.iter().map(|f| f.uid).collect::<Vec<_>>(), vec![3]);
    assert!(
        reader.fetch_after(3, 100).await.expect("fetch").is_empty(),
        "UID 3:* matches 3 itself, filtered"
    );

    // IDLE wakes up for new mail, and times out without.
    let (reader, changed) = reader.wait(Duration::from_millis(300)).await.expect("idle");
    assert!(!changed, "no mail: a timeout");
    let delivering = {
        let port = dovecot.port;
        let deliver = move || {
            std::thread::sleep(Duration::from_millis(300));
            port
        };
        tokio::task::spawn_blocking(deliver)
    };
    let waiting = tokio::spawn(reader.wait(Duration::from_secs(20)));
    delivering.await.expect("delay");
    dovecot.deliver(&mail(4));
    let (mut reader, changed) = waiting.await.expect("join").expect("idle");
    assert!(changed, "the new mail ends the IDLE");
    let new = reader.fetch_after(3, 100).await.expect("fetch");
    assert_eq!(new.iter().map(|f| f.uid).collect::<Vec<_>>(), vec![4]);

    // Mail that arrives between commands is told with the next command's answer, and a server
    // need not tell it again in IDLE: the wait ends at once. (Dovecot does tell again — a
    // `RECENT` as IDLE starts — so against it this checks the outcome, not which path.)
    dovecot.deliver(&mail(5));
    let mut told = false;
    for _ in 0..50 {
        // Any command lets the server tell; stop once it did.
        if !reader.uids_after(4, 10).await.expect("search").is_empty() {
            told = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(told, "the fifth mail arrived");
    let (mut reader, changed) = reader.wait(Duration::ZERO).await.expect("idle");
    assert!(changed, "the EXISTS told during the search ends the wait");
    let new = reader.fetch_after(4, 100).await.expect("fetch");
    assert_eq!(new.iter().map(|f| f.uid).collect::<Vec<_>>(), vec![5]);
    reader.logout().await.expect("logout");
}

#[tokio::test]
async fn settling_can_move_the_message_and_bad_names_are_refused() {
    let dovecot = Dovecot::start();
    dovecot.doveadm(&["mailbox", "create", "-u", USER, "Processed"]);
    dovecot.deliver(&mail(1));
    dovecot.deliver(&mail(2));
    let settings = settings(&dovecot, Settle::Move("Processed".into()));
    let (mut reader, _) = ImapReader::connect(&settings).await.expect("connect");
    reader.settle(1).await.expect("move");
    assert_eq!(reader.unsettled(None).await.expect("unsettled"), vec![2]);
    let moved = dovecot.doveadm(&["search", "-u", USER, "mailbox", "Processed", "ALL"]);
    assert_eq!(moved.lines().count(), 1, "{moved}");

    let mut hostile = settings.clone();
    hostile.settle = Settle::Flag("\\Seen) (\\Deleted".into());
    assert!(ImapReader::connect(&hostile).await.is_err());
    hostile.settle = Settle::Move("Processed\"\r\nA1 DELETE INBOX".into());
    assert!(ImapReader::connect(&hostile).await.is_err());
    let mut wrong = settings.clone();
    wrong.password = "wrong".into();
    let refused = ImapReader::connect(&wrong).await.expect_err("refused");
    assert!(
        refused.to_string().contains("refused the login"),
        "{refused}"
    );
}

#[tokio::test]
async fn tls_and_starttls_verify_the_server_and_plain_text_stays_on_loopback() {
    let dovecot = Dovecot::start();
    dovecot.deliver(&mail(1));
    let base = settings(&dovecot, Settle::Flag("\\Seen".into()));
    // Implicit TLS to the IMAPS port, trusting the test CA.
    let tls = ImapSettings {
        host: "localhost".into(),
        port: dovecot.tls_port,
        security: Security::Tls,
        ca_file: Some(dovecot.ca_file()),
        ..base.clone()
    };
    let (mut reader, state) = ImapReader::connect(&tls).await.expect("imaps");
    assert_eq!(state.exists, 1);
    let fetched = reader.fetch_after(0, 10).await.expect("fetch over TLS");
    assert_eq!(fetched.len(), 1);
    reader.settle(1).await.expect("\\Seen");
    assert!(reader.unsettled(None).await.expect("unsettled").is_empty());
    // STARTTLS on the IMAP port.
    let starttls = ImapSettings {
        port: dovecot.port,
        security: Security::StartTls,
        ..tls.clone()
    };
    let (_, state) = ImapReader::connect(&starttls).await.expect("starttls");
    assert_eq!(state.exists, 1);
    // Without the CA the server's certificate is not trusted.
    let untrusted = ImapSettings {
        ca_file: None,
        ..tls.clone()
    };
    let refused = ImapReader::connect(&untrusted)
        .await
        .expect_err("untrusted");
    assert!(matches!(refused, ImapError::Tls(_)), "{refused}");
    // Plain text to a host that is not this machine is refused before connecting.
    let remote = ImapSettings {
        host: "mail.example.com".into(),
        security: Security::Plain,
        ..base.clone()
    };
    let refused = ImapReader::connect(&remote)
        .await
        .expect_err("plain text refused");
    assert!(
        matches!(refused, ImapError::PlaintextRefused(_)),
        "{refused}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_that_stops_answering_fails_the_step_instead_of_stalling() {
    // Accepts, then says nothing: not even the greeting. (Time is paused: the deadline passes
    // as soon as nothing else can happen.)
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let mute = std::thread::spawn(move || listener.accept().map(|(socket, _)| socket));
    let settings = ImapSettings {
        host: "127.0.0.1".into(),
        port,
        security: Security::Plain,
        ca_file: None,
        allow_plaintext: false,
        user: USER.into(),
        password: "unused".into(),
        mailbox: "INBOX".into(),
        settle: Settle::Flag("$Deskbridge".into()),
    };
    let failed = ImapReader::connect(&settings).await.expect_err("no answer");
    assert!(
        matches!(failed, ImapError::Timeout { seconds: 30, .. }),
        "{failed}"
    );
    drop(mute.join());
}
