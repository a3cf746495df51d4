//! The email helpdesks of the config (`kind = "email"`): their `HelpdeskClient` (tickets from
//! the store, replies over SMTP) and their mailbox readers (IMAP into the pipeline).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use deskbridge_config::{AfterFetch, EmailConfig, MailSecurity};
use deskbridge_email::filing::Mailbox;
use deskbridge_email::helpdesk::EmailHelpdesk;
use deskbridge_email::imap::{ImapSettings, Settle};
use deskbridge_email::parse::{Limits, MailAddress};
use deskbridge_email::reader::ReaderSettings;
use deskbridge_email::smtp::{SmtpSender, SmtpSettings};
use deskbridge_email::tls::Security;
use deskbridge_store::Store;

fn security(security: MailSecurity) -> Security {
    match security {
        MailSecurity::Tls => Security::Tls,
        MailSecurity::Starttls => Security::StartTls,
        MailSecurity::Plain => Security::Plain,
    }
}

fn domain_of(address: &str) -> &str {
    address.split_once('@').map_or("localhost", |(_, d)| d)
}

/// The helpdesk client of email helpdesk `name`.
pub(crate) fn client(
    name: &str,
    config: &EmailConfig,
    store: &Arc<dyn Store>,
) -> anyhow::Result<EmailHelpdesk> {
    let address = config.address.to_lowercase();
    let smtp = &config.smtp;
    let sender = SmtpSender::new(&SmtpSettings {
        host: smtp.host.clone(),
        port: smtp.port(),
        security: security(smtp.security),
        ca_file: smtp.ca_file.clone(),
        allow_plaintext: smtp.allow_plaintext,
        user: smtp.user.clone(),
        password: smtp.password.as_ref().map(|p| p.reveal().to_owned()),
        timeout: Duration::from_secs(smtp.timeout_s),
        hello_name: domain_of(&address).to_owned(),
    })
    .with_context(|| format!("key `helpdesks.{name}.smtp`"))?;
    Ok(EmailHelpdesk::new(
        name,
        Arc::clone(store),
        MailAddress {
            name: config.display_name.clone(),
            address,
        },
        sender,
    )
    .with_imap(reader(name, config).imap))
}

/// The mailbox reader's settings of email helpdesk `name`.
pub(crate) fn reader(name: &str, config: &EmailConfig) -> ReaderSettings {
    let imap = &config.imap;
    let settle = match imap.after {
        AfterFetch::Flag => Settle::Flag(imap.flag.clone()),
        AfterFetch::Move => Settle::Move(imap.move_to.clone().unwrap_or_default()),
    };
    ReaderSettings {
        imap: ImapSettings {
            host: imap.host.clone(),
            port: imap.port(),
            security: security(imap.security),
            ca_file: imap.ca_file.clone(),
            allow_plaintext: imap.allow_plaintext,
            user: imap.user.clone(),
            password: imap.password.reveal().to_owned(),
            mailbox: imap.mailbox.clone(),
            settle,
        },
        mailbox: Mailbox {
            helpdesk: name.to_owned(),
            address: config.address.to_lowercase(),
            own_addresses: config.all_own_addresses(),
            limits: Limits {
                message_bytes: config.max_message_bytes,
                attachment_bytes: config.max_attachment_bytes,
                ..Limits::default()
            },
        },
        poll: Duration::from_secs(imap.poll_interval_s),
        new_tickets_per_sender_per_hour: config.max_new_tickets_per_sender_per_hour,
        read_existing: imap.read_existing_mail,
    }
}
