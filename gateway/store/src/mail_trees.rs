//! The sled side of the email channel's threads (`mail.rs`): seven trees, six of them written
//! together in one transaction per message.
//!
//! - `mail_threads`: `helpdesk \0 ticket` → [`MailThread`] (JSON);
//! - `mail_ids`: `helpdesk \0 message-id` → ticket id, or for a message recorded in no
//!   ticket `\0` and when it was recorded (8 bytes, big-endian milliseconds; empty in stores
//!   from before retention knew them);
//! - `mail_subjects`: `helpdesk \0 sender \0 subject` → ticket id (the fallback);
//! - `mail_raw`: `helpdesk \0 message-id` → the raw message as received;
//! - `mail_cursors`: `helpdesk` → [`MailCursor`] (JSON);
//! - `mail_events`: `helpdesk \0 message-id` → empty: the message's event was made;
//! - `mail_keys`: `helpdesk` → 32 random bytes, the key our reply `Message-ID`s are made with.

use std::collections::HashSet;

use sled::Tree;
use sled::transaction::{ConflictableTransactionError, Transactional, TransactionalTree};

use crate::StoreError;
use crate::mail::{
    MailCursor, MailKind, MailMessage, MailRecorded, MailThread, PendingChange, ThreadHint,
    ticket_id_for,
};
use crate::sled_store::{backend, decode, encode, flatten, pair_key};

