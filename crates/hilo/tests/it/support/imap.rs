//! A real IMAP server for the email channel's mailbox reading: Dovecot, from Debian's
//! packages, started for one test on a free port with a mailbox of its own; mail is put
//! in it with Python's `imaplib`, as another mail client would.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::process::{Child, Command};

pub const USER: &str = "tienda@shop.example";
pub const PASSWORD: &str = "mailbox-password-1";
const DOVECOT: &str = "/usr/sbin/dovecot";

pub struct ImapPeer {
    pub port: u16,
    _child: Child,
    _dir: TempDir,
}

impl ImapPeer {
    /// `None` where Dovecot is not installed (outside CI, where it must be).
    pub async fn start() -> Option<Self> {
        if !std::path::Path::new(DOVECOT).exists() {
            assert!(
                std::env::var("CI").is_err(),
                "CI must install dovecot-imapd"
            );
            eprintln!("{DOVECOT} is not installed: IMAP test not run");
            return None;
        }
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        for sub in ["run", "state", "home"] {
            std::fs::create_dir(root.join(sub)).expect("dir");
        }
        // Mail is kept by an unprivileged user: Dovecot refuses root.
        let uid = nix_uid();
        let (uid, gid) = if uid == 0 { (65534, 65534) } else { (uid, uid) };
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(root.join("home"), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        std::fs::write(root.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n"))
            .expect("passwd");
        let port = free_port();
        let r = root.display();
        let config = format!(
            "base_dir = {r}/run\nstate_dir = {r}/state\nlog_path = {r}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\n\
             auth_mechanisms = plain login\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={r}/home/%u\n}}\n\
             mail_location = maildir:~/Maildir\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  \
             inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service pop3-login {{\n  inet_listener pop3 {{\n    port = 0\n  }}\n}}\n"
        );
        std::fs::write(root.join("dovecot.conf"), config).expect("config");
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start dovecot");
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(Self {
                    port,
                    _child: child,
                    _dir: dir,
                });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "dovecot did not start: {}",
            std::fs::read_to_string(root.join("dovecot.log")).unwrap_or_default()
        );
    }

    /// Puts `raw` in the mailbox with Python's imaplib (`APPEND`); the UID it got.
    pub fn append(&self, raw: &str) -> Option<Value> {
        let script = r#"
import imaplib, json, sys
given = json.load(sys.stdin)
client = imaplib.IMAP4("127.0.0.1", given["port"])
client.login(given["user"], given["password"])
status, answer = client.append("INBOX", None, None, given["raw"].encode("utf-8"))
client.logout()
print(json.dumps({"status": status, "answer": answer[0].decode()}))
"#;
        let input = json!({"port": self.port, "user": USER, "password": PASSWORD, "raw": raw});
        let output = super::run_python(script, &input)?;
        Some(serde_json::from_str(&output).expect("json"))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// This process's user id, from /proc (no libc call needed).
fn nix_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|uid| uid.parse().ok())
        })
        .unwrap_or(0)
}
