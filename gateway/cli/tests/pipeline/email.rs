//! A support mailbox end to end through the real binary: a customer's mail delivered to a real
//! Dovecot → the gateway reads it over IMAP → a draft → an agent approves → the reply reaches a
//! real SMTP server with the right threading headers → the customer's answer lands on the same
//! ticket; an auto-reply and a bounce make no draft.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{GatewayFiles, Process, api_send, approve, http, open_drafts, wait_for};
use crate::mail_servers::dovecot::{Dovecot, PASSWORD, USER};
use crate::mail_servers::smtp::{SMTP_PASSWORD, SMTP_USER, SmtpServer};

fn config(dovecot: &Dovecot, smtp: &SmtpServer) -> String {
    format!(
        r#"[helpdesks.support]
kind = "email"
address = "support@acme.test"
display_name = "Acme Support"

[helpdesks.support.imap]
host = "127.0.0.1"
port = {imap_port}
security = "plain"
user = "{USER}"
password = "{PASSWORD}"
poll_interval_s = 2
# The tests deliver mail right after the start, maybe before the reader's first look.
read_existing_mail = true

[helpdesks.support.smtp]
host = "localhost"
port = {smtp_port}
security = "starttls"
user = "{SMTP_USER}"
password = "{SMTP_PASSWORD}"
ca_file = "{ca}"
timeout_s = 10
"#,
        imap_port = dovecot.port,
        smtp_port = smtp.port,
        ca = smtp.ca_file().display(),
    )
}

fn drafts_of(gateway: &Process, token: &str, ticket: &str) -> Vec<Value> {
    open_drafts(gateway, token, ticket)
}

/// How many messages of the mailbox carry the gateway's flag.
fn flagged(dovecot: &Dovecot) -> usize {
    dovecot.flagged("$Deskbridge")
}