/// The trees.
pub(crate) struct MailTrees {
    pub(crate) threads: Tree,
    pub(crate) ids: Tree,
    pub(crate) subjects: Tree,
    pub(crate) raw: Tree,
    pub(crate) cursors: Tree,
    pub(crate) events: Tree,
    pub(crate) keys: Tree,
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort(error: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(error)
}

fn subject_key(helpdesk: &str, sender: &str, subject: &str) -> Vec<u8> {
    let mut key = pair_key(helpdesk, sender);
    key.push(0);
    key.extend_from_slice(subject.as_bytes());
    key
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The ticket a `mail_ids` value names; `None` for a message recorded in no ticket.
fn ticket_in(value: &[u8]) -> Option<String> {
    (!value.is_empty() && value[0] != 0).then(|| text(value))
}

/// The `mail_ids` value of a message recorded in no ticket at `now_ms`.
fn no_ticket(now_ms: i64) -> Vec<u8> {
    let mut value = vec![0];
    value.extend_from_slice(&now_ms.to_be_bytes());
    value
}

/// When a message was recorded in no ticket, from its `mail_ids` value (`None`: in a ticket,
/// or recorded before the time was kept).
fn recorded_in_no_ticket_at(value: &[u8]) -> Option<i64> {
    match value {
        [0, time @ ..] => <[u8; 8]>::try_from(time).ok().map(i64::from_be_bytes),
        _ => None,
    }
}

/// The gateway's clock, Unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// What a retention pass deleted of the email channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PrunedMail {
    /// Email tickets untouched since the cutoff, with their messages and raw mail.
    pub(crate) tickets: usize,
    /// Messages recorded in no ticket (noise) before the cutoff, with their raw mail.
    pub(crate) unthreaded: usize,
}

/// The thread a hint points at, if any, with its ticket id. A reference or the ticket key
/// finds a thread only for mail from one of its participants — noise included: an outsider's
/// auto-reply or bounce is not the customer's to read in their ticket (the mailbox's copies of
/// our replies are duplicates, filed before this is asked); the sender-and-subject fallback is
/// the sender's own by construction.
fn find_thread(
    helpdesk: &str,
    message: &MailMessage,
    hint: &ThreadHint,
    ids: &TransactionalTree,
    threads: &TransactionalTree,
    subjects: &TransactionalTree,
) -> TxResult<Option<(String, MailThread)>> {
    // An index entry may outlive its thread for a moment while retention deletes both.
    let load = |ticket: &str| -> TxResult<Option<MailThread>> {
        let key = pair_key(helpdesk, ticket);
        match threads.get(&key)? {
            Some(bytes) => Ok(Some(decode(&key, &bytes).map_err(abort)?)),
            None => Ok(None),
        }
    };
    let may_join = |thread: &MailThread| {
        message
            .from_address
            .as_deref()
            .is_some_and(|from| thread.is_participant(from))
    };
    let mut tried: Vec<String> = Vec::new();
    for id in &hint.referenced_ids {
        if let Some(value) = ids.get(pair_key(helpdesk, id))?
            && let Some(ticket) = ticket_in(&value)
        {
            if tried.contains(&ticket) {
                continue;
            }
            if let Some(thread) = load(&ticket)?
                && may_join(&thread)
            {
                return Ok(Some((ticket, thread)));
            }
            tried.push(ticket);
        }
    }
    if let Some(key) = &hint.ticket_key
        && !tried.contains(key)
        && let Some(thread) = load(key)?
        && may_join(&thread)
    {
        return Ok(Some((key.clone(), thread)));
    }
    if let Some((sender, subject)) = &hint.sender_subject
        && let Some(ticket) = subjects.get(subject_key(helpdesk, sender, subject))?
    {
        let ticket = text(&ticket);
        if let Some(thread) = load(&ticket)? {
            return Ok(Some((ticket, thread)));
        }
    }
    Ok(None)
}

impl MailTrees {
    /// `Store::record_mail`.
    pub(crate) fn record(
        &self,
        helpdesk: &str,
        message: &MailMessage,
        raw: &[u8],
        hint: &ThreadHint,
        may_open: bool,
        cursor: MailCursor,
    ) -> Result<MailRecorded, StoreError> {
        let id_key = pair_key(helpdesk, &message.message_id);
        (
            &self.threads,
            &self.ids,
            &self.subjects,
            &self.raw,
            &self.cursors,
            &self.events,
        )
            .transaction(|(threads, ids, subjects, raws, cursors, events)| {
                advance_cursor(cursors, helpdesk, cursor)?;
                if let Some(known) = ids.get(&id_key)? {
                    let ticket = ticket_in(&known);
                    // The mailbox's copy of a reply of ours, from our address: it went out.
                    if let Some(ticket) = &ticket {
                        let key = pair_key(helpdesk, ticket);
                        if let Some(bytes) = threads.get(&key)? {
                            let mut thread: MailThread = decode(&key, &bytes).map_err(abort)?;
                            let ours = thread.message(&message.message_id).is_some_and(|m| {
                                m.kind == MailKind::Reply
                                    && m.from_address.as_deref().is_some_and(|a| {
                                        message
                                            .from_address
                                            .as_deref()
                                            .is_some_and(|from| from.eq_ignore_ascii_case(a))
                                    })
                            });
                            if ours
                                && thread.change_pending(&message.message_id, PendingChange::Sent)
                            {
                                threads.insert(key, encode(&thread).map_err(abort)?)?;
                            }
                        }
                    }
                    return Ok(MailRecorded {
                        ticket_id: ticket,
                        new_ticket: false,
                        duplicate: true,
                        event_made: events.get(&id_key)?.is_some(),
                    });
                }
                raws.insert(id_key.as_slice(), raw)?;
                let found = find_thread(helpdesk, message, hint, ids, threads, subjects)?;
                let (ticket_id, mut thread, new_ticket) = match found {
                    Some((ticket, thread)) => (ticket, thread, false),
                    None if may_open => {
                        let ticket = ticket_id_for(helpdesk, &message.message_id);
                        let thread = MailThread {
                            helpdesk: helpdesk.to_owned(),
                            ticket_id: ticket.clone(),
                            subject: message.subject.clone(),
                            requester_name: message.from_name.clone(),
                            requester_address: message.from_address.clone(),
                            tags: Vec::new(),
                            created_at_ms: message.at_ms,
                            updated_at_ms: 0,
                            messages: Vec::new(),
                        };
                        (ticket, thread, true)
                    }
                    None => {
                        // Noise that matches no thread: kept raw and indexed, in no ticket.
                        ids.insert(id_key.as_slice(), no_ticket(now_ms()))?;
                        return Ok(MailRecorded {
                            ticket_id: None,
                            new_ticket: false,
                            duplicate: false,
                            event_made: false,
                        });
                    }
                };
                thread.push(message.clone());
                thread.updated_at_ms = now_ms();
                let thread_key = pair_key(helpdesk, &ticket_id);
                threads.insert(thread_key, encode(&thread).map_err(abort)?)?;
                ids.insert(id_key.as_slice(), ticket_id.as_bytes())?;
                if let Some((sender, subject)) = &hint.sender_subject
                    && message.kind == MailKind::Inbound
                    && message.noise.is_none()
                {
                    subjects
                        .insert(subject_key(helpdesk, sender, subject), ticket_id.as_bytes())?;
                }
                Ok(MailRecorded {
                    ticket_id: Some(ticket_id),
                    new_ticket,
                    duplicate: false,
                    event_made: false,
                })
            })
            .map_err(flatten)
    }

