//! The Zendesk Support API (v2): tickets, users and comments with cursor pagination; internal
//! notes, tags and priority through `PUT /api/v2/tickets/{id}`.
//!
//! Who wrote a comment is read from its author's Zendesk role, side-loaded with the comments
//! (`include=users`): `end-user` is the customer's side — the requester, or anyone copied on
//! or following the ticket — and `agent`/`admin` is staff. An author the answer does not
//! describe counts as the customer's side, so what a stranger writes is never taken for an
//! agent's words (policy checks look at every customer-side message).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use deskbridge_core::{
    ApprovedReply, Channel, Customer, HelpdeskKind, Message, Priority, Ticket, TicketStatus,
    Visibility,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::http::{Api, Auth, bad_id, id_string, is_numeric_id, malformed};
use crate::marker::{author_role, find_marked};
use crate::{ApiError, FetchedTicket, RateGate, Write, WriteReceipt};

/// Comments fetched per page (Zendesk's maximum is 100).
const PAGE_SIZE: &str = "100";
/// Pages read at most for one thread (10,000 comments).
const MAX_PAGES: usize = 100;

/// How the gateway authenticates to Zendesk.
#[derive(Clone)]
pub enum ZendeskAuth {
    /// An API token: basic auth as `{email}/token` with the token as password.
    ApiToken {
        /// The agent's email.
        email: String,
        /// The API token.
        token: String,
    },
    /// An OAuth access token.
    OAuth {
        /// The token.
        token: String,
    },
}

impl std::fmt::Debug for ZendeskAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZendeskAuth::ApiToken { email, .. } => write!(f, "ApiToken({email}, ***)"),
            ZendeskAuth::OAuth { .. } => write!(f, "OAuth(***)"),
        }
    }
}

/// One Zendesk instance.
#[derive(Debug, Clone)]
pub struct ZendeskSettings {
    /// Name of the instance in the config.
    pub helpdesk: String,
    /// `https://{subdomain}.zendesk.com`.
    pub base_url: String,
    /// Credentials.
    pub auth: ZendeskAuth,
    /// Timeout of one request.
    pub timeout: Duration,
}

/// A Zendesk API client.
#[derive(Debug)]
pub struct ZendeskClient {
    helpdesk: String,
    pub(crate) api: Api,
}

