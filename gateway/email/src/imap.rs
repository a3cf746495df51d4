//! Reading the support mailbox over IMAP (`async-imap`, on tokio): select the mailbox, fetch
//! the messages after the last UID the gateway recorded, settle each one (flag it or move it)
//! once its event is durable, and wait for new mail with IDLE when the server offers it.
//!
//! The reader keeps no state of its own: the caller stores the mailbox's `UIDVALIDITY` and
//! the last UID it made durable, and passes them back after a restart. When `UIDVALIDITY`
//! changed, the server renumbered the mailbox and every old UID is meaningless: the caller
//! starts over from the messages not yet settled (the flag, or the folder they were moved
//! out of, says which), and what it recorded by `Message-ID` keeps what it already has from
//! coming in twice.
//!
//! Every step has a deadline ([`CONNECT_TIMEOUT`], [`COMMAND_TIMEOUT`], [`BODY_TIMEOUT`]): a
//! server that stops answering fails the operation instead of stalling the reader or the
//! outbox's read-back.
//!
//! The connection is TLS from the first byte, `STARTTLS` before the login, or — only to a
//! loopback address unless explicitly allowed — plain text (`tls.rs`).

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use async_imap::Session;
use async_imap::types::UnsolicitedResponse;
use futures_util::TryStreamExt as _;
use thiserror::Error;
use tokio::net::TcpStream;

use crate::tls::{Security, TlsError, Transport, client_config, is_loopback};

/// Most bytes of one message fetched; a larger message is left on the server, unsettled, and
/// reported (`ImapReader::fetch_after` names it).
pub const MAX_FETCH_BYTES: u32 = 64 * 1024 * 1024;

/// Longest wait for one command's answer (a search, a flag, a move, a small fetch): a server
/// that hangs makes the operation fail, and the reader reconnects, instead of stalling.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest wait for connecting, TLS and the login.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest wait for one message's bytes (up to [`MAX_FETCH_BYTES`]; 64 MiB in 5 minutes is
/// about 1.7 Mbit/s).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(300);

/// What happens to a message on the server once its event is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// Set this flag (e.g. `\Seen` or a keyword such as `$Deskbridge`).
    Flag(String),
    /// Move it to this folder.
    Move(String),
}

/// Where and how to read.
#[derive(Debug, Clone)]
pub struct ImapSettings {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// How the connection is protected.
    pub security: Security,
    /// PEM file of the CA certificates to trust instead of the system's (a private CA).
    pub ca_file: Option<PathBuf>,
    /// Allow [`Security::Plain`] to a host that is not a loopback address (passwords and mail
    /// then cross the network in the clear).
    pub allow_plaintext: bool,
    /// Login.
    pub user: String,
    /// Password.
    pub password: String,
    /// The mailbox to read, e.g. `INBOX`.
    pub mailbox: String,
    /// What settling a message does.
    pub settle: Settle,
}

/// Why an IMAP operation failed.
#[derive(Debug, Error)]
pub enum ImapError {
    /// The connection failed or broke.
    #[error("cannot reach the IMAP server {0}: {1}")]
    Connect(String, std::io::Error),
    /// The server refused the login.
    #[error("the IMAP server refused the login of {user}: {reason}")]
    Login {
        /// Who tried.
        user: String,
        /// The server's answer.
        reason: String,
    },
    /// A command failed.
    #[error("IMAP {command} failed: {reason}")]
    Command {
        /// Which command.
        command: &'static str,
        /// Why.
        reason: String,
    },
    /// TLS could not be set up or failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Plain text to a host that is not this machine, without `allow_plaintext`.
    #[error(
        "refusing to send the IMAP password in plain text to {0}: use TLS or STARTTLS, or allow plain text explicitly"
    )]
    PlaintextRefused(String),
    /// A mailbox, folder or flag name the gateway will not send (quotes, line breaks).
    #[error("unusable IMAP mailbox or flag name {0:?}")]
    BadName(String),
    /// The server did not answer in time.
    #[error("the IMAP server did not answer {command} within {seconds} s")]
    Timeout {
        /// Which step.
        command: &'static str,
        /// How long the gateway waited.
        seconds: u64,
    },
}

