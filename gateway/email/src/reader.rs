//! The mailbox loop of one email helpdesk: read new mail over IMAP, file each message in the
//! store (`filing.rs`), make it durable, make an event of a person's mail through the
//! pipeline's durable ingest, mark the event made, and only then settle the message on the
//! server (flag or move).
//!
//! Nothing is lost or doubled across a crash: a message is settled only after its record and
//! its event are on disk, so one fetched and not yet settled is read again after a restart —
//! every session starts with the mailbox's unsettled messages up to the cursor. Its second
//! recording is a no-op, and it makes an event only if the record says its event was never
//! made (the event's dedupe key catches the crash between the event and that mark).
//!
//! Where reading starts: on the first start, at the mail that arrives from then on (the
//! mailbox's history is not read, unless `read_existing` asks for its unsettled messages).
//! When the mailbox's `UIDVALIDITY` changed (the server renumbered it), the unsettled
//! messages are read again — those already recorded make no event — and reading goes on
//! after the newest. One message is held in memory at a time. Connection failures retry with
//! a growing pause (1 s to 5 min).

use std::sync::Arc;
use std::time::Duration;

use deskbridge_core::{EventKind, HelpdeskKind};
use deskbridge_pipeline::{Ingest, IngestError};
use deskbridge_store::mail::MailCursor;
use deskbridge_store::{EventSource, InboundEvent, Store, StoreError};
use sha2::{Digest, Sha256};

use crate::filing::{Filed, Mailbox, SenderLimit, file_mail};

/// The new-ticket limit, shared by a reader's sessions.
type Limit = Arc<std::sync::Mutex<SenderLimit>>;
use crate::imap::{Fetched, ImapError, ImapReader, ImapSettings};

/// UIDs listed per round (their messages are fetched one at a time).
const BATCH: usize = 200;

/// What one mailbox reader needs.
#[derive(Debug, Clone)]
pub struct ReaderSettings {
    /// The IMAP server.
    pub imap: ImapSettings,
    /// Where the mail goes.
    pub mailbox: Mailbox,
    /// The longest IDLE, and the pause between polls without IDLE.
    pub poll: Duration,
    /// New tickets one sender may open per hour.
    pub new_tickets_per_sender_per_hour: u32,
    /// On the first start, also read the unsettled messages already in the mailbox.
    pub read_existing: bool,
}

/// Why a session of the loop ended (it starts again after a pause).
#[derive(Debug, thiserror::Error)]
enum ReaderError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the pipeline refused the event: {0}")]
    Ingest(#[from] IngestError),
    #[error("filing a message failed: {0}")]
    Join(String),
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Reads the mailbox until the runtime stops.
pub async fn run(settings: ReaderSettings, store: Arc<dyn Store>, ingest: Ingest) {
    let helpdesk = settings.mailbox.helpdesk.clone();
    let mut pause = Duration::from_secs(1);
    let limit = Arc::new(std::sync::Mutex::new(SenderLimit::new(
        settings.new_tickets_per_sender_per_hour,
    )));
    loop {
        match session(&settings, &store, &ingest, &limit).await {
            Ok(()) => pause = Duration::from_secs(1),
            Err(e) => {
                tracing::warn!(
                    helpdesk = %helpdesk,
                    error = %e,
                    retry_in_s = pause.as_secs(),
                    "mailbox reader: trying again later"
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(300));
            }
        }
    }
}

/// One connection's worth of reading; returns only on an error.
async fn session(
    settings: &ReaderSettings,
    store: &Arc<dyn Store>,
    ingest: &Ingest,
    limit: &Limit,
) -> Result<(), ReaderError> {
    let helpdesk = &settings.mailbox.helpdesk;
    let (mut reader, state) = ImapReader::connect(&settings.imap).await?;
    let validity = state.uid_validity;
    let cursor = match store.mail_cursor(helpdesk)? {
        Some(cursor) if cursor.uid_validity == validity => cursor,
        known => {
            // Every message now in the mailbox is at or below `newest`; later ones above.
            let newest = match state.uid_next {
                Some(next) => next.saturating_sub(1),
                None => reader.newest_uid().await?,
            };
            let renumbered = known.is_some();
            if renumbered {
                tracing::warn!(
                    helpdesk = %helpdesk,
                    new = validity,
                    "the mailbox's UIDVALIDITY changed: reading its unsettled mail again"
                );
            }
            let cursor = MailCursor {
                uid_validity: validity,
                last_uid: newest,
                start_uid: if renumbered || settings.read_existing {
                    0
                } else {
                    newest
                },
                // A renumbered mailbox keeps the day its history ended.
                history_before_ms: match known {
                    Some(old) => old.history_before_ms,
                    None if settings.read_existing => 0,
                    None => now_ms(),
                },
            };
            store.set_mail_cursor(helpdesk, cursor)?;
            store.durable().await?;
            cursor
        }
    };
    let mut last_uid = cursor.last_uid;
    tracing::info!(helpdesk = %helpdesk, last_uid, idle = reader.supports_idle(), "mailbox reader connected");
    let context = Context {
        settings,
        store,
        ingest,
        limit,
        cursor,
    };
    // Recorded but not settled (a crash in between), renumbered, or there before the first
    // start with `read_existing`: read again. Never the history the first start left.
    let since = (cursor.history_before_ms > 0).then_some(cursor.history_before_ms);
    for uid in reader.unsettled(since).await? {
        if uid > last_uid {
            break;
        }
        if uid > cursor.start_uid {
            context.read(&mut reader, uid).await?;
        }
    }
    loop {
        let uids = reader.uids_after(last_uid, BATCH).await?;
        let full = uids.len() == BATCH;
        for uid in uids {
            context.read(&mut reader, uid).await?;
            last_uid = last_uid.max(uid);
        }
        if full {
            continue;
        }
        let (idle_reader, _changed) = reader.wait(settings.poll).await?;
        reader = idle_reader;
    }
}

/// What handling one message needs besides the message.
struct Context<'a> {
    settings: &'a ReaderSettings,
    store: &'a Arc<dyn Store>,
    ingest: &'a Ingest,
    limit: &'a Limit,
    /// The session's cursor (`last_uid` moves on with each message).
    cursor: MailCursor,
}

