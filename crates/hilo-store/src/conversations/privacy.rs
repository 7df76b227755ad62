//! Erasure reaches conversations: the person's conversations, messages, calls, labels
//! and audit lines go, in the erasure's own transaction, and where another customer's
//! message quotes one of their identifiers, it is cut out.

use hilo_domain::CustomerId;
use hilo_domain::customers::redaction::Redaction;
use serde_json::Value;

use crate::StoreResult;
use crate::tx::{Tx, on_tx};

/// What erasure did to conversations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasedConversations {
    pub conversations: u64,
    pub messages: u64,
    /// Other customers' messages the person's identifiers were cut out of.
    pub redacted_messages: u64,
}

impl Tx {
    /// Deletes everything of the fragments' conversations, then redacts the person in
    /// the messages left.
    pub async fn erase_conversations(
        &mut self,
        fragments: &[CustomerId],
        redaction: &Redaction,
    ) -> StoreResult<ErasedConversations> {
        const OF_CONVERSATIONS: [&str; 4] = [
            // Corrections that name the person's conversations or the person: what
            // they could undo is gone.
            "DELETE FROM conversation_moves WHERE from_profile = $1 OR to_profile = $1 \
             OR conversation_id IN (SELECT id FROM conversations WHERE profile_id = $1) \
             OR other_id IN (SELECT id FROM conversations WHERE profile_id = $1)",
            "DELETE FROM calls WHERE message_id IN (SELECT m.id FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id WHERE c.profile_id = $1)",
            "DELETE FROM conversation_labels WHERE conversation_id IN \
             (SELECT id FROM conversations WHERE profile_id = $1)",
            "DELETE FROM conversation_events WHERE conversation_id IN \
             (SELECT id FROM conversations WHERE profile_id = $1)",
        ];
        const CALLS: &str = "DELETE FROM calls WHERE message_id IN \
            (SELECT id FROM messages WHERE profile_id = $1)";
        const MENTIONS: &str = "DELETE FROM message_mentions WHERE message_id IN \
            (SELECT id FROM messages WHERE profile_id = $1 OR conversation_id IN \
             (SELECT id FROM conversations WHERE profile_id = $1))";
        const ATTACHMENTS: &str = "DELETE FROM attachments WHERE message_id IN \
            (SELECT id FROM messages WHERE profile_id = $1 OR conversation_id IN \
             (SELECT id FROM conversations WHERE profile_id = $1))";
        const MESSAGES: &str = "DELETE FROM messages WHERE profile_id = $1 OR conversation_id \
            IN (SELECT id FROM conversations WHERE profile_id = $1)";
        const CONVERSATIONS: &str = "DELETE FROM conversations WHERE profile_id = $1";
        let mut erased = ErasedConversations::default();
        for fragment in fragments {
            let id = fragment.to_string();
            for sql in OF_CONVERSATIONS
                .into_iter()
                .chain([CALLS, ATTACHMENTS, MENTIONS])
            {
                on_tx!(self, |conn| sqlx::query(sql)
                    .bind(&id)
                    .execute(conn)
                    .await?
                    .rows_affected());
            }
            // Before the messages, which say which visitors wrote for the person.
            self.erase_visitors(*fragment).await?;
            erased.messages += on_tx!(self, |conn| sqlx::query(MESSAGES)
                .bind(&id)
                .execute(conn)
                .await?
                .rows_affected());
            erased.conversations += on_tx!(self, |conn| sqlx::query(CONVERSATIONS)
                .bind(&id)
                .execute(conn)
                .await?
                .rows_affected());
        }
        erased.redacted_messages = self.redact_messages(redaction).await?;
        Ok(erased)
    }

    /// Cuts the identifiers out of every message that holds one: a `LIKE` narrows the
    /// rows, the redaction decides.
    async fn redact_messages(&mut self, redaction: &Redaction) -> StoreResult<u64> {
        let patterns: Vec<String> = redaction
            .fragments()
            .iter()
            .map(|pieces| crate::customers::like_in_order(pieces))
            .collect();
        if patterns.is_empty() {
            return Ok(0);
        }
        let matching = (1..=patterns.len())
            .map(|n| {
                format!(
                    "lower(content) LIKE ${n} ESCAPE '\\' \
                     OR lower(COALESCE(email, '')) LIKE ${n} ESCAPE '\\'"
                )
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        let select = format!("SELECT id, content, email FROM messages WHERE {matching}");
        let rows: Vec<(String, String, Option<String>)> = on_tx!(self, |conn| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(select.clone()));
            for pattern in &patterns {
                query = query.bind(pattern);
            }
            query.fetch_all(conn).await?
        });
        let mut changed = 0;
        for (id, content, email) in rows {
            let mut value = Value::String(content);
            let mut details = email
                .as_deref()
                .and_then(|e| serde_json::from_str::<Value>(e).ok());
            let content_changed = redaction.apply(&mut value);
            let email_changed = details.as_mut().is_some_and(|d| redaction.apply(d));
            if !content_changed && !email_changed {
                continue;
            }
            let text = value.as_str().unwrap_or_default().to_owned();
            let email = details.map(|d| d.to_string());
            on_tx!(self, |conn| sqlx::query(
                "UPDATE messages SET content = $1, email = COALESCE($2, email) WHERE id = $3"
            )
            .bind(&text)
            .bind(email.as_deref())
            .bind(&id)
            .execute(conn)
            .await?
            .rows_affected());
            changed += 1;
        }
        Ok(changed)
    }
}
