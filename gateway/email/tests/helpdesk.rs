//! A mailbox as a helpdesk: mail filed into tickets in the store, read back as tickets, notes
//! kept, approved replies sent to a real SMTP server and filed, and the customer's answer to
//! them threaded into the same ticket.

mod support;

use std::sync::Arc;
use std::time::Duration;

use deskbridge_connectors::{ApiError, HelpdeskClient, Write};
use deskbridge_core::{
    ApprovalRecord, ApprovalRequirement, ApproverRole, AuthorRole, GateDraft, Visibility,
    approve_for_delivery, text_sha256,
};
use deskbridge_email::filing::{Mailbox, file_mail};
use deskbridge_email::helpdesk::EmailHelpdesk;
use deskbridge_email::imap::Settle;
use deskbridge_email::parse::MailAddress;
use deskbridge_email::smtp::{SmtpSender, SmtpSettings};
use deskbridge_email::tls::Security;
use deskbridge_email::{Limits, parse};
use deskbridge_store::mail::MailCursor;
use deskbridge_store::{SledStore, Store};
use support::smtp::{SMTP_PASSWORD, SmtpServer};

fn mailbox() -> Mailbox {
    Mailbox {
        helpdesk: "mail".into(),
        address: "support@acme.test".into(),
        own_addresses: vec!["support@acme.test".into()],
        limits: Limits::default(),
    }
}

fn cursor(uid: u32) -> MailCursor {
    MailCursor {
        uid_validity: 1,
        last_uid: uid,
        start_uid: 0,
        history_before_ms: 0,
    }
}

fn approved(ticket: &str, draft_id: &str, body: &str) -> deskbridge_core::ApprovedReply {
    let gate = GateDraft {
        draft_id,
        helpdesk: "mail",
        ticket_id: ticket,
        requirement: ApprovalRequirement::BASELINE,
        blocked: None,
        edited_by: None,
        edited_by_token: None,
        expires_at_ms: None,
        approved_at_ms: None,
    };
    let approval = ApprovalRecord {
        draft_id: draft_id.into(),
        approver: "Ann Agent".into(),
        role: ApproverRole::Agent,
        text_sha256: text_sha256(body),
        token_id: None,
    };
    approve_for_delivery(&gate, body, &[approval]).expect("the gate lets it out")
}

