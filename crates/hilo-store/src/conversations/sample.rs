//! A large inbox written straight into the tables, for `hilo bench conversations`:
//! customers with a phone number each, conversations spread over three months in every
//! status, and their messages, made from their index (nothing is held in memory). Written in big
//! transactions of multi-row inserts, the fastest way both engines take rows through
//! the pool.

use hilo_domain::{ChannelId, Timestamp, UserId};

use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult};

/// What to write.
#[derive(Debug, Clone)]
pub struct SampleInbox {
    pub customers: usize,
    pub conversations: usize,
    pub messages_per_conversation: usize,
    pub channel: ChannelId,
    /// Agents the assigned conversations are shared among.
    pub agents: Vec<UserId>,
    /// The newest conversation's last message; the others go back 90 days.
    pub now: Timestamp,
}

/// Rows per insert statement. The statements carry their values, so they are not
/// kept prepared (each is new; kept, they filled every connection's cache with large
/// programs).
const ROWS: usize = 500;

/// A sample id from a kind and an index: valid UUIDs, ordered by index.
fn id(kind: u16, index: usize) -> String {
    format!("01900000-{kind:04x}-7000-8000-{index:012x}")
}

impl SampleInbox {
    fn customer(&self, index: usize) -> String {
        id(1, index)
    }

    fn conversation(&self, index: usize) -> String {
        id(2, index)
    }

    /// When conversation `index` last moved: newest at the highest index.
    fn last_at(&self, index: usize) -> i64 {
        let span = 90 * 86_400_000_i64;
        let step = span / (self.conversations.max(1) as i64);
        self.now.millis() - span + step * index as i64
    }

    fn status(index: usize) -> &'static str {
        match index % 10 {
            0..=6 => "resolved",
            7 | 8 => "open",
            _ => "pending",
        }
    }
}

/// Runs one multi-row insert of the sample in `tx`.
async fn insert(tx: &mut Tx, sql: String) -> StoreResult<()> {
    on_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

impl Store {
    /// Writes the sample inbox; returns the rows written.
    pub async fn load_sample_inbox(&self, sample: &SampleInbox) -> StoreResult<usize> {
        let mut written = 0;
        for from in (0..sample.customers).step_by(ROWS * 20) {
            let to = (from + ROWS * 20).min(sample.customers);
            let mut tx = self.begin().await?;
            for chunk in (from..to).step_by(ROWS) {
                let end = (chunk + ROWS).min(to);
                let values: Vec<String> = (chunk..end)
                    .map(|i| {
                        let id = sample.customer(i);
                        format!("('{id}', '{id}', {at}, {at})", at = sample.now.millis())
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO profiles (id, root_id, created_at, updated_at) VALUES {}",
                    values.join(", ")
                );
                insert(&mut tx, sql).await?;
                // Each customer known by a phone number, as an inbox's customers are:
                // the identities table then has the size and statistics of one in use.
                let phones: Vec<String> = (chunk..end)
                    .map(|i| {
                        format!(
                            "('phone', '+3470{i:08}', '{}', {at}, {at})",
                            sample.customer(i),
                            at = sample.now.millis()
                        )
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO identities (kind, value, profile_id, first_seen, last_seen) \
                     VALUES {}",
                    phones.join(", ")
                );
                insert(&mut tx, sql).await?;
                written += 2 * (end - chunk);
            }
            tx.commit().await?;
        }
        let per = sample.messages_per_conversation;
        for from in (0..sample.conversations).step_by(ROWS * 4) {
            let to = (from + ROWS * 4).min(sample.conversations);
            let mut tx = self.begin().await?;
            for chunk in (from..to).step_by(ROWS) {
                let end = (chunk + ROWS).min(to);
                let values: Vec<String> = (chunk..end)
                    .map(|i| {
                        // Half assigned, spread over the agents independently of status.
                        let spread = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33;
                        let assignee = match (spread % 2, sample.agents.is_empty()) {
                            (0, false) => {
                                let agent = (spread / 2) as usize % sample.agents.len();
                                format!("'{}'", sample.agents[agent])
                            }
                            _ => "NULL".to_owned(),
                        };
                        let last = sample.last_at(i);
                        format!(
                            "('{}', '{}', '{}', '{}', {assignee}, {last}, {}, {last})",
                            sample.conversation(i),
                            sample.customer(i % sample.customers.max(1)),
                            SampleInbox::status(i),
                            sample.channel,
                            last - (per as i64) * 60_000,
                        )
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO conversations (id, profile_id, status, last_channel_id, \
                     assignee_id, last_message_at, created_at, updated_at) VALUES {}",
                    values.join(", ")
                );
                insert(&mut tx, sql).await?;
                written += end - chunk;
                // Their messages, a minute apart, ending at the conversation's last.
                let messages: Vec<(usize, usize)> = (chunk..end)
                    .flat_map(|c| (0..per).map(move |m| (c, m)))
                    .collect();
                for rows in messages.chunks(ROWS) {
                    let values: Vec<String> = rows
                        .iter()
                        .map(|&(c, m)| {
                            let at = sample.last_at(c) - ((per - m - 1) as i64) * 60_000;
                            let inbound = m % 2 == 0;
                            let number = format!("+3461{:07}", c % sample.customers.max(1));
                            format!(
                                "('{}', '{}', '{}', '{}', 'twilio_sms', '{}', \
                                 'Mensaje {m} de la conversación {c}: ¿tenéis la talla M en tienda?', \
                                 '[]', '{}', '{}', '{number}', '{}', {at}, {at})",
                                id(3 + (m as u16), c),
                                sample.conversation(c),
                                sample.customer(c % sample.customers.max(1)),
                                sample.channel,
                                if inbound { "inbound" } else { "outbound" },
                                if inbound { "received" } else { "delivered" },
                                format_args!("SMs{c:x}m{m}"),
                                if inbound { "customer" } else { "user:bench" },
                            )
                        })
                        .collect();
                    let sql = format!(
                        "INSERT INTO messages (id, conversation_id, profile_id, channel_id, \
                         channel_type, direction, content, media, status, provider_message_id, \
                         customer_address, author, created_at, updated_at) VALUES {}",
                        values.join(", ")
                    );
                    insert(&mut tx, sql).await?;
                    written += rows.len();
                }
            }
            tx.commit().await?;
        }
        Ok(written)
    }
}
