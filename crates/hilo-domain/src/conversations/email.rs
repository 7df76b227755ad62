//! Email's rules, free of I/O: what an email message keeps beside its text, where
//! replies to a conversation are addressed, how a reply is threaded, and what of a
//! customer's text is quoted history or signature (folded away in the thread).

use serde::{Deserialize, Serialize};

use crate::ConversationId;

/// Most bytes of one attachment stored; larger ones are listed, not kept.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// Most bytes of an email's attachments stored together.
pub const MAX_ATTACHMENTS_BYTES: usize = 25 * 1024 * 1024;
/// Most attachments listed for one email.
pub const MAX_ATTACHMENTS: usize = 50;
/// Most Message-IDs of `References` looked up to thread a reply.
pub const MAX_REFERENCES: usize = 20;

/// What an email message keeps beside its text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EmailDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The `Message-ID`, without angle brackets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    /// The HTML body, sanitised: no script, no event handlers, no remote loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// What the message's text quoted or signed off with, folded in the thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentInfo>,
}

/// One attachment of an email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    /// Its id for download; `None` when it was too large to keep.
    pub id: Option<String>,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
}

/// The part of a plus address that names a conversation: `shop+c.<id>@example.com`.
const CONVERSATION_TAG: &str = "c.";

/// The address a conversation's replies come back to: the channel's mailbox with the
/// conversation in its plus part, so a reply to an email an agent started lands in the
/// same conversation even when the mail client drops the threading headers.
pub fn reply_address(mailbox: &str, conversation: ConversationId) -> String {
    match mailbox.split_once('@') {
        Some((local, domain)) => format!(
            "{local}+{CONVERSATION_TAG}{}@{domain}",
            conversation.to_string().replace('-', "")
        ),
        None => mailbox.to_owned(),
    }
}

/// A recipient read as a mailbox: the address without its plus part (lower case), and
/// the conversation the plus part names, if it names one.
pub fn mailbox_of(recipient: &str) -> (String, Option<ConversationId>) {
    let recipient = recipient
        .trim()
        .trim_matches(['<', '>'])
        .to_ascii_lowercase();
    let Some((local, domain)) = recipient.split_once('@') else {
        return (recipient, None);
    };
    let Some((base, tag)) = local.split_once('+') else {
        return (recipient.clone(), None);
    };
    let conversation = tag
        .strip_prefix(CONVERSATION_TAG)
        .and_then(|hex| uuid::Uuid::try_parse(hex).ok())
        .and_then(|id| id.hyphenated().to_string().parse().ok());
    (format!("{base}@{domain}"), conversation)
}

/// A Message-ID as headers write it (`<…>`), bare.
pub fn bare_message_id(text: &str) -> Option<String> {
    let id = text
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!id.is_empty() && id.len() <= 250 && !id.chars().any(|c| c.is_whitespace() || c.is_control()))
        .then(|| id.to_owned())
}

/// The Message-ID Hilo gives an email it sends (bare): unique, and in the mailbox's
/// domain.
pub fn outgoing_message_id(message: crate::MessageId, mailbox: &str) -> String {
    let domain = mailbox.rsplit_once('@').map_or("hilo.invalid", |(_, d)| d);
    format!("{}@{domain}", message.to_string().replace('-', ""))
}

/// The subject of a reply: `Re: ` once.
pub fn reply_subject(subject: Option<&str>) -> String {
    let subject = subject.map(str::trim).unwrap_or_default();
    let lower = subject.to_ascii_lowercase();
    if lower.starts_with("re:") || lower.starts_with("aw:") || lower.starts_with("sv:") {
        subject.to_owned()
    } else if subject.is_empty() {
        "Re:".to_owned()
    } else {
        format!("Re: {subject}")
    }
}

/// A text split into what was written now and what was quoted or signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    pub visible: String,
    /// Quoted history and signature, if any.
    pub folded: Option<String>,
}

/// Splits an email's text at the first line where quoted history or a signature
/// begins: a `> ` block, "On … wrote:" and its Spanish, French, German and Portuguese
/// forms (over one or two lines), Outlook's separators and header blocks, `-- `, and
/// "Sent from my …". A text that is all quote is kept whole.
pub fn fold(text: &str) -> Folded {
    let lines: Vec<&str> = text.lines().collect();
    let cut = (0..lines.len()).find(|&i| starts_folded(&lines, i));
    let Some(cut) = cut else {
        return Folded {
            visible: text.trim().to_owned(),
            folded: None,
        };
    };
    let visible = lines[..cut].join("\n").trim().to_owned();
    let folded = lines[cut..].join("\n").trim().to_owned();
    if visible.is_empty() {
        return Folded {
            visible: text.trim().to_owned(),
            folded: None,
        };
    }
    Folded {
        visible,
        folded: (!folded.is_empty()).then_some(folded),
    }
}

