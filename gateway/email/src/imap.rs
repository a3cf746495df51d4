//! Reading the support mailbox over IMAP (`async-imap`, on tokio): select the mailbox, fetch
//! the messages after the last UID the gateway recorded, settle each one (flag it or move it)
//! once its event is durable, and wait for new mail with IDLE when the server offers it.
//!
//! The reader keeps no state of its own: the caller stores the mailbox's `UIDVALIDITY` and
//! the last UID it made durable, and passes them back after a restart. When `UIDVALIDITY`
//! changed, the server renumbered the mailbox and every old UID is meaningless: the caller
//! starts over from the messages not yet settled (the flag, or the folder they were moved
//! out of, says which), and its dedupe keys — the `Message-ID` — keep what it already has
//! from coming in twice.
//!
//! The connection is TLS from the first byte, `STARTTLS` before the login, or — only to a
//! loopback address unless explicitly allowed — plain text (`tls.rs`).

use std::path::PathBuf;

use async_imap::Session;
use futures_util::TryStreamExt as _;
use thiserror::Error;
use tokio::net::TcpStream;

use crate::tls::{Security, TlsError, Transport, client_config, is_loopback};

/// Most bytes of one message fetched; a larger message is left on the server, unsettled, and
/// reported (`ImapReader::fetch_after` names it).
pub const MAX_FETCH_BYTES: u32 = 64 * 1024 * 1024;

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

/// A flag the gateway will set: a system flag (`\Seen`) or a keyword atom (`$Deskbridge`).
fn checked_flag(flag: &str) -> Result<(), ImapError> {
    let atom = flag.strip_prefix('\\').unwrap_or(flag);
    let usable = !atom.is_empty()
        && atom.len() <= 64
        && atom
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '$' | '_' | '-' | '.'));
    if usable {
        Ok(())
    } else {
        Err(ImapError::BadName(flag.to_owned()))
    }
}

impl ImapReader {
    /// Connects, logs in and selects the mailbox.
    pub async fn connect(settings: &ImapSettings) -> Result<(ImapReader, MailboxState), ImapError> {
        let address = format!("{}:{}", settings.host, settings.port);
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
        let mut session = client
            .login(&settings.user, &settings.password)
            .await
            .map_err(|(e, _)| ImapError::Login {
                user: settings.user.clone(),
                reason: e.to_string(),
            })?;
        let capabilities = session
            .capabilities()
            .await
            .map_err(command("CAPABILITY"))?;
        let idle = capabilities.has_str("IDLE");
        let mut reader = ImapReader {
            session,
            settings: settings.clone(),
            idle,
        };
        let state = reader.select().await?;
        Ok((reader, state))
    }

    /// Whether the server offers IDLE.
    pub fn supports_idle(&self) -> bool {
        self.idle
    }

    /// Selects the mailbox again and returns its state.
    pub async fn select(&mut self) -> Result<MailboxState, ImapError> {
        let mailbox = self
            .session
            .select(&self.settings.mailbox)
            .await
            .map_err(command("SELECT"))?;
        let uid_validity = mailbox.uid_validity.ok_or_else(|| ImapError::Command {
            command: "SELECT",
            reason: "the server named no UIDVALIDITY".into(),
        })?;
        Ok(MailboxState {
            uid_validity,
            uid_next: mailbox.uid_next,
            exists: mailbox.exists,
        })
    }

    /// The UIDs above `last_uid`, oldest first, at most `max` of them.
    pub async fn uids_after(&mut self, last_uid: u32, max: usize) -> Result<Vec<u32>, ImapError> {
        let first = last_uid.saturating_add(1);
        let found = self
            .session
            .uid_search(format!("UID {first}:*"))
            .await
            .map_err(command("UID SEARCH"))?;
        // `n:*` always matches the newest message, even when its UID is below n.
        let mut uids: Vec<u32> = found.into_iter().filter(|&uid| uid > last_uid).collect();
        uids.sort_unstable();
        uids.truncate(max);
        Ok(uids)
    }

