//! The business's commerce settings: how long a pickup waits, how long a return is
//! taken.

use serde::{Deserialize, Serialize};

use crate::Invalid;

/// Commerce settings as given and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommerceSettings {
    /// Days an order waits at the desk once ready; then it is cancelled and restocked.
    #[serde(default = "default_pickup_days")]
    pub pickup_expiry_days: u32,
    /// Days after an order is placed that its items may be returned.
    #[serde(default = "default_return_days")]
    pub return_window_days: u32,
}

fn default_pickup_days() -> u32 {
    7
}

fn default_return_days() -> u32 {
    30
}

impl Default for CommerceSettings {
    fn default() -> Self {
        Self {
            pickup_expiry_days: default_pickup_days(),
            return_window_days: default_return_days(),
        }
    }
}

impl CommerceSettings {
    pub fn check(self) -> Result<Self, Invalid> {
        if !(1..=90).contains(&self.pickup_expiry_days) {
            return Err(Invalid::new("pickup_expiry_days", "must be from 1 to 90"));
        }
        if !(0..=365).contains(&self.return_window_days) {
            return Err(Invalid::new("return_window_days", "must be from 0 to 365"));
        }
        Ok(self)
    }

    pub fn pickup_expiry_millis(self) -> i64 {
        i64::from(self.pickup_expiry_days) * 86_400_000
    }

    pub fn return_window_millis(self) -> i64 {
        i64::from(self.return_window_days) * 86_400_000
    }
}
