//! The web console in a real headless Chromium, against the real `deskbridge` binary and the
//! Zendesk simulator: sign in, the queue, a draft edited and approved with its diff, the reply
//! in the helpdesk, a lost race shown as such, CSRF refusals, a reviewer checking approval-log
//! proofs in the browser (and seeing a tampered one fail), the roles' limits, and the
//! per-ticket view framed by an allowed origin and refused to another. Screenshots of the
//! queue, the draft view and the approval log go to `target/tmp/console-screenshots/`.

mod browser;
#[allow(dead_code)]
#[path = "../pipeline/harness.rs"]
mod harness;

use std::io::{Read, Write};
use std::net::TcpListener;

use browser::Browser;
use fantoccini::Locator;
use harness::*;
use serde_json::json;

/// A gateway for helpdesk `acme` on `sim` with `[console]` lines `console`, a checkpoint
/// after every entry, and a token for each `(name, roles)` of `people`.
fn gateway_with_console(
    sim: &Process,
    console: &str,
    people: &[(&str, &str)],
) -> (GatewayFiles, Process, Vec<String>) {
    let helpdesk = zendesk_helpdesk("acme", sim, "");
    let files = GatewayFiles::new(&format!(
        "{helpdesk}\n[audit]\ncheckpoint_every = 1\n\n[console]\n{console}\n"
    ));
    let tokens = people
        .iter()
        .map(|(name, roles)| files.token(name, roles))
        .collect();
    let gateway = files.start();
    point_zendesk_webhooks(sim, &gateway);
    (files, gateway, tokens)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_edits_and_approves_in_the_browser_and_the_reply_reaches_the_helpdesk() {
    let sim = start_sim("zendesk");
    let helpdesk = zendesk_helpdesk("acme", &sim, "");
    let files = GatewayFiles::new(&helpdesk);
    let agent = files.token("Ann Agent", "agent");
    let other_agent = files.token("Otto Agent", "agent");
    let gateway = files.start();
    point_zendesk_webhooks(&sim, &gateway);
    let ticket = create_ticket(
        &sim,
        "Parcel not here yet",
        "Hello, my parcel was supposed to arrive on Monday. When will it come?",
    );
    let draft = first_draft(&gateway, &agent, ticket);
    let base = format!("http://{}", gateway.address);

    let browser = Browser::start().await;
    // Not signed in: the console sends the browser to the sign-in form, then back.
    browser.goto(&format!("{base}/console/queue")).await;
    assert_eq!(browser.path().await, "/console/sign-in");
    browser.submit_token("dbt_not-a-real-token").await;
    browser.wait_text("#sign-in-error", "not known").await;
    browser.submit_token(&agent).await;
    browser.wait_text("h1", "Approval queue").await;
    assert!(
        browser
            .text("table.queue")
            .await
            .contains("Parcel not here yet")
    );
    browser.screenshot("queue").await;

    // The draft view: the thread, provenance, the editor.
    browser.click("table.queue tbody a").await;
    browser.wait_text("h1", "Parcel not here yet").await;
    let thread = browser.text("section.thread").await;
    assert!(thread.contains("supposed to arrive on Monday"), "{thread}");
    let provenance = browser.text("section.provenance").await;
    assert!(provenance.contains("suggest-reply"), "{provenance}");
    assert!(
        !browser
            .css("[data-diff]")
            .await
            .is_displayed()
            .await
            .expect("displayed")
    );

    // Edit: the diff between the AI draft and the text to be sent appears while typing.
    let edited =
        "Hello! Your parcel left our warehouse today and arrives on Thursday. Sorry for the wait.";
    let editor = browser.css("textarea[data-editor]").await;
    editor.clear().await.expect("clear");
    editor.send_keys(edited).await.expect("type");
    let diff = browser.css("[data-diff]").await;
    assert!(diff.is_displayed().await.expect("displayed"));
    let inserted = browser.text("[data-diff] ins").await;
    assert!(!inserted.is_empty());
    assert!(
        browser.has("[data-diff] del").await,
        "the AI's words are shown removed"
    );
    browser.screenshot("draft").await;

    // A POST without the session's CSRF token is refused, and changes nothing.
    let post = |body: &str| {
        format!(
            "const done = arguments[0];
             fetch('/console/drafts/{draft}', {{method: 'POST', credentials: 'same-origin',
               headers: {{'Content-Type': 'application/x-www-form-urlencoded'}},
               body: '{body}'}}).then(r => done(r.status), e => done(String(e)));"
        )
    };
    let forged_csrf = format!("csrf={}&version=0&decision=approve", "A".repeat(43));
    for body in ["version=0&decision=approve", forged_csrf.as_str()] {
        assert_eq!(browser.run_async(&post(body)).await, json!(403), "{body}");
    }
    assert_eq!(draft_state(&gateway, &agent, &draft), "pending");

    // Approve the edited text: back to the queue, and the reply lands in the helpdesk as edited.
    browser.click("button.approve").await;
    browser.wait_text("p.notice", "Approved").await;
    wait_for(30, "the edited reply in the ticket", || {
        public_comments(&sim, ticket)
            .iter()
            .any(|c| c.contains("arrives on Thursday"))
    });
    let detail = draft_detail(&gateway, &agent, &draft);
    assert_eq!(
        detail["text"], edited,
        "exactly the text in the editor, line ends as typed"
    );
    assert_eq!(detail["edited_by"], "Ann Agent");

    // A second draft decided by someone else while it is open here: the console says so.
    let second = create_ticket(
        &sim,
        "Invoice copy",
        "Could you send me a copy of my last invoice?",
    );
    let second_draft = first_draft(&gateway, &agent, second);
    browser
        .goto(&format!("{base}/console/drafts/{second_draft}"))
        .await;
    browser.css("button.approve").await;
    let answer = approve(&gateway, &other_agent, &second_draft, 0);
    assert_eq!(answer.status, 200, "{}", answer.body);
    browser.click("button.approve").await;
    let conflict = browser
        .wait_text("#conflict", "Someone decided this draft meanwhile")
        .await;
    assert!(conflict.contains("Reload"), "{conflict}");
    browser.click("#conflict a").await;
    let state = browser.text("span.state").await;
    assert!(state == "approved" || state == "sent", "{state}");
    assert!(
        !browser.has("button.approve").await,
        "a decided draft offers no decision"
    );

    // Keyboard: `a` approves from the draft page (no mouse).
    let third = create_ticket(&sim, "Opening hours", "Are you open on Saturdays?");
    let third_draft = first_draft(&gateway, &agent, third);
    browser
        .goto(&format!("{base}/console/drafts/{third_draft}"))
        .await;
    browser.css("button.approve").await;
    browser
        .client
        .execute("document.activeElement.blur();", vec![])
        .await
        .expect("blur");
    browser
        .client
        .find(Locator::Css("body"))
        .await
        .expect("body")
        .send_keys("a")
        .await
        .expect("key");
    browser.wait_text("p.notice", "Approved").await;
    wait_for(10, "the keyboard approval", || {
        draft_state(&gateway, &agent, &third_draft) != "pending"
    });

    // Sign out ends the session: the queue asks for a token again.
    browser.goto(&format!("{base}/console/queue")).await;
    browser.click("form.signout button").await;
    browser.css("#token").await;
    browser.goto(&format!("{base}/console/queue")).await;
    assert_eq!(browser.path().await, "/console/sign-in");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reviewer_checks_proofs_in_the_browser_and_cannot_approve() {
    let sim = start_sim("zendesk");
    let (files, gateway, tokens) = gateway_with_console(
        &sim,
        "",
        &[("Ann Agent", "agent"), ("Rita Reviewer", "reviewer")],
    );
    let (agent_token, reviewer) = (tokens[0].clone(), tokens[1].clone());
    let ticket = create_ticket(&sim, "Opening hours", "Are you open on Saturdays?");
    let draft = first_draft(&gateway, &agent_token, ticket);
    wait_for(30, "a checkpoint covering the draft", || {
        let answer = http(
            &gateway.address,
            "GET",
            "/api/v1/audit/checkpoint",
            &[("Authorization", &format!("Bearer {reviewer}"))],
            b"",
        );
        answer.status == 200 && answer.json()["size"].as_u64().unwrap_or(0) >= 2
    });
    let base = format!("http://{}", gateway.address);

    let browser = Browser::start().await;
    browser.sign_in(&gateway.address, &reviewer).await;
    // A reviewer lands on the approval log; the queue is not in their navigation.
    browser.wait_text("h1", "Approval log").await;
    assert!(!browser.text("header nav").await.contains("Queue"));

    browser
        .goto(&format!(
            "{base}/console/audit?kind=draft.created&draft={draft}"
        ))
        .await;
    let index = browser
        .css("button[data-verify]")
        .await
        .attr("data-verify")
        .await
        .expect("attr")
        .expect("index");
    // Without a pinned key the proof is only consistent with the server's own key.
    browser.click("button[data-verify]").await;
    let status = format!("[data-proof-for=\"{index}\"][data-result]");
    let result = browser.css(&status).await;
    assert_eq!(
        result.attr("data-result").await.expect("attr").as_deref(),
        Some("unpinned"),
        "{}",
        result.text().await.unwrap_or_default()
    );
    // Pinned from the reviewer's own records, it verifies.
    pin_key(&browser, &files.data_dir()).await;
    browser.click("button[data-verify]").await;
    let result = browser
        .css(&format!(
            "[data-proof-for=\"{index}\"][data-result=verified]"
        ))
        .await;
    assert!(
        result
            .text()
            .await
            .unwrap_or_default()
            .starts_with("Verified against your pinned key"),
        "{}",
        result.text().await.unwrap_or_default()
    );
    browser
        .client
        .execute(
            "document.querySelector('[data-proof-for]').scrollIntoView();",
            vec![],
        )
        .await
        .expect("scroll");
    browser.screenshot("audit").await;

    // A server that alters the proof, the entry or the checkpoint is caught by the browser.
    for (what, tamper) in [
        (
            "proof",
            "p.proof[0] = (p.proof[0][0] === '0' ? '1' : '0') + p.proof[0].slice(1);",
        ),
        (
            "entry",
            "p.canonical = p.canonical.replace('draft.created', 'draft.createe');",
        ),
        (
            "checkpoint",
            "p.checkpoint = p.checkpoint.replace(/\\n(\\d+)\\n/, (m, n) => '\\n' + (Number(n) + 1) + '\\n'); p.size += 1;",
        ),
    ] {
        browser
            .client
            .execute(
                &format!(
                    "if (!window.realFetch) window.realFetch = window.fetch;
                     window.fetch = async (...args) => {{
                       const r = await window.realFetch(...args);
                       const p = await r.json();
                       {tamper}
                       return new Response(JSON.stringify(p), {{status: r.status}});
                     }};"
                ),
                vec![],
            )
            .await
            .expect("tamper");
        browser.click("button[data-verify]").await;
        let result = browser.css(&status).await;
        let text = result.text().await.unwrap_or_default();
        assert_eq!(
            result.attr("data-result").await.expect("attr").as_deref(),
            Some("failed"),
            "{what}: {text}"
        );
        assert!(text.starts_with("FAILED"), "{what}: {text}");
    }

    // The download: the log up to its checkpoint, which verifies offline against the key.
    let zipped = browser
        .run_async(
            "const done = arguments[0];
             if (window.realFetch) window.fetch = window.realFetch;
             fetch('/console/audit/export', {credentials: 'same-origin'})
               .then(r => r.arrayBuffer())
               .then(b => done(Array.from(new Uint8Array(b), x => x.toString(16).padStart(2, '0')).join('')),
                     e => done(String(e)));",
        )
        .await;
    let zipped = hex::decode(zipped.as_str().expect("hex")).expect("the zip's bytes");
    let zip_files = deskbridge_server::zip::read_stored(&zipped).expect("a zip the gateway wrote");
    let unpacked = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in &zip_files {
        let path = unpacked.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(path, bytes).expect("write");
    }
    let verified = deskbridge()
        .args(["audit", "verify"])
        .arg(unpacked.path().join("approval-log"))
        .arg("--pubkey")
        .arg(files.data_dir().join("audit").join("log.pub"))
        .output()
        .expect("deskbridge audit verify");
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );

    // The reviewer cannot decide: no approve button, and the API says 403.
    browser
        .goto(&format!("{base}/console/drafts/{draft}"))
        .await;
    browser.wait_text("h1", "Forbidden").await;
    assert!(!browser.has("button.approve").await);
    let answer = approve(&gateway, &reviewer, &draft, 0);
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(draft_state(&gateway, &agent_token, &draft), "pending");
    browser.close().await;
}

/// Pins the log key of the gateway with data directory `data_dir` in the approval-log page.
async fn pin_key(browser: &Browser, data_dir: &std::path::Path) {
    let key = std::fs::read_to_string(data_dir.join("audit").join("log.pub")).expect("log.pub");
    browser.type_into("#pinned-key", key.trim()).await;
    browser.click("[data-pin-form] button").await;
    browser.wait_text("[data-pin-status]", "Pinned").await;
}

/// A one-page web server on `listener` that frames `src`; its address.
fn framing_page(listener: TcpListener, src: String) -> String {
    let address = listener.local_addr().expect("address").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let body = format!(
                "<!doctype html><title>helpdesk</title><iframe id=\"app\" src=\"{src}\" width=\"400\" height=\"700\"></iframe>"
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ticket_view_works_in_the_helpdesks_frame_and_nowhere_else() {
    let sim = start_sim("zendesk");
    // The helpdesk's agent page: a stand-in origin named in `frame_ancestors`.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let allowed_port = listener.local_addr().expect("address").port();
    drop(listener);
    let (_files, gateway, tokens) = gateway_with_console(
        &sim,
        &format!("frame_ancestors = [\"http://127.0.0.1:{allowed_port}\"]"),
        &[("Ann Agent", "agent")],
    );
    let agent = tokens[0].clone();
    let ticket = create_ticket(&sim, "Opening hours", "Are you open on Saturdays?");
    let draft = first_draft(&gateway, &agent, ticket);
    let view = format!("http://{}/console/tickets/acme/{ticket}", gateway.address);

    // The view's own headers: framed by the helpdesk's origins only.
    let answer = http(
        &gateway.address,
        "GET",
        &format!("/console/tickets/acme/{ticket}"),
        &[],
        b"",
    );
    let csp = answer.header("content-security-policy").unwrap_or_default();
    let ancestors = csp.split("frame-ancestors").nth(1).unwrap_or_default();
    assert!(
        ancestors.contains(&format!("http://127.0.0.1:{allowed_port}")),
        "{csp}"
    );
    assert!(
        ancestors.contains(&format!("http://{}", sim.address)),
        "the helpdesk's own origin: {csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");

    // Re-bind the port the gateway was configured with.
    let allowed = framing_page(
        TcpListener::bind(("127.0.0.1", allowed_port)).expect("re-bind"),
        view.clone(),
    );
    let elsewhere = framing_page(
        TcpListener::bind("127.0.0.1:0").expect("bind"),
        view.clone(),
    );

    let browser = Browser::start().await;
    // Signing in inside the frame (the partitioned cookie), then deciding there.
    browser.goto(&format!("http://{allowed}/")).await;
    browser
        .client
        .enter_frame(0)
        .await
        .expect("enter the frame");
    browser.submit_token(&agent).await;
    browser.wait_text("h1", "drafts for ticket").await;
    assert!(
        browser
            .text("article.draft")
            .await
            .contains("suggest-reply")
    );
    browser.click("button.approve").await;
    browser.wait_text("p.notice", "Approved").await;
    wait_for(10, "the approval from the sidebar", || {
        draft_state(&gateway, &agent, &draft) != "pending"
    });
    // Signing out inside the sidebar ends the session there and then.
    browser.click("form.signout button").await;
    browser.css("#token").await;
    browser
        .client
        .enter_parent_frame()
        .await
        .expect("leave the frame");
    browser.goto(&format!("http://{allowed}/")).await;
    browser
        .client
        .enter_frame(0)
        .await
        .expect("enter the frame");
    browser.css("#token").await;
    assert!(!browser.has("form.decide").await, "signed out in the frame");
    browser
        .client
        .enter_parent_frame()
        .await
        .expect("leave the frame");

    // Another site framing the same view gets nothing.
    browser.goto(&format!("http://{elsewhere}/")).await;
    browser.css("#app").await;
    browser
        .client
        .enter_frame(0)
        .await
        .expect("enter the frame");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!browser.has("h1").await || !browser.source().await.contains("drafts for ticket"));
    assert!(
        !browser.has("form").await,
        "the refused frame shows no form"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_retries_a_dead_letter_pauses_drafting_and_manages_tokens() {
    let sim = start_sim("zendesk");
    let (files, gateway, tokens) = gateway_with_console(&sim, "", &[("Ann Agent", "agent")]);
    let agent = tokens[0].clone();
    let admin = files.admin_token.clone();
    inject_faults(
        &sim,
        json!({"method": "PUT", "path_prefix": "/api/v2/tickets/", "kind": "status", "status": 422}),
    );
    let ticket = create_ticket(&sim, "Refused note", "The helpdesk refuses the first note.");
    wait_for(30, "the dead letter", || {
        status(&gateway)["outbox_dead_lettered"] == 1
    });
    let base = format!("http://{}", gateway.address);

    let browser = Browser::start().await;
    // An agent has no admin page.
    browser.sign_in(&gateway.address, &agent).await;
    browser.wait_text("h1", "Approval queue").await;
    assert!(!browser.text("header nav").await.contains("Admin"));
    browser.goto(&format!("{base}/console/admin")).await;
    browser.wait_text("h1", "Forbidden").await;
    browser.click("form.signout button").await;
    browser.css("#token").await;

    browser.sign_in(&gateway.address, &admin).await;
    browser.goto(&format!("{base}/console/admin")).await;
    let dead = browser.text("#dead-h + table").await;
    assert!(dead.contains("422"), "{dead}");
    browser.screenshot("admin").await;

    // Retry once the helpdesk takes it again: the note lands, and the retry is on record.
    let answer = http(&sim.address, "DELETE", "/_sim/faults", &[], b"");
    assert_eq!(answer.status, 204, "{}", answer.body);
    browser.click("button[value=retry]").await;
    browser.wait_text("p.notice", "back in the outbox").await;
    wait_for(30, "the retried note", || {
        !internal_notes(&sim, ticket).is_empty()
    });
    assert_eq!(audit_entries_of(&files, "outbox.retried").len(), 1);

    // The stop switch, with a reason, and back.
    browser.goto(&format!("{base}/console/admin")).await;
    browser
        .css("select[name=scope] option[value='helpdesk:acme']")
        .await
        .click()
        .await
        .expect("choose");
    browser
        .type_into("input[name=reason]", "model misbehaves")
        .await;
    browser.click("#pauses-h ~ form.filters button").await;
    let paused = browser
        .wait_text("#pauses-h ~ form.inline", "helpdesk:acme")
        .await;
    assert!(paused.contains("model misbehaves"), "{paused}");
    assert_eq!(
        api_get(&gateway, "/api/v1/pauses")[0]["scope"],
        "helpdesk:acme"
    );
    browser.click("#pauses-h ~ form.inline button").await;
    browser.wait_text("p.notice", "resumed").await;
    assert_eq!(api_get(&gateway, "/api/v1/pauses"), json!([]));

    // A token made here is shown once and works; revoked, it stops working.
    browser.type_into("input[name=person]", "Nora New").await;
    browser.click("input[name=role_agent]").await;
    browser.click("#tokens-h ~ form.filters button").await;
    let shown = browser
        .css("input.secret")
        .await
        .prop("value")
        .await
        .expect("value")
        .expect("a token");
    let me = |token: &str| {
        http(
            &gateway.address,
            "GET",
            "/api/v1/me",
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        )
        .status
    };
    assert_eq!(me(&shown), 200);
    let row = browser
        .client
        .find(Locator::XPath(
            "//tr[td[contains(., 'Nora New')]]//button[contains(., 'Revoke')]",
        ))
        .await
        .expect("the new token's row");
    row.click().await.expect("revoke");
    browser.wait_text("p.notice", "revoked").await;
    assert_eq!(me(&shown), 401);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_takes_a_newcomer_from_a_ticket_to_a_proven_reply() {
    let mut demo = start_demo();
    let token = demo.token.clone().expect("the demo prints a token");
    let log = demo.log();
    let sim = log
        .lines()
        .find_map(|line| line.split("Simulated Zendesk:  http://").nth(1))
        .and_then(|rest| rest.split('/').next())
        .expect("the simulator's address")
        .to_owned();
    let data_dir = std::env::temp_dir().join(format!("deskbridge-demo-{}", demo.id()));
    assert!(data_dir.exists());
    let drafts = |demo: &Process| {
        let answer = api_send(demo, &token, "GET", "/api/v1/drafts", &json!(null));
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json().as_array().cloned().unwrap_or_default()
    };
    // Six tickets: five drafts, and the angry customer handed to a person.
    wait_for(60, "drafts for the demo tickets", || {
        drafts(&demo).len() >= 5
    });

    let browser = Browser::start().await;
    browser.sign_in(&demo.address, &token).await;
    let queue = browser
        .wait_text("table.queue", "Refund for my returned headphones")
        .await;
    assert!(
        queue.contains("订单还没有到"),
        "the Chinese ticket is in the queue: {queue}"
    );
    browser
        .client
        .find(Locator::LinkText("Refund for my returned headphones"))
        .await
        .expect("the refund draft")
        .click()
        .await
        .expect("open");
    let sources = browser.text("ul.sources").await;
    assert!(
        sources.contains("Refund for a returned item"),
        "grounded in the help center: {sources}"
    );
    let ticket = browser
        .text("p.meta")
        .await
        .split("ticket ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("ticket id")
        .to_owned();
    browser.click("button.approve").await;
    browser.wait_text("p.notice", "Approved").await;
    wait_for(30, "the reply in the simulated ticket", || {
        get_json(&sim, &format!("/_sim/tickets/{ticket}"))["comments"]
            .as_array()
            .is_some_and(|c| {
                c.iter().any(|c| {
                    c["public"] == true
                        && c["body"]
                            .as_str()
                            .is_some_and(|b| b.contains("5 business days"))
                })
            })
    });

    // The decision is in the approval log, and its proof checks out in the browser.
    browser
        .goto(&format!(
            "http://{}/console/audit?kind=draft.decided",
            demo.address
        ))
        .await;
    pin_key(&browser, &data_dir.join("data")).await;
    browser.click("button[data-verify]").await;
    let result = browser.css("[data-proof-for][data-result]").await;
    assert_eq!(
        result.attr("data-result").await.expect("attr").as_deref(),
        Some("verified"),
        "{}",
        result.text().await.unwrap_or_default()
    );
    browser.close().await;

    // Ctrl-C (here SIGTERM) stops the demo and removes its data.
    demo.stop();
    assert!(!data_dir.exists(), "{} is left behind", data_dir.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn insights_show_a_finding_with_its_evidence_and_its_action_works() {
    let sim = start_sim("zendesk");
    let (files, gateway, tokens) = gateway_with_console(&sim, "", &[("Ann Agent", "agent")]);
    let agent = tokens[0].clone();
    // 20 drafts decided this week, 12 rejected: a finding (no week before to compare with).
    let mut drafts = Vec::new();
    for i in 0..20 {
        let ticket = create_ticket(
            &sim,
            &format!("Opening hours {i}"),
            "Are you open on Saturdays?",
        );
        drafts.push(first_draft(&gateway, &agent, ticket));
    }
    for (i, draft) in drafts.iter().enumerate() {
        let body = if i < 12 {
            json!({"version": 0, "decision": "reject", "reason": "Wrong opening hours"})
        } else {
            json!({"version": 0, "decision": "approve"})
        };
        let answer = decide(&gateway, &agent, draft, body);
        assert_eq!(answer.status, 200, "{}", answer.body);
    }

    let browser = Browser::start().await;
    browser.sign_in(&gateway.address, &files.admin_token).await;
    browser
        .goto(&format!("http://{}/console/insights", gateway.address))
        .await;
    let finding = browser.wait_text("li.finding", "were rejected").await;
    assert!(
        finding.contains(
            "suggest-reply 0.2.0 on acme: 60 % of 20 drafts decided this week were rejected"
        ),
        "{finding}"
    );
    assert!(
        finding.contains("\u{201c}wrong opening hours\u{201d} (12)"),
        "{finding}"
    );
    assert!(browser.has("svg.chart rect").await, "the charts are drawn");
    assert!(
        browser
            .text("table.insights")
            .await
            .contains("suggest-reply 0.2.0")
    );
    browser.screenshot("insights").await;

    // One click pauses the plugin, with the finding as the reason.
    browser.click("li.finding button").await;
    browser.wait_text("p.notice", "paused").await;
    let pauses = api_get(&gateway, "/api/v1/pauses");
    assert_eq!(pauses[0]["scope"], "plugin:suggest-reply", "{pauses}");
    browser.close().await;
}
