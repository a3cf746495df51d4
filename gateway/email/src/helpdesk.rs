//! A support mailbox behind the same [`HelpdeskClient`] as Zendesk and Freshdesk, so the
//! pipeline, the approval gate, the outbox and the console work on email tickets unchanged.
//!
//! - `fetch_ticket` builds the ticket from the thread the store keeps (`deskbridge_store::
//!   mail`): inbound mail is the customer's, with quoted history and signatures cut for the
//!   AI; replies the gateway sent are an agent's; notes are internal (ours, `bot`). Mail the
//!   noise rules caught, and replies not confirmed sent, are left out of what the AI sees.
//! - `apply`: notes and tags stay on the ticket in the store — an internal note is never
//!   mailed; email tickets have no priority.
//! - `public_reply` records the reply in the thread as *pending*, then sends the approved text
//!   over SMTP to the thread's requester — never to whoever wrote last — with our fixed
//!   `Message-ID` (an HMAC of the draft id under the mailbox's secret key: stable across
//!   retries, unguessable before the send), the threading headers, a `Reply-To` carrying the
//!   ticket key and a blind copy to the support mailbox itself; the server's `250` confirms
//!   it, a permanent refusal of the first try withdraws it from the thread. A send that may
//!   have gone out (a timeout) is reported `maybe_applied`, and the outbox asks
//!   `find_public_reply` — by the draft's reply id, never by text — before any retry:
//!   confirmed → done; still pending → the mailbox's copy is looked for (filed by the reader
//!   from our address, which confirms the reply, or found over IMAP by its `Message-ID`);
//!   without a copy the answer is "wait" for [`COPY_GRACE`] from the last try, and only then
//!   "not sent", so the same message goes out again.

use std::sync::Arc;
use std::time::Duration;

use deskbridge_connectors::{
    ApiError, BoxFuture, FetchedTicket, HelpdeskClient, Write, WriteReceipt, text_has_marker,
};
use deskbridge_core::{
    AuthorRole, Channel, Customer, HelpdeskKind, Message, Priority, Ticket, TicketStatus,
    Visibility,
};
use deskbridge_store::Store;
use deskbridge_store::mail::{MailKind, MailMessage, MailThread, PendingChange};
use sha2::{Digest, Sha256};

use crate::imap::{ImapReader, ImapSettings};
use crate::parse::MailAddress;
use crate::quote::strip_quotes;
use crate::smtp::{Reply, SendFailure, SmtpSender, build};
use crate::thread::reply_message_id;

/// Most message ids a reply's `References` carries (the newest).
const MAX_REFERENCES: usize = 20;

/// How long a reply whose send timed out waits for the mailbox's copy before it is sent
/// again.
pub const COPY_GRACE: Duration = Duration::from_secs(600);

/// One email helpdesk instance.
pub struct EmailHelpdesk {
    name: String,
    store: Arc<dyn Store>,
    mailbox: MailAddress,
    smtp: SmtpSender,
    /// Where the mailbox's copies of our replies are looked for.
    imap: Option<ImapSettings>,
    copy_grace: Duration,
}

impl std::fmt::Debug for EmailHelpdesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailHelpdesk")
            .field("name", &self.name)
            .field("mailbox", &self.mailbox.address)
            .finish_non_exhaustive()
    }
}

/// Other mail holds the id our reply would go under: it is not sent (never expected: the id
/// cannot be guessed before the send).
fn id_taken() -> ApiError {
    ApiError::Permanent {
        status: None,
        reason: "other mail already holds this reply's Message-ID: not sent".into(),
    }
}

fn store_error(e: deskbridge_store::StoreError) -> ApiError {
    ApiError::Transient {
        reason: format!("the store failed: {e}"),
        maybe_applied: false,
    }
}

fn rfc3339(ms: i64) -> String {
    deskbridge_core::civil_time::UtcDateTime::from_unix_ms(ms).rfc3339()
}

impl EmailHelpdesk {
    /// The client of email helpdesk `name`, answering as `mailbox` through `smtp`.
    pub fn new(
        name: &str,
        store: Arc<dyn Store>,
        mailbox: MailAddress,
        smtp: SmtpSender,
    ) -> EmailHelpdesk {
        EmailHelpdesk {
            name: name.to_owned(),
            store,
            mailbox,
            smtp,
            imap: None,
            copy_grace: COPY_GRACE,
        }
    }

