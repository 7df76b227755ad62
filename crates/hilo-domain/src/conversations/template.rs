//! Message templates: what may be sent on WhatsApp outside the 24-hour customer
//! service window — a template the business had approved, named as its provider names
//! it, with its parameters.

use serde::{Deserialize, Serialize};

use super::ChannelType;
use crate::Invalid;

/// Most parameters a template takes (WhatsApp's body allows more; this is plenty).
pub const MAX_PARAMETERS: usize = 20;
pub const MAX_PARAMETER: usize = 1_024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// The template's name on WhatsApp Cloud (`order_update`), or the Content SID on
    /// Twilio (`HX` and 32 hexadecimal digits).
    pub name: String,
    /// Its language, such as `es` or `en_US` (WhatsApp Cloud; Twilio's content knows
    /// its own).
    pub language: Option<String>,
    /// The values of `{{1}}`, `{{2}}`, … in order.
    #[serde(default)]
    pub parameters: Vec<String>,
}

impl Template {
    /// Checks the template for a channel of `kind`; an error names the field.
    pub fn check(&self, kind: ChannelType) -> Result<(), Invalid> {
        match kind {
            ChannelType::WhatsappCloud => {
                let valid = !self.name.is_empty()
                    && self.name.len() <= 512
                    && self
                        .name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !valid {
                    return Err(Invalid::new(
                        "template.name",
                        "must be the approved template's name: lower-case letters, digits, '_'",
                    ));
                }
                let language = self.language.as_deref().unwrap_or_default();
                let (code, region) = language.split_once('_').unwrap_or((language, ""));
                let valid = (2..=3).contains(&code.len())
                    && code.chars().all(|c| c.is_ascii_lowercase())
                    && (region.is_empty()
                        || (region.len() == 2 && region.chars().all(|c| c.is_ascii_uppercase())));
                if !valid {
                    return Err(Invalid::new(
                        "template.language",
                        "must be the template's language, such as es or en_US",
                    ));
                }
            }
            ChannelType::TwilioWhatsapp => {
                let valid = self.name.len() == 34
                    && self.name.starts_with("HX")
                    && self.name[2..].chars().all(|c| c.is_ascii_hexdigit());
                if !valid {
                    return Err(Invalid::new(
                        "template.name",
                        "must be the template's Content SID: HX and 32 hexadecimal digits",
                    ));
                }
            }
            _ => {
                return Err(Invalid::new(
                    "template",
                    "templates are sent on WhatsApp channels only",
                ));
            }
        }
        if self.parameters.len() > MAX_PARAMETERS {
            return Err(Invalid::new(
                "template.parameters",
                format!("at most {MAX_PARAMETERS} parameters"),
            ));
        }
        for (index, parameter) in self.parameters.iter().enumerate() {
            if parameter.trim().is_empty() || parameter.chars().count() > MAX_PARAMETER {
                return Err(Invalid::new(
                    format!("template.parameters[{index}]"),
                    format!("must be 1 to {MAX_PARAMETER} characters"),
                ));
            }
        }
        Ok(())
    }

    /// What the thread shows for it.
    pub fn summary(&self) -> String {
        if self.parameters.is_empty() {
            format!("[template {}]", self.name)
        } else {
            format!("[template {}: {}]", self.name, self.parameters.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(name: &str, language: Option<&str>, parameters: &[&str]) -> Template {
        Template {
            name: name.into(),
            language: language.map(str::to_owned),
            parameters: parameters.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn templates_are_named_as_each_provider_names_them() {
        assert!(
            template("order_update", Some("es"), &["T-1"])
                .check(ChannelType::WhatsappCloud)
                .is_ok()
        );
        assert!(
            template("order_update", Some("en_US"), &[])
                .check(ChannelType::WhatsappCloud)
                .is_ok()
        );
        assert_eq!(
            template("Order Update", Some("es"), &[])
                .check(ChannelType::WhatsappCloud)
                .unwrap_err()
                .field,
            "template.name"
        );
        assert_eq!(
            template("order_update", None, &[])
                .check(ChannelType::WhatsappCloud)
                .unwrap_err()
                .field,
            "template.language"
        );
        assert!(
            template("HX0123456789abcdef0123456789abcdef", None, &["Ana"])
                .check(ChannelType::TwilioWhatsapp)
                .is_ok()
        );
        assert_eq!(
            template("order_update", None, &[])
                .check(ChannelType::TwilioWhatsapp)
                .unwrap_err()
                .field,
            "template.name"
        );
        assert_eq!(
            template("x", None, &[])
                .check(ChannelType::TwilioSms)
                .unwrap_err()
                .field,
            "template"
        );
        assert_eq!(
            template("order_update", Some("es"), &[" "])
                .check(ChannelType::WhatsappCloud)
                .unwrap_err()
                .field,
            "template.parameters[0]"
        );
        assert_eq!(
            template("order_update", Some("es"), &["T-1", "mañana"]).summary(),
            "[template order_update: T-1, mañana]"
        );
    }
}