    /// `Store::add_mail_message`: a message the gateway wrote, into an existing thread.
    pub(crate) fn add(
        &self,
        helpdesk: &str,
        ticket_id: &str,
        message: &MailMessage,
    ) -> Result<bool, StoreError> {
        let id_key = pair_key(helpdesk, &message.message_id);
        let thread_key = pair_key(helpdesk, ticket_id);
        (&self.threads, &self.ids)
            .transaction(|(threads, ids)| {
                if ids.get(&id_key)?.is_some() {
                    return Ok(false);
                }
                let Some(bytes) = threads.get(&thread_key)? else {
                    return Err(abort(StoreError::NotFound {
                        what: "email ticket",
                        id: ticket_id.to_owned(),
                    }));
                };
                let mut thread: MailThread = decode(&thread_key, &bytes).map_err(abort)?;
                thread.push(message.clone());
                thread.updated_at_ms = now_ms();
                threads.insert(thread_key.as_slice(), encode(&thread).map_err(abort)?)?;
                ids.insert(id_key.as_slice(), ticket_id.as_bytes())?;
                Ok(true)
            })
            .map_err(flatten)
    }

    /// `Store::update_pending_mail`.
    pub(crate) fn update_pending(
        &self,
        helpdesk: &str,
        ticket_id: &str,
        message_id: &str,
        change: PendingChange,
    ) -> Result<bool, StoreError> {
        let thread_key = pair_key(helpdesk, ticket_id);
        let id_key = pair_key(helpdesk, message_id);
        (&self.threads, &self.ids)
            .transaction(|(threads, ids)| {
                let Some(bytes) = threads.get(&thread_key)? else {
                    return Ok(false);
                };
                let mut thread: MailThread = decode(&thread_key, &bytes).map_err(abort)?;
                if !thread.change_pending(message_id, change) {
                    return Ok(false);
                }
                threads.insert(thread_key.as_slice(), encode(&thread).map_err(abort)?)?;
                if change == PendingChange::Withdrawn {
                    ids.remove(id_key.as_slice())?;
                }
                Ok(true)
            })
            .map_err(flatten)
    }

    /// `Store::add_mail_tags`: adds the tags the thread lacks; whether any was new.
    pub(crate) fn add_tags(
        &self,
        helpdesk: &str,
        ticket_id: &str,
        tags: &[String],
    ) -> Result<bool, StoreError> {
        let thread_key = pair_key(helpdesk, ticket_id);
        self.threads
            .transaction(|threads| {
                let Some(bytes) = threads.get(&thread_key)? else {
                    return Err(abort(StoreError::NotFound {
                        what: "email ticket",
                        id: ticket_id.to_owned(),
                    }));
                };
                let mut thread: MailThread = decode(&thread_key, &bytes).map_err(abort)?;
                let before = thread.tags.len();
                for tag in tags {
                    if !thread.tags.contains(tag) {
                        thread.tags.push(tag.clone());
                    }
                }
                if thread.tags.len() == before {
                    return Ok(false);
                }
                thread.updated_at_ms = now_ms();
                threads.insert(thread_key.as_slice(), encode(&thread).map_err(abort)?)?;
                Ok(true)
            })
            .map_err(flatten)
    }

