//! Test guest: uses one host import past the limits of its manifest, chosen by the ticket's
//! subject (events) or the draft's body (reviews), and reports what the host answered as a
//! note. With a subject ending in `-within` it stays just inside the same limit.

use deskbridge_sdk::ai::{self, ChatMessage, ChatRole, CompletionRequest};
use deskbridge_sdk::{
    Action, ApproverRole, Draft, Plugin, PluginError, Ticket, TicketEvent, Verdict, kv, log,
};

struct ImportAbuser;

fn ask(messages: usize, bytes_each: usize) -> String {
    let request = CompletionRequest {
        provider: None,
        model: None,
        messages: (0..messages)
            .map(|i| ChatMessage {
                role: if i == 0 {
                    ChatRole::System
                } else {
                    ChatRole::User
                },
                content: "x".repeat(bytes_each),
            })
            .collect(),
        max_tokens: 16,
    };
    match ai::complete(&request) {
        Ok(_) => "ai answered".into(),
        Err(e) => format!("ai refused: {e:?}"),
    }
}

fn fill_kv(keys: usize, value: usize) -> String {
    for i in 0..keys {
        if let Err(e) = kv::set(&format!("key-{i}"), &vec![b'v'; value]) {
            return format!("kv refused key {i}: {}", e.message);
        }
    }
    format!("kv took {keys} keys")
}

impl Plugin for ImportAbuser {
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let outcome = match event.ticket.subject.as_str() {
            "log-lines-within" | "log-lines" => {
                let lines = if event.ticket.subject.ends_with("within") {
                    8
                } else {
                    9
                };
                for i in 0..lines {
                    log::info(&format!("line {i}"));
                }
                format!("logged {lines} lines")
            }
            "log-bytes" => {
                log::with_fields(
                    log::Level::Info,
                    &"m".repeat(2048),
                    &[("f", &"v".repeat(2100))],
                );
                "logged 4 KiB".into()
            }
            "log-forged" => {
                log::info("fine\n2026-12-04T00:00:00Z ERROR deskbridge: forged line \u{1b}[31m");
                "logged a forged line".into()
            }
            "ai-messages-within" => ask(4, 10),
            "ai-messages" => ask(5, 10),
            "ai-prompt-within" => ask(2, 2048),
            "ai-prompt" => ask(2, 2049),
            "kv-key" => match kv::set(&"k".repeat(33), b"v") {
                Ok(()) => "kv took a 33-byte key".into(),
                Err(e) => format!("kv refused: {}", e.message),
            },
            "kv-value" => fill_kv(1, 1025),
            "kv-keys" => fill_kv(17, 1),
            "kv-total" => fill_kv(16, 1000),
            other => format!("nothing to do for {other}"),
        };
        Ok(vec![Action::note(outcome)])
    }

    fn review_draft(_ticket: Ticket, draft: Draft) -> Result<Verdict, PluginError> {
        let mut verdict = Verdict::require(ApproverRole::Agent, 1);
        let flags: &[(&str, String)] = &match draft.body.as_str() {
            "flags-within" => vec![("ok", "fine".to_owned()); 4],
            "flags" => vec![("ok", "fine".to_owned()); 5],
            "flag-code" => vec![("Not A Code", "fine".to_owned())],
            "flag-long" => vec![("ok", "m".repeat(65))],
            "flag-control" => vec![("ok", "red \u{1b}[31m text".to_owned())],
            _ => Vec::new(),
        };
        for (code, message) in flags {
            verdict = verdict.with_flag(*code, message.clone());
        }
        if draft.body == "block-long" {
            verdict = Verdict::block("r".repeat(65));
        }
        Ok(verdict)
    }
}

deskbridge_sdk::export_plugin!(ImportAbuser);