impl Context<'_> {
    /// Fetches message `uid` (if it is still there) and handles it.
    async fn read(&self, reader: &mut ImapReader, uid: u32) -> Result<(), ReaderError> {
        match reader.fetch(uid).await? {
            Some(fetched) => self.handle(reader, fetched).await,
            None => Ok(()),
        }
    }

    /// One message: file it, make its event durable, settle it.
    async fn handle(&self, reader: &mut ImapReader, fetched: Fetched) -> Result<(), ReaderError> {
        let Context {
            settings,
            store,
            ingest,
            limit,
            cursor,
        } = *self;
        let helpdesk = &settings.mailbox.helpdesk;
        let cursor = MailCursor {
            last_uid: fetched.uid,
            ..cursor
        };
        let Some(raw) = fetched.raw else {
            // Over the fetch limit: left on the server, unsettled, for a person.
            store.set_mail_cursor(helpdesk, cursor)?;
            tracing::warn!(
                helpdesk = %helpdesk,
                uid = fetched.uid,
                bytes = fetched.size,
                "a message is too large to read: left in the mailbox for a person"
            );
            return Ok(());
        };
        let filed: Filed = {
            let (store, mailbox, limit) = (
                Arc::clone(store),
                settings.mailbox.clone(),
                Arc::clone(limit),
            );
            // Parsing a large message takes a while: off the async threads.
            tokio::task::spawn_blocking(move || {
                let mut limit = limit.lock().unwrap_or_else(|e| e.into_inner());
                file_mail(
                    store.as_ref(),
                    &mailbox,
                    &raw,
                    cursor,
                    now_ms(),
                    Some(&mut limit),
                )
            })
            .await
            .map_err(|e| ReaderError::Join(e.to_string()))??
        };
        if filed.over_limit && filed.recorded.ticket_id.is_none() {
            tracing::warn!(helpdesk = %helpdesk, uid = fetched.uid, "a sender over the new-ticket limit: mail recorded in no ticket");
        }
        if let Some(reason) = filed.noise_code {
            tracing::info!(helpdesk = %helpdesk, uid = fetched.uid, reason, "mail recorded, not drafted to");
        }
        if filed.message.problems.is_empty() {
            // Nothing to add.
        } else if let Some(ticket) = &filed.recorded.ticket_id {
            tracing::warn!(helpdesk = %helpdesk, uid = fetched.uid, ticket = %ticket, problems = filed.message.problems.len(), "malformed mail kept raw and tagged");
            store.add_mail_tags(
                helpdesk,
                ticket,
                &[deskbridge_core::MALFORMED_MAIL_TAG.to_owned()],
            )?;
        }
        if let Some(ticket) = filed.event_ticket() {
            let digest = Sha256::digest(filed.message.message_id.as_bytes());
            let event = InboundEvent {
                id: format!("mail_{}", hex::encode(&digest[..10])),
                dedupe_key: format!("mail:{}", filed.message.message_id),
                helpdesk: helpdesk.clone(),
                helpdesk_kind: HelpdeskKind::Email,
                ticket_id: ticket.to_owned(),
                received_at_ms: now_ms(),
                source: EventSource::Fetch {
                    kind_hint: Some(if filed.recorded.new_ticket {
                        EventKind::TicketCreated
                    } else {
                        EventKind::CustomerMessageAdded
                    }),
                    origin: format!("imap uid {}", fetched.uid),
                },
                request_id: None,
            };
            // The record on disk before its event: a replayed event must find its thread.
            store.durable().await?;
            ingest.accept(event).await?; // durable on return
            store.mark_mail_event(helpdesk, &filed.message.message_id)?;
        }
        store.durable().await?;
        reader.settle(fetched.uid).await?;
        Ok(())
    }
}
