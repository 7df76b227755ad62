//! Canned replies: admins keep them, agents list them by the shortcut they are typing,
//! filled for the conversation's customer and for themselves.

use hilo_domain::conversations::canned::{self, Values};
use hilo_domain::{ConversationId, Principal};
use hilo_store::conversations::CannedReply;
use serde_json::Value;
use tracing::info;

use super::Conversations;
use crate::{AppError, AppResult};

/// A canned reply, and its text filled for a conversation when one was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedView {
    pub reply: CannedReply,
    pub rendered: Option<String>,
}

impl Conversations<'_> {
    /// Canned replies whose shortcut starts with `prefix`; with `conversation`, each
    /// filled for its customer and for the caller.
    pub async fn canned_replies(
        &self,
        prefix: &str,
        conversation: Option<ConversationId>,
        by: &Principal,
    ) -> AppResult<Vec<CannedView>> {
        let prefix = prefix.trim().trim_start_matches('/').to_lowercase();
        let replies = self.hilo.store.canned_replies(&prefix).await?;
        let values = match conversation {
            Some(id) => Some(self.placeholder_values(id, by).await?),
            None => None,
        };
        Ok(replies
            .into_iter()
            .map(|reply| CannedView {
                rendered: values.as_ref().map(|v| canned::render(&reply.content, v)),
                reply,
            })
            .collect())
    }

    async fn placeholder_values(&self, id: ConversationId, by: &Principal) -> AppResult<Values> {
        let view = self.get(id).await?;
        let customer = self.hilo.customers().get(view.customer).await?;
        let mut values = Values::default();
        let text = |key: &str| customer.traits.get(key).and_then(Value::as_str);
        let name = text("name").map(str::to_owned).or_else(|| {
            let first = text("first_name")?;
            Some(match text("last_name") {
                Some(last) => format!("{first} {last}"),
                None => first.to_owned(),
            })
        });
        let first = text("first_name").map(str::to_owned).or_else(|| {
            name.as_deref()
                .and_then(|n| n.split_whitespace().next())
                .map(str::to_owned)
        });
        values.set("customer.name", name.as_deref());
        values.set("customer.first_name", first.as_deref());
        for kind in ["email", "phone"] {
            let identity = customer.identities.iter().find(|i| i.kind == kind);
            values.set(
                &format!("customer.{kind}"),
                identity.map(|i| i.value.as_str()).or(text(kind)),
            );
        }
        for (key, value) in &customer.traits {
            let shown = match value {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            };
            values.set(&format!("customer.traits.{key}"), shown.as_deref());
        }
        if let Principal::User { id, .. } = by {
            let agents = self.hilo.store.agents().await?;
            values.set(
                "agent.name",
                agents
                    .iter()
                    .find(|a| a.user == *id)
                    .map(|a| a.name.as_str()),
            );
        }
        Ok(values)
    }

    pub async fn create_canned_reply(
        &self,
        shortcut: &str,
        content: &str,
    ) -> AppResult<CannedReply> {
        let now = self.hilo.now();
        let reply = CannedReply {
            id: uuid::Uuid::now_v7().to_string(),
            shortcut: canned::check_shortcut(shortcut)?,
            content: canned::check_content(content)?,
            created_at: now,
            updated_at: now,
        };
        self.put(&reply).await?;
        info!(shortcut = %reply.shortcut, "canned reply created");
        Ok(reply)
    }

    pub async fn change_canned_reply(
        &self,
        id: &str,
        shortcut: Option<&str>,
        content: Option<&str>,
    ) -> AppResult<CannedReply> {
        let mut reply = self.canned_reply(id).await?;
        if let Some(shortcut) = shortcut {
            reply.shortcut = canned::check_shortcut(shortcut)?;
        }
        if let Some(content) = content {
            reply.content = canned::check_content(content)?;
        }
        reply.updated_at = self.hilo.now();
        self.put(&reply).await?;
        Ok(reply)
    }

    pub async fn canned_reply(&self, id: &str) -> AppResult<CannedReply> {
        if uuid::Uuid::try_parse(id).is_err() {
            return Err(AppError::NotFound);
        }
        self.hilo
            .store
            .canned_reply(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn delete_canned_reply(&self, id: &str) -> AppResult<()> {
        if uuid::Uuid::try_parse(id).is_err() || !self.hilo.store.delete_canned_reply(id).await? {
            return Err(AppError::NotFound);
        }
        Ok(())
    }

    async fn put(&self, reply: &CannedReply) -> AppResult<()> {
        match self.hilo.store.put_canned_reply(reply).await {
            Err(hilo_store::StoreError::Conflict) => Err(AppError::Conflict(format!(
                "another canned reply has the shortcut /{}",
                reply.shortcut
            ))),
            other => Ok(other?),
        }
    }
}
