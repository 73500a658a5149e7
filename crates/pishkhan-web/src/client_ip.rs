//! Which address a request comes from, for the audit log and the per-address limits.
//!
//! Behind a load balancer every request's peer is the balancer, so every citizen would share
//! one address's limits. A balancer named with `--trusted-proxy` is believed about the client
//! it forwards for: the client is the rightmost address in `X-Forwarded-For` that is not
//! itself a trusted proxy (each proxy appends the peer it saw, so the addresses left of that
//! one are whatever the client chose to send). A request from any other peer is taken at its
//! peer address, whatever headers it carries: a client cannot name itself someone else.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// Most proxies one deployment may trust; more is a configuration mistake.
pub const MAX_TRUSTED_PROXIES: usize = 64;
/// Most `X-Forwarded-For` addresses read from the right: a chain longer than this names no
/// client we can believe anyway.
const MAX_HOPS: usize = 16;

/// One trusted network: an address and its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    net: IpAddr,
    prefix: u8,
}

impl TrustedProxy {
    /// `10.0.0.5`, `10.0.0.0/8`, `::1` or `fd00::/8`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or network"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The client behind `peer`, believing `X-Forwarded-For` only from `trusted` peers.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[TrustedProxy]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    hops.reverse();
    let mut client = peer;
    for hop in hops.into_iter().take(MAX_HOPS) {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            // A malformed entry: nothing to its left can be believed.
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_its_own_client_whatever_it_claims() {
        let trusted = [TrustedProxy::parse("10.0.0.0/8").unwrap()];
        let h = headers(&["1.2.3.4"]);
        assert_eq!(client_ip(ip("5.6.7.8"), &h, &trusted), ip("5.6.7.8"));
        assert_eq!(client_ip(ip("5.6.7.8"), &h, &[]), ip("5.6.7.8"));
    }

    #[test]
    fn a_trusted_proxy_names_the_rightmost_untrusted_address() {
        let trusted = [
            TrustedProxy::parse("10.0.0.0/8").unwrap(),
            TrustedProxy::parse("127.0.0.1").unwrap(),
        ];
        // The client sent a made-up address first; the proxies appended what they saw.
        let h = headers(&["9.9.9.9, 1.2.3.4", "10.1.1.1"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted), ip("1.2.3.4"));
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers(&[]), &trusted),
            ip("127.0.0.1")
        );
        // Garbage stops the walk at the last address believed.
        let h = headers(&["1.2.3.4, nonsense", "10.1.1.1"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted), ip("10.1.1.1"));
        // IPv6 and IPv4-mapped peers.
        let v6 = [TrustedProxy::parse("fd00::/8").unwrap()];
        let h = headers(&["2001:db8::1"]);
        assert_eq!(client_ip(ip("fd00::5"), &h, &v6), ip("2001:db8::1"));
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &headers(&["1.2.3.4"]), &trusted),
            ip("1.2.3.4")
        );
    }

    #[test]
    fn networks_parse_strictly() {
        assert!(TrustedProxy::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxy::parse("10.0.0/8").is_err());
        assert!(TrustedProxy::parse("fd00::/129").is_err());
        let all = TrustedProxy::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        let one = TrustedProxy::parse("192.168.1.7").unwrap();
        assert!(one.contains(ip("192.168.1.7")) && !one.contains(ip("192.168.1.8")));
    }
}
