//! One SMTP session's commands (RFC 5321), decided without I/O: what to answer to each
//! line, when the message's data begins, which recipients to ask about. The server
//! (`super`) reads lines, asks the conversations part about recipients and stores the
//! message.

/// What the server does after a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Answer this and read the next command.
    Reply(String),
    /// Ask whether a channel receives for this address, then call
    /// [`Session::recipient`] with the answer.
    CheckRecipient(String),
    /// Answer 354 and read the message's data.
    ReadData,
    /// Answer this and close the connection.
    Close(String),
}

/// Most recipients of one message.
pub const MAX_RECIPIENTS: usize = 100;

#[derive(Debug)]
pub struct Session {
    hostname: String,
    max_size: usize,
    greeted: bool,
    sender: Option<String>,
    recipients: Vec<String>,
}

impl Session {
    pub fn new(hostname: &str, max_size: usize) -> Self {
        Self {
            hostname: hostname.to_owned(),
            max_size,
            greeted: false,
            sender: None,
            recipients: Vec::new(),
        }
    }

    /// The banner a client is greeted with.
    pub fn banner(&self) -> String {
        format!("220 {} Hilo ESMTP ready", self.hostname)
    }

    /// The recipients accepted for the message being sent.
    pub fn recipients(&self) -> &[String] {
        &self.recipients
    }

    /// The message was handled: a new one may begin.
    pub fn reset(&mut self) {
        self.sender = None;
        self.recipients.clear();
    }

    pub fn command(&mut self, line: &str) -> Step {
        let line = line.trim_end_matches(['\r', '\n']);
        let (verb, rest) = match line.split_once(' ') {
            Some((verb, rest)) => (verb, rest.trim()),
            None => (line, ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" | "HELO" if rest.is_empty() => {
                Step::Reply("501 5.5.4 Say who you are: EHLO your.domain".into())
            }
            "EHLO" => {
                self.greeted = true;
                self.reset();
                Step::Reply(format!(
                    "250-{} greets {rest}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES",
                    self.hostname, self.max_size
                ))
            }
            "HELO" => {
                self.greeted = true;
                self.reset();
                Step::Reply(format!("250 {}", self.hostname))
            }
            "MAIL" => self.mail(rest),
            "RCPT" => self.rcpt(rest),
            "DATA" if !rest.is_empty() => Step::Reply("501 5.5.4 DATA takes nothing".into()),
            "DATA" if self.recipients.is_empty() => {
                Step::Reply("503 5.5.1 Name a recipient first (RCPT TO)".into())
            }
            "DATA" => Step::ReadData,
            "RSET" => {
                self.reset();
                Step::Reply("250 2.0.0 Reset".into())
            }
            "NOOP" => Step::Reply("250 2.0.0 OK".into()),
            "QUIT" => Step::Close(format!("221 2.0.0 {} closing", self.hostname)),
            "VRFY" => Step::Reply("252 2.5.0 Send the mail and it will be tried".into()),
            "HELP" => Step::Reply("214 2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP QUIT".into()),
            "STARTTLS" | "AUTH" | "EXPN" | "BDAT" => {
                Step::Reply("502 5.5.1 Not offered here".into())
            }
            _ => Step::Reply("500 5.5.2 Command not understood".into()),
        }
    }

    fn mail(&mut self, rest: &str) -> Step {
        if !self.greeted {
            return Step::Reply("503 5.5.1 Say EHLO first".into());
        }
        if self.sender.is_some() {
            return Step::Reply("503 5.5.1 A message is already begun".into());
        }
        let Some(path) = strip_keyword(rest, "FROM:") else {
            return Step::Reply("501 5.5.4 Write MAIL FROM:<address>".into());
        };
        let Some((address, parameters)) = path_and_parameters(path) else {
            return Step::Reply("501 5.1.7 The sender's address is not understood".into());
        };
        for parameter in parameters.split_whitespace() {
            if let Some(size) = parameter
                .get(..5)
                .filter(|p| p.eq_ignore_ascii_case("SIZE="))
                .and_then(|_| parameter[5..].parse::<usize>().ok())
                && size > self.max_size
            {
                return Step::Reply(format!(
                    "552 5.3.4 Messages are taken up to {} bytes",
                    self.max_size
                ));
            }
        }
        self.sender = Some(address.to_owned());
        Step::Reply("250 2.1.0 Sender OK".into())
    }

