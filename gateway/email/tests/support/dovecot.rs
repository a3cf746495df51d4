//! A real Dovecot IMAP server for the tests: Debian's `dovecot-imapd` (installed by
//! `.ci/run`), configured in a temp dir, listening on two free loopback ports (IMAP with
//! STARTTLS, and IMAPS) with a certificate for `localhost` signed by a test CA that
//! `openssl` makes for each server (`ca.pem` in its dir), one user
//! (`support` / `secret`) whose mail lives in a Maildir owned by `nobody`. Dovecot's login
//! and internal processes run as the package's `dovenull` and `dovecot` users; the master
//! needs root to switch to them (the tests run as root here and in CI). Dovecot daemonizes:
//! it is stopped with `doveadm stop` when the handle drops.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The test user's name and password.
pub(crate) const USER: &str = "support";
pub(crate) const PASSWORD: &str = "secret";

/// A running Dovecot.
pub(crate) struct Dovecot {
    dir: tempfile::TempDir,
    config: PathBuf,
    /// Its IMAP port on 127.0.0.1 (plain, or STARTTLS).
    pub(crate) port: u16,
    /// Its IMAPS port.
    pub(crate) tls_port: u16,
}

fn run(command: &mut Command) {
    let status = command.status().expect("run a command");
    assert!(status.success(), "{command:?} failed: {status}");
}

impl Dovecot {
    /// Starts Dovecot and waits until it accepts connections.
    pub(crate) fn start() -> Dovecot {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        // Dovecot's unprivileged processes must reach the runtime dir and the mail user its
        // home.
        run(Command::new("chmod").arg("755").arg(root));
        for sub in ["run", "state", "home/support"] {
            std::fs::create_dir_all(root.join(sub)).expect("dirs");
        }
        run(Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(root.join("home")));
        std::fs::write(
            root.join("users"),
            format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"),
        )
        .expect("users");
        super::certs::make_certificates(root);
        let (port, tls_port) = (super::free_port(), super::free_port());
        let config = root.join("dovecot.conf");
        std::fs::write(&config, config_text(root, port, tls_port)).expect("config");
        let started = Command::new("dovecot")
            .arg("-c")
            .arg(&config)
            .status()
            .expect("dovecot (apt-get install dovecot-imapd)");
        assert!(started.success(), "dovecot did not start: {started}");
        let dovecot = Dovecot {
            dir,
            config,
            port,
            tls_port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "dovecot never listened:\n{}",
                dovecot.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        dovecot
    }

    /// Dovecot's log.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Delivers `raw` into the user's INBOX (`doveadm save`), as the mail server would.
    pub(crate) fn deliver(&self, raw: &[u8]) {
        self.save(raw, "INBOX");
    }

    /// Saves `raw` into `mailbox` of the user.
    pub(crate) fn save(&self, raw: &[u8], mailbox: &str) {
        use std::io::Write as _;
        let mut child = Command::new("doveadm")
            .arg("-c")
            .arg(&self.config)
            .args(["save", "-u", USER, "-m", mailbox])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("doveadm save");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(raw)
            .expect("write the message");
        let status = child.wait().expect("doveadm save");
        assert!(
            status.success(),
            "doveadm save failed: {status}\n{}",
            self.log()
        );
    }

    /// Runs `doveadm` with `args` for the user and returns what it printed.
    pub(crate) fn doveadm(&self, args: &[&str]) -> String {
        let output = Command::new("doveadm")
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("doveadm");
        assert!(
            output.status.success(),
            "doveadm {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The user's Maildir (mail put in its `new/`, owned by `nobody`, is delivered).
    pub(crate) fn maildir(&self) -> PathBuf {
        self.dir.path().join("home/support/Maildir")
    }

    /// Gives the user's mail files back to the mail user (after writing them as root).
    pub(crate) fn chown_mail(&self) {
        run(Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(self.dir.path().join("home")));
    }

    /// The test CA's certificate, which signed the server's.
    pub(crate) fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// How many messages of the user's INBOX carry the keyword `flag`.
    pub(crate) fn flagged(&self, flag: &str) -> usize {
        self.doveadm(&["search", "-u", USER, "mailbox", "INBOX", "KEYWORD", flag])
            .lines()
            .count()
    }

    /// Reading the user's INBOX in plain text over loopback, settling by `settle`.
    pub(crate) fn imap_settings(
        &self,
        settle: deskbridge_email::imap::Settle,
    ) -> deskbridge_email::imap::ImapSettings {
        deskbridge_email::imap::ImapSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            security: deskbridge_email::tls::Security::Plain,
            ca_file: None,
            allow_plaintext: false,
            user: USER.into(),
            password: PASSWORD.into(),
            mailbox: "INBOX".into(),
            settle,
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("doveadm")
            .arg("-c")
            .arg(&self.config)
            .arg("stop")
            .status();
    }
}

fn config_text(root: &Path, port: u16, tls_port: u16) -> String {
    let root = root.display();
    format!(
        "base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/server.pem
ssl_key = <{root}/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"
    )
}
