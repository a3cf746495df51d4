//! `[helpdesks.NAME]` with `kind = "email"`: a support mailbox read over IMAP and answered
//! over SMTP submission.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{ConfigError, HelpdeskAiConfig, KnowledgeConfig, Secret, key_error};

/// How a mail connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Tls,
    /// `STARTTLS` before the login (IMAP 143, SMTP 587).
    Starttls,
    /// Plain text: loopback hosts only, unless `allow_plaintext = true`.
    Plain,
}

/// What happens to a message on the IMAP server once the gateway has it durably.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AfterFetch {
    /// Set `flag`.
    Flag,
    /// Move it to `move_to`.
    Move,
}

/// `[helpdesks.NAME.imap]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    /// Server host.
    pub host: String,
    /// Port (default 993 for `tls`, 143 otherwise).
    pub port: Option<u16>,
    /// Protection.
    #[serde(default = "tls")]
    pub security: MailSecurity,
    /// Login.
    pub user: String,
    /// Password.
    pub password: Secret,
    /// The mailbox read (default `INBOX`).
    #[serde(default = "inbox")]
    pub mailbox: String,
    /// Flag or move a message once it is durable (default `flag`).
    #[serde(default = "flag")]
    pub after: AfterFetch,
    /// The flag set (default the keyword `$Deskbridge`).
    #[serde(default = "keyword")]
    pub flag: String,
    /// The folder moved to, with `after = "move"`.
    pub move_to: Option<String>,
    /// PEM file of CA certificates to trust instead of the system's (relative to the config
    /// file).
    pub ca_file: Option<PathBuf>,
    /// Allow plain text to a host that is not this machine.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// On the first start, also read the messages already in the mailbox that are not
    /// settled (flagged or moved) yet; by default only mail that arrives from then on is read,
    /// so pointing the gateway at a mailbox with years of history drafts nothing for it.
    #[serde(default)]
    pub read_existing_mail: bool,
    /// Seconds between polls when the server offers no IDLE, and the longest IDLE (at most
    /// 1740, 29 minutes; default 60 for polls).
    #[serde(default = "poll_interval")]
    pub poll_interval_s: u64,
}

/// `[helpdesks.NAME.smtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Server host.
    pub host: String,
    /// Port (default 465 for `tls`, 587 otherwise).
    pub port: Option<u16>,
    /// Protection.
    #[serde(default = "tls")]
    pub security: MailSecurity,
    /// Login (none: the server takes mail without AUTH).
    pub user: Option<String>,
    /// Password.
    pub password: Option<Secret>,
    /// PEM file of CA certificates to trust besides the system's (relative to the config
    /// file).
    pub ca_file: Option<PathBuf>,
    /// Allow plain text to a host that is not this machine.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// Longest one send may take, seconds (default 60).
    #[serde(default = "send_timeout")]
    pub timeout_s: u64,
}

/// A support mailbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The support address customers write to (and replies come from).
    pub address: String,
    /// The name replies are signed with in `From`.
    pub display_name: Option<String>,
    /// Other addresses of ours: mail from them is recorded, never drafted to.
    #[serde(default)]
    pub own_addresses: Vec<String>,
    /// `[helpdesks.NAME.imap]`.
    pub imap: ImapConfig,
    /// `[helpdesks.NAME.smtp]`.
    pub smtp: SmtpConfig,
    /// Largest message read whole, bytes (default 32 MiB); a larger one is read for its
    /// headers.
    #[serde(default = "max_message_bytes")]
    pub max_message_bytes: usize,
    /// Largest attachment listed as is, bytes (default 10 MiB).
    #[serde(default = "max_attachment_bytes")]
    pub max_attachment_bytes: usize,
    /// New tickets one sender may open per hour before further mail from them is recorded
    /// without drafts (default 20).
    #[serde(default = "sender_rate")]
    pub max_new_tickets_per_sender_per_hour: u32,
    /// Plugins for this instance; all loaded plugins when absent.
    pub plugins: Option<Vec<String>>,
    /// A line appended to every AI-drafted reply (part of the text agents approve).
    pub ai_disclosure: Option<String>,
    /// Tags plugins may write on their own (patterns); `None`: only `deskbridge*`.
    pub allowed_tags: Option<Vec<String>>,
    /// `[helpdesks.NAME.ai]`.
    #[serde(default)]
    pub ai: HelpdeskAiConfig,
    /// `[helpdesks.NAME.knowledge]` (Markdown files only: a mailbox has no articles).
    pub knowledge: Option<KnowledgeConfig>,
}

fn tls() -> MailSecurity {
    MailSecurity::Tls
}
fn inbox() -> String {
    "INBOX".into()
}
fn flag() -> AfterFetch {
    AfterFetch::Flag
}
fn keyword() -> String {
    "$Deskbridge".into()
}
fn poll_interval() -> u64 {
    60
}
fn send_timeout() -> u64 {
    60
}
fn max_message_bytes() -> usize {
    32 * 1024 * 1024
}
fn max_attachment_bytes() -> usize {
    10 * 1024 * 1024
}
fn sender_rate() -> u32 {
    20
}

/// Whether `address` looks like `local@domain` (no spaces, one `@`, both sides non-empty).
fn is_address(address: &str) -> bool {
    let mut parts = address.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
}

impl ImapConfig {
    /// The port, by default from the protection.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            MailSecurity::Tls => 993,
            _ => 143,
        })
    }
}

impl SmtpConfig {
    /// The port, by default from the protection.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            MailSecurity::Tls => 465,
            _ => 587,
        })
    }
}