/// The UTC day of `ms` as an IMAP `date` (`4-Dec-2026`).
fn imap_date(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let at = deskbridge_core::civil_time::UtcDateTime::from_unix_ms(ms);
    let month = MONTHS[usize::try_from(at.month - 1).unwrap_or(0).min(11)];
    format!("{}-{month}-{}", at.day, at.year)
}

/// Runs `operation`, failing with [`ImapError::Timeout`] after `limit`.
async fn timed<T>(
    name: &'static str,
    limit: Duration,
    operation: impl Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    tokio::time::timeout(limit, operation)
        .await
        .unwrap_or(Err(ImapError::Timeout {
            command: name,
            seconds: limit.as_secs(),
        }))
}

fn command(name: &'static str) -> impl FnOnce(async_imap::error::Error) -> ImapError {
    move |e| ImapError::Command {
        command: name,
        reason: e.to_string(),
    }
}

/// The selected mailbox's identity and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxState {
    /// `UIDVALIDITY`: UIDs are comparable only while it stays the same.
    pub uid_validity: u32,
    /// `UIDNEXT`, when the server said.
    pub uid_next: Option<u32>,
    /// Messages in it.
    pub exists: u32,
}

/// A message read from the mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Its UID.
    pub uid: u32,
    /// The raw message (RFC 5322), or `None` when it is over [`MAX_FETCH_BYTES`] and was
    /// left on the server.
    pub raw: Option<Vec<u8>>,
    /// Its size as the server reported it, bytes.
    pub size: u32,
}

/// A logged-in IMAP session on the selected mailbox.
pub struct ImapReader {
    session: Session<Transport>,
    settings: ImapSettings,
    idle: bool,
    /// Whether the server told of new mail (`EXISTS`, `RECENT`) with a command's answer since
    /// the last [`ImapReader::wait`].
    told_of_new_mail: bool,
}

impl std::fmt::Debug for ImapReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapReader")
            .field("host", &self.settings.host)
            .field("mailbox", &self.settings.mailbox)
            .finish_non_exhaustive()
    }
}

/// A name safe to put in a quoted IMAP string.
fn checked_name(name: &str) -> Result<&str, ImapError> {
    let unusable = name.is_empty()
        || name.len() > 255
        || name
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\');
    if unusable {
        return Err(ImapError::BadName(name.to_owned()));
    }
    Ok(name)
}

/// The system flags a message can be settled with (RFC 9051 §2.3.2), by name without the
/// backslash: `\Recent` is the server's alone and cannot be set.
const SYSTEM_FLAGS: [&str; 5] = ["Seen", "Answered", "Flagged", "Deleted", "Draft"];

/// A flag the gateway will set: a system flag (`\Seen`) or a keyword atom (`$Deskbridge`).
fn checked_flag(flag: &str) -> Result<(), ImapError> {
    let usable = match flag.strip_prefix('\\') {
        Some(system) => SYSTEM_FLAGS.iter().any(|f| f.eq_ignore_ascii_case(system)),
        None => {
            !flag.is_empty()
                && flag.len() <= 64
                && flag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '$' | '_' | '-' | '.'))
        }
    };
    if usable {
        Ok(())
    } else {
        Err(ImapError::BadName(flag.to_owned()))
    }
}

impl ImapReader {
    /// Connects, logs in and selects the mailbox (within [`CONNECT_TIMEOUT`]).
    pub async fn connect(settings: &ImapSettings) -> Result<(ImapReader, MailboxState), ImapError> {
        checked_name(&settings.mailbox)?;
        match &settings.settle {
            Settle::Move(folder) => checked_name(folder).map(drop)?,
            Settle::Flag(flag) => checked_flag(flag)?,
        }
        if settings.security == Security::Plain
            && !settings.allow_plaintext
            && !is_loopback(&settings.host)
        {
            return Err(ImapError::PlaintextRefused(settings.host.clone()));
        }
        let session = timed("the login", CONNECT_TIMEOUT, login(settings)).await?;
        let mut reader = ImapReader {
            session,
            settings: settings.clone(),
            idle: false,
            told_of_new_mail: false,
        };
        let capabilities = reader
            .command("CAPABILITY", COMMAND_TIMEOUT, |s| s.capabilities())
            .await?;
        reader.idle = capabilities.has_str("IDLE");
        let state = reader.select().await?;
        Ok((reader, state))
    }

