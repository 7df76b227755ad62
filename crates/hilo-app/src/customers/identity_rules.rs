//! The identity rules as stored and as the API shows them.

use std::collections::{BTreeMap, BTreeSet};

use hilo_domain::Invalid;
use hilo_domain::customers::identity::{
    IdentifierType, IdentityRules, Limit, MAX_IDENTIFIER_LENGTH,
};
use serde::{Deserialize, Serialize};

use crate::AppResult;
use crate::customers::Customers;

const SETTING: &str = "identity_rules";
/// How long a node uses the rules it read before reading them again. Ingestion asks for
/// them for every group it stores; a change made through another node takes effect here
/// within this time, and at once on the node that made it.
const RULES_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// The rules last read, and when.
#[derive(Debug, Default)]
pub(crate) struct RulesCache {
    read: std::sync::Mutex<Option<(std::time::Instant, IdentityRules)>>,
}

impl RulesCache {
    fn fresh(&self) -> Option<IdentityRules> {
        let read = self
            .read
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        read.as_ref()
            .filter(|(at, _)| at.elapsed() < RULES_FRESH_FOR)
            .map(|(_, rules)| rules.clone())
    }

    fn keep(&self, rules: &IdentityRules) {
        let mut read = self
            .read
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *read = Some((std::time::Instant::now(), rules.clone()));
    }
}

/// The rules in their JSON form.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RulesDocument {
    /// Per identifier type: at most `max` per profile, counting only those first seen in
    /// the last `window_days` when set.
    pub limits: BTreeMap<String, LimitDocument>,
    /// The limit for types not listed.
    pub default_limit: LimitDocument,
    /// Types from most to least trusted; when a limit would break, the less trusted
    /// identifier is left out. `anonymous_id` is least trusted unless listed.
    pub priority: Vec<String>,
    /// Values that never link anything (compared case-insensitively). Runs of zeros and
    /// one repeated character are always blocked.
    pub blocked_values: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitDocument {
    #[serde(deserialize_with = "whole_number")]
    pub max: u32,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_whole_number"
    )]
    pub window_days: Option<u32>,
}

/// A whole number, written `5` or `5.0` (JSON does not tell them apart).
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let number = f64::deserialize(deserializer)?;
    if number.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&number) {
        Ok(number as u32)
    } else {
        Err(serde::de::Error::custom("must be a whole number"))
    }
}

fn some_whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u32>, D::Error> {
    Option::<f64>::deserialize(deserializer)?
        .map(|number| whole_number(serde::de::value::F64Deserializer::new(number)))
        .transpose()
}

impl From<&IdentityRules> for RulesDocument {
    fn from(rules: &IdentityRules) -> Self {
        let limit = |l: Limit| LimitDocument {
            max: l.max,
            window_days: l.window_days,
        };
        Self {
            limits: rules
                .limits
                .iter()
                .map(|(k, l)| (k.to_string(), limit(*l)))
                .collect(),
            default_limit: limit(rules.default_limit),
            priority: rules.priority.iter().map(ToString::to_string).collect(),
            blocked_values: rules.blocked_values.iter().cloned().collect(),
        }
    }
}

