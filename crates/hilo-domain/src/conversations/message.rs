//! What a message and a conversation are in: directions, delivery states and
//! conversation statuses, with the rule for a provider's out-of-order reports.

use std::fmt;
use std::str::FromStr;

use crate::Invalid;

macro_rules! named {
    ($name:ident, $field:literal, { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Invalid;

            fn from_str(text: &str) -> Result<Self, Invalid> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    Invalid::new($field, format!("must be one of {}", names.join(", ")))
                })
            }
        }
    };
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the customer.
    Inbound,
    /// To the customer, from an agent, a bot or an automation.
    Outbound,
    /// A private note among staff; never sent.
    Note,
}

named!(Direction, "direction", {
    Inbound => "inbound",
    Outbound => "outbound",
    Note => "note",
});

/// Where a message is on its way. Inbound messages are `received`; outbound ones go
/// `queued` → `sent` → `delivered` → `read`, or end `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageStatus {
    Received,
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
}

named!(MessageStatus, "status", {
    Received => "received",
    Queued => "queued",
    Sent => "sent",
    Delivered => "delivered",
    Read => "read",
    Failed => "failed",
});

impl MessageStatus {
    fn rank(self) -> u8 {
        match self {
            Self::Received | Self::Queued => 0,
            Self::Sent => 1,
            Self::Delivered => 2,
            Self::Read => 3,
            Self::Failed => 4,
        }
    }

    /// The status after a provider reports `reported`, or `None` to keep this one.
    /// Providers send reports out of order (`delivered` before `sent`, say) and more
    /// than once: a message never goes back, and a failure after a delivery is a late
    /// report of an earlier attempt, not news.
    pub fn advance(self, reported: Self) -> Option<Self> {
        if self == Self::Received || reported == Self::Received || reported == self {
            return None;
        }
        match (self, reported) {
            (Self::Delivered | Self::Read, Self::Failed) => None,
            (Self::Failed, Self::Delivered | Self::Read) => Some(reported),
            (Self::Failed, _) => None,
            _ if reported.rank() > self.rank() => Some(reported),
            _ => None,
        }
    }
}

/// Where a conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConversationStatus {
    Open,
    Pending,
    Snoozed,
    Resolved,
    /// Owned by a bot until it hands off.
    Bot,
}

named!(ConversationStatus, "status", {
    Open => "open",
    Pending => "pending",
    Snoozed => "snoozed",
    Resolved => "resolved",
    Bot => "bot",
});

impl ConversationStatus {
    /// Whether a new message from the customer joins this conversation rather than
    /// opening another.
    pub fn is_active(self) -> bool {
        self != Self::Resolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageStatus::*;

    #[test]
    fn delivery_never_goes_back() {
        assert_eq!(Queued.advance(Sent), Some(Sent));
        assert_eq!(Queued.advance(Delivered), Some(Delivered));
        assert_eq!(Delivered.advance(Sent), None);
        assert_eq!(Read.advance(Delivered), None);
        assert_eq!(Sent.advance(Failed), Some(Failed));
        assert_eq!(Delivered.advance(Failed), None);
        assert_eq!(Failed.advance(Delivered), Some(Delivered));
        assert_eq!(Failed.advance(Sent), None);
        assert_eq!(Sent.advance(Sent), None);
        assert_eq!(Received.advance(Read), None);
    }

    #[test]
    fn names_round_trip() {
        for status in MessageStatus::ALL {
            assert_eq!(status.as_str().parse::<MessageStatus>().unwrap(), *status);
        }
        for status in ConversationStatus::ALL {
            assert_eq!(
                status.as_str().parse::<ConversationStatus>().unwrap(),
                *status
            );
        }
        assert_eq!(
            "closed".parse::<ConversationStatus>().unwrap_err().field,
            "status"
        );
    }
}
