//! Identifiers and the rules that decide, message by message, which profile they belong
//! to. Everything here is pure: storage supplies who owns what, [`plan`] decides.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::{CustomerId, EmailAddress, Invalid, Timestamp};

/// An identifier's type: `user_id`, `anonymous_id`, `email`, `phone`, or a custom one
/// such as `loyalty_card`, `wristband`, `whatsapp`, `messenger_psid`, `device_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentifierType(String);

impl IdentifierType {
    pub const USER_ID: &'static str = "user_id";
    pub const ANONYMOUS_ID: &'static str = "anonymous_id";
    pub const EMAIL: &'static str = "email";
    pub const PHONE: &'static str = "phone";

    pub fn user_id() -> Self {
        Self(Self::USER_ID.into())
    }

    pub fn anonymous_id() -> Self {
        Self(Self::ANONYMOUS_ID.into())
    }

    pub fn email() -> Self {
        Self(Self::EMAIL.into())
    }

    pub fn phone() -> Self {
        Self(Self::PHONE.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdentifierType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl FromStr for IdentifierType {
    type Err = Invalid;

    /// Lower-cases and checks a type name: 1 to 40 of `a-z`, `0-9`, `_`, `.`, `-`.
    fn from_str(text: &str) -> Result<Self, Invalid> {
        let name = text.trim().to_ascii_lowercase();
        let valid = !name.is_empty()
            && name.len() <= 40
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if valid {
            Ok(Self(name))
        } else {
            Err(Invalid::new(
                "type",
                "must be 1 to 40 letters, digits, '_', '.' or '-'",
            ))
        }
    }
}

/// A normalised identifier: emails trimmed and lower-cased, phones in E.164, other
/// values trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identifier {
    pub kind: IdentifierType,
    pub value: String,
}

/// Longest identifier value kept.
pub const MAX_IDENTIFIER_LENGTH: usize = 255;

impl Identifier {
    /// Normalises `raw` as an identifier of type `kind`. Phones without a country code
    /// are read in `default_region` (ISO 3166 alpha-2, e.g. `ES`).
    pub fn normalize(
        kind: IdentifierType,
        raw: &str,
        default_region: &str,
    ) -> Result<Self, Invalid> {
        let value = match kind.as_str() {
            IdentifierType::EMAIL => raw.parse::<EmailAddress>()?.to_string(),
            IdentifierType::PHONE => normalize_phone(raw, default_region)?,
            _ => {
                let value = raw.trim();
                if value.is_empty() {
                    return Err(Invalid::new(kind.as_str(), "must not be empty"));
                }
                value.to_owned()
            }
        };
        if value.chars().count() > MAX_IDENTIFIER_LENGTH {
            return Err(Invalid::new(
                kind.as_str(),
                format!("must have at most {MAX_IDENTIFIER_LENGTH} characters"),
            ));
        }
        Ok(Self { kind, value })
    }
}

impl Identifier {
    /// A stable 64-bit key for this identifier, the same on every node and every build,
    /// for locks that serialise work on one identifier across nodes.
    pub fn lock_key(&self) -> i64 {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{}\u{0}{}", self.kind, self.value).as_bytes());
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(bytes)
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

/// A phone number in E.164 (`+34612345678`).
pub fn normalize_phone(raw: &str, default_region: &str) -> Result<String, Invalid> {
    let invalid = || Invalid::new("phone", "is not a valid phone number");
    let region = default_region.parse::<phonenumber::country::Id>().ok();
    let canonical = mobile_variant(raw);
    let text = canonical.as_deref().unwrap_or(raw).trim();
    let number = phonenumber::parse(region, text).map_err(|_| invalid())?;
    if !phonenumber::is_valid(&number) {
        return Err(invalid());
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// One form for the mobile numbers that are written two ways — the duplicates a
/// WhatsApp inbox makes otherwise: Brazil's mobiles with the ninth digit (`+55 11 9…`,
/// added to an eight-digit mobile `+55 11 8765 4321`), Mexico's without the `1` that
/// WhatsApp still writes (`+52 1 55…` → `+52 55…`), Argentina's with the `9` of
/// mobiles (`+54 11…` → `+54 9 11…`: a national number is unique with or without it).
/// Only numbers written internationally (`+…`) are read, digits only; `None` keeps the
/// number as written.
fn mobile_variant(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if !raw.starts_with('+') {
        return None;
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let national = |prefix: &str| {
        // A run of one digit is a placeholder: left as written, for the blocked rule.
        digits
            .strip_prefix(prefix)
            .filter(|n| n.chars().any(|c| !n.ends_with(c)))
            .map(str::to_owned)
    };
    if let Some(rest) = national("521").filter(|n| n.len() == 10) {
        return Some(format!("+52{rest}"));
    }
    if let Some(rest) = national("54").filter(|n| n.len() == 10 && !n.starts_with('9')) {
        return Some(format!("+549{rest}"));
    }
    if let Some(rest) = national("55").filter(|n| n.len() == 10) {
        let (area, subscriber) = rest.split_at(2);
        if matches!(subscriber.as_bytes().first(), Some(b'6'..=b'9')) && !area.starts_with('0') {
            return Some(format!("+55{area}9{subscriber}"));
        }
    }
    None
}

/// Whether a region code is one the phone parser knows.
pub fn is_known_region(region: &str) -> bool {
    region.parse::<phonenumber::country::Id>().is_ok()
}

/// How many identifiers of one type a profile may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    /// Count only identifiers first seen within this many days; `None` counts all.
    pub window_days: Option<u32>,
}

/// The identity rules: limits per type, which identifier yields when a limit would
/// break, and values that never link anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRules {
    pub limits: BTreeMap<IdentifierType, Limit>,
    /// Limit for types not listed.
    pub default_limit: Limit,
    /// Types from most to least trusted. Unlisted types rank after listed ones.
    pub priority: Vec<IdentifierType>,
    /// Values (compared case-insensitively, after normalisation) that never link.
    pub blocked_values: BTreeSet<String>,
}

impl Default for IdentityRules {
    /// Defaults like the best in the field: one `user_id` per profile, ever; five
    /// anonymous ids a week (devices come and go); five of every other type.
    fn default() -> Self {
        let limits = BTreeMap::from([
            (
                IdentifierType::user_id(),
                Limit {
                    max: 1,
                    window_days: None,
                },
            ),
            (
                IdentifierType::anonymous_id(),
                Limit {
                    max: 5,
                    window_days: Some(7),
                },
            ),
        ]);
        let blocked_values = [
            "",
            "null",
            "nil",
            "none",
            "undefined",
            "nan",
            "n/a",
            "na",
            "anonymous",
            "guest",
            "unknown",
            "user",
            "test",
            "0",
            "-1",
            "1",
            "true",
            "false",
            "[object object]",
            "{}",
            "[]",
            "test@test.com",
            "test@example.com",
            "email@example.com",
            "noemail@example.com",
            "no-reply@example.com",
            "none@none.com",
            "00000000-0000-0000-0000-000000000000",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        Self {
            limits,
            default_limit: Limit {
                max: 5,
                window_days: None,
            },
            priority: [
                IdentifierType::USER_ID,
                IdentifierType::EMAIL,
                IdentifierType::PHONE,
            ]
            .iter()
            .map(|t| IdentifierType((*t).to_owned()))
            .collect(),
            blocked_values,
        }
    }
}

impl IdentityRules {
    pub fn limit(&self, kind: &IdentifierType) -> Limit {
        self.limits.get(kind).copied().unwrap_or(self.default_limit)
    }

    /// Rank of a type: lower is more trusted. `anonymous_id` is least trusted unless
    /// listed.
    pub fn rank(&self, kind: &IdentifierType) -> usize {
        match self.priority.iter().position(|t| t == kind) {
            Some(index) => index,
            None if kind.as_str() == IdentifierType::ANONYMOUS_ID => usize::MAX,
            None => self.priority.len(),
        }
    }

    /// Whether a value must never link profiles: a listed value, or a run of zeros
    /// (`000000`, `+00 000`), or one character repeated. For a phone in E.164 the rule
    /// reads its national number, whatever the country: `+33 6 66 66 66 66` is as much
    /// a placeholder as `666 666 666`.
    pub fn is_blocked(&self, value: &str) -> bool {
        let folded = value.trim().to_lowercase();
        if self.blocked_values.contains(&folded) {
            return true;
        }
        if let Some(national) = national_number(&folded)
            && is_placeholder(&national)
        {
            return true;
        }
        let significant: String = folded
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '+' | '.' | '(' | ')'))
            .collect();
        is_placeholder(&significant)
    }
}

/// Nothing but zeros, or at least four of one character.
fn is_placeholder(significant: &str) -> bool {
    let mut chars = significant.chars();
    let Some(first) = chars.next() else {
        return true;
    };
    let same = significant.chars().all(|c| c == first);
    same && (first == '0' || significant.chars().count() >= 4)
}

/// The national digits of a value written as an international phone number (`+…`),
/// valid or not.
pub fn national_number(value: &str) -> Option<String> {
    if !value.starts_with('+') {
        return None;
    }
    let number = phonenumber::parse(None, value).ok()?;
    Some(number.national().value().to_string())
}

/// An identifier carried by a message and the profile (root) that holds it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub identifier: Identifier,
    pub owner: Option<CustomerId>,
}

/// Identifiers a profile already holds, with when each was first seen.
pub type Holdings = BTreeMap<IdentifierType, Vec<Timestamp>>;

/// Why an identifier on a message was not linked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictReason {
    /// Linking would give a profile more identifiers of this type than allowed.
    LimitExceeded { kind: IdentifierType, max: u32 },
    /// The two profiles were separated by an unmerge and may not merge again.
    Separated,
}

impl ConflictReason {
    pub fn code(&self) -> &'static str {
        match self {
            Self::LimitExceeded { .. } => "limit_exceeded",
            Self::Separated => "separated",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::LimitExceeded { kind, max } => {
                format!("a profile may hold at most {max} {kind} identifier(s)")
            }
            Self::Separated => "these profiles were separated by an unmerge".to_owned(),
        }
    }
}

/// An identifier left unlinked, and the profile that keeps it (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub identifier: Identifier,
    pub owner: Option<CustomerId>,
    pub reason: ConflictReason,
}

