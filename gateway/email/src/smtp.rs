//! Sending an approved reply over SMTP submission (`lettre` on tokio, rustls): TLS from the
//! first byte or `STARTTLS` (plain text only to a loopback host unless allowed), AUTH with
//! the mailbox's credentials, and a message built so the customer's mail program threads it:
//! our own `Message-ID` (fixed by the caller before the first try, so a retry sends the same
//! message and a copy can be recognised), `In-Reply-To` the customer's newest message,
//! `References` the thread, `Re:` before the subject, and a text and an HTML part. No
//! `Auto-Submitted` header: a person approved the text, so this is not automatic mail.
//!
//! A failure says whether the message may have gone out ([`SendFailure::MaybeSent`]: the
//! connection broke or timed out once the server had the message to act on); the caller must
//! not resend such a message blindly.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::parse::MailAddress;
use crate::tls::{Security, is_loopback};

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Host name or address.
    pub host: String,
    /// Port (465 for TLS, 587 for STARTTLS).
    pub port: u16,
    /// How the connection is protected.
    pub security: Security,
    /// PEM file of the CA certificates to trust besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Allow [`Security::Plain`] to a host that is not a loopback address.
    pub allow_plaintext: bool,
    /// Login (none: the server takes mail without AUTH, e.g. a local relay).
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// How long one send may take, connecting included; past it the send is abandoned as
    /// [`SendFailure::MaybeSent`].
    pub timeout: Duration,
    /// The name the gateway gives in `EHLO` (the domain of its mail).
    pub hello_name: String,
}

/// Why a transport could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    /// Plain text to a host that is not this machine, without `allow_plaintext`.
    #[error(
        "refusing to send the SMTP password and mail in plain text to {0}: use TLS or STARTTLS, or allow plain text explicitly"
    )]
    PlaintextRefused(String),
    /// The CA file could not be read.
    #[error("cannot use the CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// lettre refused the settings.
    #[error("SMTP settings: {0}")]
    Settings(String),
}

/// Why a reply could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the reply: {0}")]
pub struct BuildError(String);

/// Why sending failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendFailure {
    /// The server refused or could not be reached before it had the message: nothing went
    /// out. `transient`: try again later (a 4xx answer, a refused connection).
    #[error("not sent ({}): {reason}", if *transient { "temporary" } else { "permanent" })]
    NotSent {
        /// Whether a later try may succeed.
        transient: bool,
        /// The server's answer or the error.
        reason: String,
    },
    /// The exchange broke off (timeout, lost connection) after the server may have taken the
    /// message: it may have been sent.
    #[error("maybe sent: {reason}")]
    MaybeSent {
        /// The error.
        reason: String,
    },
}

/// A reply to send.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The support mailbox it comes from.
    pub from: MailAddress,
    /// The customer.
    pub to: MailAddress,
    /// A blind copy (the support mailbox itself, whose copy confirms the send).
    pub bcc: Option<MailAddress>,
    /// Where the customer's answer should go (the support mailbox's plus-address with the
    /// ticket key), if anywhere else than `from`.
    pub reply_to: Option<String>,
    /// The ticket's subject (`Re: ` is added unless it has a reply prefix).
    pub subject: String,
    /// Our message id, without angle brackets (`thread::reply_message_id`).
    pub message_id: String,
    /// The customer's newest message id, without brackets.
    pub in_reply_to: Option<String>,
    /// The thread's message ids, oldest first, without brackets.
    pub references: Vec<String>,
    /// The approved text.
    pub text: String,
}

fn mailbox(address: &MailAddress) -> Result<Mailbox, BuildError> {
    // The address stays out of the error: it ends up in logs.
    let email = address
        .address
        .parse()
        .map_err(|e| BuildError(format!("an address SMTP cannot carry ({e})")))?;
    Ok(Mailbox::new(address.name.clone(), email))
}