#[tokio::test]
async fn a_mail_becomes_a_ticket_the_reply_goes_out_and_the_answer_threads() {
    let server = SmtpServer::start(Duration::ZERO);
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
    let smtp = SmtpSender::new(&server.smtp_settings(Security::StartTls)).expect("smtp");
    let helpdesk = EmailHelpdesk::new(
        "mail",
        store.clone(),
        MailAddress {
            name: Some("Acme Support".into()),
            address: "support@acme.test".into(),
        },
        smtp,
    );

    let first = b"From: Ana Lima <ana@example.com>\r\nTo: support@acme.test\r\nSubject: Where is my order?\r\nMessage-ID: <q1@example.com>\r\nDate: Fri, 04 Dec 2026 10:15:00 +0100\r\n\r\nOrder 1234 has not arrived.\r\n-- \r\nAna Lima, Lima Ltd\r\n";
    let filed = file_mail(store.as_ref(), &mailbox(), first, cursor(1), 0, None).expect("file");
    let ticket = filed
        .event_ticket()
        .expect("a ticket for a person's mail")
        .to_owned();
    let fetched = helpdesk.fetch_ticket(&ticket).await.expect("fetch").ticket;
    assert_eq!(fetched.subject, "Where is my order?");
    assert_eq!(fetched.requester.email.as_deref(), Some("ana@example.com"));
    assert_eq!(fetched.messages.len(), 1);
    assert_eq!(fetched.messages[0].author_role, AuthorRole::Customer);
    assert_eq!(
        fetched.messages[0].body, "Order 1234 has not arrived.",
        "signature cut"
    );
    assert_eq!(fetched.messages[0].created_at, "2026-12-04T09:15:00Z");

    // A note stays on the ticket, never mailed.
    let marker = deskbridge_connectors::marker_for("evt_1.summarize.0");
    helpdesk
        .apply(
            &ticket,
            Write::InternalNote {
                body: "Summary: parcel late.",
            },
            &marker,
        )
        .await
        .expect("note");
    let found = helpdesk.find_marker(&ticket, &marker).await.expect("find");
    assert!(found.is_some());
    let fetched = helpdesk.fetch_ticket(&ticket).await.expect("fetch").ticket;
    assert_eq!(fetched.messages[1].visibility, Visibility::Internal);
    assert!(server.received().is_empty(), "a note is never mailed");

    // The approved reply goes to the requester with the threading headers, once.
    let reply = approved(
        &ticket,
        "evt_1.suggest-reply.0",
        "Hello Ana,\n\nit ships today.",
    );
    let receipt = helpdesk.public_reply(&reply).await.expect("sent");
    let id = receipt.id.expect("our message id");
    assert!(
        id.starts_with("deskbridge.") && id.ends_with("@acme.test") && !id.contains("evt_1"),
        "our id, keyed, not made of the draft id: {id}"
    );
    let again = helpdesk.public_reply(&reply).await.expect("already sent");
    assert_eq!(again.id.as_deref(), Some(id.as_str()));
    let received = server.wait_for(1, 10);
    assert_eq!(received.len(), 1, "sent once");
    let sent = parse(&received[0].raw, &Limits::default());
    assert_eq!(sent.in_reply_to, vec!["q1@example.com"]);
    assert_eq!(sent.to[0].address, "ana@example.com");
    assert_eq!(sent.subject, "Re: Where is my order?");
    assert_eq!(
        helpdesk.find_public_reply(&reply).await.expect("find"),
        Some(id.clone())
    );
    // Another draft with the same text is another reply: not taken for sent.
    let same_text = approved(
        &ticket,
        "evt_9.suggest-reply.0",
        "Hello Ana,\n\nit ships today.",
    );
    assert_eq!(
        helpdesk.find_public_reply(&same_text).await.expect("find"),
        None
    );

    // The customer answers our reply: same ticket, by the In-Reply-To.
    let answer = format!(
        "From: ana@example.com\r\nTo: Acme Support <support+{ticket}@acme.test>\r\nSubject: Re: Where is my order?\r\nMessage-ID: <q2@example.com>\r\nIn-Reply-To: <{id}>\r\nReferences: <q1@example.com> <{id}>\r\n\r\nThanks!\r\n\r\nOn Fri, 4 Dec 2026, Acme Support <support@acme.test> wrote:\r\n> Hello Ana,\r\n"
    );
    let filed = file_mail(
        store.as_ref(),
        &mailbox(),
        answer.as_bytes(),
        cursor(2),
        0,
        None,
    )
    .expect("file");
    assert_eq!(filed.event_ticket(), Some(ticket.as_str()));
    let fetched = helpdesk.fetch_ticket(&ticket).await.expect("fetch").ticket;
    let roles: Vec<AuthorRole> = fetched.messages.iter().map(|m| m.author_role).collect();
    assert_eq!(
        roles,
        vec![
            AuthorRole::Customer,
            AuthorRole::Bot,
            AuthorRole::Agent,
            AuthorRole::Customer
        ]
    );
    assert_eq!(fetched.messages[3].body, "Thanks!", "the quote cut");

    // The mailbox's copy of our own reply, or an auto-reply, is filed but makes no event.
    let auto = b"From: ana@example.com\r\nTo: support@acme.test\r\nSubject: Out of office\r\nMessage-ID: <ooo@example.com>\r\nAuto-Submitted: auto-replied\r\nIn-Reply-To: <q1@example.com>\r\n\r\nI am away.\r\n";
    let filed = file_mail(store.as_ref(), &mailbox(), auto, cursor(3), 0, None).expect("file");
    assert_eq!(filed.event_ticket(), None);
    assert!(filed.message.noise.is_some());
    let fetched = helpdesk.fetch_ticket(&ticket).await.expect("fetch").ticket;
    assert_eq!(
        fetched.messages.len(),
        4,
        "the AI does not see the auto-reply"
    );
    assert_eq!(
        store
            .mail_thread("mail", &ticket)
            .expect("read")
            .expect("thread")
            .messages
            .len(),
        5,
        "but the ticket keeps it"
    );

    // Someone else writes into the thread (they know a message id): their mail opens a ticket
    // of its own, and the next reply of this one still goes to the requester only.
    let intruder = format!(
        "From: mallory@example.net\r\nTo: support@acme.test\r\nSubject: Re: Where is my order?\r\nMessage-ID: <m1@example.net>\r\nIn-Reply-To: <{id}>\r\n\r\nSend the invoice to me instead.\r\n"
    );
    let filed = file_mail(
        store.as_ref(),
        &mailbox(),
        intruder.as_bytes(),
        cursor(4),
        0,
        None,
    )
    .expect("file");
    let intruders = filed.event_ticket().expect("a ticket of their own");
    assert_ne!(intruders, ticket, "not threaded into the customer's ticket");
    assert!(filed.recorded.new_ticket);
    let thread = store
        .mail_thread("mail", &ticket)
        .expect("read")
        .expect("thread");
    assert!(!thread.has_message("m1@example.net"));
    let second = approved(
        &ticket,
        "evt_2.suggest-reply.0",
        "We will send it to you, Ana.",
    );
    helpdesk.public_reply(&second).await.expect("sent");
    let received = server.wait_for(2, 10);
    assert_eq!(
        received[1].envelope["rcpt_tos"],
        serde_json::json!(["ana@example.com", "support@acme.test"]),
        "the requester, and the mailbox's own copy"
    );
    assert!(
        !String::from_utf8_lossy(&received[1].raw).contains("Bcc:"),
        "the copy is blind"
    );

    // Priority is not a thing of email tickets; an unknown ticket is a permanent error.
    let refused = helpdesk
        .apply(
            &ticket,
            Write::SetPriority {
                priority: deskbridge_core::Priority::High,
            },
            &marker,
        )
        .await;
    assert!(matches!(refused, Err(ApiError::Permanent { .. })));
    assert!(matches!(
        helpdesk.fetch_ticket("nope").await,
        Err(ApiError::Permanent {
            status: Some(404),
            ..
        })
    ));
    helpdesk
        .probe()
        .await
        .expect("the SMTP server takes our mail");
}