    /// The messages above `last_uid`, oldest first, at most `max`: each with its raw bytes,
    /// or without them when it is over [`MAX_FETCH_BYTES`]. Reading does not mark them seen
    /// (`BODY.PEEK`): only [`ImapReader::settle`] changes the server.
    pub async fn fetch_after(
        &mut self,
        last_uid: u32,
        max: usize,
    ) -> Result<Vec<Fetched>, ImapError> {
        let uids = self.uids_after(last_uid, max).await?;
        let mut fetched = Vec::with_capacity(uids.len());
        for uid in uids {
            fetched.extend(self.fetch(uid).await?);
        }
        Ok(fetched)
    }

    /// Message `uid` (`None` when it is gone): with its raw bytes, or without them when it is
    /// over [`MAX_FETCH_BYTES`]. Reading does not mark it seen.
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Fetched>, ImapError> {
        let sizes: Vec<_> = self
            .session
            .uid_fetch(uid.to_string(), "(UID RFC822.SIZE)")
            .await
            .map_err(command("UID FETCH"))?
            .try_collect()
            .await
            .map_err(command("UID FETCH"))?;
        let Some(size) = sizes
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.size)
        else {
            return Ok(None); // expunged meanwhile
        };
        if size > MAX_FETCH_BYTES {
            return Ok(Some(Fetched {
                uid,
                raw: None,
                size,
            }));
        }
        let bodies: Vec<_> = self
            .session
            .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
            .await
            .map_err(command("UID FETCH"))?
            .try_collect()
            .await
            .map_err(command("UID FETCH"))?;
        Ok(bodies
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.body())
            .map(|raw| Fetched {
                uid,
                raw: Some(raw.to_vec()),
                size,
            }))
    }

    /// Flags or moves message `uid`, as configured: call once its event is durable.
    pub async fn settle(&mut self, uid: u32) -> Result<(), ImapError> {
        match &self.settings.settle {
            Settle::Flag(flag) => {
                let _: Vec<_> = self
                    .session
                    .uid_store(uid.to_string(), format!("+FLAGS.SILENT ({flag})"))
                    .await
                    .map_err(command("UID STORE"))?
                    .try_collect()
                    .await
                    .map_err(command("UID STORE"))?;
            }
            Settle::Move(folder) => {
                self.session
                    .uid_mv(uid.to_string(), folder)
                    .await
                    .map_err(command("UID MOVE"))?;
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
            .session
            .uid_search(format!("HEADER Message-ID \"<{message_id}>\""))
            .await
            .map_err(command("UID SEARCH"))?;
        Ok(!found.is_empty())
    }

    /// The UIDs not settled yet (without the flag; with a move, everything still in the
    /// mailbox): where reading starts again after `UIDVALIDITY` changed.
    pub async fn unsettled(&mut self) -> Result<Vec<u32>, ImapError> {
        let query = match &self.settings.settle {
            Settle::Flag(flag) => match flag.strip_prefix('\\') {
                Some(system) => format!("UN{}", system.to_ascii_uppercase()),
                None => format!("UNKEYWORD {flag}"),
            },
            Settle::Move(_) => "ALL".to_owned(),
        };
        let found = self
            .session
            .uid_search(query)
            .await
            .map_err(command("UID SEARCH"))?;
        let mut uids: Vec<u32> = found.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Waits in IDLE until the server reports a change or `timeout` passes (keep it under
    /// 29 minutes, RFC 2177); `true` when something changed. Without IDLE, sleeps `timeout`
    /// and answers `true` (poll).
    pub async fn wait(self, timeout: std::time::Duration) -> Result<(ImapReader, bool), ImapError> {
        if !self.idle {
            tokio::time::sleep(timeout).await;
            return Ok((self, true));
        }
        let ImapReader {
            session,
            settings,
            idle,
        } = self;
        let mut handle = session.idle();
        handle.init().await.map_err(command("IDLE"))?;
        let (waiting, _stop) = handle.wait_with_timeout(timeout);
        let outcome = waiting.await.map_err(command("IDLE"))?;
        let changed = !matches!(outcome, async_imap::extensions::idle::IdleResponse::Timeout);
        let session = handle.done().await.map_err(command("DONE"))?;
        Ok((
            ImapReader {
                session,
                settings,
                idle,
            },
            changed,
        ))
    }

    /// Logs out.
    pub async fn logout(mut self) -> Result<(), ImapError> {
        self.session.logout().await.map_err(command("LOGOUT"))
    }
}