    /// Looks for the copies of timed-out replies in this mailbox over IMAP too (not only
    /// among the mail the reader filed).
    pub fn with_imap(mut self, imap: ImapSettings) -> EmailHelpdesk {
        self.imap = Some(imap);
        self
    }

    /// Waits `grace` (instead of [`COPY_GRACE`]) for a copy before a resend.
    pub fn with_copy_grace(mut self, grace: Duration) -> EmailHelpdesk {
        self.copy_grace = grace;
        self
    }

    fn domain(&self) -> &str {
        self.mailbox
            .address
            .split_once('@')
            .map_or("localhost", |(_, domain)| domain)
    }

    fn thread(&self, ticket_id: &str) -> Result<MailThread, ApiError> {
        self.store
            .mail_thread(&self.name, ticket_id)
            .map_err(store_error)?
            .ok_or_else(|| ApiError::Permanent {
                status: Some(404),
                reason: format!("no email ticket {ticket_id} on {}", self.name),
            })
    }

    /// The ticket as plugins see it.
    fn ticket(&self, thread: &MailThread) -> Ticket {
        // Noise is not the customer's; a reply not confirmed sent may never have reached them.
        let messages = thread
            .messages
            .iter()
            .filter(|m| m.noise.is_none() && !m.pending)
            .map(|m| {
                let (author_role, visibility, body) = match m.kind {
                    MailKind::Inbound => (
                        AuthorRole::Customer,
                        Visibility::Public,
                        strip_quotes(&m.text),
                    ),
                    MailKind::Reply => (AuthorRole::Agent, Visibility::Public, m.text.clone()),
                    MailKind::Note => (AuthorRole::Bot, Visibility::Internal, m.text.clone()),
                };
                Message {
                    id: m.message_id.clone(),
                    author_role,
                    author_name: m.from_name.clone(),
                    visibility,
                    body,
                    created_at: rfc3339(m.at_ms),
                }
            })
            .collect();
        Ticket {
            id: thread.ticket_id.clone(),
            helpdesk: self.name.clone(),
            helpdesk_kind: HelpdeskKind::Email,
            subject: thread.subject.clone(),
            status: TicketStatus::Open,
            priority: Priority::Normal,
            tags: thread.tags.clone(),
            requester: Customer {
                id: thread.requester_address.clone().unwrap_or_default(),
                name: thread.requester_name.clone(),
                email: thread.requester_address.clone(),
                locale: None,
            },
            channel: Channel::Email,
            messages,
        }
    }

    fn note(&self, ticket_id: &str, body: &str, marker: &str) -> Result<WriteReceipt, ApiError> {
        let id = format!(
            "note.{}@{}",
            hex::encode(&Sha256::digest(marker.as_bytes())[..8]),
            self.domain()
        );
        let note = MailMessage {
            message_id: id.clone(),
            kind: MailKind::Note,
            from_name: Some("Deskbridge".into()),
            from_address: None,
            subject: String::new(),
            at_ms: now_ms(),
            text: format!("{body}\n\n— {marker}"),
            attachments: Vec::new(),
            noise: None,
            problems: Vec::new(),
            pending: false,
        };
        self.store
            .add_mail_message(&self.name, ticket_id, &note)
            .map_err(store_error)?;
        Ok(WriteReceipt { id: Some(id) })
    }

