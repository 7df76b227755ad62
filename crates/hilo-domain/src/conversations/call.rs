//! Calls: where one is in its life, read from Twilio's `CallStatus` or from any other
//! phone system, and the rule for reports that arrive late or twice.

use std::fmt;
use std::str::FromStr;

use crate::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallStatus {
    /// Started, not answered yet.
    Ringing,
    /// Answered and going on.
    InProgress,
    /// Answered, then ended.
    Completed,
    /// Ended without an answer (no answer, hung up while ringing).
    Missed,
    Busy,
    Failed,
}

impl CallStatus {
    pub const ALL: [Self; 6] = [
        Self::Ringing,
        Self::InProgress,
        Self::Completed,
        Self::Missed,
        Self::Busy,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ringing => "ringing",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Missed => "missed",
            Self::Busy => "busy",
            Self::Failed => "failed",
        }
    }

    /// Whether the call is over.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Ringing | Self::InProgress)
    }

    /// The status after a report of `reported`, or `None` to keep this one: a call
    /// moves forward only, and once over stays over.
    pub fn advance(self, reported: Self) -> Option<Self> {
        let rank = |s: Self| match s {
            Self::Ringing => 0,
            Self::InProgress => 1,
            _ => 2,
        };
        (!self.is_final() && rank(reported) > rank(self)).then_some(reported)
    }

    /// Twilio's `CallStatus`.
    pub fn from_twilio(status: &str) -> Option<Self> {
        Some(match status {
            "queued" | "initiated" | "ringing" => Self::Ringing,
            "in-progress" | "answered" => Self::InProgress,
            "completed" => Self::Completed,
            "no-answer" | "canceled" => Self::Missed,
            "busy" => Self::Busy,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for CallStatus {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                Invalid::new(
                    "status",
                    "must be one of ringing, in_progress, completed, missed, busy, failed",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::CallStatus::*;
    use super::*;

    #[test]
    fn calls_move_forward_and_stay_over() {
        assert_eq!(Ringing.advance(InProgress), Some(InProgress));
        assert_eq!(Ringing.advance(Missed), Some(Missed));
        assert_eq!(InProgress.advance(Completed), Some(Completed));
        assert_eq!(InProgress.advance(Ringing), None);
        assert_eq!(Completed.advance(InProgress), None);
        assert_eq!(Completed.advance(Failed), None);
        assert_eq!(Ringing.advance(Ringing), None);
        assert_eq!(CallStatus::from_twilio("no-answer"), Some(Missed));
        assert_eq!(CallStatus::from_twilio("in-progress"), Some(InProgress));
        assert_eq!(CallStatus::from_twilio("weird"), None);
        for status in CallStatus::ALL {
            assert_eq!(status.as_str().parse::<CallStatus>().unwrap(), status);
        }
    }
}
