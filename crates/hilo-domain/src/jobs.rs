//! Durable jobs: what kinds there are, how each retries, and what a failed attempt
//! leads to. The runner in the application claims and runs them; this decides.

use std::fmt;
use std::str::FromStr;

use crate::{Invalid, Timestamp};

/// A kind of job. Each part adds its own here, one line each; the runner hands a job
/// to the part that owns its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    /// Send one webhook message to one endpoint (webhooks).
    WebhookDelivery,
    /// Send one message to a customer through its channel's provider (conversations).
    ConversationSend,
    /// Open a snoozed conversation again at its time (conversations).
    ConversationWake,
    /// Hand a conversation from a silent bot to people (conversations).
    ConversationBotTimeout,
    /// Give waiting conversations to the agents online (conversations).
    ConversationAssign,
    /// Ask the customer to rate a resolved conversation (conversations).
    ConversationCsat,
    /// Cancel and restock a pickup nobody collected in time (commerce).
    CommercePickupExpiry,
    /// Tell the customer their pickup is ready, with its code (commerce).
    CommerceReadyNotice,
}

impl JobKind {
    pub const ALL: [JobKind; 8] = [
        Self::WebhookDelivery,
        Self::ConversationSend,
        Self::ConversationWake,
        Self::ConversationBotTimeout,
        Self::ConversationAssign,
        Self::ConversationCsat,
        Self::CommercePickupExpiry,
        Self::CommerceReadyNotice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebhookDelivery => "webhook.delivery",
            Self::ConversationSend => "conversation.send",
            Self::ConversationWake => "conversation.wake",
            Self::ConversationBotTimeout => "conversation.bot_timeout",
            Self::ConversationAssign => "conversation.assign",
            Self::ConversationCsat => "conversation.csat",
            Self::CommercePickupExpiry => "commerce.pickup_expiry",
            Self::CommerceReadyNotice => "commerce.ready_notice",
        }
    }

    /// When the attempts after a failure run.
    pub fn retries(self) -> RetrySchedule {
        match self {
            // The Standard Webhooks reference schedule: 5 s, 5 min, 30 min, 2 h, 5 h,
            // 10 h, 10 h after the first attempt's failure, then the message is dead.
            Self::WebhookDelivery => RetrySchedule::Fixed(&[
                5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
            ]),
            // A customer waits for a reply: soon at first, then for about two hours
            // while a provider is down, after which the message is marked failed.
            Self::ConversationSend => {
                RetrySchedule::Fixed(&[2_000, 10_000, 60_000, 300_000, 1_800_000, 3_600_000])
            }
            // Only the database can fail it; a minute apart, for a while.
            Self::ConversationWake
            | Self::ConversationBotTimeout
            | Self::ConversationAssign
            | Self::ConversationCsat
            | Self::CommercePickupExpiry
            | Self::CommerceReadyNotice => RetrySchedule::Fixed(&[60_000; 10]),
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for JobKind {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| Invalid::new("kind", "is not a known job kind"))
    }
}

/// How long a claimed job is left to its worker before another may take it: longer than
/// any attempt may take (a webhook delivery times out after 15 s), so a live worker is
/// never doubled, and short enough that a dead node's jobs soon run elsewhere.
pub const LEASE_MILLIS: i64 = 60_000;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting for its `run_at`.
    Pending,
    /// Claimed by a worker until its lease ends.
    Running,
    /// Succeeded.
    Done,
    /// Failed its last attempt; kept with its error until an admin retries it.
    Dead,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [Self::Pending, Self::Running, Self::Done, Self::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| Invalid::new("status", "must be one of pending, running, done, dead"))
    }
}

/// The waits between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetrySchedule {
    /// Wait `base · 2ⁿ` after the n-th failure (capped at `cap`), for `attempts` in all.
    Exponential {
        base_millis: i64,
        cap_millis: i64,
        attempts: u32,
    },
    /// Wait each of these in turn; one attempt more than there are waits.
    Fixed(&'static [i64]),
}

impl RetrySchedule {
    /// Attempts in all, the first included.
    pub fn attempts(self) -> u32 {
        match self {
            Self::Exponential { attempts, .. } => attempts,
            Self::Fixed(waits) => u32::try_from(waits.len()).unwrap_or(u32::MAX - 1) + 1,
        }
    }

