//! How hard console sign-in pushes back on guessing: growing waits for one account,
//! never a lockout of everyone behind one address.
//!
//! - The same account from the same address: five failures are free, then each next
//!   attempt waits twice as long after the last failure (1 s, 2 s, 4 s, … up to 15 min).
//! - The same account from anywhere (guesses spread over many addresses): twenty free,
//!   then the same doubling.
//! - One address across every account (a shared office, a reverse proxy, or password
//!   spraying): it never blocks, since a rightful user behind it must still get in; past
//!   thirty failures each attempt from it is slowed down a little instead.

/// Failed sign-ins counted over a window, and when the last one was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: u64,
    /// Milliseconds since the epoch of the newest failure.
    pub last_at: Option<i64>,
}

/// What to do with one sign-in attempt, before the password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Check the password, after waiting `delay_ms` (0 for nearly everyone).
    Check { delay_ms: u64 },
    /// Refuse for now; try again in `retry_after_secs`.
    Wait { retry_after_secs: u64 },
}

/// How far back failures count.
pub const WINDOW_MS: i64 = 60 * 60 * 1000;
const FREE_PER_PAIR: u64 = 5;
const FREE_PER_ACCOUNT: u64 = 20;
const FREE_PER_ADDRESS: u64 = 30;
const LONGEST_WAIT_MS: i64 = 15 * 60 * 1000;
const ADDRESS_DELAY_MS: u64 = 1_000;
const LONGEST_ADDRESS_DELAY_MS: u64 = 3_000;

/// Decides from the failures of this account from this address (`pair`), of this
/// account from anywhere (`account`), and from this address for any account.
pub fn decide(pair: Failures, account: Failures, address: u64, now: i64) -> Decision {
    let wait_ms = waiting(pair, FREE_PER_PAIR, now).max(waiting(account, FREE_PER_ACCOUNT, now));
    if wait_ms > 0 {
        let secs = u64::try_from(wait_ms).unwrap_or(1000).div_ceil(1000).max(1);
        return Decision::Wait {
            retry_after_secs: secs,
        };
    }
    let delay_ms = match address.saturating_sub(FREE_PER_ADDRESS) {
        0 => 0,
        over => (ADDRESS_DELAY_MS * over.div_ceil(10)).min(LONGEST_ADDRESS_DELAY_MS),
    };
    Decision::Check { delay_ms }
}

/// Milliseconds still to wait after the last failure: doubling from one second once
/// `free` failures are used up.
fn waiting(failures: Failures, free: u64, now: i64) -> i64 {
    let Some(last_at) = failures.last_at else {
        return 0;
    };
    if failures.count < free {
        return 0;
    }
    let doublings = u32::try_from(failures.count - free)
        .unwrap_or(u32::MAX)
        .min(20);
    let wait = (1000_i64 << doublings).min(LONGEST_WAIT_MS);
    (last_at + wait - now).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn failures(count: u64, ago_ms: i64) -> Failures {
        Failures {
            count,
            last_at: Some(NOW - ago_ms),
        }
    }

    #[test]
    fn a_few_typos_cost_nothing_then_waits_double() {
        let none = Failures::default();
        assert_eq!(
            decide(failures(4, 0), none, 4, NOW),
            Decision::Check { delay_ms: 0 }
        );
        assert_eq!(
            decide(failures(5, 0), failures(5, 0), 5, NOW),
            Decision::Wait {
                retry_after_secs: 1
            }
        );
        assert_eq!(
            decide(failures(5, 1_000), failures(5, 1_000), 5, NOW),
            Decision::Check { delay_ms: 0 }
        );
        assert_eq!(
            decide(failures(8, 0), none, 8, NOW),
            Decision::Wait {
                retry_after_secs: 8
            }
        );
        assert_eq!(
            decide(failures(40, 0), none, 40, NOW),
            Decision::Wait {
                retry_after_secs: 15 * 60
            }
        );
    }

    #[test]
    fn guesses_from_many_addresses_slow_the_account_down() {
        let none = Failures::default();
        assert_eq!(
            decide(none, failures(19, 0), 0, NOW),
            Decision::Check { delay_ms: 0 }
        );
        assert_eq!(
            decide(none, failures(22, 0), 0, NOW),
            Decision::Wait {
                retry_after_secs: 4
            }
        );
    }

    #[test]
    fn a_noisy_address_never_locks_anyone_out() {
        let none = Failures::default();
        for address in [0, 30, 31, 45, 10_000] {
            let decision = decide(none, none, address, NOW);
            let Decision::Check { delay_ms } = decision else {
                panic!("{address} failures locked out a fresh account: {decision:?}");
            };
            assert!(delay_ms <= LONGEST_ADDRESS_DELAY_MS);
            assert_eq!(delay_ms == 0, address <= FREE_PER_ADDRESS);
        }
    }
}