#[test]
fn a_mail_is_drafted_approved_sent_with_threading_and_the_answer_threads() {
    let dovecot = Dovecot::start();
    let smtp = SmtpServer::start(Duration::ZERO);
    let files = GatewayFiles::new(&config(&dovecot, &smtp));
    let agent = files.token("Ann Agent", "agent");
    let gateway = files.start();

    dovecot.deliver(
        b"From: Ana Lima <ana@example.com>\r\nTo: support@acme.test\r\nSubject: Opening hours\r\nMessage-ID: <q1@example.com>\r\n\r\nAre you open on Saturdays?\r\n",
    );
    let ticket = deskbridge_store::mail::ticket_id_for("support", "q1@example.com");
    wait_for(60, "a draft for the mailed question", || {
        !drafts_of(&gateway, &agent, &ticket).is_empty()
    });
    let draft = drafts_of(&gateway, &agent, &ticket)[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Settled on the server only once durable: the message carries the flag.
    wait_for(10, "the message flagged", || {
        dovecot
            .doveadm(&["fetch", "-u", USER, "flags", "mailbox", "INBOX"])
            .contains("$Deskbridge")
    });
    assert!(
        smtp.received().is_empty(),
        "nothing is mailed before approval"
    );

    let answer = approve(&gateway, &agent, &draft, 0);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let received = smtp.wait_for(1, 30);
    assert_eq!(received.len(), 1, "the approved reply, once");
    let raw = String::from_utf8_lossy(&received[0].raw).into_owned();
    assert_eq!(received[0].envelope["rcpt_tos"][0], "ana@example.com");
    assert!(raw.contains("In-Reply-To: <q1@example.com>"), "{raw}");
    assert!(raw.contains("Subject: Re: Opening hours"), "{raw}");
    let our_id = raw
        .split("Message-ID: <")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .expect("our Message-ID")
        .to_owned();
    assert!(
        our_id.starts_with("deskbridge.") && our_id.ends_with("@acme.test"),
        "{raw}"
    );
    assert!(
        raw.contains(&format!("support+{ticket}@acme.test")),
        "{raw}"
    );

    // The customer answers: same ticket, a new draft.
    dovecot.deliver(
        format!(
            "From: ana@example.com\r\nTo: support+{ticket}@acme.test\r\nSubject: Re: Opening hours\r\nMessage-ID: <q2@example.com>\r\nIn-Reply-To: <{our_id}>\r\nReferences: <q1@example.com> <{our_id}>\r\n\r\nAnd on Sundays?\r\n"
        )
        .as_bytes(),
    );
    wait_for(60, "a draft for the answer on the same ticket", || {
        drafts_of(&gateway, &agent, &ticket)
            .iter()
            .any(|d| d["id"].as_str() != Some(draft.as_str()) && d["state"] == "pending")
    });

    // An auto-reply and a bounce are recorded, never drafted to.
    dovecot.deliver(
        b"From: ana@example.com\r\nTo: support@acme.test\r\nSubject: Out of office\r\nMessage-ID: <ooo@example.com>\r\nAuto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n",
    );
    dovecot.deliver(
        b"Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example.com\r\nTo: support@acme.test\r\nSubject: Undelivered Mail\r\nMessage-ID: <dsn@mx.example.com>\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n--b--\r\n",
    );
    wait_for(30, "both recorded and settled", || {
        gateway
            .log()
            .matches("mail recorded, not drafted to")
            .count()
            >= 2
    });
    let open = api_send(
        &gateway,
        &agent,
        "GET",
        "/api/v1/drafts?helpdesk=support",
        &json!(null),
    )
    .json();
    assert_eq!(
        open.as_array().map(Vec::len),
        Some(1),
        "only the answer waits for a decision (the first draft was sent): {open}"
    );
    assert_eq!(open[0]["ticket_id"], ticket.as_str());
    assert!(
        !gateway.log().contains("ana@example.com"),
        "no address in the log"
    );

    // The console's ticket view shows the whole thread: the mail, the sent reply and the
    // answer, each with its sender (the auto-reply above refers to nothing: in no ticket).
    let signed_in = http(
        &gateway.address,
        "POST",
        "/console/sign-in",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("token={agent}&next=/console").as_bytes(),
    );
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let cookie = signed_in
        .header("set-cookie")
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .expect("a session cookie");
    let view = http(
        &gateway.address,
        "GET",
        &format!("/console/tickets/support/{ticket}"),
        &[("Cookie", &cookie)],
        b"",
    );
    assert_eq!(view.status, 200, "{}", view.body);
    for shown in [
        "Email thread",
        "Ana Lima &lt;ana@example.com&gt;",
        "Are you open on Saturdays?",
        "reply sent",
        "And on Sundays?",
    ] {
        assert!(view.body.contains(shown), "{shown:?} in {}", view.body);
    } // The queue's helpdesk filter offers the mailbox (it has no webhook endpoint).
    let queue = http(
        &gateway.address,
        "GET",
        "/console/queue",
        &[("Cookie", &cookie)],
        b"",
    );
    assert!(
        queue.body.contains("<option value=\"support\""),
        "{}",
        queue.body
    );
}

#[test]
fn a_gateway_killed_while_reading_mail_drafts_each_mail_once_after_restart() {
    let dovecot = Dovecot::start();
    let smtp = SmtpServer::start(Duration::ZERO);
    let files = GatewayFiles::new(&config(&dovecot, &smtp));
    let agent = files.token("Ann Agent", "agent");
    let mut gateway = files.start();
    let count = 6;
    for n in 0..count {
        dovecot.deliver(
            format!(
                "From: customer{n}@example.com\r\nTo: support@acme.test\r\nSubject: Question {n}\r\nMessage-ID: <k{n}@example.com>\r\n\r\nWhat are your opening hours, please? ({n})\r\n"
            )
            .as_bytes(),
        );
    }
    let tickets: Vec<String> = (0..count)
        .map(|n| deskbridge_store::mail::ticket_id_for("support", &format!("k{n}@example.com")))
        .collect();
    // Killed as soon as the first mail has its draft: the others are anywhere between read,
    // filed, made an event and settled.
    wait_for(60, "the first draft", || {
        tickets
            .iter()
            .any(|t| !drafts_of(&gateway, &agent, t).is_empty())
    });
    gateway.kill();

    // Also a message whose settling was lost (its flag taken off on the server).
    let gateway = files.start();
    wait_for(60, "every mail flagged", || flagged(&dovecot) == count);
    dovecot.doveadm(&[
        "flags",
        "remove",
        "-u",
        USER,
        "$Deskbridge",
        "mailbox",
        "INBOX",
        "uid",
        "1",
    ]);
    drop(gateway);
    let gateway = files.start();
    wait_for(60, "every mail flagged again", || {
        flagged(&dovecot) == count
    });
    wait_for(60, "a draft for every mail", || {
        tickets
            .iter()
            .all(|t| !drafts_of(&gateway, &agent, t).is_empty())
    });
    for ticket in &tickets {
        let drafts = drafts_of(&gateway, &agent, ticket);
        assert_eq!(drafts.len(), 1, "one draft for ticket {ticket}: {drafts:?}");
    }

    // The exact crash window: a mail filed in the store (and the cursor past it) whose event
    // was never made. Built by hand on the stopped gateway's store.
    drop(gateway);
    let late = b"From: late@example.com\r\nTo: support@acme.test\r\nSubject: Late\r\nMessage-ID: <late@example.com>\r\n\r\nAre you open today?\r\n";
    dovecot.deliver(late);
    {
        let store = crate::harness::open_store(&files.data_dir());
        let cursor = deskbridge_store::Store::mail_cursor(&store, "support")
            .expect("cursor")
            .expect("the reader recorded one");
        let mailbox = deskbridge_email::filing::Mailbox {
            helpdesk: "support".into(),
            address: "support@acme.test".into(),
            own_addresses: vec!["support@acme.test".into()],
            limits: deskbridge_email::Limits::default(),
        };
        let next = deskbridge_store::mail::MailCursor {
            last_uid: cursor.last_uid + 1,
            ..cursor
        };
        deskbridge_email::filing::file_mail(&store, &mailbox, late, next, 0, None).expect("filed");
    }
    let gateway = files.start();
    let late_ticket = deskbridge_store::mail::ticket_id_for("support", "late@example.com");
    wait_for(60, "the filed mail's draft after the restart", || {
        !drafts_of(&gateway, &agent, &late_ticket).is_empty()
    });
    assert_eq!(drafts_of(&gateway, &agent, &late_ticket).len(), 1);
}

#[test]
fn a_first_start_leaves_the_history_and_a_renumbered_mailbox_drafts_nothing_twice() {
    let dovecot = Dovecot::start();
    let smtp = SmtpServer::start(Duration::ZERO);
    let files =
        GatewayFiles::new(&config(&dovecot, &smtp).replace("read_existing_mail = true\n", ""));
    let agent = files.token("Ann Agent", "agent");
    let mail = |id: &str| {
        format!(
            "From: {id}@example.com\r\nTo: support@acme.test\r\nSubject: About {id}\r\nMessage-ID: <{id}@example.com>\r\n\r\nWhat are your opening hours, please?\r\n"
        )
    };
    let ticket =
        |id: &str| deskbridge_store::mail::ticket_id_for("support", &format!("{id}@example.com"));
    dovecot.deliver(mail("old").as_bytes());
    let mut gateway = files.start();
    wait_for(60, "the reader's first look", || {
        gateway.log().contains("mailbox reader connected")
    });
    dovecot.deliver(mail("new").as_bytes());
    wait_for(60, "the new mail's draft", || {
        !drafts_of(&gateway, &agent, &ticket("new")).is_empty()
    });
    assert!(
        drafts_of(&gateway, &agent, &ticket("old")).is_empty(),
        "mail from before the first start is not read"
    );
    assert_eq!(flagged(&dovecot), 1, "and not touched");
    gateway.stop();

    // The server renumbers the mailbox; the flag of the new mail is lost with it.
    dovecot.doveadm(&[
        "mailbox",
        "update",
        "-u",
        USER,
        "--uid-validity",
        "4242",
        "INBOX",
    ]);
    dovecot.doveadm(&[
        "flags",
        "remove",
        "-u",
        USER,
        "$Deskbridge",
        "mailbox",
        "INBOX",
        "ALL",
    ]);
    let gateway = files.start();
    wait_for(60, "the renumbered mailbox read again", || {
        flagged(&dovecot) == 2
    });
    assert!(
        gateway.log().contains("UIDVALIDITY changed"),
        "{}",
        gateway.log()
    );
    dovecot.deliver(mail("after").as_bytes());
    wait_for(60, "mail after the renumbering drafted", || {
        !drafts_of(&gateway, &agent, &ticket("after")).is_empty()
    });
    assert_eq!(
        drafts_of(&gateway, &agent, &ticket("new")).len(),
        1,
        "the mail read before makes no second draft"
    );

    // Mail that is not valid MIME is kept, read as far as it goes, and its draft flagged.
    dovecot.deliver(
        b"From: broken@example.com\r\nTo: support@acme.test\r\nSubject: About broken\r\nMessage-ID: <broken@example.com>\r\nContent-Type: multipart/mixed; boundary=\"never\"\r\n\r\nWhat are your opening hours? The boundary never comes.\r\n",
    );
    wait_for(60, "the malformed mail's draft", || {
        !drafts_of(&gateway, &agent, &ticket("broken")).is_empty()
    });
    let drafts = drafts_of(&gateway, &agent, &ticket("broken"));
    assert!(
        drafts[0]["flags"]
            .as_array()
            .is_some_and(|flags| flags.iter().any(|f| f == "malformed-mail")),
        "{drafts:?}"
    );
}