/// What to do with one message's identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The profile the message belongs to; `None`: create one.
    pub target: Option<CustomerId>,
    /// Profiles to merge into the target, each with the identifier that linked it.
    pub merges: Vec<(CustomerId, Identifier)>,
    /// Identifiers no profile holds yet, to add to the target.
    pub attach: Vec<Identifier>,
    /// Identifiers the rules kept apart.
    pub dropped: Vec<Dropped>,
}

/// Decides, for one message, which profile it belongs to, which profiles merge and which
/// identifiers are attached or refused.
///
/// Identifiers are taken from most to least trusted. Each either is already held by a
/// profile in the set being assembled, or brings its profile into the set, or is new —
/// and is refused whenever the assembled profile would then break a limit, or would
/// join two separated profiles. The target is the profile of the most trusted
/// identifier that links one.
///
/// `holdings` gives, for each owner in `claims`, what it holds now; `separated` lists
/// pairs of profiles that may not merge; `now` dates limits with a window.
pub fn plan(
    rules: &IdentityRules,
    claims: &[Claim],
    holdings: &BTreeMap<CustomerId, Holdings>,
    separated: &BTreeSet<(CustomerId, CustomerId)>,
    now: Timestamp,
) -> Plan {
    let mut ordered: Vec<&Claim> = claims
        .iter()
        .filter(|c| !rules.is_blocked(&c.identifier.value))
        .collect();
    ordered.sort_by_key(|c| rules.rank(&c.identifier.kind));
    let mut seen = BTreeSet::new();
    ordered.retain(|c| seen.insert(&c.identifier));

    let mut members: Vec<CustomerId> = Vec::new();
    let mut assembled = Holdings::new();
    let mut result = Plan::default();
    for claim in ordered {
        let identifier = &claim.identifier;
        match claim.owner {
            Some(owner) if members.contains(&owner) => {}
            Some(owner) => {
                if members
                    .iter()
                    .any(|m| separated.contains(&(*m, owner)) || separated.contains(&(owner, *m)))
                {
                    result.dropped.push(Dropped {
                        identifier: identifier.clone(),
                        owner: Some(owner),
                        reason: ConflictReason::Separated,
                    });
                    continue;
                }
                let mut combined = assembled.clone();
                if let Some(held) = holdings.get(&owner) {
                    for (kind, seen) in held {
                        combined.entry(kind.clone()).or_default().extend(seen);
                    }
                }
                match first_excess(rules, &combined, now) {
                    Some(reason) => result.dropped.push(Dropped {
                        identifier: identifier.clone(),
                        owner: Some(owner),
                        reason,
                    }),
                    None => {
                        if !members.is_empty() {
                            result.merges.push((owner, identifier.clone()));
                        }
                        members.push(owner);
                        assembled = combined;
                    }
                }
            }
            None => {
                let mut combined = assembled.clone();
                combined
                    .entry(identifier.kind.clone())
                    .or_default()
                    .push(now);
                match first_excess(rules, &combined, now) {
                    Some(reason) => result.dropped.push(Dropped {
                        identifier: identifier.clone(),
                        owner: None,
                        reason,
                    }),
                    None => {
                        result.attach.push(identifier.clone());
                        assembled = combined;
                    }
                }
            }
        }
    }
    result.target = members.first().copied();
    result
}