fn starts_folded(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim_end();
    let trimmed = line.trim();
    if line.starts_with('>') {
        return true;
    }
    if line == "-- " || line == "--" || trimmed == "__" || trimmed.starts_with("________________") {
        return true;
    }
    let lower = trimmed.to_lowercase();
    const SEPARATORS: [&str; 4] = [
        "-----original message-----",
        "-----mensaje original-----",
        "-----message d'origine-----",
        "-----ursprüngliche nachricht-----",
    ];
    if SEPARATORS.iter().any(|s| lower.starts_with(s)) {
        return true;
    }
    const SENT_FROM: [&str; 4] = [
        "sent from my ",
        "enviado desde mi ",
        "envoyé de mon ",
        "gesendet von meinem ",
    ];
    if SENT_FROM.iter().any(|s| lower.starts_with(s)) {
        return true;
    }
    // Outlook's header block: "From: …" followed by "Sent: …" or "Date: …".
    if (lower.starts_with("from:") || lower.starts_with("de:"))
        && lines.get(i + 1).is_some_and(|next| {
            let next = next.trim().to_lowercase();
            [
                "sent:",
                "date:",
                "enviado:",
                "fecha:",
                "envoyé :",
                "envoyé:",
            ]
            .iter()
            .any(|h| next.starts_with(h))
        })
    {
        return true;
    }
    attribution(&lower)
        || lines
            .get(i + 1)
            .is_some_and(|next| attribution(&format!("{lower} {}", next.trim().to_lowercase())))
}

/// "On Mon, 1 Dec 2026, Ana <ana@example.com> wrote:" and its kin.
fn attribution(line: &str) -> bool {
    const FORMS: [(&str, &str); 5] = [
        ("on ", "wrote:"),
        ("el ", "escribió:"),
        ("le ", "a écrit :"),
        ("am ", "schrieb:"),
        ("em ", "escreveu:"),
    ];
    FORMS
        .iter()
        .any(|(start, end)| line.starts_with(start) && line.ends_with(end))
        || line.ends_with("a écrit:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_address_names_its_conversation() {
        let id = ConversationId::generate();
        let address = reply_address("Tienda@Example.com", id);
        assert!(address.starts_with("Tienda+c."));
        assert_eq!(
            mailbox_of(&address),
            ("tienda@example.com".into(), Some(id))
        );
        assert_eq!(
            mailbox_of("<Tienda@example.com>"),
            ("tienda@example.com".into(), None)
        );
        assert_eq!(
            mailbox_of("tienda+news@example.com"),
            ("tienda@example.com".into(), None)
        );
    }

    #[test]
    fn quoted_history_and_signatures_are_folded() {
        let text = "Sí, el martes me va bien.\n\nGracias\n\nEl lun, 1 dic 2026 a las 10:00, Tienda <t@example.com>\nescribió:\n> ¿Le va bien el martes?\n";
        let folded = fold(text);
        assert_eq!(folded.visible, "Sí, el martes me va bien.\n\nGracias");
        assert!(folded.folded.unwrap().contains("¿Le va bien el martes?"));

        let text = "Done, thanks.\n-- \nAna García\nHead of Ops";
        assert_eq!(fold(text).visible, "Done, thanks.");
        assert_eq!(
            fold(text).folded.as_deref(),
            Some("-- \nAna García\nHead of Ops")
        );

        let text = "Ok\n\nFrom: Shop <s@example.com>\nSent: Monday\nSubject: Order";
        assert_eq!(fold(text).visible, "Ok");
        assert_eq!(
            fold("On Mon, Ana wrote:\n> hi").visible,
            "On Mon, Ana wrote:\n> hi"
        );
        assert_eq!(fold("Plain text only").folded, None);
        assert_eq!(fold("Hi\nSent from my iPhone").visible, "Hi");
    }

    #[test]
    fn threading_values() {
        assert_eq!(
            bare_message_id(" <abc@x.org> ").as_deref(),
            Some("abc@x.org")
        );
        assert_eq!(bare_message_id("<>"), None);
        assert_eq!(reply_subject(Some("Pedido T-1")), "Re: Pedido T-1");
        assert_eq!(reply_subject(Some("RE: Pedido")), "RE: Pedido");
        assert_eq!(reply_subject(None), "Re:");
    }
}