    /// A thread.
    pub(crate) fn thread(
        &self,
        helpdesk: &str,
        ticket_id: &str,
    ) -> Result<Option<MailThread>, StoreError> {
        let key = pair_key(helpdesk, ticket_id);
        self.threads
            .get(&key)
            .map_err(backend)?
            .map(|bytes| decode(&key, &bytes))
            .transpose()
    }

    /// The ticket a message id is filed under (`Some("")`: recorded in no ticket).
    pub(crate) fn ticket_of(
        &self,
        helpdesk: &str,
        message_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .ids
            .get(pair_key(helpdesk, message_id))
            .map_err(backend)?
            .map(|value| ticket_in(&value).unwrap_or_default()))
    }

    /// The raw message.
    pub(crate) fn raw(
        &self,
        helpdesk: &str,
        message_id: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .raw
            .get(pair_key(helpdesk, message_id))
            .map_err(backend)?
            .map(|b| b.to_vec()))
    }

    /// `Store::mark_mail_event`.
    pub(crate) fn mark_event(&self, helpdesk: &str, message_id: &str) -> Result<(), StoreError> {
        self.events
            .insert(pair_key(helpdesk, message_id), &[] as &[u8])
            .map_err(backend)?;
        Ok(())
    }

    /// Deletes the email tickets the gateway last wrote to before `before_ms` (none with a
    /// reply still pending), with their messages' index entries, raw mail and event marks,
    /// and the messages recorded in no ticket before then. A thread is deleted only if it
    /// still holds the bytes read, so a message filed meanwhile keeps it; an index entry that
    /// outlives its thread for a moment is ignored by the threading.
    pub(crate) fn prune(&self, before_ms: i64) -> Result<PrunedMail, StoreError> {
        let mut pruned = PrunedMail::default();
        let mut gone: HashSet<Vec<u8>> = HashSet::new();
        for entry in self.threads.iter() {
            let (key, bytes) = entry.map_err(backend)?;
            let Ok(thread) = decode::<MailThread>(&key, &bytes) else {
                continue; // left for an operator
            };
            if thread.updated_at_ms == 0 {
                // Written before the gateway kept its own time: it ages from now.
                let mut stamped = thread;
                stamped.updated_at_ms = now_ms();
                let _raced = self
                    .threads
                    .compare_and_swap(&key, Some(&bytes), Some(encode(&stamped)?))
                    .map_err(backend)?;
                continue;
            }
            if thread.updated_at_ms >= before_ms || thread.messages.iter().any(|m| m.pending) {
                continue;
            }
            let swapped = self
                .threads
                .compare_and_swap(&key, Some(&bytes), None as Option<&[u8]>)
                .map_err(backend)?;
            if swapped.is_ok() {
                gone.insert(key.to_vec());
                pruned.tickets += 1;
            }
        }
        for entry in self.ids.iter() {
            let (key, value) = entry.map_err(backend)?;
            let helpdesk = key.split(|&b| b == 0).next().unwrap_or_default();
            if value.is_empty() {
                // In no ticket, from before the time was kept: it ages from now.
                let _raced = self
                    .ids
                    .compare_and_swap(&key, Some(&value), Some(no_ticket(now_ms())))
                    .map_err(backend)?;
                continue;
            }
            let delete = match recorded_in_no_ticket_at(&value) {
                Some(at) => {
                    let old = at < before_ms;
                    pruned.unthreaded += usize::from(old);
                    old
                }
                None => {
                    !value.is_empty() && {
                        let mut thread_key = helpdesk.to_vec();
                        thread_key.push(0);
                        thread_key.extend_from_slice(&value);
                        gone.contains(&thread_key)
                    }
                }
            };
            if delete {
                self.ids.remove(&key).map_err(backend)?;
                self.raw.remove(&key).map_err(backend)?;
                self.events.remove(&key).map_err(backend)?;
            }
        }
        if !gone.is_empty() {
            for entry in self.subjects.iter() {
                let (key, value) = entry.map_err(backend)?;
                let helpdesk = key.split(|&b| b == 0).next().unwrap_or_default();
                let mut thread_key = helpdesk.to_vec();
                thread_key.push(0);
                thread_key.extend_from_slice(&value);
                if gone.contains(&thread_key) {
                    self.subjects.remove(&key).map_err(backend)?;
                }
            }
        }
        Ok(pruned)
    }

    /// `Store::mail_reply_key`: made on first use, then always the same.
    pub(crate) fn reply_key(&self, helpdesk: &str) -> Result<[u8; 32], StoreError> {
        let stored = |bytes: &[u8]| {
            <[u8; 32]>::try_from(bytes).map_err(|_| StoreError::Corrupt {
                key: format!("mail_keys/{helpdesk}"),
                reason: "not a 32-byte key".into(),
            })
        };
        if let Some(bytes) = self.keys.get(helpdesk.as_bytes()).map_err(backend)? {
            return stored(&bytes);
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| StoreError::Backend(format!("no randomness for a mail key: {e}")))?;
        match self
            .keys
            .compare_and_swap(helpdesk.as_bytes(), None as Option<&[u8]>, Some(&key[..]))
            .map_err(backend)?
        {
            Ok(()) => Ok(key),
            // Another caller made one first: theirs it is.
            Err(race) => stored(race.current.as_deref().unwrap_or_default()),
        }
    }

    /// The mailbox cursor.
    pub(crate) fn cursor(&self, helpdesk: &str) -> Result<Option<MailCursor>, StoreError> {
        self.cursors
            .get(helpdesk.as_bytes())
            .map_err(backend)?
            .map(|bytes| decode(helpdesk.as_bytes(), &bytes))
            .transpose()
    }

    /// Moves the cursor on (a skipped message still advances it).
    pub(crate) fn set_cursor(&self, helpdesk: &str, cursor: MailCursor) -> Result<(), StoreError> {
        self.cursors
            .transaction(|cursors| advance_cursor(cursors, helpdesk, cursor))
            .map_err(flatten)
    }
}