/// The first limit `holdings` breaks, if any.
fn first_excess(
    rules: &IdentityRules,
    holdings: &Holdings,
    now: Timestamp,
) -> Option<ConflictReason> {
    holdings.iter().find_map(|(kind, seen)| {
        let limit = rules.limit(kind);
        let counted = match limit.window_days {
            None => seen.len(),
            Some(days) => {
                let since = now.plus_millis(-i64::from(days) * 86_400_000);
                seen.iter().filter(|t| **t >= since).count()
            }
        };
        (counted > usize::try_from(limit.max).unwrap_or(usize::MAX)).then(|| {
            ConflictReason::LimitExceeded {
                kind: kind.clone(),
                max: limit.max,
            }
        })
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn mobiles_written_two_ways_are_one_number() {
        let one = |raw: &str| super::normalize_phone(raw, "ES").unwrap();
        assert_eq!(one("+55 11 98765-4321"), "+5511987654321");
        assert_eq!(one("+55 11 8765-4321"), one("+55 11 98765-4321"));
        assert_eq!(
            one("+55 11 3456-7890"),
            "+551134567890",
            "a landline keeps eight digits"
        );
        assert_eq!(one("+52 1 55 1234 5678"), one("+52 55 1234 5678"));
        assert_eq!(one("+5215512345678"), "+525512345678");
        assert_eq!(one("+54 9 11 1234-5678"), one("+54 11 1234-5678"));
        assert_eq!(one("+541112345678"), "+5491112345678");
        assert_eq!(one("+34 600 111 222"), "+34600111222");
    }

    use super::*;

    fn id(kind: &str, value: &str) -> Identifier {
        Identifier {
            kind: kind.parse().unwrap(),
            value: value.to_owned(),
        }
    }

    fn claim(kind: &str, value: &str, owner: Option<CustomerId>) -> Claim {
        Claim {
            identifier: id(kind, value),
            owner,
        }
    }

    fn holding(kinds: &[&str]) -> Holdings {
        let mut held = Holdings::new();
        for kind in kinds {
            held.entry(kind.parse().unwrap())
                .or_default()
                .push(Timestamp::from_millis(0));
        }
        held
    }

    const NOW: Timestamp = Timestamp::from_millis(1_000_000_000_000);

    #[test]
    fn normalises_emails_and_phones() {
        let email =
            Identifier::normalize(IdentifierType::email(), " Ana@Example.COM ", "ES").unwrap();
        assert_eq!(email.value, "ana@example.com");
        let phone = Identifier::normalize(IdentifierType::phone(), "612 34 56 78", "ES").unwrap();
        assert_eq!(phone.value, "+34612345678");
        let international =
            Identifier::normalize(IdentifierType::phone(), "+1 (415) 555-2671", "ES").unwrap();
        assert_eq!(international.value, "+14155552671");
        assert!(Identifier::normalize(IdentifierType::phone(), "12", "ES").is_err());
        assert!(Identifier::normalize(IdentifierType::email(), "nope", "ES").is_err());
        assert!(Identifier::normalize("loyalty_card".parse().unwrap(), "  ", "ES").is_err());
    }

    #[test]
    fn blocked_values_never_link() {
        let rules = IdentityRules::default();
        for value in [
            "",
            "null",
            "Undefined",
            "anonymous",
            "guest",
            "0",
            "-1",
            "000000",
            "+00 000",
            "test@test.com",
            "[object Object]",
            "aaaaaa",
        ] {
            assert!(rules.is_blocked(value), "{value}");
        }
        for value in ["ana@example.com", "+34612345678", "u-123", "1234"] {
            assert!(!rules.is_blocked(value), "{value}");
        }
        let owner = CustomerId::generate();
        let result = plan(
            &rules,
            &[
                claim("anonymous_id", "guest", Some(owner)),
                claim("user_id", "u1", None),
            ],
            &BTreeMap::new(),
            &BTreeSet::new(),
            NOW,
        );
        assert_eq!(result.target, None);
        assert_eq!(result.attach, vec![id("user_id", "u1")]);
    }

    #[test]
    fn new_identifiers_attach_to_the_owner() {
        let owner = CustomerId::generate();
        let result = plan(
            &IdentityRules::default(),
            &[
                claim("anonymous_id", "a1", Some(owner)),
                claim("email", "ana@example.com", None),
            ],
            &BTreeMap::from([(owner, holding(&["anonymous_id"]))]),
            &BTreeSet::new(),
            NOW,
        );
        assert_eq!(result.target, Some(owner));
        assert_eq!(result.attach, vec![id("email", "ana@example.com")]);
        assert!(result.merges.is_empty());
    }

    #[test]
    fn two_owners_merge_into_the_most_trusted() {
        let known = CustomerId::generate();
        let anonymous = CustomerId::generate();
        let result = plan(
            &IdentityRules::default(),
            &[
                claim("anonymous_id", "a1", Some(anonymous)),
                claim("user_id", "u1", Some(known)),
            ],
            &BTreeMap::from([
                (known, holding(&["user_id"])),
                (anonymous, holding(&["anonymous_id"])),
            ]),
            &BTreeSet::new(),
            NOW,
        );
        assert_eq!(result.target, Some(known));
        assert_eq!(result.merges, vec![(anonymous, id("anonymous_id", "a1"))]);
    }

    #[test]
    fn a_second_user_id_never_merges_silently() {
        // A shared kiosk: the device is already Ana's; Bo signs in on it.
        let ana = CustomerId::generate();
        let result = plan(
            &IdentityRules::default(),
            &[
                claim("user_id", "bo", None),
                claim("anonymous_id", "kiosk-1", Some(ana)),
            ],
            &BTreeMap::from([(ana, holding(&["user_id", "anonymous_id"]))]),
            &BTreeSet::new(),
            NOW,
        );
        assert_eq!(result.target, None, "Bo gets a profile of his own");
        assert_eq!(result.attach, vec![id("user_id", "bo")]);
        assert_eq!(result.dropped.len(), 1);
        assert_eq!(result.dropped[0].owner, Some(ana));
        assert_eq!(
            result.dropped[0].reason,
            ConflictReason::LimitExceeded {
                kind: IdentifierType::user_id(),
                max: 1
            }
        );
    }

    #[test]
    fn separated_profiles_stay_apart() {
        let a = CustomerId::generate();
        let b = CustomerId::generate();
        let result = plan(
            &IdentityRules::default(),
            &[
                claim("email", "x@example.com", Some(a)),
                claim("phone", "+34612345678", Some(b)),
            ],
            &BTreeMap::from([(a, holding(&["email"])), (b, holding(&["phone"]))]),
            &BTreeSet::from([(b, a)]),
            NOW,
        );
        assert_eq!(result.target, Some(a));
        assert!(result.merges.is_empty());
        assert_eq!(result.dropped[0].reason, ConflictReason::Separated);
    }

    #[test]
    fn windowed_limits_count_only_recent_identifiers() {
        let owner = CustomerId::generate();
        let old = Timestamp::from_millis(NOW.millis() - 30 * 86_400_000);
        let mut held = Holdings::new();
        held.insert(IdentifierType::anonymous_id(), vec![old; 5]);
        let result = plan(
            &IdentityRules::default(),
            &[
                claim("user_id", "u", Some(owner)),
                claim("anonymous_id", "new-device", None),
            ],
            &BTreeMap::from([(owner, held.clone())]),
            &BTreeSet::new(),
            NOW,
        );
        assert_eq!(result.attach, vec![id("anonymous_id", "new-device")]);
        held.insert(IdentifierType::anonymous_id(), vec![NOW; 5]);
        let result = plan(
            &IdentityRules::default(),
            &[
                claim("user_id", "u", Some(owner)),
                claim("anonymous_id", "sixth", None),
            ],
            &BTreeMap::from([(owner, held)]),
            &BTreeSet::new(),
            NOW,
        );
        assert!(result.attach.is_empty());
        assert_eq!(result.dropped.len(), 1);
    }

    #[test]
    fn repeated_digit_phones_link_nothing_in_any_country() {
        let rules = IdentityRules::default();
        for raw in [
            "+34 666 666 666",
            "+33 6 66 66 66 66",
            "+39 333 3333333",
            "+1 555 555 5555",
        ] {
            // Normalised first, as linking sees them (when the country calls them valid).
            let value = normalize_phone(raw, "ES").unwrap_or_else(|_| raw.replace(' ', ""));
            assert!(rules.is_blocked(&value), "{raw} as {value}");
        }
        for real in [
            "+33612345678",
            "+393331234567",
            "+14155552671",
            "+34611222333",
        ] {
            assert!(!rules.is_blocked(real), "{real}");
        }
    }

    mod phone_properties {
        use super::*;
        use proptest::prelude::*;

        /// Country calling codes of regions across the world, with the regions.
        const COUNTRIES: [(&str, &str); 14] = [
            ("ES", "34"),
            ("FR", "33"),
            ("IT", "39"),
            ("DE", "49"),
            ("GB", "44"),
            ("PT", "351"),
            ("US", "1"),
            ("MX", "52"),
            ("BR", "55"),
            ("AR", "54"),
            ("CO", "57"),
            ("IN", "91"),
            ("JP", "81"),
            ("MA", "212"),
        ];

        proptest! {
            /// A national number of one digit repeated is a placeholder wherever the
            /// phone is from and however it is written.
            #[test]
            fn one_digit_repeated_is_blocked(
                country in 0..COUNTRIES.len(),
                digit in 1..=9u8,
                len in 6..=11usize,
                spaced in any::<bool>(),
            ) {
                let rules = IdentityRules::default();
                let (region, code) = COUNTRIES[country];
                let national = char::from(b'0' + digit).to_string().repeat(len);
                let written = if spaced {
                    format!("+{code} {} {}", &national[..3], &national[3..])
                } else {
                    format!("+{code}{national}")
                };
                let value = normalize_phone(&written, region).unwrap_or_else(|_| written.clone());
                prop_assert!(rules.is_blocked(&value), "{} as {}", written, value);
            }

            /// A number with two different national digits is never blocked by the rule.
            #[test]
            fn real_numbers_are_not_blocked(
                country in 0..COUNTRIES.len(),
                digits in proptest::collection::vec(0..=9u8, 8..=10),
            ) {
                let rules = IdentityRules::default();
                let (_, code) = COUNTRIES[country];
                prop_assume!(digits.iter().any(|d| *d != digits[0]));
                let national: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
                prop_assume!(national.trim_start_matches('0').len() >= 4);
                let value = format!("+{code}{national}");
                prop_assume!(national_number(&value).is_some_and(|n| !is_placeholder(&n)));
                prop_assert!(!rules.is_blocked(&value), "{}", value);
            }
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use std::collections::HashMap;

        /// A tiny identity graph kept in memory, applying plans as storage would.
        #[derive(Default)]
        struct Graph {
            owner: HashMap<Identifier, CustomerId>,
            merged_into: HashMap<CustomerId, CustomerId>,
            profiles: Vec<CustomerId>,
        }

        impl Graph {
            fn root(&self, mut id: CustomerId) -> CustomerId {
                while let Some(next) = self.merged_into.get(&id) {
                    id = *next;
                }
                id
            }

            fn holdings(&self, root: CustomerId) -> Holdings {
                let mut held = Holdings::new();
                for (identifier, owner) in &self.owner {
                    if self.root(*owner) == root {
                        held.entry(identifier.kind.clone()).or_default().push(NOW);
                    }
                }
                held
            }

            fn apply(&mut self, rules: &IdentityRules, identifiers: &[Identifier]) -> Plan {
                let claims: Vec<Claim> = identifiers
                    .iter()
                    .map(|i| Claim {
                        identifier: i.clone(),
                        owner: self.owner.get(i).map(|o| self.root(*o)),
                    })
                    .collect();
                let holdings = claims
                    .iter()
                    .filter_map(|c| c.owner)
                    .map(|o| (o, self.holdings(o)))
                    .collect();
                let result = plan(rules, &claims, &holdings, &BTreeSet::new(), NOW);
                let target = result.target.unwrap_or_else(|| {
                    let id = CustomerId::generate();
                    self.profiles.push(id);
                    id
                });
                for (absorbed, _) in &result.merges {
                    self.merged_into.insert(*absorbed, target);
                }
                for identifier in &result.attach {
                    assert!(
                        !self.owner.contains_key(identifier),
                        "attach only new identifiers"
                    );
                    self.owner.insert(identifier.clone(), target);
                }
                result
            }
        }

        fn identifier() -> impl Strategy<Value = Identifier> {
            let kinds = prop_oneof![
                Just("user_id"),
                Just("anonymous_id"),
                Just("email"),
                Just("loyalty_card")
            ];
            let values = prop_oneof![
                4 => "[a-c][0-2]".prop_map(|v| v.to_string()),
                1 => prop_oneof![Just("null"), Just("guest"), Just("0000"), Just("")]
                    .prop_map(str::to_owned),
            ];
            (kinds, values).prop_map(|(kind, value)| Identifier {
                kind: kind.parse().unwrap(),
                value,
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]

            #[test]
            fn plans_keep_every_rule(messages in prop::collection::vec(
                prop::collection::vec(identifier(), 1..5), 1..40)) {
                let mut rules = IdentityRules::default();
                rules.limits.insert("email".parse().unwrap(), Limit { max: 2, window_days: None });
                let mut graph = Graph::default();
                for identifiers in &messages {
                    let result = graph.apply(&rules, identifiers);
                    // Blocked values never link anything.
                    for identifier in result.attach.iter().chain(result.merges.iter().map(|(_, i)| i)) {
                        prop_assert!(!rules.is_blocked(&identifier.value));
                    }
                    // Limits hold for every live profile.
                    for profile in &graph.profiles {
                        if graph.root(*profile) != *profile {
                            continue;
                        }
                        for (kind, seen) in graph.holdings(*profile) {
                            prop_assert!(seen.len() <= rules.limit(&kind).max as usize,
                                "{kind} x{} on one profile", seen.len());
                        }
                    }
                }
                // Each identifier belongs to exactly one live profile.
                for owner in graph.owner.values() {
                    let root = graph.root(*owner);
                    prop_assert!(!graph.merged_into.contains_key(&root));
                }
            }
        }
    }
}