    fn rcpt(&mut self, rest: &str) -> Step {
        if self.sender.is_none() {
            return Step::Reply("503 5.5.1 Name the sender first (MAIL FROM)".into());
        }
        let Some(path) = strip_keyword(rest, "TO:") else {
            return Step::Reply("501 5.5.4 Write RCPT TO:<address>".into());
        };
        let Some((address, _)) = path_and_parameters(path).filter(|(a, _)| a.contains('@')) else {
            return Step::Reply("501 5.1.3 The recipient's address is not understood".into());
        };
        if self.recipients.len() >= MAX_RECIPIENTS {
            return Step::Reply("452 4.5.3 Too many recipients".into());
        }
        Step::CheckRecipient(address.to_owned())
    }

    /// The answer about a recipient: taken when a channel receives for it. Hilo
    /// relays nothing.
    pub fn recipient(&mut self, address: String, receives: bool) -> String {
        if !receives {
            return "550 5.1.1 No mailbox here by that name".into();
        }
        if !self.recipients.contains(&address) {
            self.recipients.push(address);
        }
        "250 2.1.5 Recipient OK".into()
    }
}

/// `rest` after a case-insensitive keyword such as `FROM:`.
fn strip_keyword<'a>(rest: &'a str, keyword: &str) -> Option<&'a str> {
    rest.get(..keyword.len())
        .filter(|k| k.eq_ignore_ascii_case(keyword))
        .map(|_| rest[keyword.len()..].trim_start())
}

/// `<address> PARAM=…` → the address (possibly empty, the null sender) and the
/// parameters.
fn path_and_parameters(path: &str) -> Option<(&str, &str)> {
    let path = path.trim();
    let inner = path.strip_prefix('<')?;
    let end = inner.find('>')?;
    let address = inner[..end].trim();
    if address.len() > 320 || address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some((address, inner[end + 1..].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(step: Step) -> String {
        match step {
            Step::Reply(text) | Step::Close(text) => text,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn a_message_is_sender_recipients_then_data() {
        let mut session = Session::new("mx.example", 1_000);
        assert!(reply(session.command("MAIL FROM:<a@x.org>")).starts_with("503"));
        assert!(reply(session.command("EHLO client.example")).contains("SIZE 1000"));
        assert!(reply(session.command("RCPT TO:<t@shop.example>")).starts_with("503"));
        assert!(reply(session.command("DATA")).starts_with("503"));
        assert!(reply(session.command("mail from:<a@x.org> SIZE=10")).starts_with("250"));
        assert!(reply(session.command("MAIL FROM:<a@x.org>")).starts_with("503"));
        assert_eq!(
            session.command("RCPT TO:<T@shop.example>"),
            Step::CheckRecipient("T@shop.example".into())
        );
        assert!(
            session
                .recipient("x@y.org".into(), false)
                .starts_with("550")
        );
        assert!(
            session
                .recipient("T@shop.example".into(), true)
                .starts_with("250")
        );
        assert_eq!(session.command("DATA"), Step::ReadData);
        assert_eq!(session.recipients(), ["T@shop.example"]);
        session.reset();
        assert!(reply(session.command("DATA")).starts_with("503"));
        assert!(matches!(session.command("QUIT"), Step::Close(_)));
    }

    #[test]
    fn what_is_not_smtp_is_refused() {
        let mut session = Session::new("mx.example", 1_000);
        assert!(reply(session.command("EHLO")).starts_with("501"));
        session.command("HELO c");
        assert!(reply(session.command("MAIL FROM:<a@x.org> SIZE=5000")).starts_with("552"));
        assert!(reply(session.command("MAIL FROM:a@x.org")).starts_with("501"));
        assert!(reply(session.command("MAIL FROM:<>")).starts_with("250"));
        assert!(reply(session.command("RCPT TO:<nobody>")).starts_with("501"));
        assert!(reply(session.command("STARTTLS")).starts_with("502"));
        assert!(reply(session.command("GET / HTTP/1.1")).starts_with("500"));
    }
}