    /// The wait after the `failed`-th failed attempt (1 for the first), before jitter;
    /// `None` once no attempt is left.
    fn wait_after(self, failed: u32) -> Option<i64> {
        if failed == 0 || failed >= self.attempts() {
            return None;
        }
        match self {
            Self::Exponential {
                base_millis,
                cap_millis,
                ..
            } => {
                let factor = 1_i64.checked_shl(failed - 1).unwrap_or(i64::MAX);
                Some(base_millis.saturating_mul(factor).min(cap_millis))
            }
            Self::Fixed(waits) => waits.get(usize::try_from(failed - 1).ok()?).copied(),
        }
    }
}

/// What becomes of a job whose attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(Timestamp),
    Dead,
}

/// Decides a failed attempt's sequel. `attempts` counts the attempts made, this one
/// included; `jitter` is a random number in `[0, 1)` that spreads retries of many jobs
/// that failed together by up to a tenth of their wait, so they do not all return at
/// once. A `permanent` failure (one no retry can mend) is dead at once.
pub fn after_failure(
    schedule: RetrySchedule,
    attempts: u32,
    permanent: bool,
    now: Timestamp,
    jitter: f64,
) -> AfterFailure {
    if permanent {
        return AfterFailure::Dead;
    }
    match schedule.wait_after(attempts) {
        Some(wait) => {
            let spread = (wait as f64 * 0.1 * jitter.clamp(0.0, 1.0)) as i64;
            AfterFailure::RetryAt(now.plus_millis(wait.saturating_add(spread)))
        }
        None => AfterFailure::Dead,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(1_000_000);

    #[test]
    fn webhooks_follow_the_reference_schedule_then_die() {
        let schedule = JobKind::WebhookDelivery.retries();
        assert_eq!(schedule.attempts(), 8);
        let waits: Vec<i64> = (1..8)
            .map(
                |failed| match after_failure(schedule, failed, false, NOW, 0.0) {
                    AfterFailure::RetryAt(at) => at.millis() - NOW.millis(),
                    AfterFailure::Dead => panic!("attempt {failed} should be retried"),
                },
            )
            .collect();
        assert_eq!(
            waits,
            [
                5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000
            ]
        );
        assert_eq!(
            after_failure(schedule, 8, false, NOW, 0.0),
            AfterFailure::Dead
        );
    }

    #[test]
    fn exponential_doubles_up_to_its_cap() {
        let schedule = RetrySchedule::Exponential {
            base_millis: 1_000,
            cap_millis: 5_000,
            attempts: 6,
        };
        let waits: Vec<Option<i64>> = (1..=6).map(|n| schedule.wait_after(n)).collect();
        assert_eq!(
            waits,
            [
                Some(1_000),
                Some(2_000),
                Some(4_000),
                Some(5_000),
                Some(5_000),
                None
            ]
        );
    }

    #[test]
    fn a_permanent_failure_is_dead_at_once() {
        let schedule = JobKind::WebhookDelivery.retries();
        assert_eq!(
            after_failure(schedule, 1, true, NOW, 0.5),
            AfterFailure::Dead
        );
    }

    #[test]
    fn kinds_and_statuses_round_trip() {
        for kind in JobKind::ALL {
            assert_eq!(kind.as_str().parse::<JobKind>(), Ok(kind));
        }
        for status in JobStatus::ALL {
            assert_eq!(status.as_str().parse::<JobStatus>(), Ok(status));
        }
        assert!("nope".parse::<JobStatus>().is_err());
    }

    proptest! {
        #[test]
        fn jitter_only_ever_adds_up_to_a_tenth(failed in 1u32..8, jitter in 0.0f64..1.0) {
            let schedule = JobKind::WebhookDelivery.retries();
            let base = schedule.wait_after(failed).unwrap_or_default();
            match after_failure(schedule, failed, false, NOW, jitter) {
                AfterFailure::RetryAt(at) => {
                    let wait = at.millis() - NOW.millis();
                    prop_assert!(wait >= base && wait <= base + base / 10);
                }
                AfterFailure::Dead => prop_assert!(false, "retried attempts never die"),
            }
        }
    }
}
