//! Where a webhook may go. An endpoint's URL is an admin's input that makes the server
//! send requests: without a check it would reach the server's own loopback, the private
//! network behind it, or a cloud's metadata service (server-side request forgery). The
//! URL is checked when it is saved (address literals, and names that only exist on this
//! machine or network), and every address its host resolves to is checked before each
//! delivery, on the connection itself, so a name that points inward is refused then.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::Invalid;

/// Longest URL accepted.
const MAX_URL_LEN: usize = 2_000;

/// Whether private destinations are allowed (`--webhook-allow-private`): for receivers
/// on the same host or network, and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    PublicOnly,
    AllowPrivate,
}

impl AddressPolicy {
    /// Whether a delivery may connect to `address`.
    pub fn allows(self, address: IpAddr) -> bool {
        self == Self::AllowPrivate || is_public(address)
    }
}

/// A webhook endpoint's URL, parsed: http or https, a host, no credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination(Url);

impl Destination {
    pub fn parse(text: &str, policy: AddressPolicy) -> Result<Self, Invalid> {
        let invalid = |reason: &str| Invalid::new("url", reason);
        if text.len() > MAX_URL_LEN {
            return Err(invalid("must be at most 2000 characters"));
        }
        let text = text.trim();
        let url = Url::parse(text).map_err(|_| invalid("is not a valid URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("must start with https:// or http://"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "must not carry credentials; receivers check the signature instead",
            ));
        }
        if !text.is_ascii() || !host_as_written(text, &url) {
            return Err(invalid(
                "must name its host as letters, digits, hyphens and dots, or as an IPv4 \
                 address in dotted decimal or a bracketed IPv6 address",
            ));
        }
        let destination = Self(url);
        match destination.ip_literal() {
            Some(address) if !policy.allows(address) => Err(refused(address)),
            Some(_) => Ok(destination),
            None if destination.host().is_empty() => Err(invalid("must name a host")),
            None if policy == AddressPolicy::PublicOnly && is_internal_name(destination.host()) => {
                Err(Invalid::new(
                    "url",
                    format!(
                        "names {}, a host on this machine or its private network; webhooks go \
                         to public hosts unless the server runs with --webhook-allow-private",
                        destination.host()
                    ),
                ))
            }
            None => Ok(destination),
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host name to resolve (empty for an address literal).
    pub fn host(&self) -> &str {
        match self.0.host() {
            Some(Host::Domain(name)) => name,
            _ => "",
        }
    }

    /// The address when the URL names one instead of a host name.
    pub fn ip_literal(&self) -> Option<IpAddr> {
        match self.0.host()? {
            Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            Host::Domain(_) => None,
        }
    }
}

/// Whether the URL's host is written plainly: the parser neither converted it (from
/// Unicode, percent-escapes, or an IPv4 address in another notation) nor let through
/// characters no DNS name has, so what an admin reads is what is contacted.
fn host_as_written(text: &str, url: &Url) -> bool {
    let after_scheme = text.split_once("://").map_or("", |(_, rest)| rest);
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host_and_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let written = match host_and_port.split_once(']') {
        Some((v6, _)) if v6.starts_with('[') => &host_and_port[..v6.len() + 1],
        _ => host_and_port.split(':').next().unwrap_or_default(),
    };
    match url.host() {
        Some(Host::Domain(domain)) => {
            written.eq_ignore_ascii_case(domain)
                && domain.split('.').all(|label| {
                    label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        }
        Some(Host::Ipv4(address)) => written == address.to_string(),
        Some(Host::Ipv6(_)) => written.starts_with('['),
        None => false,
    }
}

/// Names that only mean something on this machine or its network: `localhost`, names
/// of one label (`crm`), and the suffixes reserved for local and private use. Other
/// names are checked by the addresses they resolve to, when a delivery connects.
fn is_internal_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    !host.contains('.')
        || [
            ".localhost",
            ".local",
            ".internal",
            ".lan",
            ".home.arpa",
            ".localdomain",
        ]
        .iter()
        .any(|suffix| host.ends_with(suffix))
}

/// The error for a destination the policy refuses.
pub fn refused(address: IpAddr) -> Invalid {
    Invalid::new(
        "url",
        format!(
            "resolves to {address}, a loopback, private, link-local or otherwise internal \
             address; webhooks go to public addresses unless the server runs with \
             --webhook-allow-private"
        ),
    )
}

/// Whether an address is on the public internet: not loopback, private, link-local
/// (where cloud metadata services answer), shared (carrier NAT), unspecified,
/// multicast, broadcast, documentation, benchmarking or reserved.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    let internal = address.is_unspecified()
        || address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_documentation()
        || a == 0
        // Shared address space (carrier-grade NAT; one cloud's metadata service).
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments.
        || (a == 192 && b == 0 && c == 0)
        // Benchmarking.
        || (a == 198 && (18..20).contains(&b))
        // Reserved for future use.
        || a >= 240;
    !internal
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    let first = address.segments()[0];
    let internal = address.is_unspecified()
        || address.is_loopback()
        || address.is_multicast()
        // Unique local (fc00::/7), where another cloud's metadata service answers.
        || (first & 0xfe00) == 0xfc00
        // Link-local (fe80::/10).
        || (first & 0xffc0) == 0xfe80
        // Documentation (2001:db8::/32).
        || (first == 0x2001 && address.segments()[1] == 0x0db8)
        // IPv4-compatible and translated forms of internal v4 addresses are not worth
        // telling apart: refuse the whole ::/96 and 64:ff9b::/96.
        || address.segments()[..6].iter().all(|s| *s == 0)
        || (first == 0x0064 && address.segments()[1] == 0xff9b);
    !internal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn internal_addresses_are_refused() {
        for text in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.0.170",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "ff02::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip(text)), "{text} should be internal");
            assert!(AddressPolicy::AllowPrivate.allows(ip(text)));
        }
    }

    #[test]
    fn public_addresses_pass() {
        for text in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
        ] {
            assert!(is_public(ip(text)), "{text} should be public");
        }
    }

    #[test]
    fn urls_are_checked() {
        let public = AddressPolicy::PublicOnly;
        assert!(Destination::parse("https://hooks.example.com/in", public).is_ok());
        assert!(Destination::parse("http://8.8.8.8:8080/x", public).is_ok());
        for (text, why) in [
            ("ftp://example.com/", "https://"),
            ("not a url", "valid URL"),
            ("https://user:pw@example.com/", "credentials"),
            ("http://127.0.0.1:9000/", "loopback"),
            ("http://[::1]/", "loopback"),
            ("http://169.254.169.254/latest/meta-data/", "link-local"),
            ("http://0x7f000001/", "IPv4 address in dotted decimal"),
            ("http://exa*mple.com/", "letters, digits"),
            ("http://bücher.example/", "letters, digits"),
            ("http://localhost:8080/", "this machine"),
            ("http://crm/hooks", "this machine"),
            ("https://metadata.google.internal/", "this machine"),
            ("https://printer.local/", "this machine"),
        ] {
            let error = Destination::parse(text, public)
                .err()
                .unwrap_or_else(|| panic!("{text} should be refused"));
            assert_eq!(error.field, "url");
            assert!(error.reason.contains(why), "{text}: {}", error.reason);
        }
        let local = Destination::parse("http://127.0.0.1:9000/", AddressPolicy::AllowPrivate)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(local.ip_literal(), Some(ip("127.0.0.1")));
        let named =
            Destination::parse("https://example.com/h", public).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(named.host(), "example.com");
    }
}
