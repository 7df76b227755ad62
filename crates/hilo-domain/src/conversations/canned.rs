//! Canned replies: a shortcut an agent types (`/gracias`) and a text with placeholders
//! filled from the customer's profile and the agent — `{{customer.first_name}}`,
//! `{{customer.name}}`, `{{customer.email}}`, `{{customer.phone}}`,
//! `{{customer.traits.KEY}}`, `{{agent.name}}` — each with an optional default after a
//! bar: `{{customer.first_name|cliente}}`. The text is only ever text: a value is put
//! in as it is, never read as a placeholder itself.

use std::collections::BTreeMap;

use crate::Invalid;

/// Longest canned reply.
pub const MAX_CONTENT: usize = 4_096;

/// A shortcut checked: 1 to 40 lower-case letters, digits, `-` or `_`, written without
/// its slash.
pub fn check_shortcut(shortcut: &str) -> Result<String, Invalid> {
    let shortcut = shortcut.trim();
    let shortcut = shortcut.strip_prefix('/').unwrap_or(shortcut);
    let valid = !shortcut.is_empty()
        && shortcut.chars().count() <= 40
        && shortcut
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_'));
    if valid {
        Ok(shortcut.to_lowercase())
    } else {
        Err(Invalid::new(
            "shortcut",
            "must be 1 to 40 letters, digits, '-' or '_'",
        ))
    }
}

/// A canned reply's text checked: what it may hold and that its placeholders are known.
pub fn check_content(content: &str) -> Result<String, Invalid> {
    let content = content.trim();
    if content.is_empty() || content.chars().count() > MAX_CONTENT {
        return Err(Invalid::new(
            "content",
            format!("must be 1 to {MAX_CONTENT} characters"),
        ));
    }
    for placeholder in placeholders(content) {
        let (path, _) = split_default(placeholder);
        if !known(path) {
            return Err(Invalid::new(
                "content",
                format!(
                    "{{{{{path}}}}} is not a placeholder; use customer.first_name, \
                     customer.name, customer.email, customer.phone, customer.traits.KEY \
                     or agent.name"
                ),
            ));
        }
    }
    Ok(content.to_owned())
}

fn known(path: &str) -> bool {
    matches!(
        path,
        "customer.first_name"
            | "customer.name"
            | "customer.email"
            | "customer.phone"
            | "agent.name"
    ) || path
        .strip_prefix("customer.traits.")
        .is_some_and(|key| !key.is_empty() && key.len() <= 100)
}

/// The placeholders' insides, in order.
fn placeholders(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        found.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    found
}

fn split_default(placeholder: &str) -> (&str, Option<&str>) {
    match placeholder.split_once('|') {
        Some((path, default)) => (path.trim(), Some(default.trim())),
        None => (placeholder.trim(), None),
    }
}

/// The values placeholders are filled with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    /// `customer.name`, `agent.name`, `customer.traits.city`, …
    pub by_path: BTreeMap<String, String>,
}

impl Values {
    pub fn set(&mut self, path: &str, value: Option<&str>) {
        if let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) {
            self.by_path.insert(path.to_owned(), value.to_owned());
        }
    }
}

/// The text with its placeholders filled; one without a value and without a default
/// leaves nothing, and the spaces around it close up.
pub fn render(content: &str, values: &Values) -> String {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push_str(&rest[..start]);
        let (path, default) = split_default(after[..end].trim());
        let value = values
            .by_path
            .get(path)
            .map(String::as_str)
            .or(default)
            .unwrap_or_default();
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    // "Hola ," when a name was missing: close the gap.
    out.replace(" ,", ",").replace("  ", " ").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_or_fall_back() {
        let mut values = Values::default();
        values.set("customer.first_name", Some("Ana"));
        values.set("agent.name", Some("Lucía"));
        values.set("customer.traits.city", Some("{{agent.name}}"));
        assert_eq!(
            render(
                "Hola {{customer.first_name}}, soy {{ agent.name }}.",
                &values
            ),
            "Hola Ana, soy Lucía."
        );
        assert_eq!(
            render("Hola {{customer.email|cliente}}", &values),
            "Hola cliente"
        );
        assert_eq!(
            render("Hola {{customer.phone}}, ¿qué tal?", &values),
            "Hola, ¿qué tal?"
        );
        // A value is text, never a placeholder.
        assert_eq!(
            render("{{customer.traits.city}}", &values),
            "{{agent.name}}"
        );
    }

    #[test]
    fn shortcuts_and_contents_are_checked() {
        assert_eq!(check_shortcut("/Gracias").unwrap(), "gracias");
        assert!(check_shortcut("dos palabras").is_err());
        assert!(check_content("Hola {{customer.password}}").is_err());
        assert!(check_content("Hola {{customer.traits.tier|socio}}").is_ok());
        assert!(check_content("  ").is_err());
    }
}
