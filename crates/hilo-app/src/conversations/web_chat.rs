//! The web chat widget's use cases: who a connection is, what it may read, and what
//! its visitor writes. The socket itself is the web layer's; every rule is here.
//!
//! A visitor reads only messages addressed to or sent by them (their id is the
//! messages' address on the channel). An anonymous visitor resumes with a random token
//! the widget keeps; a visitor the site proves (`identifier_hash`) is one visitor per
//! identity on the channel, on every device, and is linked to the customer.

use hilo_domain::conversations::web_chat::{self, Hello, Visitor};
use hilo_domain::conversations::{ChannelType, Direction, MessageStatus};
use hilo_domain::customers::identity::Identifier;
use hilo_domain::{ChannelId, ConversationId, MessageId, Secret, SecretKind, VisitorId};
use hilo_store::conversations::{MessageRecord, NewVisitor, VisitorRecord};
use serde_json::{Value, json};
use tracing::info;

use super::Conversations;
use super::providers::{Channel, InboundMessage};
use crate::{AppError, AppResult};

/// How many of a visitor's latest messages a connection is given when it opens.
pub const HISTORY: u32 = 100;

/// One open widget: its channel and who its visitor is.
#[derive(Debug, Clone)]
pub struct ChatSession {
    pub channel: Channel,
    /// `None` until the visitor writes for the first time (nothing can be addressed to
    /// them before).
    pub visitor: Option<VisitorRecord>,
    pub anonymous_id: Identifier,
    pub verified: Option<Identifier>,
    /// The conversation the visitor's latest message is in.
    pub conversation: Option<ConversationId>,
}

impl ChatSession {
    /// Whether a live event's message is this visitor's.
    pub fn hears(&self, data: &Value) -> bool {
        let Some(visitor) = &self.visitor else {
            return false;
        };
        data["visitor_id"].as_str() == Some(&visitor.id.to_string())
            && data["message"]["channel_id"].as_str() == Some(&self.channel.id.to_string())
    }
}

/// A message as its visitor sees it: no staff names, no internal ids.
pub fn visitor_view(message: &Value) -> Value {
    json!({
        "id": message["id"],
        "direction": message["direction"],
        "content": message["content"],
        "status": message["status"],
        "created_at": message["created_at"],
    })
}

/// A connection just opened: the session, the visitor's latest messages (oldest
/// first) and whether a claimed identity was refused.
#[derive(Debug, Clone)]
pub struct OpenedChat {
    pub session: ChatSession,
    pub messages: Vec<MessageRecord>,
    pub refused_claim: bool,
}

/// A visitor's message stored, and the token to keep when the visitor is new.
#[derive(Debug, Clone)]
pub struct ChatWritten {
    pub message: MessageRecord,
    pub token: Option<Secret>,
}

