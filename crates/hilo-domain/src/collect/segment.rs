//! Messages of Segment's tracking API, as every Segment and RudderStack SDK sends them:
//! parsing, validation (errors name the field), clock-skew correction, and the
//! identifiers a message carries.

use std::fmt;

use serde_json::{Map, Value};

use crate::customers::identity::{Identifier, IdentifierType};
use crate::{Invalid, Timestamp};

/// Longest `messageId` accepted.
pub const MAX_MESSAGE_ID_LENGTH: usize = 100;
/// Largest message, serialised.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
/// Largest batch request body.
pub const MAX_BATCH_BYTES: usize = 500 * 1024;
/// Most messages in one batch.
pub const MAX_BATCH_MESSAGES: usize = 2_500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    Identify,
    Track,
    Page,
    Screen,
    Group,
    Alias,
}

impl MessageType {
    pub const ALL: [MessageType; 6] = [
        Self::Identify,
        Self::Track,
        Self::Page,
        Self::Screen,
        Self::Group,
        Self::Alias,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identify => "identify",
            Self::Track => "track",
            Self::Page => "page",
            Self::Screen => "screen",
            Self::Group => "group",
            Self::Alias => "alias",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A message that failed validation: which one in the batch, which field, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageError {
    pub index: Option<usize>,
    pub field: String,
    pub reason: String,
}

impl MessageError {
    fn at(index: Option<usize>, invalid: Invalid) -> Self {
        Self {
            index,
            field: invalid.field,
            reason: invalid.reason,
        }
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(index) => write!(f, "batch[{index}].{}: {}", self.field, self.reason),
            None => write!(f, "{}: {}", self.field, self.reason),
        }
    }
}

/// What a batch says about all its messages.
#[derive(Debug, Clone, Default)]
pub struct BatchDefaults {
    pub context: Option<Map<String, Value>>,
    pub integrations: Option<Map<String, Value>>,
    pub sent_at: Option<Timestamp>,
}

/// A validated message, with Hilo's `receivedAt` and corrected `timestamp`.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: MessageType,
    pub message_id: String,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// When it happened, corrected for the client's clock skew.
    pub timestamp: Timestamp,
    pub received_at: Timestamp,
    pub event: Option<String>,
    pub name: Option<String>,
    pub group_id: Option<String>,
    pub previous_id: Option<String>,
    /// The message as stored: what was sent, with batch context merged in and
    /// `receivedAt` and `timestamp` set.
    pub body: Map<String, Value>,
}

impl Message {
    /// Its `traits` (empty when it has none).
    pub fn traits(&self) -> &Map<String, Value> {
        self.object("traits")
    }

    /// Its `context`, with the batch's merged in (empty when neither had one).
    pub fn context(&self) -> &Map<String, Value> {
        self.object("context")
    }

    // Read from the body rather than copied out of it: parsing then copies nothing.
    fn object(&self, field: &str) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        match self.body.get(field) {
            Some(Value::Object(map)) => map,
            _ => EMPTY.get_or_init(Map::new),
        }
    }
}

