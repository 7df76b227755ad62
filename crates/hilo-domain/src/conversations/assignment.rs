//! Who takes a waiting conversation, decided purely: agents who are online and under
//! their capacity, by round robin (the one given a conversation longest ago) or by
//! least load (the fewest open conversations), the oldest waiting conversation first.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{ConversationId, Invalid, Timestamp, UserId};

/// Whether an agent takes conversations now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Takes new conversations.
    Online,
    /// Keeps their conversations, takes no new ones.
    Busy,
    /// Their open conversations go back to the queue.
    Offline,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Busy => "busy",
            Self::Offline => "offline",
        }
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Availability {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        match text {
            "online" => Ok(Self::Online),
            "busy" => Ok(Self::Busy),
            "offline" => Ok(Self::Offline),
            _ => Err(Invalid::new(
                "availability",
                "must be one of online, busy, offline",
            )),
        }
    }
}

/// How a waiting conversation's agent is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Each in turn: the agent given a conversation longest ago.
    #[default]
    RoundRobin,
    /// The agent with the fewest open conversations.
    LeastLoaded,
}

/// Most open conversations an agent is given by default.
pub const DEFAULT_CAPACITY: u32 = 10;
/// Highest capacity that may be set.
pub const MAX_CAPACITY: u32 = 1_000;

/// The assignment settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentSettings {
    pub enabled: bool,
    #[serde(default)]
    pub strategy: Strategy,
    /// Open conversations per agent unless the agent has a capacity of their own.
    #[serde(default = "default_capacity")]
    pub default_capacity: u32,
}

fn default_capacity() -> u32 {
    DEFAULT_CAPACITY
}

impl Default for AssignmentSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            strategy: Strategy::default(),
            default_capacity: DEFAULT_CAPACITY,
        }
    }
}

impl AssignmentSettings {
    pub fn check(self) -> Result<Self, Invalid> {
        check_capacity("default_capacity", self.default_capacity)?;
        Ok(self)
    }
}

/// A capacity checked: 1 to [`MAX_CAPACITY`].
pub fn check_capacity(field: &str, capacity: u32) -> Result<u32, Invalid> {
    if (1..=MAX_CAPACITY).contains(&capacity) {
        Ok(capacity)
    } else {
        Err(Invalid::new(
            field,
            format!("must be from 1 to {MAX_CAPACITY}"),
        ))
    }
}

/// An agent as assignment sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub user: UserId,
    pub availability: Availability,
    /// Open conversations assigned to them now.
    pub open: u32,
    pub capacity: u32,
    pub last_assigned_at: Option<Timestamp>,
}

/// A conversation waiting for an agent, and who may take it: a team's members when it
/// is given to a team that has members, else anyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub conversation: ConversationId,
    pub team: Option<Vec<UserId>>,
}

impl Waiting {
    pub fn anyone(conversation: ConversationId) -> Self {
        Self {
            conversation,
            team: None,
        }
    }
}

/// Gives the waiting conversations (oldest first) to agents, as far as there is room:
/// only online agents under capacity, each conversation once, a team's conversation
/// only to its members (it waits while they are all full).
pub fn plan(
    waiting: &[Waiting],
    mut candidates: Vec<Candidate>,
    strategy: Strategy,
    now: Timestamp,
) -> Vec<(ConversationId, UserId)> {
    let mut out = Vec::new();
    for entry in waiting {
        if choose(&candidates, strategy, None).is_none() {
            break;
        }
        let Some(chosen) = choose(&candidates, strategy, entry.team.as_deref()) else {
            continue;
        };
        let agent = &mut candidates[chosen];
        agent.open += 1;
        // A millisecond apart, so turns taken in one plan keep their order.
        agent.last_assigned_at = Some(now.plus_millis(out.len() as i64));
        out.push((entry.conversation, agent.user));
    }
    out
}

