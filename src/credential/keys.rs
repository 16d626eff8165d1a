//! Generated AK/SK pairs and the CIDR allow-list: pure functions.

use std::net::IpAddr;

use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;

/// SODA's shape: 16 alphanumeric characters (about 95 bits), from the OS
/// CSPRNG (SODA itself used an unseeded math/rand: not copied).
pub fn generate_access_key() -> String {
    Alphanumeric.sample_string(&mut OsRng, 16)
}

/// SODA's shape: 32 alphanumeric characters (about 190 bits).
pub fn generate_secret_key() -> String {
    Alphanumeric.sample_string(&mut OsRng, 32)
}

/// Parses `ADDR/PREFIX` or a bare address (a /32 or /128) into its
/// canonical text. IPv4 and IPv6.
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = match text.trim().split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text.trim(), None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 => {
            p.parse::<u8>().ok()?
        }
        Some(_) => return None,
        None => max,
    };
    (prefix <= max).then_some((addr, prefix))
}

/// True when `ip` lies inside `ADDR/PREFIX`. IPv4-mapped IPv6 addresses
/// (`::ffff:10.9.9.9`) count as the IPv4 address they carry, on both sides.
pub fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let Some((net, prefix)) = parse_cidr(cidr) else {
        return false;
    };
    let (net, prefix) = match net {
        IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => (IpAddr::V4(v4), prefix - 96),
            None => (net, prefix),
        },
        _ => (net, prefix),
    };
    // The prefix was checked against the address family by `parse_cidr`.
    ipnet::IpNet::new(net, prefix).is_ok_and(|n| n.contains(&ip.to_canonical()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_sodas_shape_and_differ() {
        let a = generate_access_key();
        let s = generate_secret_key();
        assert_eq!(a.len(), 16);
        assert_eq!(s.len(), 32);
        assert!(a
            .bytes()
            .chain(s.bytes())
            .all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(generate_access_key(), a);
    }

    #[test]
    fn cidrs() {
        assert!(parse_cidr("10.0.0.0/8").is_some());
        assert!(parse_cidr("2001:db8::/32").is_some());
        assert!(parse_cidr("192.168.1.7").is_some());
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "x/8",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "::/129",
            "",
        ] {
            assert!(parse_cidr(bad).is_none(), "{bad}");
        }
        assert!(cidr_contains("10.0.0.0/8", "10.9.8.7".parse().unwrap()));
        assert!(!cidr_contains("10.0.0.0/8", "11.0.0.1".parse().unwrap()));
        assert!(cidr_contains("0.0.0.0/0", "1.2.3.4".parse().unwrap()));
        assert!(cidr_contains(
            "2001:db8::/32",
            "2001:db8::1".parse().unwrap()
        ));
        assert!(!cidr_contains("2001:db8::/32", "10.0.0.1".parse().unwrap()));
        assert!(cidr_contains("192.168.1.7", "192.168.1.7".parse().unwrap()));
        // IPv4-mapped IPv6 is the IPv4 address, on either side.
        assert!(cidr_contains(
            "10.0.0.0/8",
            "::ffff:10.9.9.9".parse().unwrap()
        ));
        assert!(!cidr_contains(
            "10.0.0.0/8",
            "::ffff:11.9.9.9".parse().unwrap()
        ));
        assert!(cidr_contains(
            "::ffff:10.0.0.0/104",
            "10.9.9.9".parse().unwrap()
        ));
    }
}