/// A message id as a header wants it: in angle brackets, and nothing that could end the
/// header or open another.
fn bracketed(id: &str) -> Result<String, BuildError> {
    let clean = !id.is_empty()
        && id.len() <= crate::parse::MAX_HEADER_CHARS
        && id.contains('@')
        && !id
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>'));
    if clean {
        Ok(format!("<{id}>"))
    } else {
        Err(BuildError(format!("unusable message id {id:?}")))
    }
}

/// The subject of a reply: the ticket's, with `Re: ` before it unless it has one.
pub fn reply_subject(subject: &str) -> String {
    let subject: String = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let subject = subject.trim();
    let lower = subject.to_ascii_lowercase();
    if lower.starts_with("re:") || lower.starts_with("aw:") || subject.starts_with("回复") {
        subject.to_owned()
    } else {
        format!("Re: {subject}")
    }
}

/// The text as HTML: escaped, paragraphs and line breaks kept.
fn html_of(text: &str) -> String {
    let mut html = String::from("<!DOCTYPE html><html><body>");
    for paragraph in text.split("\n\n") {
        html.push_str("<p>");
        let escaped = paragraph
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\n', "<br>\n");
        html.push_str(&escaped);
        html.push_str("</p>\n");
    }
    html.push_str("</body></html>\n");
    html
}

/// Builds the reply message.
pub fn build(reply: &Reply) -> Result<Message, BuildError> {
    let mut builder = Message::builder()
        .from(mailbox(&reply.from)?)
        .to(mailbox(&reply.to)?)
        .subject(reply_subject(&reply.subject))
        .message_id(Some(bracketed(&reply.message_id)?))
        .date_now();
    if let Some(copy) = &reply.bcc {
        builder = builder.bcc(mailbox(copy)?);
    }
    if let Some(reply_to) = &reply.reply_to {
        builder = builder.reply_to(mailbox(&MailAddress {
            name: reply.from.name.clone(),
            address: reply_to.clone(),
        })?);
    }
    // The customer's ids come from their mail: one we could not write safely is left out
    // (threading falls back on the rest and on the subject), never a reason not to answer.
    if let Some(parent) = reply
        .in_reply_to
        .as_deref()
        .and_then(|id| bracketed(id).ok())
    {
        builder = builder.in_reply_to(parent);
    }
    let references: Vec<String> = reply
        .references
        .iter()
        .filter_map(|id| bracketed(id).ok())
        .collect();
    if !references.is_empty() {
        builder = builder.references(references.join(" "));
    }
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(reply.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html_of(&reply.text)),
                ),
        )
        .map_err(|e| BuildError(e.to_string()))
}

/// An SMTP submission client.
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    timeout: Duration,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender").finish_non_exhaustive()
    }
}