/// Parses one message. `implied` is the type an endpoint such as `/v1/track` implies;
/// batch items carry their own `type`. `new_message_id` names messages sent without one.
pub fn parse_message(
    value: Value,
    index: Option<usize>,
    implied: Option<MessageType>,
    defaults: &BatchDefaults,
    received_at: Timestamp,
    new_message_id: impl FnOnce() -> String,
) -> Result<Message, MessageError> {
    let fail = |field: &str, reason: &str| MessageError::at(index, Invalid::new(field, reason));
    let Value::Object(mut body) = value else {
        return Err(fail("message", "must be a JSON object"));
    };
    let kind = match (body.get("type"), implied) {
        (Some(Value::String(text)), _) => MessageType::parse(text).ok_or_else(|| {
            fail(
                "type",
                "must be one of identify, track, page, screen, group, alias",
            )
        })?,
        (Some(_), _) => return Err(fail("type", "must be a string")),
        (None, Some(kind)) => kind,
        (None, None) => return Err(fail("type", "is required in a batch")),
    };
    if let Some(implied) = implied.filter(|implied| *implied != kind) {
        return Err(fail("type", &format!("must be {implied} on this endpoint")));
    }

    let message_id = match body.get("messageId") {
        None | Some(Value::Null) => new_message_id(),
        Some(Value::String(id)) if id.trim().is_empty() => new_message_id(),
        Some(Value::String(id)) if id.chars().count() > MAX_MESSAGE_ID_LENGTH => {
            return Err(fail(
                "messageId",
                &format!("must have at most {MAX_MESSAGE_ID_LENGTH} characters"),
            ));
        }
        Some(Value::String(id)) => id.clone(),
        Some(_) => return Err(fail("messageId", "must be a string")),
    };
    let user_id = id_field(&body, "userId").map_err(|i| MessageError::at(index, i))?;
    let anonymous_id = id_field(&body, "anonymousId").map_err(|i| MessageError::at(index, i))?;
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(fail("userId", "a message needs a userId or an anonymousId"));
    }

    for field in ["traits", "properties", "context", "integrations"] {
        if !matches!(body.get(field), None | Some(Value::Null | Value::Object(_))) {
            return Err(fail(field, "must be an object"));
        }
    }
    // The batch's context and integrations apply to each message; the message's own
    // keys win.
    for (field, shared) in [
        ("context", &defaults.context),
        ("integrations", &defaults.integrations),
    ] {
        if let Some(shared) = shared {
            let mut merged = shared.clone();
            if let Some(Value::Object(own)) = body.remove(field) {
                merged.extend(own);
            }
            body.insert(field.to_owned(), Value::Object(merged));
        }
    }

    let timestamp = time_field(&body, "timestamp").map_err(|i| MessageError::at(index, i))?;
    let original =
        time_field(&body, "originalTimestamp").map_err(|i| MessageError::at(index, i))?;
    let sent_at = time_field(&body, "sentAt")
        .map_err(|i| MessageError::at(index, i))?
        .or(defaults.sent_at);
    let timestamp = corrected_timestamp(timestamp, original, sent_at, received_at);

    let text = |body: &Map<String, Value>, field: &str| -> Result<Option<String>, MessageError> {
        match body.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) if s.chars().count() > 500 => {
                Err(fail(field, "must have at most 500 characters"))
            }
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(fail(field, "must be a string")),
        }
    };
    let event = text(&body, "event")?;
    let name = text(&body, "name")?;
    let group_id = id_field(&body, "groupId").map_err(|i| MessageError::at(index, i))?;
    let previous_id = id_field(&body, "previousId").map_err(|i| MessageError::at(index, i))?;
    match kind {
        MessageType::Track if event.is_none() => {
            return Err(fail("event", "a track message needs an event name"));
        }
        MessageType::Group if group_id.is_none() => {
            return Err(fail("groupId", "a group message needs a groupId"));
        }
        MessageType::Alias if previous_id.is_none() => {
            return Err(fail("previousId", "an alias message needs a previousId"));
        }
        MessageType::Alias if user_id.is_none() => {
            return Err(fail("userId", "an alias message needs a userId"));
        }
        _ => {}
    }

    body.insert("type".into(), Value::String(kind.as_str().into()));
    body.insert("messageId".into(), Value::String(message_id.clone()));
    body.insert("receivedAt".into(), Value::String(received_at.to_rfc3339()));
    body.insert("timestamp".into(), Value::String(timestamp.to_rfc3339()));
    body.remove("writeKey");

    Ok(Message {
        kind,
        message_id,
        user_id,
        anonymous_id,
        timestamp,
        received_at,
        event,
        name,
        group_id,
        previous_id,
        body,
    })
}

/// `timestamp` when the client sent one; otherwise the client's `originalTimestamp`
/// moved by how far its clock was off when it sent the batch:
/// `receivedAt − (sentAt − originalTimestamp)`.
pub fn corrected_timestamp(
    timestamp: Option<Timestamp>,
    original: Option<Timestamp>,
    sent_at: Option<Timestamp>,
    received_at: Timestamp,
) -> Timestamp {
    match (timestamp, original, sent_at) {
        (Some(explicit), _, _) => explicit,
        (None, Some(original), Some(sent)) => {
            received_at.plus_millis(-(sent.millis().saturating_sub(original.millis())))
        }
        (None, Some(original), None) => original,
        (None, None, _) => received_at,
    }
}

/// An id field: a non-empty string, or a number (some SDKs send numeric user ids).
fn id_field(body: &Map<String, Value>, field: &str) -> Result<Option<String>, Invalid> {
    let text = match body.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(Invalid::new(field, "must be a string")),
    };
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > crate::customers::identity::MAX_IDENTIFIER_LENGTH {
        return Err(Invalid::new(field, "must have at most 255 characters"));
    }
    Ok(Some(text))
}

/// An instant field; blank counts as absent, as a blank `messageId` or `event` does.
fn time_field(body: &Map<String, Value>, field: &str) -> Result<Option<Timestamp>, Invalid> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => Timestamp::parse_rfc3339(text)
            .map(Some)
            .map_err(|e| e.in_field(field)),
        Some(_) => Err(Invalid::new(field, "must be an ISO 8601 string")),
    }
}

/// An identifier a message carries that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedIdentifier {
    pub kind: String,
    pub raw: String,
    pub reason: String,
}