impl Conversations<'_> {
    /// The web chat channel a widget connects to. Not found unless it is one (a
    /// malformed id too); forbidden from a page whose origin the channel does not
    /// list, when it lists any.
    pub async fn chat_channel(&self, id: &str, origin: Option<&str>) -> AppResult<Channel> {
        let id: ChannelId = id.parse().map_err(|_| AppError::NotFound)?;
        let record = self.hilo.channels().record(id).await?;
        if record.kind != ChannelType::WebChat {
            return Err(AppError::NotFound);
        }
        let channel = self.hilo.channels().open(&record)?;
        let allowed: Vec<&str> = channel
            .settings
            .public
            .get("allowed_origins")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let origin = origin.map(|o| o.trim_end_matches('/').to_ascii_lowercase());
        if !allowed.is_empty() && !origin.is_some_and(|o| allowed.contains(&o.as_str())) {
            return Err(AppError::Forbidden);
        }
        Ok(channel)
    }

    /// Who a connection is, from its first frame. A claim without the right hash is
    /// refused where the channel requires verification, and otherwise ignored: the
    /// visitor is anonymous and shown nothing from before.
    pub async fn open_chat(&self, channel: Channel, hello: &Hello) -> AppResult<OpenedChat> {
        let anonymous_id = hello.anonymous_id()?;
        let secret = channel
            .settings
            .secret("identity_secret")
            .unwrap_or_default();
        let who = hello.visitor(secret, &self.hilo.settings.default_region);
        let refused_claim = matches!(
            who,
            Visitor::Anonymous {
                refused_claim: true
            }
        );
        if refused_claim && channel.settings.flag("require_identity_verification") {
            return Err(AppError::Unauthenticated);
        }
        let store = &self.hilo.store;
        let by_token = match hello.token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => {
                store
                    .visitor_by_token(channel.id, &Secret::new(token).digest())
                    .await?
            }
            None => None,
        };
        let (visitor, verified) = match who {
            Visitor::Verified(identifier) => {
                let key = web_chat::verified_key(&identifier);
                let mut known = store.verified_visitor(channel.id, &key).await?;
                if let Some(anonymous) = &by_token {
                    // Signed in after chatting: the chat so far is theirs.
                    store
                        .verify_visitor(anonymous, known.as_ref(), &key)
                        .await?;
                    known = store.verified_visitor(channel.id, &key).await?;
                    info!(channel = %channel.id, "web chat visitor verified");
                }
                (known, Some(identifier))
            }
            Visitor::Anonymous { .. } => (by_token, None),
        };
        let messages = match &visitor {
            Some(visitor) => store.visitor_messages(visitor, HISTORY).await?,
            None => Vec::new(),
        };
        let session = ChatSession {
            channel,
            visitor,
            anonymous_id,
            verified,
            conversation: messages.last().map(|m| m.conversation_id),
        };
        Ok(OpenedChat {
            session,
            messages,
            refused_claim,
        })
    }

    /// Stores what the visitor wrote in the customer's conversation. The same
    /// `client_id` sent again (a resend after a reconnect) is stored once.
    pub async fn chat_message(
        &self,
        session: &mut ChatSession,
        client_id: &str,
        content: &str,
    ) -> AppResult<ChatWritten> {
        let client_id = web_chat::check_client_id(client_id)?;
        let content = web_chat::check_content(content)?;
        let mut token = None;
        let visitor = match &session.visitor {
            Some(known) => NewVisitor {
                id: known.id,
                channel_id: session.channel.id,
                token_digest: None,
                verified_key: known.verified_key.clone(),
                anonymous_id: session.anonymous_id.value.clone(),
            },
            None => {
                let token_digest = match &session.verified {
                    Some(_) => None,
                    None => {
                        let fresh = SecretKind::ChatVisitor.generate()?;
                        let digest = fresh.digest();
                        token = Some(fresh);
                        Some(digest)
                    }
                };
                NewVisitor {
                    id: VisitorId::generate(),
                    channel_id: session.channel.id,
                    token_digest,
                    verified_key: session.verified.as_ref().map(web_chat::verified_key),
                    anonymous_id: session.anonymous_id.value.clone(),
                }
            }
        };
        let provider_message_id = format!("{}:{client_id}", visitor.id);
        let identifiers: Vec<Identifier> = session
            .verified
            .iter()
            .cloned()
            .chain([session.anonymous_id.clone()])
            .collect();
        let inbound = InboundMessage {
            provider_message_id: provider_message_id.clone(),
            identifiers,
            customer_address: visitor.id.to_string(),
            content: content.to_owned(),
            media: Vec::new(),
            profile_name: None,
            web_visitor: Some(visitor.clone()),
            email: None,
        };
        let stored = match self.receive_message(&session.channel, inbound).await? {
            Some((_, id)) => self.hilo.store.message(id).await?,
            None => {
                self.hilo
                    .store
                    .message_by_provider_id(session.channel.id, &provider_message_id)
                    .await?
            }
        };
        let message = stored.ok_or(AppError::NotFound)?;
        let visitor_id: VisitorId = message
            .customer_address
            .as_deref()
            .and_then(|a| a.parse().ok())
            .unwrap_or(visitor.id);
        session.visitor = Some(VisitorRecord {
            id: visitor_id,
            channel_id: session.channel.id,
            verified_key: visitor.verified_key,
            anonymous_id: visitor.anonymous_id,
        });
        session.conversation = Some(message.conversation_id);
        Ok(ChatWritten { message, token })
    }

    /// The visitor's widget showed (`Delivered`) or the visitor saw (`Read`) a reply.
    /// Anything but the visitor's own replies is not found.
    pub async fn chat_seen(
        &self,
        session: &ChatSession,
        id: MessageId,
        seen: MessageStatus,
    ) -> AppResult<()> {
        let visitor = session.visitor.as_ref().ok_or(AppError::NotFound)?;
        let message = self
            .hilo
            .store
            .visitor_message(visitor, id)
            .await?
            .filter(|m| m.direction == Direction::Outbound)
            .ok_or(AppError::NotFound)?;
        // A reply not sent yet is shown once its send job has run.
        if message.status == MessageStatus::Queued {
            return Ok(());
        }
        self.advance_status(&message, seen, None, None).await
    }

    /// Tells the agents the visitor is typing, in the conversation they last wrote in.
    pub async fn chat_typing(&self, session: &ChatSession) {
        let (Some(visitor), Some(conversation)) = (&session.visitor, session.conversation) else {
            return;
        };
        let data = json!({
            "conversation_id": conversation.to_string(),
            "channel_id": session.channel.id.to_string(),
            "visitor_id": visitor.id.to_string(),
            "who": "customer",
        });
        self.hilo.publish_live("conversation.typing", data);
    }
}

impl Conversations<'_> {
    /// An agent is typing in a conversation: its web chat visitor (and other agents)
    /// are told. Not found unless the conversation exists.
    pub async fn agent_typing(
        &self,
        id: ConversationId,
        by: &hilo_domain::Principal,
    ) -> AppResult<()> {
        if self.hilo.store.conversation(id).await?.is_none() {
            return Err(AppError::NotFound);
        }
        let data = json!({
            "conversation_id": id.to_string(),
            "who": "agent",
            "actor": by.actor(),
        });
        self.hilo.publish_live("conversation.typing", data);
        Ok(())
    }
}
