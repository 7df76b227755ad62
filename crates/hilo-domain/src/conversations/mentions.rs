//! Mentions in private notes: `@lucia` (the part of an agent's email before the `@`,
//! when only one agent has it) or `@lucia@shop.example` (the whole email) names an
//! agent, who is told.

use crate::UserId;

/// The agents `note` mentions, once each, in the order they appear; `agents` are
/// (id, email) pairs.
pub fn mentioned(note: &str, agents: &[(UserId, String)]) -> Vec<UserId> {
    let mut found = Vec::new();
    for (i, _) in note.match_indices('@') {
        // An `@` inside a word is an address's, not a mention.
        if note[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric())
        {
            continue;
        }
        let word: String = note[i + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'))
            .collect();
        let word = word.trim_end_matches(['.', '-']).to_lowercase();
        if word.is_empty() {
            continue;
        }
        let by_email = agents
            .iter()
            .find(|(_, email)| email.to_lowercase() == word);
        let by_name: Vec<&(UserId, String)> = agents
            .iter()
            .filter(|(_, email)| {
                email
                    .split_once('@')
                    .is_some_and(|(local, _)| local.to_lowercase() == word)
            })
            .collect();
        let agent = by_email.or(match by_name.as_slice() {
            [only] => Some(*only),
            _ => None,
        });
        if let Some((id, _)) = agent
            && !found.contains(id)
        {
            found.push(*id);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_are_named_by_their_email_or_its_first_part() {
        let lucia = UserId::generate();
        let marcos = UserId::generate();
        let other_marcos = UserId::generate();
        let agents = vec![
            (lucia, "lucia@shop.example".to_owned()),
            (marcos, "marcos@shop.example".to_owned()),
            (other_marcos, "marcos@partner.example".to_owned()),
        ];
        assert_eq!(
            mentioned("@Lucia mira esto, y tú @lucia.", &agents),
            vec![lucia]
        );
        // Two agents called marcos: only the whole email says which.
        assert_eq!(mentioned("@marcos ¿lo ves?", &agents), vec![]);
        assert_eq!(
            mentioned("cc @marcos@partner.example", &agents),
            vec![other_marcos]
        );
        // An email address in the text is not a mention.
        assert_eq!(mentioned("escribe a ana@lucia.example", &agents), vec![]);
        assert_eq!(mentioned("@nadie @", &agents), vec![]);
    }
}
