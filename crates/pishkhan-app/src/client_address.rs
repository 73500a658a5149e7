//! Which clients count as one for a per-address limit.
//!
//! An IPv4 address is one client. An IPv6 client is its /64: one subscriber usually holds a
//! whole /64 and can send from any of its 2^64 addresses, so a limit keyed by the full
//! address would limit nothing.

use std::net::IpAddr;

/// The key of `ip` (the peer address of the request) in per-address limits. Requests
/// without one (no socket behind them) share one key.
pub(crate) fn limit_key(ip: Option<&str>) -> String {
    match ip.map(str::parse::<IpAddr>) {
        Some(Ok(IpAddr::V4(v4))) => v4.to_string(),
        Some(Ok(IpAddr::V6(v6))) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        // Not an address we were given by a socket: bounded, but never trusted as one.
        Some(Err(_)) | None => "-".to_string(),
    }
}
