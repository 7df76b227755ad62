//! Teams: a named group of agents (a store's staff, the second line of support). A
//! conversation given to a team is seen by its filter and, with auto-assignment, goes
//! to one of its members.

use std::collections::BTreeSet;

use crate::{Invalid, UserId};

/// Longest team name.
pub const MAX_NAME: usize = 100;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 500;
/// Most members of one team.
pub const MAX_MEMBERS: usize = 500;

/// A team's name checked: 1 to 100 characters without control characters, trimmed.
pub fn check_name(field: &str, name: &str) -> Result<String, Invalid> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Invalid::new(
            field,
            format!("must be 1 to {MAX_NAME} characters, without control characters"),
        ));
    }
    Ok(name.to_owned())
}

pub fn check_description(description: &str) -> Result<String, Invalid> {
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(Invalid::new(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(description.to_owned())
}

/// The members, each once, in a stable order.
pub fn check_members(members: &[UserId]) -> Result<Vec<UserId>, Invalid> {
    let unique: BTreeSet<UserId> = members.iter().copied().collect();
    if unique.len() > MAX_MEMBERS {
        return Err(Invalid::new(
            "members",
            format!("must hold at most {MAX_MEMBERS} users"),
        ));
    }
    Ok(unique.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("name", "  Tienda Sol ").unwrap(), "Tienda Sol");
        assert_eq!(check_name("name", " ").unwrap_err().field, "name");
        assert!(check_name("team", "a\nb").is_err());
        assert!(check_name("team", &"x".repeat(MAX_NAME)).is_ok());
        assert!(check_name("team", &"x".repeat(MAX_NAME + 1)).is_err());
        assert!(check_description(&"d".repeat(MAX_DESCRIPTION + 1)).is_err());
    }

    #[test]
    fn members_are_each_listed_once() {
        let a = UserId::generate();
        let b = UserId::generate();
        let members = check_members(&[b, a, b]).unwrap();
        assert_eq!(members.len(), 2);
        assert!(members.contains(&a) && members.contains(&b));
    }
}
