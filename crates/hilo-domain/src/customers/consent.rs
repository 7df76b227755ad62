//! Consent per channel and purpose: what a customer agreed to be contacted on, and why.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConsentChannel {
    Email,
    Sms,
    Whatsapp,
    Push,
    Phone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Purpose {
    Marketing,
    Service,
}

impl ConsentChannel {
    pub const ALL: [ConsentChannel; 5] = [
        Self::Email,
        Self::Sms,
        Self::Whatsapp,
        Self::Push,
        Self::Phone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Whatsapp => "whatsapp",
            Self::Push => "push",
            Self::Phone => "phone",
        }
    }
}

impl Purpose {
    pub const ALL: [Purpose; 2] = [Self::Marketing, Self::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Marketing => "marketing",
            Self::Service => "service",
        }
    }
}

impl fmt::Display for ConsentChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for ConsentChannel {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| Invalid::new("channel", "must be email, sms, whatsapp, push or phone"))
    }
}

impl FromStr for Purpose {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == text)
            .ok_or_else(|| Invalid::new("purpose", "must be marketing or service"))
    }
}

/// One consent decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentChange {
    pub channel: ConsentChannel,
    pub purpose: Purpose,
    pub granted: bool,
}

/// The consent decisions in a Segment message's `context.consent.categoryPreferences`.
/// A category named `{channel}_{purpose}` (`email_marketing`, `sms-service`,
/// `marketing:whatsapp`) sets that pair; a bare purpose (`marketing`) sets it on every
/// channel. Other categories (a website's `advertising`, `analytics`) are not contact
/// consent and stay only in the stored event.
pub fn from_segment_context(context: &Map<String, Value>) -> Vec<ConsentChange> {
    let Some(Value::Object(preferences)) = context
        .get("consent")
        .and_then(|c| c.get("categoryPreferences"))
    else {
        return Vec::new();
    };
    let mut changes = Vec::new();
    for (category, value) in preferences {
        let Value::Bool(granted) = value else {
            continue;
        };
        let words: Vec<String> = category
            .to_ascii_lowercase()
            .split(['_', '-', ':', ' ', '.'])
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        let channel = words.iter().find_map(|w| w.parse::<ConsentChannel>().ok());
        let purpose = words.iter().find_map(|w| w.parse::<Purpose>().ok());
        let known = words
            .iter()
            .all(|w| w.parse::<ConsentChannel>().is_ok() || w.parse::<Purpose>().is_ok());
        match (channel, purpose, known) {
            (Some(channel), Some(purpose), true) if words.len() == 2 => {
                changes.push(ConsentChange {
                    channel,
                    purpose,
                    granted: *granted,
                })
            }
            (None, Some(purpose), true) if words.len() == 1 => {
                changes.extend(
                    ConsentChannel::ALL
                        .into_iter()
                        .map(|channel| ConsentChange {
                            channel,
                            purpose,
                            granted: *granted,
                        }),
                );
            }
            _ => {}
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn segment_categories_map_to_channel_and_purpose() {
        let context = json!({"consent": {"categoryPreferences": {
            "email_marketing": true, "SMS-Service": false, "advertising": true,
            "service": true, "whatsapp_marketing": "yes"}}});
        let changes = from_segment_context(context.as_object().unwrap());
        assert!(changes.contains(&ConsentChange {
            channel: ConsentChannel::Email,
            purpose: Purpose::Marketing,
            granted: true
        }));
        assert!(changes.contains(&ConsentChange {
            channel: ConsentChannel::Sms,
            purpose: Purpose::Service,
            granted: false
        }));
        let service_everywhere = changes
            .iter()
            .filter(|c| c.purpose == Purpose::Service && c.granted)
            .count();
        assert_eq!(service_everywhere, 5);
        assert_eq!(
            changes.len(),
            7,
            "advertising and non-booleans are not contact consent"
        );
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            "whatsapp".parse::<ConsentChannel>(),
            Ok(ConsentChannel::Whatsapp)
        );
        assert_eq!(
            "fax".parse::<ConsentChannel>().unwrap_err().field,
            "channel"
        );
        assert_eq!("spam".parse::<Purpose>().unwrap_err().field, "purpose");
    }
}
