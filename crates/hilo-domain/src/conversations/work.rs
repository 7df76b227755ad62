//! Working a conversation: what an agent may change (status, snooze, assignee, team,
//! labels), checked and turned into the new state and the audit entries, purely.

use serde_json::{Value, json};

use super::ConversationStatus;
use crate::{Invalid, Timestamp, UserId};

/// Most labels on one conversation.
pub const MAX_LABELS: usize = 20;
/// Longest label.
pub const MAX_LABEL: usize = 50;

/// What a conversation holds that agents change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkState {
    pub status: ConversationStatus,
    pub snoozed_until: Option<Timestamp>,
    pub assignee: Option<UserId>,
    pub team: Option<String>,
    pub labels: Vec<String>,
}

/// A change asked for; `None` keeps the field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkChange {
    pub status: Option<ConversationStatus>,
    pub snoozed_until: Option<Timestamp>,
    pub assignee: Option<Option<UserId>>,
    pub team: Option<Option<String>>,
    pub labels: Option<Vec<String>>,
}

/// One line of the audit trail: what changed, from what to what.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub kind: &'static str,
    pub data: Value,
}

/// The state after `change`, and what to record; an error names the field at fault.
pub fn plan(
    current: &WorkState,
    change: &WorkChange,
    now: Timestamp,
) -> Result<(WorkState, Vec<AuditEntry>), Invalid> {
    let mut next = current.clone();
    let status = match (change.status, change.snoozed_until) {
        (None | Some(ConversationStatus::Snoozed), Some(_)) => Some(ConversationStatus::Snoozed),
        (Some(ConversationStatus::Snoozed), None) => {
            return Err(Invalid::new(
                "snoozed_until",
                "is required to snooze: the time the conversation opens again",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(Invalid::new(
                "snoozed_until",
                "goes with status snoozed only",
            ));
        }
        (status, None) => status,
    };
    if let Some(until) = change.snoozed_until
        && until <= now
    {
        return Err(Invalid::new("snoozed_until", "must be in the future"));
    }
    if let Some(status) = status {
        next.status = status;
        next.snoozed_until = change
            .snoozed_until
            .filter(|_| status == ConversationStatus::Snoozed);
    }
    if let Some(assignee) = change.assignee {
        next.assignee = assignee;
    }
    if let Some(team) = &change.team {
        next.team = match team {
            Some(team) => Some(check_team(team)?),
            None => None,
        };
    }
    if let Some(labels) = &change.labels {
        next.labels = check_labels(labels)?;
    }
    Ok((next.clone(), audit(current, &next)))
}

fn check_team(team: &str) -> Result<String, Invalid> {
    super::team::check_name("team", team)
}

/// Labels lower-cased, each once, in the order given.
pub fn check_labels(labels: &[String]) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::with_capacity(labels.len());
    for (index, label) in labels.iter().enumerate() {
        let label = label.trim().to_lowercase();
        let valid = !label.is_empty()
            && label.chars().count() <= MAX_LABEL
            && label
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_'));
        if !valid {
            return Err(Invalid::new(
                format!("labels[{index}]"),
                format!("must be 1 to {MAX_LABEL} letters, digits, '-' or '_'"),
            ));
        }
        if !out.contains(&label) {
            out.push(label);
        }
    }
    if out.len() > MAX_LABELS {
        return Err(Invalid::new(
            "labels",
            format!("at most {MAX_LABELS} labels"),
        ));
    }
    Ok(out)
}

fn audit(before: &WorkState, after: &WorkState) -> Vec<AuditEntry> {
    let mut entries = Vec::new();
    if before.status != after.status || before.snoozed_until != after.snoozed_until {
        entries.push(AuditEntry {
            kind: "status",
            data: json!({
                "from": before.status.as_str(), "to": after.status.as_str(),
                "snoozed_until": after.snoozed_until.map(Timestamp::to_rfc3339),
            }),
        });
    }
    if before.assignee != after.assignee {
        entries.push(AuditEntry {
            kind: "assignee",
            data: json!({
                "from": before.assignee.map(|u| u.to_string()),
                "to": after.assignee.map(|u| u.to_string()),
            }),
        });
    }
    if before.team != after.team {
        entries.push(AuditEntry {
            kind: "team",
            data: json!({"from": before.team, "to": after.team}),
        });
    }
    if before.labels != after.labels {
        entries.push(AuditEntry {
            kind: "labels",
            data: json!({"from": before.labels, "to": after.labels}),
        });
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> WorkState {
        WorkState {
            status: ConversationStatus::Open,
            snoozed_until: None,
            assignee: None,
            team: None,
            labels: Vec::new(),
        }
    }

    const NOW: Timestamp = Timestamp::from_millis(1_000_000);

    #[test]
    fn snoozing_needs_a_time_to_come_back() {
        let later = Timestamp::from_millis(2_000_000);
        let (next, audit) = plan(
            &open(),
            &WorkChange {
                snoozed_until: Some(later),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
        assert_eq!(next.status, ConversationStatus::Snoozed);
        assert_eq!(next.snoozed_until, Some(later));
        assert_eq!(audit[0].kind, "status");
        let error = plan(
            &open(),
            &WorkChange {
                status: Some(ConversationStatus::Snoozed),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
        assert_eq!(error.field, "snoozed_until");
        let error = plan(
            &open(),
            &WorkChange {
                snoozed_until: Some(NOW),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
        assert_eq!(error.field, "snoozed_until");
        let error = plan(
            &open(),
            &WorkChange {
                status: Some(ConversationStatus::Resolved),
                snoozed_until: Some(later),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
        assert_eq!(error.field, "snoozed_until");
        // Opening again forgets the snooze.
        let (reopened, _) = plan(
            &next,
            &WorkChange {
                status: Some(ConversationStatus::Open),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
        assert_eq!(reopened.snoozed_until, None);
    }

    #[test]
    fn labels_are_folded_and_checked_and_only_changes_are_audited() {
        let change = WorkChange {
            labels: Some(vec!["VIP".into(), "devolución".into(), "vip".into()]),
            team: Some(Some(" Tienda Sol ".into())),
            ..Default::default()
        };
        let (next, audit) = plan(&open(), &change, NOW).unwrap();
        assert_eq!(next.labels, ["vip", "devolución"]);
        assert_eq!(next.team.as_deref(), Some("Tienda Sol"));
        assert_eq!(
            audit.iter().map(|a| a.kind).collect::<Vec<_>>(),
            ["team", "labels"]
        );
        let (_, again) = plan(&next, &change, NOW).unwrap();
        assert!(again.is_empty(), "nothing changed: {again:?}");
        let bad = WorkChange {
            labels: Some(vec!["ok".into(), "no spaces".into()]),
            ..Default::default()
        };
        assert_eq!(plan(&open(), &bad, NOW).unwrap_err().field, "labels[1]");
        let many = WorkChange {
            labels: Some((0..21).map(|i| format!("l{i}")).collect()),
            ..Default::default()
        };
        assert_eq!(plan(&open(), &many, NOW).unwrap_err().field, "labels");
    }
}
