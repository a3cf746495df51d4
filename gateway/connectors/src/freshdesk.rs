//! The Freshdesk API (v2): `GET /api/v2/tickets/{id}?include=conversations,requester` (and the
//! paginated conversations list when a thread outgrows the ten conversations `include`
//! embeds), private notes through `POST /api/v2/tickets/{id}/notes`, tags and priority
//! through `PUT /api/v2/tickets/{id}`. Basic auth with the API key as user and `X` as password.

use std::sync::Arc;
use std::time::Duration;

use deskbridge_core::{
    ApprovedReply, AuthorRole, Channel, Customer, HelpdeskKind, Message, Priority, Ticket,
    TicketStatus, Visibility,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::http::{Api, Auth, bad_id, id_string, is_numeric_id, malformed};
use crate::marker::{author_role, find_marked};
use crate::{ApiError, FetchedTicket, RateGate, Write, WriteReceipt};

/// Conversations `include=conversations` embeds at most.
const EMBEDDED_CONVERSATIONS: usize = 10;
/// Conversations per page of the list endpoint (Freshdesk's maximum).
const PER_PAGE: usize = 100;
/// Pages read at most for one thread.
const MAX_PAGES: usize = 100;

/// One Freshdesk instance.
#[derive(Clone)]
pub struct FreshdeskSettings {
    /// Name of the instance in the config.
    pub helpdesk: String,
    /// `https://{domain}.freshdesk.com`.
    pub base_url: String,
    /// The API key.
    pub api_key: String,
    /// Timeout of one request.
    pub timeout: Duration,
}

impl std::fmt::Debug for FreshdeskSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreshdeskSettings")
            .field("helpdesk", &self.helpdesk)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// A Freshdesk API client.
#[derive(Debug)]
pub struct FreshdeskClient {
    helpdesk: String,
    pub(crate) api: Api,
}

impl FreshdeskClient {
    /// A client whose requests pass through `gate`.
    pub fn new(
        settings: FreshdeskSettings,
        gate: Arc<RateGate>,
    ) -> Result<FreshdeskClient, ApiError> {
        let auth = Auth::Basic {
            user: settings.api_key,
            password: "X".into(),
        };
        Ok(FreshdeskClient {
            helpdesk: settings.helpdesk,
            api: Api::new(&settings.base_url, auth, gate, settings.timeout)?,
        })
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, ApiError> {
        Ok(self
            .api
            .send(Method::GET, path, query, None, false)
            .await?
            .body)
    }

    /// `GET /api/v2/agents/me`: answers only with a valid API key.
    async fn probe(&self) -> Result<(), ApiError> {
        self.get("/api/v2/agents/me", &[]).await.map(|_| ())
    }

    /// Every conversation of a ticket, oldest first.
    async fn conversations(&self, ticket_id: &str) -> Result<Vec<Value>, ApiError> {
        let path = format!("/api/v2/tickets/{ticket_id}/conversations");
        let per_page = PER_PAGE.to_string();
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let page_number = page.to_string();
            let answer = self
                .api
                .send(
                    Method::GET,
                    &path,
                    &[("per_page", &per_page), ("page", &page_number)],
                    None,
                    false,
                )
                .await?;
            let items = answer
                .body
                .as_array()
                .ok_or_else(|| malformed("a list of conversations"))?;
            all.extend(items.iter().cloned());
            if !answer.has_next_page() {
                return Ok(all);
            }
        }
        Err(ApiError::Permanent {
            status: None,
            reason: format!("ticket {ticket_id} has more than {MAX_PAGES} pages of conversations"),
        })
    }

    async fn fetch(&self, ticket_id: &str) -> Result<FetchedTicket, ApiError> {
        if !is_numeric_id(ticket_id) {
            return Err(bad_id(ticket_id));
        }
        let ticket = self
            .get(
                &format!("/api/v2/tickets/{ticket_id}"),
                &[("include", "conversations,requester")],
            )
            .await?;
        let requester_id =
            id_string(&ticket["requester_id"]).ok_or_else(|| malformed("`requester_id`"))?;
        let embedded = ticket["conversations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let conversations = if embedded.len() >= EMBEDDED_CONVERSATIONS {
            self.conversations(ticket_id).await?
        } else {
            embedded
        };
        let requester = &ticket["requester"];
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let mut messages = vec![Message {
            id: format!("{ticket_id}-description"),
            author_role: AuthorRole::Customer,
            author_name: text(&requester["name"]),
            visibility: Visibility::Public,
            body: ticket["description_text"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            created_at: ticket["created_at"].as_str().unwrap_or_default().to_owned(),
        }];
        for conversation in &conversations {
            messages.push(message(conversation, &requester_id)?);
        }
        Ok(FetchedTicket {
            ticket: Ticket {
                id: ticket_id.to_owned(),
                helpdesk: self.helpdesk.clone(),
                helpdesk_kind: HelpdeskKind::Freshdesk,
                subject: ticket["subject"].as_str().unwrap_or_default().to_owned(),
                status: status(ticket["status"].as_u64()),
                priority: priority(ticket["priority"].as_u64()),
                tags: tags(&ticket),
                requester: Customer {
                    id: requester_id,
                    name: text(&requester["name"]),
                    email: text(&requester["email"]),
                    locale: text(&requester["language"]),
                },
                channel: channel(ticket["source"].as_u64()),
                messages,
            },
        })
    }

    async fn write(
        &self,
        ticket_id: &str,
        write: Write<'_>,
        marker: &str,
    ) -> Result<WriteReceipt, ApiError> {
        if !is_numeric_id(ticket_id) {
            return Err(bad_id(ticket_id));
        }
        let ticket_path = format!("/api/v2/tickets/{ticket_id}");
        let (method, path, body) = match write {
            Write::InternalNote { body } => (
                Method::POST,
                format!("{ticket_path}/notes"),
                json!({ "body": note_html(body, marker), "private": true }),
            ),
            Write::AddTags { tags: new_tags } => {
                // `tags` replaces the list and Freshdesk has no "add tags" call: merge with
                // what the ticket has now. A tag an agent adds between this read and the
                // `PUT` is lost (documented in the README).
                let current = self.get(&ticket_path, &[]).await?;
                let mut merged = tags(&current);
                for tag in new_tags {
                    if !merged.contains(tag) {
                        merged.push(tag.clone());
                    }
                }
                (Method::PUT, ticket_path, json!({ "tags": merged }))
            }
            Write::SetPriority { priority } => (
                Method::PUT,
                ticket_path,
                json!({ "priority": priority_number(priority) }),
            ),
        };
        let answer = self.api.send(method, &path, &[], Some(&body), true).await?;
        let id = match write {
            Write::InternalNote { .. } => id_string(&answer.body["id"]),
            _ => None,
        };
        Ok(WriteReceipt { id })
    }

    async fn find(&self, ticket_id: &str, marker: &str) -> Result<Option<String>, ApiError> {
        if !is_numeric_id(ticket_id) {
            return Err(bad_id(ticket_id));
        }
        let conversations = self.conversations(ticket_id).await?;
        Ok(find_marked(&conversations, ["body", "body_text"], marker))
    }

    /// `POST /api/v2/tickets/{id}/reply` with exactly the approved text (escaped as HTML).
    async fn reply(&self, reply: &ApprovedReply) -> Result<WriteReceipt, ApiError> {
        let ticket_id = reply.ticket_id();
        if !is_numeric_id(ticket_id) {
            return Err(bad_id(ticket_id));
        }
        let answer = self
            .api
            .send(
                Method::POST,
                &format!("/api/v2/tickets/{ticket_id}/reply"),
                &[],
                Some(&json!({ "body": reply_html(reply.body()) })),
                true,
            )
            .await?;
        Ok(WriteReceipt {
            id: id_string(&answer.body["id"]),
        })
    }

    async fn find_reply(&self, ticket_id: &str, body: &str) -> Result<Option<String>, ApiError> {
        if !is_numeric_id(ticket_id) {
            return Err(bad_id(ticket_id));
        }
        let html = reply_html(body);
        let conversations = self.conversations(ticket_id).await?;
        Ok(conversations
            .iter()
            .filter(|c| {
                c["private"].as_bool() == Some(false) && c["incoming"].as_bool() != Some(true)
            })
            .find(|c| {
                c["body"].as_str() == Some(html.as_str())
                    || c["body_text"].as_str().map(str::trim) == Some(body.trim())
            })
            .and_then(|c| id_string(&c["id"])))
    }
}

crate::helpdesk_client!(FreshdeskClient);

/// Plain text as HTML: escaped, line breaks kept.
fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\n', "<br>")
}

/// A note's HTML: the text, the marker as a last paragraph.
fn note_html(text: &str, marker: &str) -> String {
    format!("<div>{}</div><p>— {marker}</p>", escape_html(text))
}

/// A public reply's HTML: exactly the approved text, nothing added.
fn reply_html(text: &str) -> String {
    format!("<div>{}</div>", escape_html(text))
}

fn tags(ticket: &Value) -> Vec<String> {
    ticket["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn message(conversation: &Value, requester_id: &str) -> Result<Message, ApiError> {
    let id = id_string(&conversation["id"]).ok_or_else(|| malformed("`conversations[].id`"))?;
    let body = conversation["body_text"]
        .as_str()
        .or_else(|| conversation["body"].as_str())
        .unwrap_or_default()
        .to_owned();
    let author = id_string(&conversation["user_id"]).unwrap_or_default();
    let visibility = if conversation["private"].as_bool() == Some(true) {
        Visibility::Internal
    } else {
        Visibility::Public
    };
    let author_role = author_role(
        visibility,
        &body,
        author == requester_id || conversation["incoming"].as_bool() == Some(true),
    );
    Ok(Message {
        id,
        author_role,
        author_name: None,
        visibility,
        body,
        created_at: conversation["created_at"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    })
}

/// Freshdesk statuses: 2 Open, 3 Pending, 4 Resolved, 5 Closed; 6 and 7 are the usual custom
/// "waiting on customer" and "waiting on third party".
fn status(value: Option<u64>) -> TicketStatus {
    match value {
        Some(3) | Some(6) => TicketStatus::Pending,
        Some(4) => TicketStatus::Solved,
        Some(5) => TicketStatus::Closed,
        Some(7) => TicketStatus::OnHold,
        _ => TicketStatus::Open,
    }
}

/// Freshdesk priorities: 1 Low, 2 Medium, 3 High, 4 Urgent.
fn priority(value: Option<u64>) -> Priority {
    match value {
        Some(1) => Priority::Low,
        Some(3) => Priority::High,
        Some(4) => Priority::Urgent,
        _ => Priority::Normal,
    }
}

fn priority_number(priority: Priority) -> u8 {
    match priority {
        Priority::Low => 1,
        Priority::Normal => 2,
        Priority::High => 3,
        Priority::Urgent => 4,
    }
}

/// Freshdesk sources: 1 Email, 2 Portal, 3 Phone, 7 Chat, 9 Feedback widget, 10 Outbound email.
fn channel(value: Option<u64>) -> Channel {
    match value {
        Some(1) | Some(10) => Channel::Email,
        Some(2) | Some(9) => Channel::Web,
        Some(3) => Channel::Phone,
        Some(7) => Channel::Chat,
        _ => Channel::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text_has_marker;

    #[test]
    fn notes_are_escaped_html_with_the_marker() {
        let html = note_html("a < b\n\"x\"", "Deskbridge ref e.s.0");
        assert_eq!(
            html,
            "<div>a &lt; b<br>&quot;x&quot;</div><p>— Deskbridge ref e.s.0</p>"
        );
        assert!(text_has_marker(&html, "Deskbridge ref e.s.0"));
    }

    #[test]
    fn vendor_numbers_map_to_the_normalized_model() {
        assert_eq!(status(Some(4)), TicketStatus::Solved);
        assert_eq!(priority(Some(2)), Priority::Normal);
        assert_eq!(priority_number(Priority::Urgent), 4);
        assert_eq!(channel(Some(7)), Channel::Chat);
        let incoming = json!({"id": 5, "user_id": 99, "incoming": true, "body_text": "hi"});
        assert_eq!(
            message(&incoming, "1").expect("valid").author_role,
            AuthorRole::Customer
        );
    }
}