impl EmailConfig {
    /// Our addresses, lower-case: the support address and `own_addresses`.
    pub fn all_own_addresses(&self) -> Vec<String> {
        let mut own = vec![self.address.to_lowercase()];
        own.extend(self.own_addresses.iter().map(|a| a.to_lowercase()));
        own
    }

    /// Anchors relative CA files to the config file's folder.
    pub(crate) fn anchor(&mut self, base: &Path) {
        for file in [&mut self.imap.ca_file, &mut self.smtp.ca_file]
            .into_iter()
            .flatten()
        {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
    }

    /// Resolves secrets and checks what the schema cannot.
    pub(crate) fn resolve(
        &mut self,
        name: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let key = |field: &str| format!("helpdesks.{name}.{field}");
        for (field, address) in std::iter::once(("address", &self.address))
            .chain(self.own_addresses.iter().map(|a| ("own_addresses", a)))
        {
            if !is_address(address) {
                return Err(key_error(
                    &key(field),
                    format!("{address:?} is not an email address (local@domain)"),
                ));
            }
        }
        if self.address.contains('+') {
            return Err(key_error(
                &key("address"),
                "the support address cannot carry a `+`: the gateway adds `+TICKET` to it in replies",
            ));
        }
        self.imap.password.resolve(&key("imap.password"), env)?;
        if let Some(password) = &mut self.smtp.password {
            password.resolve(&key("smtp.password"), env)?;
        }
        if self.smtp.user.is_some() != self.smtp.password.is_some() {
            return Err(key_error(
                &key("smtp.password"),
                "`user` and `password` go together",
            ));
        }
        if self.imap.after == AfterFetch::Move && self.imap.move_to.is_none() {
            return Err(key_error(
                &key("imap.move_to"),
                "`after = \"move\"` needs the folder to move to",
            ));
        }
        for (field, security, host, allowed) in [
            (
                "imap.security",
                self.imap.security,
                &self.imap.host,
                self.imap.allow_plaintext,
            ),
            (
                "smtp.security",
                self.smtp.security,
                &self.smtp.host,
                self.smtp.allow_plaintext,
            ),
        ] {
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if security == MailSecurity::Plain && !loopback && !allowed {
                return Err(key_error(
                    &key(field),
                    format!(
                        "plain text to {host} would send the password and the mail unencrypted: use \"tls\" or \"starttls\", or set allow_plaintext = true"
                    ),
                ));
            }
        }
        if self.imap.poll_interval_s == 0 || self.imap.poll_interval_s > 1740 {
            return Err(key_error(
                &key("imap.poll_interval_s"),
                "between 1 and 1740 seconds (IDLE must be renewed within 29 minutes)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{AfterFetch, Config, ConfigError, HelpdeskConfig, MailSecurity};

    fn mailbox(extra: &str) -> String {
        format!(
            r#"
[helpdesks.support]
kind = "email"
address = "Support@Acme.test"
display_name = "Acme Support"
{extra}

[helpdesks.support.imap]
host = "imap.acme.test"
user = "support"
password = {{ env = "IMAP_PASSWORD" }}

[helpdesks.support.smtp]
host = "smtp.acme.test"
security = "starttls"
user = "support"
password = "smtp-secret"
"#
        )
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, &|name| {
            (name == "IMAP_PASSWORD").then(|| "imap-secret".into())
        })
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("refused").to_string()
    }

    #[test]
    fn a_mailbox_with_defaults() {
        let config = parse(&mailbox("")).expect("valid");
        let Some(HelpdeskConfig::Email(email)) = config.helpdesks.get("support") else {
            panic!("an email helpdesk");
        };
        assert_eq!(email.imap.port(), 993);
        assert_eq!(email.imap.security, MailSecurity::Tls);
        assert_eq!(
            (email.imap.after, email.imap.flag.as_str()),
            (AfterFetch::Flag, "$Deskbridge")
        );
        assert_eq!(email.imap.password.reveal(), "imap-secret");
        assert_eq!(email.smtp.port(), 587);
        assert_eq!(email.all_own_addresses(), vec!["support@acme.test"]);
        assert!(
            !config.helpdesks["support"].has_api(),
            "no knowledge to sync"
        );
        assert!(!config.helpdesks["support"].write_policy().priority);
    }

    #[test]
    fn unsafe_or_incomplete_mailboxes_are_refused_with_the_key() {
        let plain = mailbox("").replace(
            "host = \"imap.acme.test\"",
            "host = \"imap.acme.test\"\nsecurity = \"plain\"",
        );
        let refused = error(&plain);
        assert!(
            refused.contains("helpdesks.support.imap.security"),
            "{refused}"
        );
        assert!(refused.contains("allow_plaintext"), "{refused}");
        let local = plain.replace("imap.acme.test", "127.0.0.1");
        parse(&local).expect("plain text to loopback is fine");

        let moved = mailbox("").replace(
            "user = \"support\"\npassword = {",
            "after = \"move\"\nuser = \"support\"\npassword = {",
        );
        assert!(error(&moved).contains("imap.move_to"), "{}", error(&moved));
        let plus = mailbox("").replace("Support@Acme.test", "support+x@acme.test");
        assert!(error(&plus).contains("address"), "{}", error(&plus));
        let knowledge = mailbox("[helpdesks.support.knowledge]\nsync = true");
        assert!(
            error(&knowledge).contains("knowledge"),
            "{}",
            error(&knowledge)
        );
        let unknown = mailbox("webhook_secret = \"x\"");
        assert!(
            error(&unknown).contains("webhook_secret"),
            "{}",
            error(&unknown)
        );
        let missing = mailbox("").replace(
            "password = { env = \"IMAP_PASSWORD\" }",
            "password = { env = \"NOPE\" }",
        );
        assert!(error(&missing).contains("NOPE"), "{}", error(&missing));
    }
}