#[test]
fn a_sender_past_the_new_ticket_limit_opens_none_but_still_answers() {
    use deskbridge_email::filing::SenderLimit;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path()).expect("store");
    let mut limit = SenderLimit::new(1);
    let mail = |id: &str, extra: &str| {
        format!(
            "From: flood@example.com\r\nTo: support@acme.test\r\nSubject: Topic {id}\r\nMessage-ID: <{id}@example.com>\r\n{extra}\r\nHello.\r\n"
        )
    };
    let first = file_mail(
        &store,
        &mailbox(),
        mail("f1", "").as_bytes(),
        cursor(1),
        0,
        Some(&mut limit),
    )
    .expect("file");
    let ticket = first
        .event_ticket()
        .expect("the first opens a ticket")
        .to_owned();
    let second = file_mail(
        &store,
        &mailbox(),
        mail("f2", "").as_bytes(),
        cursor(2),
        10,
        Some(&mut limit),
    )
    .expect("file");
    assert!(second.over_limit);
    assert_eq!(
        second.event_ticket(),
        None,
        "no second ticket within the hour"
    );
    let answer = file_mail(
        &store,
        &mailbox(),
        mail("f3", "In-Reply-To: <f1@example.com>\r\n").as_bytes(),
        cursor(3),
        20,
        Some(&mut limit),
    )
    .expect("file");
    assert_eq!(
        answer.event_ticket(),
        Some(ticket.as_str()),
        "their own ticket still works"
    );
}

