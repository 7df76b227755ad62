//! Channels and their settings: which kinds there are, which settings each takes (under
//! the provider's own names), which of them are credentials to seal, and the checks.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::Invalid;

/// A kind of channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelType {
    WebChat,
    Email,
    TwilioSms,
    TwilioWhatsapp,
    WhatsappCloud,
    Messenger,
    Instagram,
    Voice,
    Api,
}

impl ChannelType {
    pub const ALL: [Self; 9] = [
        Self::WebChat,
        Self::Email,
        Self::TwilioSms,
        Self::TwilioWhatsapp,
        Self::WhatsappCloud,
        Self::Messenger,
        Self::Instagram,
        Self::Voice,
        Self::Api,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebChat => "web_chat",
            Self::Email => "email",
            Self::TwilioSms => "twilio_sms",
            Self::TwilioWhatsapp => "twilio_whatsapp",
            Self::WhatsappCloud => "whatsapp_cloud",
            Self::Messenger => "messenger",
            Self::Instagram => "instagram",
            Self::Voice => "voice",
            Self::Api => "api",
        }
    }

    /// The path its provider posts to, under the public URL, if it receives webhooks.
    pub fn webhook_path(self) -> Option<&'static str> {
        match self {
            Self::TwilioSms | Self::TwilioWhatsapp | Self::Voice => Some("/webhooks/twilio"),
            Self::WhatsappCloud | Self::Messenger | Self::Instagram => Some("/webhooks/meta"),
            Self::Api => Some("/webhooks/api"),
            Self::WebChat | Self::Email => None,
        }
    }

    /// The identifier type a customer is reached by on this channel.
    pub fn address_kind(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::TwilioSms | Self::Voice => "phone",
            Self::TwilioWhatsapp | Self::WhatsappCloud => crate::conversations::WHATSAPP,
            Self::Messenger => crate::conversations::MESSENGER,
            Self::Instagram => crate::conversations::INSTAGRAM,
            Self::WebChat => "anonymous_id",
            Self::Api => crate::conversations::API_CONTACT,
        }
    }

    /// The settings a channel of this type takes.
    pub fn fields(self) -> &'static [Field] {
        use Kind::*;
        const TWILIO: &[Field] = &[
            Field::required("account_sid", Sid("AC")),
            Field::required("auth_token", Secret),
            Field::optional("phone_number", Phone),
            Field::optional("messaging_service_sid", Sid("MG")),
            Field::optional("api_base_url", Url),
        ];
        const VOICE: &[Field] = &[
            Field::optional("account_sid", Sid("AC")),
            Field::optional("auth_token", Secret),
            Field::optional("phone_number", Phone),
            Field::optional("api_base_url", Url),
        ];
        const WHATSAPP: &[Field] = &[
            Field::required("app_secret", Secret),
            Field::required("verify_token", Secret),
            Field::required("access_token", Secret),
            Field::required("phone_number_id", Digits),
            Field::optional("business_account_id", Digits),
            Field::optional("api_base_url", Url),
        ];
        const PAGE: &[Field] = &[
            Field::required("app_secret", Secret),
            Field::required("verify_token", Secret),
            Field::required("access_token", Secret),
            Field::required("page_id", Digits),
            Field::optional("api_base_url", Url),
        ];
        const EMAIL: &[Field] = &[
            Field::required("address", Email),
            Field::optional("from_name", Text),
            Field::optional("imap_host", Host),
            Field::optional("imap_port", Port),
            Field::optional("imap_security", Security),
            Field::optional("imap_username", Text),
            Field::optional("imap_password", Secret),
            Field::optional("imap_mailbox", Text),
            Field::optional("smtp_host", Host),
            Field::optional("smtp_port", Port),
            Field::optional("smtp_security", Security),
            Field::optional("smtp_username", Text),
            Field::optional("smtp_password", Secret),
        ];
        const WEB_CHAT: &[Field] = &[
            Field::optional("identity_secret", Secret),
            Field::optional("require_identity_verification", Flag),
            Field::optional("allowed_origins", Origins),
            Field::optional("welcome_message", Text),
        ];
        const API: &[Field] = &[
            Field::optional("outbound_url", Url),
            Field::optional("signing_secret", Secret),
        ];
        match self {
            Self::TwilioSms | Self::TwilioWhatsapp => TWILIO,
            Self::Voice => VOICE,
            Self::WhatsappCloud => WHATSAPP,
            Self::Messenger | Self::Instagram => PAGE,
            Self::Email => EMAIL,
            Self::WebChat => WEB_CHAT,
            Self::Api => API,
        }
    }

    /// The provider API's address when the settings name none.
    pub fn default_api_base_url(self) -> Option<&'static str> {
        match self {
            Self::TwilioSms | Self::TwilioWhatsapp | Self::Voice => Some("https://api.twilio.com"),
            Self::WhatsappCloud | Self::Messenger | Self::Instagram => {
                Some("https://graph.facebook.com/v21.0")
            }
            _ => None,
        }
    }

    /// A credential Hilo makes itself when the admin sets none (shown once, on creation).
    pub fn generated_secret(self) -> Option<&'static str> {
        match self {
            Self::WebChat => Some("identity_secret"),
            Self::Api => Some("signing_secret"),
            _ => None,
        }
    }
}