impl ZendeskClient {
    /// A client whose requests pass through `gate`.
    pub fn new(settings: ZendeskSettings, gate: Arc<RateGate>) -> Result<ZendeskClient, ApiError> {
        let auth = match settings.auth {
            ZendeskAuth::ApiToken { email, token } => Auth::Basic {
                user: format!("{email}/token"),
                password: token,
            },
            ZendeskAuth::OAuth { token } => Auth::Bearer(token),
        };
        Ok(ZendeskClient {
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

    /// `GET /api/v2/users/me`: Zendesk answers an unauthenticated request as the anonymous
    /// user (no id) rather than 401, so the id is what proves the credentials work.
    async fn probe(&self) -> Result<(), ApiError> {
        let me = self.get("/api/v2/users/me", &[]).await?;
        if me["user"]["id"].is_u64() {
            Ok(())
        } else {
            Err(ApiError::Permanent {
                status: None,
                reason: "Zendesk does not accept the configured credentials (anonymous user)"
                    .into(),
            })
        }
    }

    /// Every comment of a ticket, oldest first, following `meta.after_cursor`; with `roles`,
    /// also the Zendesk role of every author the pages side-load (`include=users`), by user id.
    async fn comments(&self, ticket_id: &str, with_roles: bool) -> Result<Comments, ApiError> {
        let path = format!("/api/v2/tickets/{ticket_id}/comments");
        let mut comments = Vec::new();
        let mut roles = HashMap::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("page[size]", PAGE_SIZE)];
            if with_roles {
                query.push(("include", "users"));
            }
            if let Some(cursor) = &after {
                query.push(("page[after]", cursor.as_str()));
            }
            let page = self.get(&path, &query).await?;
            let items = page["comments"]
                .as_array()
                .ok_or_else(|| malformed("`comments`"))?;
            comments.extend(items.iter().cloned());
            for user in page["users"].as_array().into_iter().flatten() {
                if let (Some(id), Some(role)) = (id_string(&user["id"]), user["role"].as_str()) {
                    roles.insert(id, role.to_owned());
                }
            }
            if page["meta"]["has_more"].as_bool() != Some(true) {
                return Ok(Comments { comments, roles });
            }
            after = Some(
                page["meta"]["after_cursor"]
                    .as_str()
                    .ok_or_else(|| malformed("`meta.after_cursor` while `has_more` is true"))?
                    .to_owned(),
            );
        }
        Err(ApiError::Permanent {
            status: None,
            reason: format!("ticket {ticket_id} has more than {MAX_PAGES} pages of comments"),
        })
    }

    async fn fetch(&self, ticket_id: &str) -> Result<FetchedTicket, ApiError> {
        if !is_numeric_id(ticket_id) {
            return Err(bad_id(ticket_id));
        }
        let answer = self
            .get(&format!("/api/v2/tickets/{ticket_id}"), &[])
            .await?;
        let ticket = &answer["ticket"];
        let requester_id =
            id_string(&ticket["requester_id"]).ok_or_else(|| malformed("`ticket.requester_id`"))?;
        let requester = match self
            .get(&format!("/api/v2/users/{requester_id}"), &[])
            .await
        {
            Ok(user) => customer(&requester_id, &user["user"]),
            // A deleted requester should not block the ticket.
            Err(ApiError::Permanent {
                status: Some(404), ..
            }) => Customer {
                id: requester_id.clone(),
                name: None,
                email: None,
                locale: None,
            },
            Err(e) => return Err(e),
        };
        let Comments { comments, roles } = self.comments(ticket_id, true).await?;
        let messages = comments
            .iter()
            .map(|c| message(c, &requester_id, &roles))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FetchedTicket {
            ticket: Ticket {
                id: ticket_id.to_owned(),
                helpdesk: self.helpdesk.clone(),
                helpdesk_kind: HelpdeskKind::Zendesk,
                subject: ticket["subject"]
                    .as_str()
                    .or_else(|| ticket["raw_subject"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
                status: status(ticket["status"].as_str()),
                priority: priority(ticket["priority"].as_str()),
                tags: ticket["tags"]
                    .as_array()
                    .map(|tags| {
                        tags.iter()
                            .filter_map(|t| t.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                requester,
                channel: channel(ticket["via"]["channel"].as_str()),
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
        let update = match write {
            Write::InternalNote { body } => json!({
                "comment": { "body": format!("{body}\n\n— {marker}"), "public": false }
            }),
            Write::AddTags { tags } => json!({ "additional_tags": tags }),
            Write::SetPriority { priority } => json!({ "priority": priority_name(priority) }),
        };
        self.update_ticket(ticket_id, update).await
    }

    /// `PUT /api/v2/tickets/{id}` with `{"ticket": update}`; the receipt is the id of the
    /// comment it added, if any.
    async fn update_ticket(
        &self,
        ticket_id: &str,
        update: Value,
    ) -> Result<WriteReceipt, ApiError> {
        let answer = self
            .api
            .send(
                Method::PUT,
                &format!("/api/v2/tickets/{ticket_id}"),
                &[],
                Some(&json!({ "ticket": update })),
                true,
            )
            .await?;
        let comment_id = answer.body["audit"]["events"]
            .as_array()
            .and_then(|events| {
                events
                    .iter()
                    .find(|e| e["type"].as_str() == Some("Comment"))
                    .and_then(|e| id_string(&e["id"]))
            });
        Ok(WriteReceipt { id: comment_id })
    }

    async fn find(&self, ticket_id: &str, marker: &str) -> Result<Option<String>, ApiError> {
        if !is_numeric_id(ticket_id) {
            return Err(bad_id(ticket_id));
        }
        let comments = self.comments(ticket_id, false).await?.comments;
        Ok(find_marked(&comments, ["body", "plain_body"], marker))
    }

    /// A public comment (`ticket.comment.public: true`) with exactly the approved text.
    async fn reply(&self, reply: &ApprovedReply) -> Result<WriteReceipt, ApiError> {
        let ticket_id = reply.ticket_id();
        if !is_numeric_id(ticket_id) {
            return Err(bad_id(ticket_id));
        }
        let update = json!({ "comment": { "body": reply.body(), "public": true } });
        self.update_ticket(ticket_id, update).await
    }

    async fn find_reply(&self, ticket_id: &str, body: &str) -> Result<Option<String>, ApiError> {
        if !is_numeric_id(ticket_id) {
            return Err(bad_id(ticket_id));
        }
        let comments = self.comments(ticket_id, false).await?.comments;
        Ok(comments
            .iter()
            .filter(|c| c["public"].as_bool() != Some(false))
            .find(|c| {
                ["body", "plain_body"]
                    .iter()
                    .any(|key| c[*key].as_str().map(str::trim) == Some(body.trim()))
            })
            .and_then(|c| id_string(&c["id"])))
    }
}

crate::helpdesk_client!(ZendeskClient);

/// A ticket's comments and the Zendesk role (`end-user`, `agent`, `admin`) of their authors.
struct Comments {
    comments: Vec<Value>,
    roles: HashMap<String, String>,
}

fn customer(id: &str, user: &Value) -> Customer {
    let text = |key: &str| user[key].as_str().map(str::to_owned);
    Customer {
        id: id.to_owned(),
        name: text("name"),
        email: text("email"),
        locale: text("locale"),
    }
}

/// Whether a comment's author is on the customer's side: the requester, an end user (copied,
/// following, or writing in), or anyone the API did not describe as staff.
fn customer_side(author: &str, requester_id: &str, roles: &HashMap<String, String>) -> bool {
    author == requester_id
        || !matches!(
            roles.get(author).map(String::as_str),
            Some("agent" | "admin")
        )
}

fn message(
    comment: &Value,
    requester_id: &str,
    roles: &HashMap<String, String>,
) -> Result<Message, ApiError> {
    let id = id_string(&comment["id"]).ok_or_else(|| malformed("`comments[].id`"))?;
    let body = comment["plain_body"]
        .as_str()
        .or_else(|| comment["body"].as_str())
        .unwrap_or_default()
        .to_owned();
    let author = id_string(&comment["author_id"]).unwrap_or_default();
    let visibility = if comment["public"].as_bool() == Some(false) {
        Visibility::Internal
    } else {
        Visibility::Public
    };
    let author_role = author_role(
        visibility,
        &body,
        customer_side(&author, requester_id, roles),
    );
    Ok(Message {
        id,
        author_role,
        author_name: None,
        visibility,
        body,
        created_at: comment["created_at"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    })
}

fn status(value: Option<&str>) -> TicketStatus {
    match value {
        Some("new") => TicketStatus::New,
        Some("pending") => TicketStatus::Pending,
        Some("hold") => TicketStatus::OnHold,
        Some("solved") => TicketStatus::Solved,
        Some("closed") => TicketStatus::Closed,
        _ => TicketStatus::Open,
    }
}

fn priority(value: Option<&str>) -> Priority {
    match value {
        Some("low") => Priority::Low,
        Some("high") => Priority::High,
        Some("urgent") => Priority::Urgent,
        _ => Priority::Normal,
    }
}

fn priority_name(priority: Priority) -> &'static str {
    match priority {
        Priority::Low => "low",
        Priority::Normal => "normal",
        Priority::High => "high",
        Priority::Urgent => "urgent",
    }
}

fn channel(value: Option<&str>) -> Channel {
    match value {
        Some("email") => Channel::Email,
        Some("web") | Some("web_form") | Some("web_widget") => Channel::Web,
        Some("chat") | Some("native_messaging") => Channel::Chat,
        Some("voice") => Channel::Phone,
        Some("api") => Channel::Api,
        Some("twitter") | Some("facebook") | Some("instagram_dm") | Some("whatsapp") => {
            Channel::Social
        }
        _ => Channel::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskbridge_core::AuthorRole;

    #[test]
    fn comments_are_classified_by_author_role_and_marker() {
        let roles: HashMap<String, String> = [
            ("7", "end-user"),
            ("8", "end-user"),
            ("9", "agent"),
            ("10", "admin"),
        ]
        .into_iter()
        .map(|(id, role)| (id.to_owned(), role.to_owned()))
        .collect();
        let customer = json!({"id": 1, "author_id": 7, "plain_body": "help", "public": true, "created_at": "t"});
        let agent =
            json!({"id": 2, "author_id": 9, "body": "on it", "public": false, "created_at": "t"});
        let ours = json!({"id": 3, "author_id": 9, "body": "summary\n\n— Deskbridge ref e.s.0", "public": false, "created_at": "t"});
        let m = |c: &Value| message(c, "7", &roles).expect("valid");
        // A colleague the requester copied in, an admin, and someone the API did not describe.
        let copied =
            json!({"id": 5, "author_id": 8, "body": "me too", "public": true, "created_at": "t"});
        assert_eq!(m(&copied).author_role, AuthorRole::Customer);
        let admin =
            json!({"id": 6, "author_id": 10, "body": "done", "public": true, "created_at": "t"});
        assert_eq!(m(&admin).author_role, AuthorRole::Agent);
        let stranger =
            json!({"id": 7, "author_id": 99, "body": "hi", "public": true, "created_at": "t"});
        assert_eq!(m(&stranger).author_role, AuthorRole::Customer);
        assert_eq!(m(&customer).author_role, AuthorRole::Customer);
        assert_eq!(m(&agent).author_role, AuthorRole::Agent);
        assert_eq!(m(&agent).visibility, Visibility::Internal);
        assert_eq!(m(&ours).author_role, AuthorRole::Bot);
        let quoting = json!({"id": 4, "author_id": 7, "body": "you wrote Deskbridge ref e.s.0?", "public": true, "created_at": "t"});
        assert_eq!(m(&quoting).author_role, AuthorRole::Customer);
        assert!(message(&json!({"body": "x"}), "7", &roles).is_err());
    }

    #[test]
    fn vendor_values_map_to_the_normalized_model() {
        assert_eq!(status(Some("hold")), TicketStatus::OnHold);
        assert_eq!(priority(None), Priority::Normal);
        assert_eq!(channel(Some("voice")), Channel::Phone);
        assert_eq!(priority_name(Priority::Urgent), "urgent");
    }
}
