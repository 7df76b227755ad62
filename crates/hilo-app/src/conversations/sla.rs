//! Service levels: targets for the first response and the resolution, in business
//! hours when the business keeps them; each new conversation gets its due times (the
//! pure `sla::due_at`), and its reply and resolution times are kept beside them.

use hilo_domain::Timestamp;
use hilo_domain::conversations::sla::{self, Schedule, SlaSettings};
use hilo_store::conversations::SlaRecord;
use tracing::info;

use super::Conversations;
use crate::AppResult;

/// Where the SLA settings are kept.
pub(super) const SETTING: &str = "conversations.sla";

/// The time zone database of the system Hilo runs on.
fn zone(name: &str) -> Option<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(name).ok()
}

/// A conversation's service levels as of a moment: when each target is due, when it
/// was met, and whether it was missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaView {
    pub record: SlaRecord,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
}

impl SlaView {
    pub fn of(record: SlaRecord, now: Timestamp) -> Self {
        let missed = |due: Option<Timestamp>, done: Option<Timestamp>| {
            due.is_some_and(|due| due < done.unwrap_or(now))
        };
        Self {
            first_response_breached: missed(record.first_response_due_at, record.first_replied_at),
            resolution_breached: missed(record.resolution_due_at, record.resolved_at),
            record,
        }
    }
}

/// What a new conversation's due times are computed from.
#[derive(Debug, Clone)]
pub(crate) struct Targets {
    settings: SlaSettings,
    schedule: Option<Schedule>,
}

impl Targets {
    pub(crate) fn of(settings: SlaSettings) -> Self {
        // Checked when set; a zone the system no longer knows counts all hours.
        let schedule = settings.check(zone).ok().flatten();
        Self { settings, schedule }
    }

    /// When a conversation opened at `start` must be answered and resolved.
    pub(crate) fn due(&self, start: Timestamp) -> (Option<Timestamp>, Option<Timestamp>) {
        let due =
            |minutes: Option<u32>| minutes.map(|m| sla::due_at(start, m, self.schedule.as_ref()));
        (
            due(self.settings.first_response_minutes),
            due(self.settings.resolution_minutes),
        )
    }

    pub(crate) fn any(&self) -> bool {
        self.settings.first_response_minutes.is_some() || self.settings.resolution_minutes.is_some()
    }
}

impl Conversations<'_> {
    pub async fn sla_settings(&self) -> AppResult<SlaSettings> {
        self.json_setting(SETTING).await
    }

    /// Sets the targets; conversations opened from now on get them.
    pub async fn set_sla_settings(&self, settings: SlaSettings) -> AppResult<SlaSettings> {
        settings.check(zone)?;
        self.put_json_setting(SETTING, &settings).await?;
        info!(
            first_response = ?settings.first_response_minutes,
            resolution = ?settings.resolution_minutes,
            "SLA settings changed"
        );
        Ok(settings)
    }
}
