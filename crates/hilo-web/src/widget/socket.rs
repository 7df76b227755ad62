//! One visitor's socket. Frames are JSON text.
//!
//! From the widget: `hello` first (`anonymous_id`, and `token`, `user_id`, `email`,
//! `identifier_hash` when it has them), then `message` (`client_id`, `content`),
//! `read` (`message_id`) and `typing`. To the widget: `ready` (`visitor_id`,
//! `verified`, `welcome_message`, `messages`), `ack` (`client_id`, `message`, and
//! `token` for a new visitor to keep), `message` (a new or updated message of theirs),
//! `history` (all of them again, after the socket fell behind), `typing` (an agent is
//! writing to them) and `error` (`code`, `message`, `field`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use hilo_app::AppError;
use hilo_app::conversations::providers::Channel;
use hilo_app::conversations::web_chat::{self, ChatSession, visitor_view};
use hilo_app::conversations::{Conversations, message_json};
use hilo_app::live::LiveEvent;
use hilo_domain::conversations::MessageStatus;
use hilo_domain::conversations::web_chat::{ClientFrame, MessageRate};
use hilo_domain::{MessageId, Secret};
use hilo_store::conversations::MessageRecord;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tracing::{debug, warn};

use crate::AppState;

/// How long a new socket has to say who it is.
const HELLO_WITHIN: Duration = Duration::from_secs(10);
/// How often the server pings; a socket silent for three of these is closed.
const PING_EVERY: Duration = Duration::from_secs(30);
/// Typing reaches the agents at most this often.
const TYPING_EVERY: Duration = Duration::from_secs(2);

pub async fn serve(mut socket: WebSocket, state: AppState, channel: Channel) {
    // Subscribed before the history is read, so nothing falls between the two.
    let mut live = state.hilo.subscribe_live();
    let conversations = state.hilo.conversations();
    let hello = match tokio::time::timeout(HELLO_WITHIN, socket.recv()).await {
        Ok(Some(Ok(Message::Text(text)))) => match ClientFrame::parse(&text) {
            Ok(ClientFrame::Hello(hello)) => hello,
            Ok(_) => {
                let error = error_frame("hello_first", "the first frame must be hello", None);
                return refuse(socket, error).await;
            }
            Err(invalid) => return refuse(socket, invalid_frame(&invalid)).await,
        },
        _ => return,
    };
    let opened = match conversations.open_chat(channel, &hello).await {
        Ok(opened) => opened,
        Err(AppError::Unauthenticated) => {
            let error = error_frame(
                "identity_not_verified",
                "this chat requires the identifier_hash of the user_id or email given",
                Some("identifier_hash"),
            );
            return refuse(socket, error).await;
        }
        Err(AppError::Invalid(invalid)) => return refuse(socket, invalid_frame(&invalid)).await,
        Err(error) => {
            warn!(%error, "web chat connection not opened");
            return refuse(socket, internal()).await;
        }
    };
    let mut session = opened.session;
    let ready = json!({
        "type": "ready",
        "visitor_id": session.visitor.as_ref().map(|v| v.id.to_string()),
        "verified": session.verified.is_some(),
        "identity_refused": opened.refused_claim,
        "welcome_message": session.channel.settings.text("welcome_message"),
        "messages": views(&opened.messages),
    });
    if send(&mut socket, &ready).await.is_err() {
        return;
    }
    deliver_all(&conversations, &session, &opened.messages).await;

    let mut rate = MessageRate::default();
    let mut typed_at: Option<tokio::time::Instant> = None;
    let mut ticker = tokio::time::interval(PING_EVERY);
    ticker.tick().await;
    let mut heard_at = tokio::time::Instant::now();
    loop {
        let next = tokio::select! {
            frame = socket.recv() => Next::Frame(frame),
            event = live.recv() => Next::Live(event),
            _ = ticker.tick() => Next::Tick,
        };
        let outcome = match next {
            Next::Frame(Some(Ok(frame))) => {
                heard_at = tokio::time::Instant::now();
                match frame {
                    Message::Text(text) => {
                        let now = state.hilo.now().millis();
                        let answer = match ClientFrame::parse(&text) {
                            Ok(frame) => {
                                take(
                                    &conversations,
                                    &mut session,
                                    frame,
                                    &mut rate,
                                    now,
                                    &mut typed_at,
                                )
                                .await
                            }
                            Err(invalid) => Some(invalid_frame(&invalid)),
                        };
                        match answer {
                            Some(answer) => send(&mut socket, &answer).await,
                            None => Ok(()),
                        }
                    }
                    Message::Binary(_) => {
                        let error = error_frame("text_only", "frames are JSON text", None);
                        send(&mut socket, &error).await
                    }
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => Ok(()),
                }
            }
            Next::Frame(_) => break,
            Next::Live(Ok(event)) => heard(&conversations, &mut session, &event, &mut socket).await,
            Next::Live(Err(RecvError::Lagged(_))) => {
                // Fell behind: everything again, which the widget merges by id.
                resend_all(&state, &session, &mut socket).await
            }
            Next::Live(Err(RecvError::Closed)) => break,
            Next::Tick => {
                if heard_at.elapsed() > PING_EVERY * 3 {
                    debug!("web chat socket silent; closing");
                    break;
                }
                socket
                    .send(Message::Ping(Default::default()))
                    .await
                    .map_err(|_| ())
            }
        };
        if outcome.is_err() {
            break;
        }
    }
}

enum Next {
    Frame(Option<Result<Message, axum::Error>>),
    Live(Result<Arc<LiveEvent>, RecvError>),
    Tick,
}

