//! Real servers the email tests run against.

pub(crate) mod dovecot;