    /// Whether the server offers IDLE.
    pub fn supports_idle(&self) -> bool {
        self.idle
    }

    /// Runs one command on the session within `limit`.
    async fn command<'s, T, F>(
        &'s mut self,
        name: &'static str,
        limit: Duration,
        run: impl FnOnce(&'s mut Session<Transport>) -> F,
    ) -> Result<T, ImapError>
    where
        F: Future<Output = async_imap::error::Result<T>> + 's,
    {
        // What the last commands' answers told on the side is looked at before each command,
        // so async-imap's queue of it (100, then it drops) never fills.
        self.note_unsolicited();
        let session = &mut self.session;
        timed(name, limit, async move {
            run(session).await.map_err(command(name))
        })
        .await
    }

    /// Selects the mailbox again and returns its state. A keyword flag to settle with must be
    /// one the mailbox keeps (`PERMANENTFLAGS`), or settling would silently not last.
    pub async fn select(&mut self) -> Result<MailboxState, ImapError> {
        let name = self.settings.mailbox.clone();
        let mailbox = self
            .command("SELECT", COMMAND_TIMEOUT, |s| s.select(name))
            .await?;
        let uid_validity = mailbox.uid_validity.ok_or_else(|| ImapError::Command {
            command: "SELECT",
            reason: "the server named no UIDVALIDITY".into(),
        })?;
        // No PERMANENTFLAGS at all means every flag lasts (RFC 9051 §7.1).
        if let Settle::Flag(flag) = &self.settings.settle
            && !flag.starts_with('\\')
            && !mailbox.permanent_flags.is_empty()
            && !mailbox.permanent_flags.iter().any(|kept| match kept {
                async_imap::types::Flag::MayCreate => true,
                async_imap::types::Flag::Custom(name) => name.eq_ignore_ascii_case(flag),
                _ => false,
            })
        {
            return Err(ImapError::Command {
                command: "SELECT",
                reason: format!(
                    "the mailbox does not keep the keyword {flag} (PERMANENTFLAGS): settle by \\Seen or by a move instead"
                ),
            });
        }
        Ok(MailboxState {
            uid_validity,
            uid_next: mailbox.uid_next,
            exists: mailbox.exists,
        })
    }