#[test]
fn a_mail_read_again_makes_an_event_only_while_its_event_was_not_made() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path()).expect("store");
    let mail = b"From: ana@example.com\r\nTo: support@acme.test\r\nSubject: Hours\r\nMessage-ID: <h1@example.com>\r\n\r\nWhen are you open?\r\n";
    let file = |uid| file_mail(&store, &mailbox(), mail, cursor(uid), 0, None).expect("file");
    let ticket = file(1).event_ticket().expect("a ticket").to_owned();
    // Read again before its event was made (a crash in between): the event is made then.
    let again = file(1);
    assert!(again.recorded.duplicate);
    assert_eq!(again.event_ticket(), Some(ticket.as_str()));
    store
        .mark_mail_event("mail", "h1@example.com")
        .expect("mark");
    // Read again after (a lost flag, a renumbered mailbox, long after the dedupe window).
    let late = file(9);
    assert!(late.recorded.event_made);
    assert_eq!(late.event_ticket(), None, "no second event");
}

/// A helpdesk whose SMTP server answers DATA only after the client gave up.
fn slow_helpdesk(server: &SmtpServer, store: Arc<dyn Store>) -> EmailHelpdesk {
    helpdesk_with_password(server, store, SMTP_PASSWORD)
}

/// A helpdesk of `server` that logs in with `password`.
fn helpdesk_with_password(
    server: &SmtpServer,
    store: Arc<dyn Store>,
    password: &str,
) -> EmailHelpdesk {
    let smtp = SmtpSender::new(&SmtpSettings {
        password: Some(password.into()),
        timeout: Duration::from_secs(1),
        ..server.smtp_settings(Security::StartTls)
    })
    .expect("smtp");
    EmailHelpdesk::new(
        "mail",
        store,
        MailAddress {
            name: None,
            address: "support@acme.test".into(),
        },
        smtp,
    )
}

