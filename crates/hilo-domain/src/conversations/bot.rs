//! The seam for bots (S6): whether new conversations start with a bot, and how long a
//! bot may stay silent after a customer's message before people take over.

use serde::{Deserialize, Serialize};

use crate::Invalid;

/// Shortest and longest silence allowed, in seconds.
pub const MIN_TIMEOUT_SECS: u32 = 5;
pub const MAX_TIMEOUT_SECS: u32 = 3_600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotSettings {
    /// New conversations start with status `bot`.
    pub enabled: bool,
    /// A bot that has not answered a customer's message within this many seconds hands
    /// the conversation to people.
    pub timeout_seconds: u32,
}

impl Default for BotSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            timeout_seconds: 60,
        }
    }
}

impl BotSettings {
    pub fn check(self) -> Result<Self, Invalid> {
        if !(MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS).contains(&self.timeout_seconds) {
            return Err(Invalid::new(
                "timeout_seconds",
                format!("must be {MIN_TIMEOUT_SECS} to {MAX_TIMEOUT_SECS} seconds"),
            ));
        }
        Ok(self)
    }

    pub fn timeout_millis(self) -> i64 {
        i64::from(self.timeout_seconds) * 1_000
    }
}

/// Longest hand-off reason kept.
pub const MAX_REASON: usize = 500;

/// A hand-off's reason, checked.
pub fn check_reason(reason: &str) -> Result<String, Invalid> {
    let reason = reason.trim();
    if reason.is_empty()
        || reason.chars().count() > MAX_REASON
        || reason.chars().any(char::is_control)
    {
        return Err(Invalid::new(
            "reason",
            format!("must be 1 to {MAX_REASON} characters, without control characters"),
        ));
    }
    Ok(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_reasons_are_bounded() {
        assert!(
            BotSettings {
                enabled: true,
                timeout_seconds: 4
            }
            .check()
            .is_err()
        );
        assert!(
            BotSettings {
                enabled: true,
                timeout_seconds: 3_601
            }
            .check()
            .is_err()
        );
        assert_eq!(
            BotSettings {
                enabled: true,
                timeout_seconds: 30
            }
            .check()
            .unwrap()
            .timeout_millis(),
            30_000
        );
        assert_eq!(
            check_reason("  the customer asked for a person ").unwrap(),
            "the customer asked for a person"
        );
        assert_eq!(check_reason(" ").unwrap_err().field, "reason");
    }
}