    async fn send_reply(
        &self,
        approved: &deskbridge_core::ApprovedReply,
    ) -> Result<WriteReceipt, ApiError> {
        let thread = self.thread(approved.ticket_id())?;
        let Some(customer) = thread.requester_address.clone() else {
            return Err(ApiError::Permanent {
                status: None,
                reason: "the email ticket has no sender address to answer".into(),
            });
        };
        let message_id = self.reply_id(approved)?;
        match thread.message(&message_id) {
            Some(ours) if ours.kind == MailKind::Reply && !ours.pending => {
                return Ok(WriteReceipt {
                    id: Some(message_id),
                });
            }
            Some(ours) if ours.kind == MailKind::Reply => {} // an earlier try's, pending
            Some(_) => return Err(id_taken()),
            None => {}
        }
        let customers_newest = thread
            .messages
            .iter()
            .rev()
            .find(|m| m.kind == MailKind::Inbound && m.noise.is_none())
            .map(|m| m.message_id.clone());
        let mut references: Vec<String> = thread
            .messages
            .iter()
            .filter(|m| m.kind != MailKind::Note && m.message_id != message_id)
            .map(|m| m.message_id.clone())
            .collect();
        if references.len() > MAX_REFERENCES {
            references.drain(..references.len() - MAX_REFERENCES);
        }
        let (local, domain) = self
            .mailbox
            .address
            .split_once('@')
            .unwrap_or((self.mailbox.address.as_str(), "localhost"));
        let reply = Reply {
            from: self.mailbox.clone(),
            to: MailAddress {
                name: thread.requester_name.clone(),
                address: customer,
            },
            bcc: Some(MailAddress {
                name: None,
                address: self.mailbox.address.clone(),
            }),
            reply_to: Some(format!("{local}+{}@{domain}", thread.ticket_id)),
            subject: thread.subject.clone(),
            message_id: message_id.clone(),
            in_reply_to: customers_newest,
            references,
            text: approved.body().to_owned(),
        };
        let message = build(&reply).map_err(|e| ApiError::Permanent {
            status: None,
            reason: e.to_string(),
        })?;
        // On record before it leaves: a timeout later is looked into, not resent blindly.
        let pending = MailMessage {
            message_id: message_id.clone(),
            kind: MailKind::Reply,
            from_name: self.mailbox.name.clone(),
            from_address: Some(self.mailbox.address.clone()),
            subject: crate::smtp::reply_subject(&thread.subject),
            at_ms: now_ms(),
            text: approved.body().to_owned(),
            attachments: Vec::new(),
            noise: None,
            problems: Vec::new(),
            pending: true,
        };
        let recorded = self
            .store
            .add_mail_message(&self.name, approved.ticket_id(), &pending)
            .map_err(store_error)?;
        if !recorded {
            // Pending from an earlier try: the wait for a copy counts from this one.
            let still_pending = self.pending(
                approved.ticket_id(),
                &message_id,
                PendingChange::Attempted { at_ms: now_ms() },
            )?;
            if !still_pending {
                // Its copy came in meanwhile (sent), or other mail holds the id.
                let now = self.thread(approved.ticket_id())?;
                return match now.message(&message_id) {
                    Some(m) if m.kind == MailKind::Reply && !m.pending => Ok(WriteReceipt {
                        id: Some(message_id),
                    }),
                    _ => Err(id_taken()),
                };
            }
        }
        match self.smtp.send(&message).await {
            Ok(_) => {}
            Err(SendFailure::NotSent { transient, reason }) if transient => {
                return Err(ApiError::Transient {
                    reason,
                    maybe_applied: false,
                });
            }
            Err(SendFailure::NotSent { reason, .. }) => {
                // Refused for good: it will not go out, so it leaves the thread — unless an
                // earlier try may have sent it (its copy may still come).
                if recorded {
                    self.pending(approved.ticket_id(), &message_id, PendingChange::Withdrawn)?;
                }
                return Err(ApiError::Permanent {
                    status: None,
                    reason,
                });
            }
            Err(SendFailure::MaybeSent { reason }) => {
                return Err(ApiError::Transient {
                    reason,
                    maybe_applied: true,
                });
            }
        }
        self.store
            .update_pending_mail(
                &self.name,
                approved.ticket_id(),
                &message_id,
                PendingChange::Sent,
            )
            .map_err(|e| ApiError::Transient {
                // Sent, but not marked: the read-back finds the mailbox's copy.
                reason: format!("sent, but the store failed: {e}"),
                maybe_applied: true,
            })?;
        Ok(WriteReceipt {
            id: Some(message_id),
        })
    }

    /// The `Message-ID` of the reply of `approved`'s draft: fixed before the first try, and
    /// unguessable before it is sent (`thread::reply_message_id`).
    fn reply_id(&self, approved: &deskbridge_core::ApprovedReply) -> Result<String, ApiError> {
        let key = self.store.mail_reply_key(&self.name).map_err(store_error)?;
        Ok(reply_message_id(&key, approved.draft_id(), self.domain()))
    }

    /// Records what became of a pending reply.
    fn pending(
        &self,
        ticket_id: &str,
        message_id: &str,
        change: PendingChange,
    ) -> Result<bool, ApiError> {
        self.store
            .update_pending_mail(&self.name, ticket_id, message_id, change)
            .map_err(store_error)
    }