/// The cursor moves forward only, or to a new `UIDVALIDITY` (the server renumbered).
fn advance_cursor(cursors: &TransactionalTree, helpdesk: &str, cursor: MailCursor) -> TxResult<()> {
    let current: Option<MailCursor> = match cursors.get(helpdesk.as_bytes())? {
        Some(bytes) => Some(decode(helpdesk.as_bytes(), &bytes).map_err(abort)?),
        None => None,
    };
    let newer = current
        .is_none_or(|c| c.uid_validity != cursor.uid_validity || c.last_uid < cursor.last_uid);
    if newer {
        cursors.insert(helpdesk.as_bytes(), encode(&cursor).map_err(abort)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::mail::{MailCursor, MailKind, MailMessage, ThreadHint};
    use crate::{SledStore, Store};

    fn inbound(id: &str, from: &str, subject: &str) -> MailMessage {
        MailMessage {
            message_id: id.into(),
            kind: MailKind::Inbound,
            from_name: None,
            from_address: Some(from.into()),
            subject: subject.into(),
            at_ms: 1_000,
            text: format!("text of {id}"),
            attachments: Vec::new(),
            noise: None,
            problems: Vec::new(),
            pending: false,
        }
    }

    fn cursor(last_uid: u32) -> MailCursor {
        MailCursor {
            uid_validity: 7,
            last_uid,
            start_uid: 0,
            history_before_ms: 0,
        }
    }

    fn by_subject(from: &str, subject: &str) -> ThreadHint {
        ThreadHint {
            sender_subject: Some((from.into(), subject.into())),
            ..ThreadHint::default()
        }
    }

    #[test]
    fn messages_thread_by_reference_key_and_subject_and_record_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let first = inbound("a1@example.com", "ana@example.com", "Order");
        let opened = store
            .record_mail(
                "mail",
                &first,
                b"raw a1",
                &by_subject("ana@example.com", "order"),
                true,
                cursor(1),
            )
            .expect("record");
        assert!(opened.new_ticket && !opened.duplicate);
        let ticket = opened.ticket_id.clone().expect("a ticket");

        // By reference (our reply, then the customer's answer to it).
        let reply = MailMessage {
            kind: MailKind::Reply,
            ..inbound("deskbridge.r1@acme.test", "support@acme.test", "Re: Order")
        };
        assert!(
            store
                .add_mail_message("mail", &ticket, &reply)
                .expect("add")
        );
        assert!(
            !store
                .add_mail_message("mail", &ticket, &reply)
                .expect("again"),
            "once"
        );
        let answer = inbound("a2@example.com", "ana@example.com", "Re: Order");
        let hint = ThreadHint {
            referenced_ids: vec!["deskbridge.r1@acme.test".into()],
            ..ThreadHint::default()
        };
        let threaded = store
            .record_mail("mail", &answer, b"raw a2", &hint, true, cursor(2))
            .expect("record");
        assert_eq!(threaded.ticket_id.as_deref(), Some(ticket.as_str()));
        assert!(!threaded.new_ticket);

        // By the ticket key of the plus-address, and by sender and subject.
        let keyed = ThreadHint {
            ticket_key: Some(ticket.clone()),
            ..ThreadHint::default()
        };
        let by_key = store
            .record_mail(
                "mail",
                &inbound("a3@example.com", "ana@example.com", "x"),
                b"raw",
                &keyed,
                true,
                cursor(3),
            )
            .expect("record");
        assert_eq!(by_key.ticket_id.as_deref(), Some(ticket.as_str()));
        let by_subject_only = store
            .record_mail(
                "mail",
                &inbound("a4@example.com", "ana@example.com", "Order"),
                b"raw",
                &by_subject("ana@example.com", "order"),
                true,
                cursor(4),
            )
            .expect("record");
        assert_eq!(by_subject_only.ticket_id.as_deref(), Some(ticket.as_str()));
        // Another sender with the same subject opens its own ticket.
        let other = store
            .record_mail(
                "mail",
                &inbound("b1@example.com", "bob@example.com", "Order"),
                b"raw",
                &by_subject("bob@example.com", "order"),
                true,
                cursor(5),
            )
            .expect("record");
        assert!(other.new_ticket);
        assert_ne!(other.ticket_id, Some(ticket.clone()));

        // The same message again (a crash before the server was told): nothing changes.
        let again = store
            .record_mail("mail", &answer, b"raw a2", &hint, true, cursor(2))
            .expect("record");
        assert!(again.duplicate);
        assert_eq!(again.ticket_id.as_deref(), Some(ticket.as_str()));
        let thread = store
            .mail_thread("mail", &ticket)
            .expect("read")
            .expect("thread");
        let ids: Vec<&str> = thread
            .messages
            .iter()
            .map(|m| m.message_id.as_str())
            .collect();
        assert_eq!(
            ids,
            vec![
                "a1@example.com",
                "deskbridge.r1@acme.test",
                "a2@example.com",
                "a3@example.com",
                "a4@example.com"
            ]
        );
        assert_eq!(thread.requester_address.as_deref(), Some("ana@example.com"));
        assert_eq!(
            store.raw_mail("mail", "a2@example.com").expect("raw"),
            Some(b"raw a2".to_vec())
        );
        // The cursor only moved forward.
        assert_eq!(store.mail_cursor("mail").expect("cursor"), Some(cursor(5)));
        // Another helpdesk shares nothing.
        assert_eq!(
            store
                .mail_ticket_of("other", "a1@example.com")
                .expect("index"),
            None
        );
    }

    #[test]
    fn noise_opens_no_ticket_and_a_new_uidvalidity_resets_the_cursor() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let bounce = MailMessage {
            noise: Some("a delivery report".into()),
            ..inbound(
                "bounce1@mx.example.com",
                "mailer-daemon@mx.example.com",
                "Undelivered",
            )
        };
        let recorded = store
            .record_mail(
                "mail",
                &bounce,
                b"raw bounce",
                &ThreadHint::default(),
                false,
                cursor(9),
            )
            .expect("record");
        assert_eq!(recorded.ticket_id, None);
        assert_eq!(
            store
                .mail_ticket_of("mail", "bounce1@mx.example.com")
                .expect("index"),
            Some(String::new())
        );
        assert!(
            store
                .raw_mail("mail", "bounce1@mx.example.com")
                .expect("raw")
                .is_some(),
            "kept raw"
        );
        store.set_mail_cursor("mail", cursor(3)).expect("cursor");
        assert_eq!(
            store.mail_cursor("mail").expect("cursor"),
            Some(cursor(9)),
            "never backwards"
        );
        let renumbered = MailCursor {
            uid_validity: 8,
            last_uid: 1,
            start_uid: 0,
            history_before_ms: 0,
        };
        store.set_mail_cursor("mail", renumbered).expect("cursor");
        assert_eq!(store.mail_cursor("mail").expect("cursor"), Some(renumbered));
        // Reopened, everything is still there.
        drop(store);
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(store.mail_cursor("mail").expect("cursor"), Some(renumbered));
    }

    #[test]
    fn retention_deletes_old_tickets_and_noise_with_their_raw_mail_but_no_pending_reply() {
        use crate::mail::PendingChange;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let old = store
            .record_mail(
                "mail",
                &inbound("o1@example.com", "ana@example.com", "Old"),
                b"raw o1",
                &by_subject("ana@example.com", "old"),
                true,
                cursor(1),
            )
            .expect("record");
        let old_ticket = old.ticket_id.expect("ticket");
        let noise = MailMessage {
            noise: Some("a delivery report".into()),
            ..inbound("n1@mx.example.com", "daemon@mx.example.com", "Bounce")
        };
        store
            .record_mail(
                "mail",
                &noise,
                b"raw n1",
                &ThreadHint::default(),
                false,
                cursor(2),
            )
            .expect("record");
        let waiting = store
            .record_mail(
                "mail",
                &inbound("w1@example.com", "bob@example.com", "Waiting"),
                b"raw w1",
                &by_subject("bob@example.com", "waiting"),
                true,
                cursor(3),
            )
            .expect("record")
            .ticket_id
            .expect("ticket");
        let pending = MailMessage {
            kind: MailKind::Reply,
            pending: true,
            ..inbound("r1@acme.test", "support@acme.test", "Re: Waiting")
        };
        store
            .add_mail_message("mail", &waiting, &pending)
            .expect("add");

        assert_eq!(
            store.prune_records(0).expect("prune").email_tickets,
            0,
            "nothing old yet"
        );
        let later = super::now_ms() + 1_000;
        let pruned = store.prune_records(later).expect("prune");
        assert_eq!((pruned.email_tickets, pruned.unthreaded_mail), (1, 1));
        assert_eq!(store.mail_thread("mail", &old_ticket).expect("read"), None);
        for id in ["o1@example.com", "n1@mx.example.com"] {
            assert_eq!(
                store.mail_ticket_of("mail", id).expect("index"),
                None,
                "{id}"
            );
            assert_eq!(store.raw_mail("mail", id).expect("raw"), None, "{id}");
        }
        assert!(
            store.mail_thread("mail", &waiting).expect("read").is_some(),
            "a ticket with a reply pending stays"
        );
        // Mail referring to the deleted ticket opens a new one.
        let answer = inbound("o2@example.com", "ana@example.com", "Re: Old");
        let hint = ThreadHint {
            referenced_ids: vec!["o1@example.com".into()],
            ..by_subject("ana@example.com", "old")
        };
        let recorded = store
            .record_mail("mail", &answer, b"raw o2", &hint, true, cursor(4))
            .expect("record");
        assert!(recorded.new_ticket);
        // Once the reply went out, the quiet ticket goes too.
        store
            .update_pending_mail("mail", &waiting, "r1@acme.test", PendingChange::Sent)
            .expect("sent");
        let pruned = store.prune_records(super::now_ms() + 1_000).expect("prune");
        assert_eq!(pruned.email_tickets, 2);
    }
}
