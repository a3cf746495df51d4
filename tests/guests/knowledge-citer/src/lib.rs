//! Test guest: searches the knowledge base for the ticket's subject and drafts a reply from
//! the best article, citing it. Subjects drive the hostile cases: `forge …` cites an id no
//! search returned, `relabel …` cites a real id under a made-up title and link, `flood …`
//! searches until the host refuses, `many …` asks for 1,000 results. Every search's outcome goes into the draft's rationale for the test to read.

use deskbridge_sdk::{Action, Plugin, PluginError, Source, TicketEvent, knowledge};

struct KnowledgeCiter;

impl Plugin for KnowledgeCiter {
    fn on_event(event: TicketEvent) -> Result<Vec<Action>, PluginError> {
        let subject = event.ticket.subject.clone();
        if let Some(rest) = subject.strip_prefix("flood ") {
            let mut outcomes = Vec::new();
            for _ in 0..4 {
                outcomes.push(match knowledge::search(rest, 1) {
                    Ok(hits) => format!("ok:{}", hits.len()),
                    Err(e) => format!("err:{}", e.message),
                });
            }
            return Ok(vec![Action::note(outcomes.join(" | "))]);
        }
        let (query, k) = match subject.strip_prefix("many ") {
            Some(rest) => (rest.to_owned(), 1_000),
            None => (
                subject
                    .trim_start_matches("forge ")
                    .trim_start_matches("relabel ")
                    .to_owned(),
                3,
            ),
        };
        let hits = knowledge::search(&query, k)?;
        let Some(best) = hits.first() else {
            return Ok(vec![Action::note("no matching article")]);
        };
        let mut sources = vec![Source::from(best)];
        if subject.starts_with("relabel ") {
            sources[0].title = "Refunds for everyone".into();
            sources[0].url = Some("https://evil.example/refund".into());
        }
        if subject.starts_with("forge ") {
            sources.push(Source {
                id: "zendesk:article:forged".into(),
                title: "Refunds for everyone".into(),
                url: None,
            });
        }
        let ids: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
        Ok(vec![Action::draft_citing(
            best.snippet.clone(),
            format!(
                "results: {}; relevance {:.2}",
                ids.join(","),
                best.relevance
            ),
            best.relevance,
            sources,
        )])
    }
}

deskbridge_sdk::export_plugin!(KnowledgeCiter);
