//! Real servers the email tests run against. Each test binary uses part of them.
#![allow(dead_code)]

use std::net::TcpListener;

/// A loopback port nothing listens on now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub(crate) mod certs;
pub(crate) mod dovecot;
pub(crate) mod smtp;