impl RulesDocument {
    /// Checks the document; errors name the field.
    pub fn to_rules(&self) -> Result<IdentityRules, Invalid> {
        let check = |field: String, limit: &LimitDocument| -> Result<Limit, Invalid> {
            if limit.max == 0 || limit.max > 1000 {
                return Err(Invalid::new(
                    format!("{field}.max"),
                    "must be from 1 to 1000",
                ));
            }
            if limit.window_days.is_some_and(|d| d == 0 || d > 3650) {
                return Err(Invalid::new(
                    format!("{field}.window_days"),
                    "must be from 1 to 3650",
                ));
            }
            Ok(Limit {
                max: limit.max,
                window_days: limit.window_days,
            })
        };
        let mut limits = BTreeMap::new();
        for (kind, limit) in &self.limits {
            let parsed: IdentifierType = kind
                .parse()
                .map_err(|e: Invalid| e.in_field(format!("limits.{kind}")))?;
            limits.insert(parsed, check(format!("limits.{kind}"), limit)?);
        }
        let mut priority = Vec::new();
        for (index, kind) in self.priority.iter().enumerate() {
            let parsed: IdentifierType = kind
                .parse()
                .map_err(|e: Invalid| e.in_field(format!("priority[{index}]")))?;
            if priority.contains(&parsed) {
                return Err(Invalid::new(
                    format!("priority[{index}]"),
                    "is listed twice",
                ));
            }
            priority.push(parsed);
        }
        if self.blocked_values.len() > 10_000 {
            return Err(Invalid::new(
                "blocked_values",
                "must have at most 10000 values",
            ));
        }
        if let Some(index) = self
            .blocked_values
            .iter()
            .position(|v| v.chars().count() > MAX_IDENTIFIER_LENGTH)
        {
            return Err(Invalid::new(
                format!("blocked_values[{index}]"),
                format!("must have at most {MAX_IDENTIFIER_LENGTH} characters, as identifiers do"),
            ));
        }
        let blocked_values: BTreeSet<String> = self
            .blocked_values
            .iter()
            .map(|v| v.trim().to_lowercase())
            .collect();
        Ok(IdentityRules {
            limits,
            default_limit: check("default_limit".into(), &self.default_limit)?,
            priority,
            blocked_values,
        })
    }
}

impl Customers<'_> {
    /// The identity rules in force: the stored ones, or the defaults.
    pub async fn identity_rules(&self) -> AppResult<IdentityRules> {
        if let Some(rules) = self.hilo.rules.fresh() {
            return Ok(rules);
        }
        let rules = match self.hilo.store.setting(SETTING).await? {
            Some(json) => {
                let document: RulesDocument = serde_json::from_str(&json).map_err(|e| {
                    crate::AppError::Internal(format!("stored identity rules unreadable: {e}"))
                })?;
                document.to_rules()?
            }
            None => IdentityRules::default(),
        };
        self.hilo.rules.keep(&rules);
        Ok(rules)
    }

    /// Replaces the identity rules. They apply to messages ingested from now on.
    pub async fn set_identity_rules(&self, document: &RulesDocument) -> AppResult<IdentityRules> {
        let rules = document.to_rules()?;
        let json = serde_json::to_string(&RulesDocument::from(&rules))
            .map_err(|e| crate::AppError::Internal(e.to_string()))?;
        self.hilo.store.put_setting(SETTING, &json).await?;
        self.hilo.rules.keep(&rules);
        Ok(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_through_json() {
        let rules = IdentityRules::default();
        let document = RulesDocument::from(&rules);
        let json = serde_json::to_string(&document).unwrap();
        let back: RulesDocument = serde_json::from_str(&json).unwrap();
        assert_eq!(back.to_rules().unwrap(), rules);
    }

    #[test]
    fn bad_documents_name_the_field() {
        let mut document = RulesDocument::from(&IdentityRules::default());
        document.limits.insert(
            "email".into(),
            LimitDocument {
                max: 0,
                window_days: None,
            },
        );
        assert_eq!(document.to_rules().unwrap_err().field, "limits.email.max");
        let mut document = RulesDocument::from(&IdentityRules::default());
        document.priority.push("user_id".into());
        assert_eq!(document.to_rules().unwrap_err().field, "priority[3]");
        let mut document = RulesDocument::from(&IdentityRules::default());
        document.limits.insert(
            "bad type!".into(),
            LimitDocument {
                max: 1,
                window_days: None,
            },
        );
        assert_eq!(document.to_rules().unwrap_err().field, "limits.bad type!");
        let mut document = RulesDocument::from(&IdentityRules::default());
        document.blocked_values.push("x".repeat(500_000));
        let field = document.to_rules().unwrap_err().field;
        assert!(field.starts_with("blocked_values["), "{field}");
    }
}
