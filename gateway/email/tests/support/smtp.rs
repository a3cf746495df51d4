//! A real SMTP submission server for the tests: `smtp_server.py` beside this file, on
//! aiosmtpd (installed by `.ci/run` from PyPI), listening on two free loopback ports —
//! STARTTLS required before AUTH, and implicit TLS — with a certificate signed by a test CA
//! and one user. Each accepted message lands as `N.eml` (with `N.json`: envelope and login)
//! in its output dir. Stopped with SIGTERM when the handle drops.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The submission user's login and password.
pub(crate) const SMTP_USER: &str = "gateway";
pub(crate) const SMTP_PASSWORD: &str = "submit-secret";

/// A running SMTP server.
pub(crate) struct SmtpServer {
    dir: tempfile::TempDir,
    child: Child,
    /// STARTTLS port on 127.0.0.1.
    pub(crate) port: u16,
    /// Implicit-TLS port.
    pub(crate) tls_port: u16,
}

/// A message the server accepted.
pub(crate) struct Received {
    /// The raw message.
    pub(crate) raw: Vec<u8>,
    /// Envelope and login, as JSON.
    pub(crate) envelope: serde_json::Value,
}

impl SmtpServer {
    /// Starts the server; it answers DATA only after `delay_data` (to make a client time out
    /// after the message was accepted).
    pub(crate) fn start(delay_data: Duration) -> SmtpServer {
        let dir = tempfile::tempdir().expect("tempdir");
        super::certs::make_certificates(dir.path());
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).expect("out dir");
        let (port, tls_port) = (super::free_port(), super::free_port());
        // Beside this file, found from the workspace root (this module is shared with the
        // gateway's end-to-end tests, another package two levels down too).
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(file!())
            .with_file_name("smtp_server.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .args([
                "--port",
                &port.to_string(),
                "--tls-port",
                &tls_port.to_string(),
            ])
            .arg("--cert")
            .arg(dir.path().join("server.pem"))
            .arg("--key")
            .arg(dir.path().join("server.key"))
            .arg("--out")
            .arg(&out)
            .args(["--user", SMTP_USER, "--password", SMTP_PASSWORD])
            .args(["--delay-data-s", &delay_data.as_secs_f64().to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd)");
        // It prints `ready` once both ports listen.
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = std::io::BufReader::new(stdout);
        std::io::BufRead::read_line(&mut reader, &mut line).expect("read");
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        SmtpServer {
            dir,
            child,
            port,
            tls_port,
        }
    }

    /// The test CA that signed the server's certificate.
    pub(crate) fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Submitting to this server with `security` (the implicit-TLS port for `Tls`), trusting
    /// the test CA, logged in, with a 10 s deadline.
    pub(crate) fn smtp_settings(
        &self,
        security: deskbridge_email::tls::Security,
    ) -> deskbridge_email::smtp::SmtpSettings {
        deskbridge_email::smtp::SmtpSettings {
            host: "localhost".into(),
            port: match security {
                deskbridge_email::tls::Security::Tls => self.tls_port,
                _ => self.port,
            },
            security,
            ca_file: Some(self.ca_file()),
            allow_plaintext: false,
            user: Some(SMTP_USER.into()),
            password: Some(SMTP_PASSWORD.into()),
            timeout: Duration::from_secs(10),
            hello_name: "acme.test".into(),
        }
    }

    /// Messages accepted so far, in order.
    pub(crate) fn received(&self) -> Vec<Received> {
        let out = self.dir.path().join("out");
        let mut received = Vec::new();
        for n in 1.. {
            let Ok(raw) = std::fs::read(out.join(format!("{n}.eml"))) else {
                break;
            };
            let envelope = std::fs::read(out.join(format!("{n}.json"))).expect("envelope");
            received.push(Received {
                raw,
                envelope: serde_json::from_slice(&envelope).expect("json"),
            });
        }
        received
    }

    /// Waits up to `seconds` for `count` messages.
    pub(crate) fn wait_for(&self, count: usize, seconds: u64) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