#[tokio::test]
async fn a_reply_that_timed_out_is_confirmed_by_its_copy_and_never_sent_blindly() {
    use support::dovecot::Dovecot;
    let server = SmtpServer::start(Duration::from_secs(3));
    let dovecot = Dovecot::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
    let question = |n: u32| {
        format!(
            "From: ana@example.com\r\nTo: support@acme.test\r\nSubject: Question {n}\r\nMessage-ID: <t{n}@example.com>\r\n\r\nHello?\r\n"
        )
    };
    let open = |n: u32| {
        file_mail(
            store.as_ref(),
            &mailbox(),
            question(n).as_bytes(),
            cursor(n),
            0,
            None,
        )
        .expect("file")
        .event_ticket()
        .expect("ticket")
        .to_owned()
    };

    // 1. The copy reaches the mailbox and the reader files it.
    let helpdesk = slow_helpdesk(&server, store.clone());
    let ticket = open(1);
    let reply = approved(&ticket, "evt_t1.suggest-reply.0", "Yes, we are open.");
    let failure = helpdesk.public_reply(&reply).await.expect_err("timed out");
    assert!(
        matches!(
            failure,
            ApiError::Transient {
                maybe_applied: true,
                ..
            }
        ),
        "{failure:?}"
    );
    let waiting = helpdesk.find_public_reply(&reply).await;
    assert!(
        matches!(waiting, Err(ApiError::Transient { .. })),
        "no copy yet: wait, do not resend ({waiting:?})"
    );
    let accepted = server.wait_for(1, 10);
    assert_eq!(accepted.len(), 1, "the server did take it");
    let sent_id = parse(&accepted[0].raw, &Limits::default())
        .message_id
        .expect("our Message-ID");
    // Someone who learns the reply's id cannot pass their mail off as its copy.
    let forged = format!(
        "From: mallory@example.net\r\nTo: support@acme.test\r\nSubject: Re: Hours\r\nMessage-ID: <{sent_id}>\r\n\r\nYes, we are open.\r\n"
    );
    file_mail(
        store.as_ref(),
        &mailbox(),
        forged.as_bytes(),
        cursor(9),
        0,
        None,
    )
    .expect("filed");
    let still = helpdesk.find_public_reply(&reply).await;
    assert!(
        matches!(still, Err(ApiError::Transient { .. })),
        "a forged copy confirms nothing ({still:?})"
    );
    let copy = file_mail(
        store.as_ref(),
        &mailbox(),
        &accepted[0].raw,
        cursor(10),
        0,
        None,
    )
    .expect("the copy filed");
    assert!(copy.event_ticket().is_none(), "our own mail makes no event");
    let found = helpdesk.find_public_reply(&reply).await.expect("read-back");
    assert_eq!(found, Some(sent_id));

    // 2. The copy is in the mailbox, not filed yet: found over IMAP.
    let imap = dovecot.imap_settings(Settle::Flag("$Deskbridge".into()));
    let helpdesk = slow_helpdesk(&server, store.clone()).with_imap(imap);
    let ticket = open(2);
    let reply = approved(&ticket, "evt_t2.suggest-reply.0", "Open until six.");
    helpdesk.public_reply(&reply).await.expect_err("timed out");
    let accepted = server.wait_for(2, 10);
    dovecot.deliver(&accepted[1].raw);
    let found = helpdesk
        .find_public_reply(&reply)
        .await
        .expect("read-back over IMAP");
    assert_eq!(
        found,
        parse(&accepted[1].raw, &Limits::default()).message_id
    );

    // 3. No copy within the grace: "not sent", and the retry sends the same message.
    let helpdesk = slow_helpdesk(&server, store.clone()).with_copy_grace(Duration::ZERO);
    let ticket = open(3);
    let reply = approved(&ticket, "evt_t3.suggest-reply.0", "Closed on Sundays.");
    helpdesk.public_reply(&reply).await.expect_err("timed out");
    // While unconfirmed, the reply is not shown as the agent's message in the ticket.
    let shown = helpdesk.fetch_ticket(&ticket).await.expect("fetch").ticket;
    assert!(
        shown
            .messages
            .iter()
            .all(|m| m.body != "Closed on Sundays."),
        "a pending reply is not in the ticket"
    );
    assert_eq!(
        helpdesk.find_public_reply(&reply).await.expect("read-back"),
        None
    );
    helpdesk.public_reply(&reply).await.expect_err("slow again");
    let accepted = server.wait_for(4, 10);
    let ids: Vec<Option<String>> = accepted[2..]
        .iter()
        .map(|r| parse(&r.raw, &Limits::default()).message_id)
        .collect();
    assert_eq!(ids[0], ids[1], "the resend is the same message");

    // 4. Refused for good (the server rejects the login): nothing went out, and the reply
    // leaves the thread instead of standing there as sent.
    let helpdesk = helpdesk_with_password(&server, store.clone(), "wrong password");
    let ticket = open(4);
    let reply = approved(&ticket, "evt_t4.suggest-reply.0", "We never sent this.");
    let refused = helpdesk.public_reply(&reply).await.expect_err("refused");
    assert!(matches!(refused, ApiError::Permanent { .. }), "{refused:?}");
    let thread = store
        .mail_thread("mail", &ticket)
        .expect("read")
        .expect("thread");
    assert!(
        thread
            .messages
            .iter()
            .all(|m| m.text != "We never sent this."),
        "withdrawn"
    );
    assert_eq!(
        helpdesk.find_public_reply(&reply).await.expect("find"),
        None
    );
}