impl Message {
    /// The identifiers the message carries: `userId`, `anonymousId`, an email and phone
    /// from its traits, and `context.externalIds`. For an alias, `previousId` is
    /// returned apart: whether it names a user or a device is for storage to say.
    pub fn identifiers(&self, default_region: &str) -> (Vec<Identifier>, Vec<RejectedIdentifier>) {
        let mut found: Vec<Identifier> = Vec::new();
        let mut rejected: Vec<RejectedIdentifier> = Vec::new();
        let mut take = |kind: IdentifierType, raw: &str, rejected: &mut Vec<RejectedIdentifier>| {
            match Identifier::normalize(kind.clone(), raw, default_region) {
                Ok(identifier) => {
                    if !found.contains(&identifier) {
                        found.push(identifier);
                    }
                }
                Err(invalid) => rejected.push(RejectedIdentifier {
                    kind: kind.to_string(),
                    raw: raw.to_owned(),
                    reason: invalid.reason,
                }),
            }
        };
        if let Some(user_id) = &self.user_id {
            take(IdentifierType::user_id(), user_id, &mut rejected);
        }
        if let Some(anonymous_id) = &self.anonymous_id {
            take(IdentifierType::anonymous_id(), anonymous_id, &mut rejected);
        }
        let context_traits = match self.context().get("traits") {
            Some(Value::Object(map)) => Some(map),
            _ => None,
        };
        for (field, kind) in [
            ("email", IdentifierType::email()),
            ("phone", IdentifierType::phone()),
        ] {
            for source in [Some(self.traits()), context_traits].into_iter().flatten() {
                if let Some(Value::String(raw)) = source
                    .get(field)
                    .filter(|v| v.as_str().is_some_and(|raw| !raw.trim().is_empty()))
                {
                    take(kind.clone(), raw, &mut rejected);
                }
            }
        }
        if let Some(Value::Array(external)) = self.context().get("externalIds") {
            for entry in external {
                let id = match entry.get("id") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => continue,
                };
                let Some(Value::String(kind)) = entry.get("type") else {
                    continue;
                };
                let kind = match kind.trim().to_ascii_lowercase().as_str() {
                    "userid" | "user_id" => Ok(IdentifierType::user_id()),
                    "anonymousid" | "anonymous_id" => Ok(IdentifierType::anonymous_id()),
                    other => other.parse::<IdentifierType>(),
                };
                match kind {
                    Ok(kind) => take(kind, &id, &mut rejected),
                    Err(invalid) => rejected.push(RejectedIdentifier {
                        kind: "external_id".into(),
                        raw: id,
                        reason: invalid.reason,
                    }),
                }
            }
        }
        (found, rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RECEIVED: Timestamp = Timestamp::from_millis(1_795_435_200_000);

    fn parse(value: Value, implied: Option<MessageType>) -> Result<Message, MessageError> {
        parse_message(
            value,
            Some(3),
            implied,
            &BatchDefaults::default(),
            RECEIVED,
            || "generated".into(),
        )
    }

    #[test]
    fn a_track_message_parses() {
        let message = parse(
            json!({"type": "track", "event": "Order Completed", "userId": 42,
                   "messageId": "m1", "properties": {"total": 30}, "writeKey": "secret"}),
            None,
        )
        .unwrap();
        assert_eq!(message.kind, MessageType::Track);
        assert_eq!(message.user_id.as_deref(), Some("42"));
        assert_eq!(message.event.as_deref(), Some("Order Completed"));
        assert_eq!(message.timestamp, RECEIVED);
        assert!(
            !message.body.contains_key("writeKey"),
            "write keys are never stored"
        );
        assert_eq!(message.body["receivedAt"], "2026-11-23T12:00:00.000Z");
    }

    #[test]
    fn errors_name_index_and_field() {
        let cases = [
            (json!({"type": "track", "userId": "u"}), "event"),
            (json!({"type": "track", "event": "x"}), "userId"),
            (json!({"type": "teleport", "userId": "u"}), "type"),
            (json!({"userId": "u"}), "type"),
            (
                json!({"type": "identify", "userId": "u", "messageId": "x".repeat(101)}),
                "messageId",
            ),
            (
                json!({"type": "identify", "userId": "u", "timestamp": "yesterday"}),
                "timestamp",
            ),
            (
                json!({"type": "identify", "userId": "u", "traits": [1]}),
                "traits",
            ),
            (json!({"type": "identify", "userId": {"a": 1}}), "userId"),
            (json!({"type": "alias", "userId": "u"}), "previousId"),
            (json!({"type": "group", "userId": "u"}), "groupId"),
            (json!("not an object"), "message"),
        ];
        for (value, field) in cases {
            let err = parse(value.clone(), None).unwrap_err();
            assert_eq!(err.index, Some(3), "{value}");
            assert_eq!(err.field, field, "{value}");
        }
        let err = parse(
            json!({"type": "page", "userId": "u"}),
            Some(MessageType::Track),
        )
        .unwrap_err();
        assert_eq!(err.field, "type");
    }

    #[test]
    fn clock_skew_is_corrected_from_sent_at() {
        // The client's clock runs 1 hour fast; the event happened 10 s before sending.
        let hour = 3_600_000;
        let message = parse(
            json!({"type": "page", "anonymousId": "a",
                   "originalTimestamp": Timestamp::from_millis(RECEIVED.millis() + hour - 10_000).to_rfc3339(),
                   "sentAt": Timestamp::from_millis(RECEIVED.millis() + hour).to_rfc3339()}),
            None,
        )
        .unwrap();
        assert_eq!(message.timestamp.millis(), RECEIVED.millis() - 10_000);
        let explicit = parse(
            json!({"type": "page", "anonymousId": "a", "timestamp": "2026-01-01T00:00:00Z",
                   "sentAt": "2026-11-23T13:00:00Z"}),
            None,
        )
        .unwrap();
        assert_eq!(explicit.timestamp.to_rfc3339(), "2026-01-01T00:00:00.000Z");
    }

    #[test]
    fn batch_context_applies_with_the_message_winning() {
        let defaults = BatchDefaults {
            context: Some(
                json!({"ip": "1.2.3.4", "locale": "es-ES"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            integrations: None,
            sent_at: None,
        };
        let message = parse_message(
            json!({"type": "identify", "userId": "u", "context": {"locale": "en-GB"}}),
            Some(0),
            None,
            &defaults,
            RECEIVED,
            || "g".into(),
        )
        .unwrap();
        assert_eq!(message.context()["ip"], "1.2.3.4");
        assert_eq!(message.context()["locale"], "en-GB");
        assert_eq!(message.message_id, "g");
    }

    #[test]
    fn identifiers_come_from_ids_traits_and_external_ids() {
        let message = parse(
            json!({"type": "identify", "userId": "u1", "anonymousId": "dev-1",
                   "traits": {"email": " Ana@Example.com", "phone": "612 34 56 78"},
                   "context": {"externalIds": [
                       {"id": "LC-99", "type": "loyalty_card", "collection": "users"},
                       {"id": "W 1", "type": "bad type!"}]}}),
            None,
        )
        .unwrap();
        let (found, rejected) = message.identifiers("ES");
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "user_id:u1",
                "anonymous_id:dev-1",
                "email:ana@example.com",
                "phone:+34612345678",
                "loyalty_card:LC-99"
            ]
        );
        assert_eq!(rejected.len(), 1);

        let bad_email = parse(
            json!({"type": "identify", "userId": "u", "traits": {"email": "not-an-email"}}),
            None,
        )
        .unwrap();
        let (_, rejected) = bad_email.identifiers("ES");
        assert_eq!(rejected[0].kind, "email");
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// JSON values shaped like messages: known keys with values of any shape.
        fn value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                any::<f64>().prop_map(|n| json!(n)),
                ".{0,12}".prop_map(Value::String),
                prop_oneof![
                    Just("track"),
                    Just("identify"),
                    Just("alias"),
                    Just("group"),
                    Just("2026-11-23T12:00:00Z"),
                    Just("+34 612 345 678"),
                    Just("a@b.co"),
                ]
                .prop_map(|s| Value::String(s.to_owned())),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                let keys = prop_oneof![
                    Just("type"),
                    Just("userId"),
                    Just("anonymousId"),
                    Just("messageId"),
                    Just("event"),
                    Just("name"),
                    Just("traits"),
                    Just("context"),
                    Just("properties"),
                    Just("timestamp"),
                    Just("sentAt"),
                    Just("originalTimestamp"),
                    Just("externalIds"),
                    Just("email"),
                    Just("phone"),
                    Just("id"),
                    Just("groupId"),
                    Just("previousId"),
                ];
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(keys.prop_map(str::to_owned), inner, 0..8)
                        .prop_map(|map| Value::Object(map.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]

            #[test]
            fn parsing_never_panics(value in value(), implied in prop::option::of(0usize..6)) {
                let implied = implied.map(|i| MessageType::ALL[i]);
                if let Ok(message) = parse_message(value, Some(0), implied, &BatchDefaults::default(), RECEIVED, || "g".into()) {
                    let _ = message.identifiers("ES");
                    prop_assert!(message.user_id.is_some() || message.anonymous_id.is_some());
                }
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
                if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
                    let _ = parse_message(value, None, Some(MessageType::Track), &BatchDefaults::default(), RECEIVED, || "g".into());
                }
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    let _ = Timestamp::parse_rfc3339(text);
                }
            }
        }
    }
}