    /// Whether the mailbox holds the copy of our message `message_id` (over IMAP).
    async fn copy_in_mailbox(&self, message_id: &str) -> Result<bool, ApiError> {
        let Some(settings) = &self.imap else {
            return Ok(false);
        };
        let unreachable = |e: crate::imap::ImapError| ApiError::Transient {
            reason: format!("looking for the mailbox's copy of a reply: {e}"),
            maybe_applied: true,
        };
        let (mut reader, _) = ImapReader::connect(settings).await.map_err(unreachable)?;
        let found = reader
            .has_message_id(message_id)
            .await
            .map_err(unreachable)?;
        let _ = reader.logout().await;
        Ok(found)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl HelpdeskClient for EmailHelpdesk {
    fn fetch_ticket<'a>(
        &'a self,
        ticket_id: &'a str,
    ) -> BoxFuture<'a, Result<FetchedTicket, ApiError>> {
        Box::pin(async move {
            let thread = self.thread(ticket_id)?;
            Ok(FetchedTicket {
                ticket: self.ticket(&thread),
            })
        })
    }

    fn apply<'a>(
        &'a self,
        ticket_id: &'a str,
        write: Write<'a>,
        marker: &'a str,
    ) -> BoxFuture<'a, Result<WriteReceipt, ApiError>> {
        Box::pin(async move {
            match write {
                Write::InternalNote { body } => self.note(ticket_id, body, marker),
                Write::AddTags { tags } => {
                    self.store
                        .add_mail_tags(&self.name, ticket_id, tags)
                        .map_err(store_error)?;
                    Ok(WriteReceipt { id: None })
                }
                Write::SetPriority { .. } => Err(ApiError::Permanent {
                    status: None,
                    reason: "email tickets have no priority".into(),
                }),
            }
        })
    }

    fn find_marker<'a>(
        &'a self,
        ticket_id: &'a str,
        marker: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ApiError>> {
        Box::pin(async move {
            let thread = self.thread(ticket_id)?;
            Ok(thread
                .messages
                .iter()
                .find(|m| m.kind == MailKind::Note && text_has_marker(&m.text, marker))
                .map(|m| m.message_id.clone()))
        })
    }

    fn public_reply<'a>(
        &'a self,
        reply: &'a deskbridge_core::ApprovedReply,
    ) -> BoxFuture<'a, Result<WriteReceipt, ApiError>> {
        Box::pin(self.send_reply(reply))
    }

    fn find_public_reply<'a>(
        &'a self,
        approved: &'a deskbridge_core::ApprovedReply,
    ) -> BoxFuture<'a, Result<Option<String>, ApiError>> {
        Box::pin(async move {
            let ticket_id = approved.ticket_id();
            let thread = self.thread(ticket_id)?;
            // By the id this draft's reply is sent under: another reply with the same text
            // is another reply.
            let message_id = self.reply_id(approved)?;
            let Some(reply) = thread
                .message(&message_id)
                .filter(|m| m.kind == MailKind::Reply)
            else {
                // A long thread drops its oldest messages, never a pending reply: one of ours
                // filed here and gone from the thread was sent.
                let filed_here = self
                    .store
                    .mail_ticket_of(&self.name, &message_id)
                    .map_err(store_error)?
                    .is_some_and(|ticket| ticket == ticket_id)
                    && thread.message(&message_id).is_none();
                return Ok(filed_here.then_some(message_id));
            };
            if !reply.pending {
                return Ok(Some(message_id));
            }
            if self.copy_in_mailbox(&message_id).await? {
                self.pending(ticket_id, &message_id, PendingChange::Sent)?;
                return Ok(Some(message_id));
            }
            // `at_ms` is the last try's start.
            let waited = u64::try_from(now_ms().saturating_sub(reply.at_ms)).unwrap_or(0);
            if waited < self.copy_grace.as_millis() as u64 {
                return Err(ApiError::Transient {
                    reason: format!(
                        "the send of {message_id} timed out: waiting up to {} s for the mailbox's copy before sending it again",
                        self.copy_grace.as_secs()
                    ),
                    maybe_applied: true,
                });
            }
            Ok(None)
        })
    }

    fn knowledge<'a>(
        &'a self,
    ) -> BoxFuture<'a, Result<Vec<deskbridge_core::KnowledgeDoc>, ApiError>> {
        Box::pin(async move {
            Err(ApiError::Permanent {
                status: Some(404),
                reason: "a mailbox has no knowledge base of its own (use [helpdesks.NAME.knowledge] files)"
                    .into(),
            })
        })
    }

    fn probe<'a>(&'a self) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            self.smtp.check().await.map_err(|e| ApiError::Transient {
                reason: format!("SMTP: {e}"),
                maybe_applied: false,
            })
        })
    }
}