/// The index of the agent to give the next conversation to, among `team` when given.
fn choose(candidates: &[Candidate], strategy: Strategy, team: Option<&[UserId]>) -> Option<usize> {
    let free = candidates.iter().enumerate().filter(|(_, c)| {
        c.availability == Availability::Online
            && c.open < c.capacity
            && team.is_none_or(|members| members.contains(&c.user))
    });
    match strategy {
        // `None` (never given one) sorts first; then the longest ago; ids settle ties.
        Strategy::RoundRobin => free
            .min_by_key(|(_, c)| (c.last_assigned_at, c.open, c.user))
            .map(|(i, _)| i),
        Strategy::LeastLoaded => free
            .min_by_key(|(_, c)| (c.open, c.last_assigned_at, c.user))
            .map(|(i, _)| i),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Strategy;
    use super::*;

    fn agent(open: u32, capacity: u32, last: Option<i64>, availability: Availability) -> Candidate {
        Candidate {
            user: UserId::generate(),
            availability,
            open,
            capacity,
            last_assigned_at: last.map(Timestamp::from_millis),
        }
    }

    #[test]
    fn round_robin_takes_turns_and_least_loaded_evens_out() {
        let now = Timestamp::from_millis(10_000);
        let waiting: Vec<Waiting> = (0..4)
            .map(|_| Waiting::anyone(ConversationId::generate()))
            .collect();
        let a = agent(5, 10, Some(1_000), Availability::Online);
        let b = agent(0, 10, Some(2_000), Availability::Online);
        let busy = agent(0, 10, None, Availability::Busy);
        let offline = agent(0, 10, None, Availability::Offline);
        let all = vec![a.clone(), b.clone(), busy, offline];
        let turns: Vec<UserId> = plan(&waiting, all.clone(), Strategy::RoundRobin, now)
            .into_iter()
            .map(|(_, u)| u)
            .collect();
        assert_eq!(turns, [a.user, b.user, a.user, b.user]);
        let even: Vec<UserId> = plan(&waiting, all, Strategy::LeastLoaded, now)
            .into_iter()
            .map(|(_, u)| u)
            .collect();
        assert_eq!(even, [b.user; 4]);
    }

    #[test]
    fn nobody_is_given_more_than_their_capacity() {
        let now = Timestamp::from_millis(10_000);
        let waiting: Vec<Waiting> = (0..5)
            .map(|_| Waiting::anyone(ConversationId::generate()))
            .collect();
        let full = agent(3, 3, None, Availability::Online);
        let room = agent(1, 2, None, Availability::Online);
        let given = plan(
            &waiting,
            vec![full, room.clone()],
            Strategy::LeastLoaded,
            now,
        );
        assert_eq!(given, vec![(waiting[0].conversation, room.user)]);
    }

    #[test]
    fn a_teams_conversation_goes_to_its_members_or_waits() {
        let now = Timestamp::from_millis(10_000);
        let member = agent(1, 2, None, Availability::Online);
        let other = agent(0, 10, None, Availability::Online);
        let team = Some(vec![member.user]);
        let waiting = vec![
            Waiting {
                conversation: ConversationId::generate(),
                team: team.clone(),
            },
            Waiting {
                conversation: ConversationId::generate(),
                team: team.clone(),
            },
            Waiting::anyone(ConversationId::generate()),
        ];
        let given = plan(
            &waiting,
            vec![member.clone(), other.clone()],
            Strategy::LeastLoaded,
            now,
        );
        // The member has room for one; the team's second waits; anyone's goes on.
        assert_eq!(
            given,
            vec![
                (waiting[0].conversation, member.user),
                (waiting[2].conversation, other.user)
            ]
        );
    }

    proptest! {
        #[test]
        fn assignment_respects_availability_and_capacity(
            agents in proptest::collection::vec((0u32..5, 1u32..6, proptest::option::of(0i64..100), 0u8..3), 0..6),
            waiting in 0usize..20,
            least in any::<bool>(),
        ) {
            let candidates: Vec<Candidate> = agents
                .iter()
                .map(|(open, capacity, last, a)| {
                    let availability = [Availability::Online, Availability::Busy, Availability::Offline][*a as usize];
                    agent(*open, *capacity, *last, availability)
                })
                .collect();
            let ids: Vec<Waiting> = (0..waiting).map(|_| Waiting::anyone(ConversationId::generate())).collect();
            let strategy = if least { Strategy::LeastLoaded } else { Strategy::RoundRobin };
            let given = plan(&ids, candidates.clone(), strategy, Timestamp::from_millis(1_000));
            let room: u32 = candidates
                .iter()
                .filter(|c| c.availability == Availability::Online)
                .map(|c| c.capacity.saturating_sub(c.open))
                .sum();
            prop_assert_eq!(given.len(), waiting.min(room as usize));
            for (i, (conversation, _)) in given.iter().enumerate() {
                prop_assert_eq!(*conversation, ids[i].conversation);
            }
            for candidate in &candidates {
                let got = given.iter().filter(|(_, u)| *u == candidate.user).count() as u32;
                if candidate.availability != Availability::Online {
                    prop_assert_eq!(got, 0);
                }
                prop_assert!(candidate.open + got <= candidate.capacity.max(candidate.open));
            }
        }
    }
}
