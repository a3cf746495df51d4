//! Sending replies to a real SMTP submission server (`tests/support/smtp_server.py`).

mod support;

use std::time::Duration;

use deskbridge_email::parse::MailAddress;
use deskbridge_email::smtp::{Reply, SendFailure, SmtpSender, SmtpSettings, build};
use deskbridge_email::tls::Security;
use deskbridge_email::{Limits, noise, parse};
use support::smtp::{SMTP_USER, SmtpServer};

fn settings(server: &SmtpServer, security: Security) -> SmtpSettings {
    server.smtp_settings(security)
}

fn reply(text: &str) -> Reply {
    Reply {
        from: MailAddress {
            name: Some("Acme Support".into()),
            address: "support@acme.test".into(),
        },
        to: MailAddress {
            name: Some("Ana Lima".into()),
            address: "ana@example.com".into(),
        },
        bcc: None,
        reply_to: Some("support+t-7@acme.test".into()),
        subject: "Where is my order?".into(),
        message_id: "deskbridge.evt_1.reply@acme.test".into(),
        in_reply_to: Some("q2@example.com".into()),
        references: vec!["q1@example.com".into(), "q2@example.com".into()],
        text: text.into(),
    }
}

#[tokio::test]
async fn a_reply_goes_out_over_starttls_with_its_threading_headers() {
    let server = SmtpServer::start(Duration::ZERO);
    let sender = SmtpSender::new(&settings(&server, Security::StartTls)).expect("sender");
    let message = build(&reply("Hello Ana,\n\nyour parcel left today.\n\nAcme")).expect("build");
    let answer = sender.send(&message).await.expect("sent");
    assert!(answer.contains("queued as Q1"), "{answer}");

    let received = server.wait_for(1, 10);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].envelope["rcpt_tos"][0], "ana@example.com");
    assert_eq!(received[0].envelope["login"], SMTP_USER);
    let raw = &received[0].raw;
    let mail = parse(raw, &Limits::default());
    assert_eq!(
        mail.message_id.as_deref(),
        Some("deskbridge.evt_1.reply@acme.test")
    );
    assert_eq!(mail.in_reply_to, vec!["q2@example.com"]);
    assert_eq!(mail.references, vec!["q1@example.com", "q2@example.com"]);
    assert_eq!(mail.subject, "Re: Where is my order?");
    assert_eq!(
        mail.from.as_ref().map(|f| f.address.as_str()),
        Some("support@acme.test")
    );
    assert_eq!(mail.text, "Hello Ana,\n\nyour parcel left today.\n\nAcme");
    assert!(
        !mail.text_from_html,
        "a text part, with an HTML one beside it"
    );
    let headers = String::from_utf8_lossy(raw);
    assert!(headers.contains("text/html"), "{headers}");
    assert!(
        headers.contains("Reply-To: \"Acme Support\" <support+t-7@acme.test>"),
        "{headers}"
    );
    assert!(
        !headers.to_ascii_lowercase().contains("auto-submitted"),
        "a person approved it"
    );
    // Coming back into the support mailbox, our own reply is noise, never drafted to.
    assert!(noise(&mail, &["support@acme.test".into()]).is_some());
}

#[tokio::test]
async fn implicit_tls_works_and_refusals_say_nothing_went_out() {
    let server = SmtpServer::start(Duration::ZERO);
    let tls = SmtpSender::new(&settings(&server, Security::Tls)).expect("sender");
    tls.send(&build(&reply("Over TLS.")).expect("build"))
        .await
        .expect("sent over implicit TLS");

    let mut wrong = settings(&server, Security::StartTls);
    wrong.password = Some("wrong".into());
    let refused = SmtpSender::new(&wrong)
        .expect("sender")
        .send(&build(&reply("x")).expect("build"))
        .await
        .expect_err("bad password");
    assert!(
        matches!(
            refused,
            SendFailure::NotSent {
                transient: false,
                ..
            }
        ),
        "{refused}"
    );

    let mut untrusted = settings(&server, Security::StartTls);
    untrusted.ca_file = None;
    let refused = SmtpSender::new(&untrusted)
        .expect("sender")
        .send(&build(&reply("x")).expect("build"))
        .await
        .expect_err("untrusted certificate");
    assert!(matches!(refused, SendFailure::NotSent { .. }), "{refused}");

    let mut closed = settings(&server, Security::StartTls);
    closed.port = support::free_port();
    let refused = SmtpSender::new(&closed)
        .expect("sender")
        .send(&build(&reply("x")).expect("build"))
        .await
        .expect_err("nobody listens");
    assert!(
        matches!(
            refused,
            SendFailure::NotSent {
                transient: true,
                ..
            }
        ),
        "{refused}"
    );
    assert_eq!(server.received().len(), 1, "only the TLS reply arrived");

    let mut remote = settings(&server, Security::Plain);
    remote.host = "smtp.example.com".into();
    assert!(SmtpSender::new(&remote).is_err(), "plain text off loopback");
}

#[tokio::test]
async fn a_timeout_after_the_data_may_have_sent_the_mail() {
    // The server keeps the message, then answers only after the client gave up.
    let server = SmtpServer::start(Duration::from_secs(4));
    let mut impatient = settings(&server, Security::StartTls);
    impatient.timeout = Duration::from_secs(1);
    let failure = SmtpSender::new(&impatient)
        .expect("sender")
        .send(&build(&reply("Slow server.")).expect("build"))
        .await
        .expect_err("timed out");
    assert!(
        matches!(failure, SendFailure::MaybeSent { .. }),
        "{failure}"
    );
    assert_eq!(
        server.wait_for(1, 5).len(),
        1,
        "and indeed the server has it"
    );
}
