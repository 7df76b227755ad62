//! Who is on the other end: the peer's address, or, when the peer is a reverse proxy
//! the operator trusts (`--trusted-proxies`), the client `X-Forwarded-For` names. The
//! header is read right to left, past the trusted proxies, so a client cannot pose as
//! another by writing the header itself.

use std::net::IpAddr;

/// Addresses and networks (`10.0.0.0/8`, `::1`) whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<(IpAddr, u8)>,
}

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR networks.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut networks = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (address, bits) = match entry.split_once('/') {
                Some((address, bits)) => (address, Some(bits)),
                None => (entry, None),
            };
            let address: IpAddr = address
                .parse()
                .map_err(|_| format!("{entry:?} is not an IP address or network"))?;
            let longest = if address.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => longest,
                Some(bits) => bits
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= longest)
                    .ok_or_else(|| format!("{entry:?} has no valid prefix length"))?,
            };
            networks.push((address, bits));
        }
        Ok(Self { networks })
    }

    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.networks
            .iter()
            .any(|(network, bits)| in_network(ip, canonical(*network), *bits))
    }

    /// The client's address for a request from `peer` carrying `forwarded_for`.
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let Some(header) = forwarded_for else {
            return peer;
        };
        let mut client = peer;
        for hop in header.rsplit(',').map(str::trim) {
            let Ok(hop) = hop.parse::<IpAddr>() else {
                // A hop that is no address: nothing further left is believable.
                break;
            };
            client = hop;
            if !self.contains(hop) {
                break;
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses compare as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_network(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_trusted_peers_are_believed_and_only_past_trusted_hops() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.168.1.5, ::1").unwrap();
        assert!(trusted.contains(ip("10.20.30.40")));
        assert!(trusted.contains(ip("::ffff:10.1.2.3")));
        assert!(!trusted.contains(ip("11.0.0.1")));
        // A direct client's header is ignored.
        assert_eq!(
            trusted.client(ip("203.0.113.9"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
        // Through the proxy: the last address before the trusted hops.
        assert_eq!(
            trusted.client(ip("10.0.0.2"), Some("203.0.113.9")),
            ip("203.0.113.9")
        );
        assert_eq!(
            trusted.client(ip("10.0.0.2"), Some("6.6.6.6, 203.0.113.9, 10.0.0.7")),
            ip("203.0.113.9"),
            "a forged first entry is not believed"
        );
        assert_eq!(trusted.client(ip("10.0.0.2"), Some("junk")), ip("10.0.0.2"));
        assert_eq!(trusted.client(ip("10.0.0.2"), None), ip("10.0.0.2"));
        assert_eq!(
            trusted.client(ip("::1"), Some("2001:db8::7")),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in ["10.0.0.0/33", "proxy.example.com", "::1/129", "1.2.3"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
    }
}