    /// Runs `UID SEARCH query` and returns the UIDs, ascending.
    async fn search(&mut self, query: String) -> Result<Vec<u32>, ImapError> {
        let found = self
            .command("UID SEARCH", COMMAND_TIMEOUT, |s| s.uid_search(query))
            .await?;
        let mut uids: Vec<u32> = found.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The UIDs above `last_uid`, oldest first, at most `max` of them.
    pub async fn uids_after(&mut self, last_uid: u32, max: usize) -> Result<Vec<u32>, ImapError> {
        let first = last_uid.saturating_add(1);
        let mut uids = self.search(format!("UID {first}:*")).await?;
        // `n:*` always matches the newest message, even when its UID is below n.
        uids.retain(|&uid| uid > last_uid);
        uids.truncate(max);
        Ok(uids)
    }

    /// The highest UID in the mailbox now (0 when it is empty): where a reader that does not
    /// read the mailbox's history starts.
    pub async fn newest_uid(&mut self) -> Result<u32, ImapError> {
        Ok(self
            .search("UID *".to_owned())
            .await?
            .last()
            .copied()
            .unwrap_or(0))
    }

    /// The messages above `last_uid`, oldest first: at most `max`, and no more after their
    /// bytes passed [`MAX_FETCH_BYTES`] together; each with its raw bytes, or without them when
    /// it is over [`MAX_FETCH_BYTES`]. Reading does not mark them seen (`BODY.PEEK`): only
    /// [`ImapReader::settle`] changes the server. (The mailbox reader fetches one message at a
    /// time instead, to hold one in memory.)
    pub async fn fetch_after(
        &mut self,
        last_uid: u32,
        max: usize,
    ) -> Result<Vec<Fetched>, ImapError> {
        let uids = self.uids_after(last_uid, max).await?;
        let mut fetched = Vec::with_capacity(uids.len());
        let mut bytes = 0usize;
        for uid in uids {
            if bytes >= MAX_FETCH_BYTES as usize {
                break;
            }
            if let Some(message) = self.fetch(uid).await? {
                bytes += message.raw.as_ref().map_or(0, Vec::len);
                fetched.push(message);
            }
        }
        Ok(fetched)
    }

    /// `UID FETCH uid items` within `limit`: the answer for that UID, if the message is there.
    async fn fetch_items(
        &mut self,
        uid: u32,
        items: &'static str,
        limit: Duration,
    ) -> Result<Option<async_imap::types::Fetch>, ImapError> {
        let answers: Vec<_> = self
            .command("UID FETCH", limit, |s| async move {
                s.uid_fetch(uid.to_string(), items)
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        Ok(answers.into_iter().find(|f| f.uid == Some(uid)))
    }

    /// Message `uid` (`None` when it is gone): with its raw bytes, or without them when it is
    /// over [`MAX_FETCH_BYTES`]. Reading does not mark it seen.
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Fetched>, ImapError> {
        let sized = self
            .fetch_items(uid, "(UID RFC822.SIZE)", COMMAND_TIMEOUT)
            .await?;
        let Some(size) = sized.and_then(|f| f.size) else {
            return Ok(None); // expunged meanwhile
        };
        if size > MAX_FETCH_BYTES {
            return Ok(Some(Fetched {
                uid,
                raw: None,
                size,
            }));
        }
        let body = self
            .fetch_items(uid, "(UID BODY.PEEK[])", BODY_TIMEOUT)
            .await?;
        Ok(body.and_then(|f| {
            f.body().map(|raw| Fetched {
                uid,
                raw: Some(raw.to_vec()),
                size,
            })
        }))
    }

    /// Flags or moves message `uid`, as configured: call once its event is durable.
    pub async fn settle(&mut self, uid: u32) -> Result<(), ImapError> {
        match self.settings.settle.clone() {
            Settle::Flag(flag) => {
                let _: Vec<_> = self
                    .command("UID STORE", COMMAND_TIMEOUT, |s| async move {
                        s.uid_store(uid.to_string(), format!("+FLAGS.SILENT ({flag})"))
                            .await?
                            .try_collect()
                            .await
                    })
                    .await?;
            }
            Settle::Move(folder) => {
                self.command("UID MOVE", COMMAND_TIMEOUT, |s| {
                    s.uid_mv(uid.to_string(), folder)
                })
                .await?;
            }
        }
        Ok(())
    }

    /// Whether the mailbox holds a message with this `Message-ID` (without brackets): the
    /// mailbox's copy of a reply whose send timed out.
    pub async fn has_message_id(&mut self, message_id: &str) -> Result<bool, ImapError> {
        let safe = !message_id.is_empty()
            && message_id.len() <= 998
            && !message_id.chars().any(|c| {
                c.is_control() || c.is_whitespace() || matches!(c, '"' | '\\' | '<' | '>')
            });
        if !safe {
            return Err(ImapError::BadName(message_id.to_owned()));
        }
        let found = self
            .search(format!("HEADER Message-ID \"<{message_id}>\""))
            .await?;
        Ok(!found.is_empty())
    }

    /// The UIDs not settled yet (without the flag; with a move, everything still in the
    /// mailbox), ascending — with `since_ms`, only those that arrived on that UTC day or later
    /// (IMAP's `SINCE` goes by whole days): read again at the start of every session, since a
    /// crash may have come between a message's event and its settling.
    pub async fn unsettled(&mut self, since_ms: Option<i64>) -> Result<Vec<u32>, ImapError> {
        let mut query = match &self.settings.settle {
            Settle::Flag(flag) => match flag.strip_prefix('\\') {
                Some(system) => format!("UN{}", system.to_ascii_uppercase()),
                None => format!("UNKEYWORD {flag}"),
            },
            Settle::Move(_) => "ALL".to_owned(),
        };
        if let Some(ms) = since_ms {
            query.push_str(" SINCE ");
            query.push_str(&imap_date(ms));
        }
        self.search(query).await
    }

    /// Empties async-imap's queue of what the server told on the side, noting new mail.
    fn note_unsolicited(&mut self) {
        while let Ok(response) = self.session.unsolicited_responses.try_recv() {
            self.told_of_new_mail |= matches!(
                response,
                UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
            );
        }
    }

    /// Waits in IDLE until the server reports a change or `timeout` passes (keep it under
    /// 29 minutes, RFC 2177); `true` when something changed — at once, without IDLE, when the
    /// server already told of new mail during the last commands. The deadline holds even when
    /// the server keeps the connection alive with `* OK Still here`. Without IDLE, sleeps
    /// `timeout` and answers `true` (poll).
    pub async fn wait(mut self, timeout: Duration) -> Result<(ImapReader, bool), ImapError> {
        self.note_unsolicited();
        if std::mem::take(&mut self.told_of_new_mail) {
            return Ok((self, true));
        }
        if !self.idle {
            tokio::time::sleep(timeout).await;
            return Ok((self, true));
        }
        let ImapReader {
            session,
            settings,
            idle,
            told_of_new_mail: _,
        } = self;
        let mut handle = session.idle();
        timed("IDLE", COMMAND_TIMEOUT, async {
            handle.init().await.map_err(command("IDLE"))
        })
        .await?;
        let changed = {
            let (waiting, _stop) = handle.wait_with_timeout(timeout);
            match tokio::time::timeout(timeout, waiting).await {
                Err(_deadline) => false,
                Ok(outcome) => !matches!(
                    outcome.map_err(command("IDLE"))?,
                    async_imap::extensions::idle::IdleResponse::Timeout
                ),
            }
        };
        let session = timed("DONE", COMMAND_TIMEOUT, async {
            handle.done().await.map_err(command("DONE"))
        })
        .await?;
        Ok((
            ImapReader {
                session,
                settings,
                idle,
                told_of_new_mail: false,
            },
            changed,
        ))
    }

    /// Logs out.
    pub async fn logout(mut self) -> Result<(), ImapError> {
        self.command("LOGOUT", COMMAND_TIMEOUT, |s| s.logout())
            .await
    }
}

/// Opens the connection (TLS, STARTTLS or plain, as `settings` say) and logs in.
async fn login(settings: &ImapSettings) -> Result<Session<Transport>, ImapError> {
    let address = format!("{}:{}", settings.host, settings.port);
    let tls = match settings.security {
        Security::Plain => None,
        Security::Tls | Security::StartTls => Some(client_config(settings.ca_file.as_deref())?),
    };
    let tcp = TcpStream::connect(&address)
        .await
        .map_err(|e| ImapError::Connect(address.clone(), e))?;
    let connect_error = |e| ImapError::Connect(address.clone(), e);
    let client = match (settings.security, tls) {
        (Security::Tls, Some(config)) => {
            let stream = Transport::tls(tcp, &settings.host, config).await?;
            let mut client = async_imap::Client::new(stream);
            client.read_response().await.map_err(connect_error)?;
            client
        }
        (Security::StartTls, Some(config)) => {
            let mut plain = async_imap::Client::new(Transport::Plain(tcp));
            plain.read_response().await.map_err(connect_error)?;
            plain
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(command("STARTTLS"))?;
            let Transport::Plain(tcp) = plain.into_inner() else {
                unreachable!("a plain client holds a plain stream")
            };
            // No greeting after STARTTLS: the session goes on over TLS.
            async_imap::Client::new(Transport::tls(tcp, &settings.host, config).await?)
        }
        _ => {
            let mut client = async_imap::Client::new(Transport::Plain(tcp));
            client.read_response().await.map_err(connect_error)?;
            client
        }
    };
    client
        .login(&settings.user, &settings.password)
        .await
        .map_err(|(e, _)| ImapError::Login {
            user: settings.user.clone(),
            reason: e.to_string(),
        })
}
