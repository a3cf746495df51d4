//! TLS for the mail connections: rustls with the ring provider the rest of the gateway uses,
//! verifying the server against the platform's trust store — or, for a mail server with a
//! private CA, against the CA certificates of one PEM file (`ca_file`), and then only those.

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// How a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (IMAP 993, SMTP submission 465).
    Tls,
    /// In the clear, then `STARTTLS` before anything else is said (IMAP 143, SMTP 587).
    StartTls,
    /// In the clear throughout: only to a loopback address, or when explicitly allowed.
    Plain,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA file could not be read or holds no certificate.
    #[error("cannot use the CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The platform's trust store could not be used.
    #[error("cannot use the system's trusted certificates: {0}")]
    Platform(String),
    /// The host is not a valid TLS server name.
    #[error("{0:?} is not a valid TLS server name")]
    ServerName(String),
    /// The handshake failed (an untrusted certificate among the reasons).
    #[error("TLS handshake with {host} failed: {reason}")]
    Handshake {
        /// The server.
        host: String,
        /// Why.
        reason: String,
    },
}

/// The client configuration: the CA file's certificates, else the platform verifier.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    deskbridge_connectors::install_tls_provider();
    let config = match ca_file {
        Some(path) => {
            let failed = |reason: String| TlsError::CaFile {
                path: path.display().to_string(),
                reason,
            };
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| failed(e.to_string()))? {
                let cert = cert.map_err(|e| failed(e.to_string()))?;
                roots.add(cert).map_err(|e| failed(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(failed("no certificate in it".into()));
            }
            ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth()
        }
        None => {
            use rustls_platform_verifier::BuilderVerifierExt as _;
            ClientConfig::builder()
                .with_platform_verifier()
                .map_err(|e| TlsError::Platform(e.to_string()))?
                .with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// Whether `host` names this machine (where plain text is allowed without saying so).
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A mail connection, in the clear or over TLS.
#[derive(Debug)]
pub enum Transport {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Transport {
    /// Wraps `tcp` in TLS to `host`, verified by `config`.
    pub async fn tls(
        tcp: TcpStream,
        host: &str,
        config: Arc<ClientConfig>,
    ) -> Result<Transport, TlsError> {
        let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|_| TlsError::ServerName(host.to_owned()))?
            .to_owned();
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| TlsError::Handshake {
                host: host.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Transport::Tls(Box::new(stream)))
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "127.0.0.1",
            "127.8.9.1",
            "::1",
            "[::1]",
            "LocalHost",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["mail.example.com", "10.0.0.1", "localhost.example.com", ""] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").expect("write");
        let refused = client_config(Some(&empty)).expect_err("refused");
        assert!(refused.to_string().contains("no certificate"), "{refused}");
        assert!(client_config(Some(&dir.path().join("missing.pem"))).is_err());
    }
}