impl fmt::Display for ChannelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for ChannelType {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| {
                Invalid::new(
                    "type",
                    "must be one of web_chat, email, twilio_sms, twilio_whatsapp, \
                     whatsapp_cloud, messenger, instagram, voice, api",
                )
            })
    }
}

/// What a setting's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A credential: sealed at rest, shown masked.
    Secret,
    /// A Twilio SID with its two-letter prefix and 32 hex digits.
    Sid(&'static str),
    Phone,
    Digits,
    Url,
    Email,
    Host,
    Port,
    /// `starttls`, `tls` or `none`.
    Security,
    Flag,
    /// A list of `scheme://host[:port]` origins.
    Origins,
}

/// One setting of a channel type.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

impl Field {
    const fn required(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            required: true,
        }
    }

    const fn optional(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            required: false,
        }
    }
}

/// A channel's settings, checked: what may be shown, and the credentials to seal.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChannelSettings {
    pub public: Map<String, Value>,
    pub secrets: BTreeMap<String, String>,
}

/// Longest text setting.
const MAX_TEXT: usize = 1_000;

impl ChannelSettings {
    /// Checks `given` for a channel of `kind`. With `previous` (a change), the keys given
    /// replace those, `null` removes an optional one, and the others stay.
    pub fn check(
        kind: ChannelType,
        given: &Map<String, Value>,
        previous: Option<&ChannelSettings>,
    ) -> Result<Self, Invalid> {
        let fields = kind.fields();
        let mut out = previous.cloned().unwrap_or_default();
        for (name, value) in given {
            let field_name = format!("settings.{name}");
            let Some(field) = fields.iter().find(|f| f.name == name) else {
                let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
                return Err(Invalid::new(
                    field_name,
                    format!("is not a setting of {kind}; they are {}", known.join(", ")),
                ));
            };
            out.public.remove(name);
            out.secrets.remove(name);
            if value.is_null() {
                if previous.is_none() {
                    return Err(Invalid::new(field_name, "must not be null"));
                }
                continue;
            }
            let checked = check_value(field.kind, value)
                .map_err(|reason| Invalid::new(field_name.clone(), reason))?;
            match field.kind {
                Kind::Secret => {
                    let text = checked.as_str().unwrap_or_default().to_owned();
                    out.secrets.insert(name.clone(), text);
                }
                _ => {
                    out.public.insert(name.clone(), checked);
                }
            }
        }
        for field in fields.iter().filter(|f| f.required) {
            if !out.public.contains_key(field.name) && !out.secrets.contains_key(field.name) {
                return Err(Invalid::new(
                    format!("settings.{}", field.name),
                    format!("is required for {kind}"),
                ));
            }
        }
        if matches!(kind, ChannelType::TwilioSms | ChannelType::TwilioWhatsapp)
            && !out.public.contains_key("phone_number")
            && !out.public.contains_key("messaging_service_sid")
        {
            return Err(Invalid::new(
                "settings.phone_number",
                "name phone_number or messaging_service_sid",
            ));
        }
        if kind == ChannelType::Api
            && let Some(secret) = out.secrets.get("signing_secret")
            && crate::webhooks::SigningSecret::parse(secret).is_err()
        {
            return Err(Invalid::new(
                "settings.signing_secret",
                "must be a Standard Webhooks secret: whsec_ and 24 to 64 bytes in base64",
            ));
        }
        if kind == ChannelType::Voice
            && out.public.contains_key("account_sid") != out.secrets.contains_key("auth_token")
        {
            return Err(Invalid::new(
                "settings.auth_token",
                "give account_sid and auth_token together, for Twilio's voice webhooks",
            ));
        }
        Ok(out)
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.public.get(name).and_then(Value::as_str)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.public
            .get(name)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    pub fn secret(&self, name: &str) -> Option<&str> {
        self.secrets.get(name).map(String::as_str)
    }

    /// The settings as an admin sees them: credentials masked.
    pub fn shown(&self) -> Map<String, Value> {
        let mut shown = self.public.clone();
        for (name, secret) in &self.secrets {
            shown.insert(name.clone(), Value::from(crate::sealing::masked(secret)));
        }
        shown
    }

    /// The address the channel receives for, by which inbound mail and calls find it.
    pub fn address(&self, kind: ChannelType) -> Option<String> {
        let name = match kind {
            ChannelType::Email => "address",
            ChannelType::TwilioSms | ChannelType::TwilioWhatsapp | ChannelType::Voice => {
                "phone_number"
            }
            ChannelType::WhatsappCloud => "phone_number_id",
            ChannelType::Messenger | ChannelType::Instagram => "page_id",
            ChannelType::WebChat | ChannelType::Api => return None,
        };
        self.text(name).map(str::to_owned)
    }

    /// The provider API's base URL, without a trailing slash.
    pub fn api_base_url(&self, kind: ChannelType) -> Option<String> {
        self.text("api_base_url")
            .or(kind.default_api_base_url())
            .map(|url| url.trim_end_matches('/').to_owned())
    }
}

fn check_value(kind: Kind, value: &Value) -> Result<Value, String> {
    if let Kind::Flag = kind {
        return value
            .as_bool()
            .map(Value::from)
            .ok_or_else(|| "must be true or false".to_owned());
    }
    if let Kind::Port = kind {
        return value
            .as_u64()
            .filter(|p| (1..=65_535).contains(p))
            .map(Value::from)
            .ok_or_else(|| "must be a port number from 1 to 65535".to_owned());
    }
    if let Kind::Origins = kind {
        let list = value
            .as_array()
            .ok_or_else(|| "must be a list of origins".to_owned())?;
        if list.len() > 50 {
            return Err("must list at most 50 origins".into());
        }
        let mut origins = Vec::with_capacity(list.len());
        for origin in list {
            let text = origin.as_str().unwrap_or_default().to_ascii_lowercase();
            let parsed = url::Url::parse(&text).ok().filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && !text.ends_with('/')
            });
            if parsed.is_none() {
                return Err(
                    "each origin must be scheme://host[:port], such as https://shop.example.com"
                        .into(),
                );
            }
            origins.push(Value::from(text));
        }
        return Ok(Value::from(origins));
    }
    let raw = value
        .as_str()
        .ok_or_else(|| "must be a string".to_owned())?;
    // Free text is trimmed; identifiers, addresses and URLs must be exact.
    let text = match kind {
        Kind::Text | Kind::Secret => raw.trim(),
        _ => raw,
    };
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    if text.chars().count() > MAX_TEXT || text.chars().any(char::is_control) {
        return Err(format!(
            "must be at most {MAX_TEXT} characters, without control characters"
        ));
    }
    let ok = match kind {
        Kind::Text | Kind::Secret => true,
        Kind::Sid(prefix) => {
            text.len() == 34
                && text.starts_with(prefix)
                && text[2..].chars().all(|c| c.is_ascii_hexdigit())
        }
        Kind::Phone => {
            return crate::customers::identity::normalize_phone(text, "ZZ")
                .map(Value::from)
                .map_err(|_| "must be a phone number in E.164, such as +34600000000".into());
        }
        Kind::Digits => text.len() <= 40 && text.chars().all(|c| c.is_ascii_digit()),
        Kind::Url => url::Url::parse(text)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some()),
        Kind::Email => {
            return text
                .parse::<crate::EmailAddress>()
                .map(|e| Value::from(e.to_string()))
                .map_err(|_| "must be an email address".into());
        }
        Kind::Host => {
            text.len() <= 253
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        }
        Kind::Security => matches!(text, "starttls" | "tls" | "none"),
        Kind::Flag | Kind::Port | Kind::Origins => unreachable!("checked above"),
    };
    if !ok {
        let reason = match kind {
            Kind::Sid(prefix) => format!("must be {prefix} followed by 32 hexadecimal digits"),
            Kind::Digits => "must be the provider's numeric id".into(),
            Kind::Url => "must be an http(s) URL".into(),
            Kind::Host => "must be a host name or address".into(),
            Kind::Security => "must be starttls, tls or none".into(),
            _ => "is not valid".into(),
        };
        return Err(reason);
    }
    Ok(Value::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    #[test]
    fn twilio_settings_are_checked_and_credentials_split_out() {
        let settings = ChannelSettings::check(
            ChannelType::TwilioSms,
            &map(json!({"account_sid": SID, "auth_token": " tok-secret-1234 ", "phone_number": "+34 600 111 222"})),
            None,
        )
        .unwrap();
        assert_eq!(settings.text("phone_number"), Some("+34600111222"));
        assert_eq!(settings.secret("auth_token"), Some("tok-secret-1234"));
        assert!(!settings.public.contains_key("auth_token"));
        assert_eq!(settings.shown()["auth_token"], "••••1234");
        assert_eq!(
            settings.api_base_url(ChannelType::TwilioSms).as_deref(),
            Some("https://api.twilio.com")
        );
        assert_eq!(
            settings.address(ChannelType::TwilioSms).as_deref(),
            Some("+34600111222")
        );
    }

    #[test]
    fn missing_unknown_and_malformed_settings_name_the_field() {
        let cases = [
            (
                json!({"auth_token": "t", "phone_number": "+34600111222"}),
                "settings.account_sid",
            ),
            (
                json!({"account_sid": SID, "auth_token": "t"}),
                "settings.phone_number",
            ),
            (
                json!({"account_sid": "AC12", "auth_token": "t", "phone_number": "+34600111222"}),
                "settings.account_sid",
            ),
            (
                json!({"account_sid": SID, "auth_token": "t", "phone_number": "+34600111222", "colour": "red"}),
                "settings.colour",
            ),
            (
                json!({"account_sid": SID, "auth_token": "t", "phone_number": "+34600111222", "api_base_url": "ftp://x"}),
                "settings.api_base_url",
            ),
            (
                json!({"account_sid": SID, "auth_token": 5, "phone_number": "+34600111222"}),
                "settings.auth_token",
            ),
        ];
        for (given, field) in cases {
            let error = ChannelSettings::check(ChannelType::TwilioSms, &map(given.clone()), None)
                .unwrap_err();
            assert_eq!(error.field, field, "{given}");
        }
    }

    #[test]
    fn a_change_keeps_what_it_does_not_name() {
        let first = ChannelSettings::check(
            ChannelType::WhatsappCloud,
            &map(json!({"app_secret": "a", "verify_token": "v", "access_token": "t", "phone_number_id": "1055"})),
            None,
        )
        .unwrap();
        let changed = ChannelSettings::check(
            ChannelType::WhatsappCloud,
            &map(json!({"access_token": "t2", "api_base_url": "http://127.0.0.1:9/"})),
            Some(&first),
        )
        .unwrap();
        assert_eq!(changed.secret("app_secret"), Some("a"));
        assert_eq!(changed.secret("access_token"), Some("t2"));
        assert_eq!(
            changed.api_base_url(ChannelType::WhatsappCloud).as_deref(),
            Some("http://127.0.0.1:9")
        );
        let error = ChannelSettings::check(
            ChannelType::WhatsappCloud,
            &map(json!({"app_secret": null})),
            Some(&first),
        )
        .unwrap_err();
        assert_eq!(error.field, "settings.app_secret");
    }

    #[test]
    fn origins_are_bare_origins() {
        let ok = ChannelSettings::check(
            ChannelType::WebChat,
            &map(json!({"allowed_origins": ["https://Shop.example.com", "http://127.0.0.1:8080"]})),
            None,
        )
        .unwrap();
        assert_eq!(
            ok.public["allowed_origins"],
            json!(["https://shop.example.com", "http://127.0.0.1:8080"])
        );
        for bad in [
            json!(["https://shop.example.com/path"]),
            json!(["javascript:alert(1)"]),
            json!("x"),
        ] {
            assert!(
                ChannelSettings::check(
                    ChannelType::WebChat,
                    &map(json!({"allowed_origins": bad})),
                    None
                )
                .is_err()
            );
        }
    }

    #[test]
    fn type_names_round_trip() {
        for kind in ChannelType::ALL {
            assert_eq!(kind.as_str().parse::<ChannelType>(), Ok(kind));
        }
        assert_eq!("fax".parse::<ChannelType>().unwrap_err().field, "type");
    }
}