impl SmtpSender {
    /// A client for `settings` (connects on each send).
    pub fn new(settings: &SmtpSettings) -> Result<SmtpSender, SmtpSetupError> {
        if settings.security == Security::Plain
            && !settings.allow_plaintext
            && !is_loopback(&settings.host)
        {
            return Err(SmtpSetupError::PlaintextRefused(settings.host.clone()));
        }
        deskbridge_connectors::install_tls_provider();
        let mut parameters = TlsParameters::builder(settings.host.clone());
        if let Some(path) = &settings.ca_file {
            let failed = |reason: String| SmtpSetupError::CaFile {
                path: path.display().to_string(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
            let certificate = Certificate::from_pem(&pem).map_err(|e| failed(e.to_string()))?;
            parameters = parameters
                .certificate_store(CertificateStore::Default)
                .add_root_certificate(certificate);
        }
        let parameters = parameters
            .build_rustls()
            .map_err(|e| SmtpSetupError::Settings(e.to_string()))?;
        let tls = match settings.security {
            Security::Tls => Tls::Wrapper(parameters),
            Security::StartTls => Tls::Required(parameters),
            Security::Plain => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout))
            .hello_name(ClientId::Domain(settings.hello_name.clone()));
        if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(SmtpSender {
            transport: builder.build(),
            timeout: settings.timeout,
        })
    }

    /// Connects, says `EHLO`, logs in and quits: whether the server takes the gateway's mail
    /// (the readiness check).
    pub async fn check(&self) -> Result<(), SendFailure> {
        match tokio::time::timeout(self.timeout, self.transport.test_connection()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(SendFailure::NotSent {
                transient: true,
                reason: "the SMTP server did not answer NOOP".into(),
            }),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(SendFailure::NotSent {
                transient: true,
                reason: format!("no answer within {} ms", self.timeout.as_millis()),
            }),
        }
    }

    /// Sends `message`; the server's answer (e.g. `2.0.0 queued as …`) on success.
    pub async fn send(&self, message: &Message) -> Result<String, SendFailure> {
        // lettre's own timeout bounds connecting; this bounds the whole exchange.
        match tokio::time::timeout(self.timeout, self.transport.send(message.clone())).await {
            Ok(Ok(response)) => Ok(response.message().collect::<Vec<_>>().join(" ")),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(SendFailure::MaybeSent {
                reason: format!("no answer within {} ms", self.timeout.as_millis()),
            }),
        }
    }
}

/// What an SMTP error means for the message. The reason names the reply code or the kind of
/// failure only: a server's text often quotes the recipient's address, and the reason ends up
/// in logs.
fn classify(error: &lettre::transport::smtp::Error) -> SendFailure {
    let not_sent = |transient: bool, reason: String| SendFailure::NotSent { transient, reason };
    if let Some(code) = error.status() {
        let refused = format!("the SMTP server answered {code}");
        // A 5xx refusal is final, a 4xx one asks to try later; either way nothing went out.
        return not_sent(!error.is_permanent(), refused);
    }
    if error.is_tls() {
        // TLS fails while connecting, before anything is said.
        return not_sent(true, "TLS with the SMTP server failed".into());
    }
    if error.is_client() {
        // lettre gave up before sending, e.g. the server lacks STARTTLS, an AUTH mechanism or
        // SMTPUTF8 for an address: trying again changes nothing.
        return not_sent(false, "the SMTP server lacks what this reply needs".into());
    }
    if error.to_string().starts_with("Connection error") {
        // Could not connect: nothing was said.
        return not_sent(true, "cannot connect to the SMTP server".into());
    }
    // A timeout or a broken connection mid-exchange.
    SendFailure::MaybeSent {
        reason: if error.is_timeout() {
            "the SMTP exchange timed out".into()
        } else {
            "the SMTP connection broke off".into()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_ids() {
        assert_eq!(reply_subject("Refund"), "Re: Refund");
        assert_eq!(reply_subject("RE: Refund"), "RE: Refund");
        assert_eq!(
            reply_subject("Bad\r\nBcc: x@evil.test"),
            "Re: Bad  Bcc: x@evil.test"
        );
        assert!(bracketed("a@b").is_ok());
        for bad in ["", "no-at", "a@b>\r\nBcc: x@y", "a b@c", "<a@b>"] {
            assert!(bracketed(bad).is_err(), "{bad:?}");
        }
        // A customer's unusable id is left out of the reply's headers, not a failure.
        let reply = Reply {
            from: MailAddress {
                name: None,
                address: "support@acme.test".into(),
            },
            to: MailAddress {
                name: None,
                address: "ana@example.com".into(),
            },
            bcc: None,
            reply_to: None,
            subject: "Order".into(),
            message_id: "r1@acme.test".into(),
            in_reply_to: Some("bad id@x>\r\nBcc: eve@evil.test".into()),
            references: vec!["q1@example.com".into(), "a b@c".into()],
            text: "Hello".into(),
        };
        let built = String::from_utf8(build(&reply).expect("built").formatted()).expect("utf-8");
        assert!(
            built.contains("References: <q1@example.com>\r\n"),
            "{built}"
        );
        assert!(!built.contains("In-Reply-To"), "{built}");
        assert!(!built.contains("evil"), "{built}");
        assert_eq!(
            html_of("Hi <Ana> & co\nline\n\nNext"),
            "<!DOCTYPE html><html><body><p>Hi &lt;Ana&gt; &amp; co<br>\nline</p>\n<p>Next</p>\n</body></html>\n"
        );
    }
}