/// Acts on one frame from the widget; the answer to send, if any.
async fn take(
    conversations: &Conversations<'_>,
    session: &mut ChatSession,
    frame: ClientFrame,
    rate: &mut MessageRate,
    now: i64,
    typed_at: &mut Option<tokio::time::Instant>,
) -> Option<Value> {
    match frame {
        ClientFrame::Hello(_) => Some(error_frame(
            "already_hello",
            "hello is only the first frame",
            None,
        )),
        ClientFrame::Message { client_id, content } => {
            if !rate.allow(now) {
                return Some(error_frame(
                    "rate_limited",
                    "too many messages: wait a few seconds",
                    None,
                ));
            }
            match conversations
                .chat_message(session, &client_id, &content)
                .await
            {
                Ok(written) => Some(json!({
                    "type": "ack",
                    "client_id": client_id,
                    "visitor_id": session.visitor.as_ref().map(|v| v.id.to_string()),
                    "token": written.token.as_ref().map(Secret::expose),
                    "message": visitor_view(&message_json(&written.message)),
                })),
                Err(AppError::Invalid(invalid)) => Some(invalid_frame(&invalid)),
                Err(error) => {
                    warn!(%error, "web chat message not stored");
                    Some(internal())
                }
            }
        }
        ClientFrame::Read { message_id } => {
            let Ok(id) = message_id.parse::<MessageId>() else {
                return Some(error_frame(
                    "invalid",
                    "message_id is not a message id",
                    Some("message_id"),
                ));
            };
            match conversations
                .chat_seen(session, id, MessageStatus::Read)
                .await
            {
                Ok(()) | Err(AppError::NotFound) => None,
                Err(error) => {
                    warn!(%error, "web chat read not recorded");
                    None
                }
            }
        }
        ClientFrame::Typing => {
            let quiet = typed_at.is_none_or(|at| at.elapsed() >= TYPING_EVERY);
            if quiet {
                *typed_at = Some(tokio::time::Instant::now());
                conversations.chat_typing(session).await;
            }
            None
        }
    }
}

/// Passes on a live event about one of the visitor's messages; a reply that reaches an
/// open widget is delivered.
async fn heard(
    conversations: &Conversations<'_>,
    session: &mut ChatSession,
    event: &LiveEvent,
    socket: &mut WebSocket,
) -> Result<(), ()> {
    if event.kind == "conversation.typing" {
        // An agent typing in the visitor's conversation: shown as "typing…".
        let theirs = session
            .conversation
            .is_some_and(|c| event.data["conversation_id"] == c.to_string().as_str());
        if theirs && event.data["who"] == "agent" {
            return send(socket, &json!({"type": "typing"})).await;
        }
        return Ok(());
    }
    if !matches!(event.kind.as_str(), "message.created" | "message.updated")
        || !session.hears(&event.data)
    {
        return Ok(());
    }
    let message = &event.data["message"];
    if let Some(conversation) = event.data["conversation_id"]
        .as_str()
        .and_then(|c| c.parse().ok())
    {
        session.conversation = Some(conversation);
    }
    send(
        socket,
        &json!({"type": "message", "message": visitor_view(message)}),
    )
    .await?;
    if message["direction"] == "outbound"
        && message["status"] == MessageStatus::Sent.as_str()
        && let Some(id) = message["id"].as_str().and_then(|id| id.parse().ok())
    {
        delivered(conversations, session, id).await;
    }
    Ok(())
}

async fn resend_all(
    state: &AppState,
    session: &ChatSession,
    socket: &mut WebSocket,
) -> Result<(), ()> {
    let Some(visitor) = &session.visitor else {
        return Ok(());
    };
    match state
        .hilo
        .store()
        .visitor_messages(visitor, web_chat::HISTORY)
        .await
    {
        Ok(messages) => {
            send(
                socket,
                &json!({"type": "history", "messages": views(&messages)}),
            )
            .await
        }
        Err(error) => {
            warn!(%error, "web chat history not read");
            Ok(())
        }
    }
}

/// Replies sent while the widget was closed are delivered when it opens.
async fn deliver_all(
    conversations: &Conversations<'_>,
    session: &ChatSession,
    messages: &[MessageRecord],
) {
    for message in messages {
        if message.direction == hilo_domain::conversations::Direction::Outbound
            && message.status == MessageStatus::Sent
        {
            delivered(conversations, session, message.id).await;
        }
    }
}

async fn delivered(conversations: &Conversations<'_>, session: &ChatSession, id: MessageId) {
    if let Err(error) = conversations
        .chat_seen(session, id, MessageStatus::Delivered)
        .await
    {
        warn!(%error, "web chat delivery not recorded");
    }
}

fn views(messages: &[MessageRecord]) -> Vec<Value> {
    messages
        .iter()
        .map(|m| visitor_view(&message_json(m)))
        .collect()
}

fn error_frame(code: &str, message: &str, field: Option<&str>) -> Value {
    json!({"type": "error", "code": code, "message": message, "field": field})
}

fn invalid_frame(invalid: &hilo_domain::Invalid) -> Value {
    let message = format!("{}: {}", invalid.field, invalid.reason);
    error_frame("invalid", &message, Some(&invalid.field))
}

fn internal() -> Value {
    error_frame(
        "internal",
        "something went wrong on our side; try again in a moment",
        None,
    )
}

async fn send(socket: &mut WebSocket, frame: &Value) -> Result<(), ()> {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .map_err(|_| ())
}

/// Sends the error and closes the socket.
async fn refuse(mut socket: WebSocket, error: Value) {
    let _ = send(&mut socket, &error).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: close_code::POLICY,
            reason: "refused".into(),
        })))
        .await;
}
