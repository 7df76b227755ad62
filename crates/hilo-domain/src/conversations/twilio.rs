//! Twilio's rules that need no I/O: the `X-Twilio-Signature` of a webhook, addresses
//! written `whatsapp:+E164`, and the delivery states its status callbacks report.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};

use super::MessageStatus;

type HmacSha1 = hmac::Hmac<sha1::Sha1>;

/// The signature Twilio sends with a webhook it posted to `url` (the full URL it was
/// given, query included) with the form `params`: base64 HMAC-SHA1 under the auth
/// token, of the URL followed by each parameter's name and value, sorted by name
/// (and, for a repeated name, by value).
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = <HmacSha1 as KeyInit>::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(url.as_bytes());
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `header` is Twilio's signature of this request. Twilio's own validators
/// accept the URL with and without its default port (`:443`), since proxies differ in
/// which they pass on; so does this.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], header: &str) -> bool {
    let header = header.trim();
    if header.is_empty() || auth_token.is_empty() {
        return false;
    }
    url_variants(url).iter().any(|candidate| {
        crate::secret::constant_time_eq(&signature(auth_token, candidate, params), header)
    })
}

/// The URL as given, with its default port added, and with its port removed.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Ok(parsed) = url::Url::parse(url) else {
        return variants;
    };
    let Some(host) = parsed.host_str() else {
        return variants;
    };
    let scheme = parsed.scheme();
    let rest = &url[url.find(host).map_or(url.len(), |i| i + host.len())..];
    let after_port = match rest.strip_prefix(':') {
        Some(port_and_path) => {
            let end = port_and_path
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(port_and_path.len());
            &port_and_path[end..]
        }
        None => rest,
    };
    let prefix = &url[..url.find(host).unwrap_or(0)];
    let default_port = if scheme == "https" { 443 } else { 80 };
    variants.push(format!("{prefix}{host}:{default_port}{after_port}"));
    variants.push(format!("{prefix}{host}{after_port}"));
    variants.sort();
    variants.dedup();
    variants
}

/// An address in a Twilio message: `whatsapp:+34600111222`, or a bare number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address<'a> {
    pub whatsapp: bool,
    pub number: &'a str,
}

pub fn address(text: &str) -> Address<'_> {
    match text.trim().strip_prefix("whatsapp:") {
        Some(number) => Address {
            whatsapp: true,
            number: number.trim(),
        },
        None => Address {
            whatsapp: false,
            number: text.trim(),
        },
    }
}

/// What a `MessageStatus` (or `SmsStatus`) of a status callback means here; `None` for
/// the states on Twilio's side that say nothing new (`accepted`, `scheduled`, …).
pub fn status(reported: &str) -> Option<MessageStatus> {
    Some(match reported {
        "queued" | "sending" => MessageStatus::Queued,
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" => MessageStatus::Read,
        "failed" | "undelivered" | "canceled" => MessageStatus::Failed,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The value the `twilio` Python package (9.13.0) computes for the same request.
    #[test]
    fn signs_as_twilio_documents() {
        let url = "https://example.com/myapp.php?foo=1&bar=2";
        let form = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        let token = "12345";
        assert_eq!(signature(token, url, &form), "vNe7KK2kJwCsxc9K3OLkkKB3qqI=");
        assert!(verify(token, url, &form, "vNe7KK2kJwCsxc9K3OLkkKB3qqI="));
        assert!(verify(
            token,
            "https://example.com:443/myapp.php?foo=1&bar=2",
            &form,
            "vNe7KK2kJwCsxc9K3OLkkKB3qqI="
        ));
        assert!(!verify(token, url, &form, "vNe7KK2kJwCsxc9K3OLkkKB3qqI"));
        assert!(!verify("54321", url, &form, "vNe7KK2kJwCsxc9K3OLkkKB3qqI="));
        assert!(!verify(
            token,
            url,
            &params(&[("Digits", "1235")]),
            "vNe7KK2kJwCsxc9K3OLkkKB3qqI="
        ));
        assert!(!verify(token, url, &form, ""));
    }

    #[test]
    fn url_variants_add_and_remove_the_default_port() {
        assert_eq!(
            url_variants("https://h.example/p?q=1"),
            ["https://h.example/p?q=1", "https://h.example:443/p?q=1"]
        );
        assert_eq!(
            url_variants("http://127.0.0.1:80/x"),
            ["http://127.0.0.1/x", "http://127.0.0.1:80/x"]
        );
    }

    #[test]
    fn addresses_and_statuses() {
        assert_eq!(
            address("whatsapp:+34600111222"),
            Address {
                whatsapp: true,
                number: "+34600111222"
            }
        );
        assert!(!address("+34600111222").whatsapp);
        assert_eq!(status("undelivered"), Some(MessageStatus::Failed));
        assert_eq!(status("read"), Some(MessageStatus::Read));
        assert_eq!(status("accepted"), None);
    }
}
