//! What the change feed records about customers: one kind per thing that happened to a
//! profile. Stored as text (`changes.kind`); this list is the only place the names live.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A profile came into being (an event, a registration, an import).
    ProfileCreated,
    /// Traits changed; the change's data names them.
    ProfileTraits,
    /// Another profile was merged into this one.
    ProfileMerged,
    /// A merge was undone.
    ProfileUnmerged,
    /// The person was erased.
    ProfileErased,
    /// A consent was granted or withdrawn.
    ProfileConsent,
    /// An existing profile took new identifiers; the change's data names their types.
    ProfileIdentified,
    // What happens in the customer's conversations (the conversations part): the
    // data holds ids only.
    ConversationCreated,
    ConversationUpdated,
    MessageCreated,
    MessageUpdated,
    CallStarted,
    CallEnded,
    // The customer's orders (the commerce part), named after Segment's e-commerce
    // events: the data holds ids, states and amounts.
    OrderCompleted,
    OrderUpdated,
    OrderCancelled,
    OrderRefunded,
}

impl ChangeKind {
    pub const ALL: [Self; 17] = [
        Self::ProfileCreated,
        Self::ProfileTraits,
        Self::ProfileMerged,
        Self::ProfileUnmerged,
        Self::ProfileErased,
        Self::ProfileConsent,
        Self::ProfileIdentified,
        Self::ConversationCreated,
        Self::ConversationUpdated,
        Self::MessageCreated,
        Self::MessageUpdated,
        Self::CallStarted,
        Self::CallEnded,
        Self::OrderCompleted,
        Self::OrderUpdated,
        Self::OrderCancelled,
        Self::OrderRefunded,
    ];

    /// Whether the profile itself changed (what it is found by, what it shows), as
    /// opposed to something happening in its conversations.
    pub fn changes_the_profile(self) -> bool {
        matches!(
            self,
            Self::ProfileCreated
                | Self::ProfileTraits
                | Self::ProfileMerged
                | Self::ProfileUnmerged
                | Self::ProfileErased
                | Self::ProfileConsent
                | Self::ProfileIdentified
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProfileCreated => "profile.created",
            Self::ProfileTraits => "profile.traits",
            Self::ProfileMerged => "profile.merged",
            Self::ProfileUnmerged => "profile.unmerged",
            Self::ProfileErased => "profile.erased",
            Self::ProfileConsent => "profile.consent",
            Self::ProfileIdentified => "profile.identified",
            Self::ConversationCreated => "conversation.created",
            Self::ConversationUpdated => "conversation.updated",
            Self::MessageCreated => "message.created",
            Self::MessageUpdated => "message.updated",
            Self::CallStarted => "call.started",
            Self::CallEnded => "call.ended",
            Self::OrderCompleted => "order.completed",
            Self::OrderUpdated => "order.updated",
            Self::OrderCancelled => "order.cancelled",
            Self::OrderRefunded => "order.refunded",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored kind this version does not know (written by a newer node, say).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown change kind {0:?}")]
pub struct UnknownChangeKind(pub String);

impl FromStr for ChangeKind {
    type Err = UnknownChangeKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownChangeKind(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let names: std::collections::HashSet<&str> =
            ChangeKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(names.len(), ChangeKind::ALL.len());
        for kind in ChangeKind::ALL {
            assert_eq!(kind.as_str().parse::<ChangeKind>(), Ok(kind));
        }
        assert!("profile.exploded".parse::<ChangeKind>().is_err());
    }
}
