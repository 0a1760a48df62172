//! Which addresses a key URL may reach, checked on every address actually connected to.
//!
//! Two doors lead to a socket and both are guarded here:
//! * host names go through [`GuardedResolver`], the DNS resolver reqwest uses at connect time,
//!   so what is checked is exactly what is connected to (no DNS rebinding window);
//! * IP-literal hosts (`127.0.0.1`, `[::1]`, and everything the URL parser normalises to an
//!   IPv4 literal: `2130706433`, `127.1`, `0x7f.1` …) never reach a resolver, so
//!   [`check_url`] refuses them before a request is made, and again on every redirect hop.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

use super::KeyFetchError;

/// What kind of network an address belongs to. Only [`AddressClass::Public`] is reachable
/// without `--allow-private-key-urls`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// Globally routable unicast.
    Public,
    /// RFC 1918 IPv4 (10/8, 172.16/12, 192.168/16), IPv6 unique-local fc00::/7 and the
    /// deprecated site-local fec0::/10.
    Private,
    /// 127.0.0.0/8 and ::1.
    Loopback,
    /// 169.254.0.0/16 (cloud metadata lives here) and fe80::/10.
    LinkLocal,
    /// Everything else that is not globally routable unicast: unspecified, "this network"
    /// 0.0.0.0/8, CGNAT 100.64/10, IETF protocol assignments, documentation and benchmarking
    /// ranges, multicast, broadcast, reserved 240/4, IPv6 outside 2000::/3, Teredo, …
    Internal,
}

impl AddressClass {
    pub fn is_public(self) -> bool {
        self == AddressClass::Public
    }

    /// "a loopback address", "a private address" … for error sentences.
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Private => "a private address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Internal => "an internal (non-routable or reserved) address",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressClass::Public => "public",
            AddressClass::Private => "private",
            AddressClass::Loopback => "loopback",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Internal => "internal",
        })
    }
}

/// Classifies an address. IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`,
/// IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the
/// embedded IPv4 address.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: u32, net: [u8; 4], prefix: u32) -> bool {
    let net = u32::from_be_bytes(net);
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    ip & mask == net & mask
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    let n = u32::from(ip);
    // (network, prefix, class), most specific first where ranges nest.
    const TABLE: &[([u8; 4], u32, AddressClass)] = &[
        ([127, 0, 0, 0], 8, Loopback),
        ([10, 0, 0, 0], 8, Private),
        ([172, 16, 0, 0], 12, Private),
        ([192, 168, 0, 0], 16, Private),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([0, 0, 0, 0], 8, Internal),      // "this network", incl. 0.0.0.0
        ([100, 64, 0, 0], 10, Internal),  // carrier-grade NAT
        ([192, 0, 0, 0], 24, Internal),   // IETF protocol assignments
        ([192, 0, 2, 0], 24, Internal),   // TEST-NET-1
        ([192, 88, 99, 0], 24, Internal), // 6to4 relay anycast (deprecated)
        ([198, 18, 0, 0], 15, Internal),  // benchmarking
        ([198, 51, 100, 0], 24, Internal), // TEST-NET-2
        ([203, 0, 113, 0], 24, Internal), // TEST-NET-3
        ([224, 0, 0, 0], 4, Internal),    // multicast
        ([240, 0, 0, 0], 4, Internal),    // reserved, incl. 255.255.255.255
    ];
    for (net, prefix, class) in TABLE {
        if in_v4(n, *net, *prefix) {
            return *class;
        }
    }
    Public
}

fn in_v6(ip: u128, net: u128, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    ip & mask == net & mask
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    let n = u128::from(ip);
    if ip.is_unspecified() {
        return Internal;
    }
    if ip.is_loopback() {
        return Loopback;
    }
    // Forms that embed an IPv4 address in the low 32 bits: judge the IPv4 address.
    let low32 = Ipv4Addr::from((n & 0xffff_ffff) as u32);
    if in_v6(n, 0xffff_0000_0000, 96) // ::ffff:a.b.c.d  IPv4-mapped
        || in_v6(n, 0, 96) // ::a.b.c.d  IPv4-compatible (deprecated)
        || in_v6(n, 0x0064_ff9b_u128 << 96, 96)
    // 64:ff9b::a.b.c.d  NAT64 well-known prefix
    {
        return classify_v4(low32);
    }
    // 6to4: 2002:AABB:CCDD::/48 carries a.b.c.d in bits 16..48.
    if in_v6(n, 0x2002_u128 << 112, 16) {
        let embedded = Ipv4Addr::from(((n >> 80) & 0xffff_ffff) as u32);
        return classify_v4(embedded);
    }
    if in_v6(n, 0xfc00_u128 << 112, 7) || in_v6(n, 0xfec0_u128 << 112, 10) {
        return Private;
    }
    if in_v6(n, 0xfe80_u128 << 112, 10) {
        return LinkLocal;
    }
    // Only 2000::/3 is global unicast; inside it, carve out the special-purpose blocks.
    if !in_v6(n, 0x2000_u128 << 112, 3) {
        return Internal; // multicast ff00::/8, discard 100::/64, 64:ff9b:1::/48, reserved …
    }
    const SPECIAL: &[(u128, u32)] = &[
        (0x2001_u128 << 112, 23), // IETF protocol assignments incl. Teredo 2001::/32
        (0x2001_0db8_u128 << 96, 32), // documentation
        (0x3fff_u128 << 112, 20), // documentation (RFC 9637)
    ];
    if SPECIAL.iter().any(|(net, p)| in_v6(n, *net, *p)) {
        return Internal;
    }
    Public
}

/// The address rule: may a connection go to `ip`?
pub(crate) fn check_ip(ip: IpAddr, allow_private: bool) -> Result<(), KeyFetchError> {
    let class = classify(ip);
    if class.is_public() || allow_private {
        Ok(())
    } else {
        Err(KeyFetchError::PrivateAddress { addr: ip, class })
    }
}

/// Parses a key URL and applies every rule that can be checked without the network:
/// http/https only, no user name or password, a host, and for IP-literal hosts the address rule.
pub(crate) fn check_url_str(raw: &str, allow_private: bool) -> Result<Url, KeyFetchError> {
    let raw = raw.trim();
    let url = Url::parse(raw).map_err(|e| KeyFetchError::BadUrl {
        reason: e.to_string(),
    })?;
    check_url(&url, allow_private)?;
    Ok(url)
}

/// The network-free rules on an already parsed URL (also applied to each redirect hop).
pub(crate) fn check_url(url: &Url, allow_private: bool) -> Result<(), KeyFetchError> {
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(KeyFetchError::BadScheme {
                scheme: other.to_string(),
            })
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(KeyFetchError::UserInfo);
    }
    match url.host() {
        None => Err(KeyFetchError::BadUrl {
            reason: "it has no host".into(),
        }),
        Some(Host::Ipv4(v4)) => check_ip(IpAddr::V4(v4), allow_private),
        Some(Host::Ipv6(v6)) => check_ip(IpAddr::V6(v6), allow_private),
        Some(Host::Domain(d)) => {
            // The URL parser turns every IPv4 spelling of http(s) hosts into Host::Ipv4; this is a
            // second net in case a literal ever slips through as a "domain".
            if let Ok(ip) = d.trim_end_matches('.').parse::<IpAddr>() {
                check_ip(ip, allow_private)
            } else {
                Ok(())
            }
        }
    }
}

/// reqwest's DNS resolver for key URLs: resolves with the system resolver (via tokio) and keeps
/// only the addresses the address rule allows. Because reqwest connects to exactly the addresses
/// returned here, the rule holds at connect time whatever the DNS answers later.
#[derive(Clone, Debug)]
pub(crate) struct GuardedResolver {
    pub(crate) allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let lookup = tokio::net::lookup_host((host.clone(), 0u16)).await;
            let found: Vec<SocketAddr> = match lookup {
                Ok(addrs) => addrs.collect(),
                Err(_) => return Err(Box::new(KeyFetchError::Dns { host }) as _),
            };
            if found.is_empty() {
                return Err(Box::new(KeyFetchError::Dns { host }) as _);
            }
            let mut refused = None;
            let mut allowed = Vec::with_capacity(found.len());
            for addr in found {
                match check_ip(addr.ip(), allow_private) {
                    Ok(()) => allowed.push(addr),
                    Err(e) => {
                        refused.get_or_insert(e);
                    }
                }
            }
            if allowed.is_empty() {
                // Every address was refused: name the host as well as the address.
                let err = match refused {
                    Some(KeyFetchError::PrivateAddress { addr, class }) => {
                        KeyFetchError::PrivateName { host, addr, class }
                    }
                    Some(other) => other,
                    None => KeyFetchError::Dns { host },
                };
                return Err(Box::new(err) as _);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> AddressClass {
        classify(s.parse().unwrap())
    }

    #[test]
    fn v4_ranges() {
        use AddressClass::*;
        for (a, want) in [
            ("10.0.0.0", Private),
            ("10.255.255.255", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("127.0.0.1", Loopback),
            ("127.1.2.3", Loopback),
            ("169.254.169.254", LinkLocal),
            ("0.0.0.0", Internal),
            ("0.1.2.3", Internal),
            ("100.64.0.1", Internal),
            ("100.127.255.255", Internal),
            ("192.0.0.8", Internal),
            ("192.0.2.1", Internal),
            ("198.18.0.1", Internal),
            ("198.19.255.255", Internal),
            ("198.51.100.7", Internal),
            ("203.0.113.9", Internal),
            ("224.0.0.1", Internal),
            ("239.255.255.250", Internal),
            ("240.0.0.1", Internal),
            ("255.255.255.255", Internal),
            // Neighbours of the ranges stay public.
            ("172.15.255.255", Public),
            ("172.32.0.0", Public),
            ("100.63.255.255", Public),
            ("100.128.0.0", Public),
            ("169.253.255.255", Public),
            ("192.167.255.255", Public),
            ("198.17.255.255", Public),
            ("198.20.0.0", Public),
            ("11.0.0.1", Public),
            ("8.8.8.8", Public),
            ("1.1.1.1", Public),
            ("223.255.255.255", Public),
        ] {
            assert_eq!(c(a), want, "{a}");
        }
    }

    #[test]
    fn v6_ranges() {
        use AddressClass::*;
        for (a, want) in [
            ("::1", Loopback),
            ("::", Internal),
            ("fc00::1", Private),
            ("fd12:3456:789a::1", Private),
            ("fec0::1", Private),
            ("fe80::1", LinkLocal),
            ("febf:ffff::1", LinkLocal),
            ("ff02::1", Internal),
            ("100::1", Internal),
            ("2001:db8::1", Internal),
            ("2001::1", Internal), // Teredo
            ("3fff::1", Internal),
            ("64:ff9b:1::1", Internal),
            // Embedded IPv4 is unwrapped.
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.0.0.1", Private),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:8.8.8.8", Public),
            ("::127.0.0.1", Loopback),
            ("::10.0.0.1", Private),
            ("64:ff9b::a00:1", Private),   // NAT64 of 10.0.0.1
            ("64:ff9b::7f00:1", Loopback), // NAT64 of 127.0.0.1
            ("64:ff9b::808:808", Public),  // NAT64 of 8.8.8.8
            ("2002:7f00:1::1", Loopback),  // 6to4 of 127.0.0.1
            ("2002:a9fe:a9fe::1", LinkLocal),
            ("2002:808:808::1", Public),
            ("2606:4700:4700::1111", Public),
            ("2a00:1450:4001:80b::200e", Public),
        ] {
            assert_eq!(c(a), want, "{a}");
        }
    }

    /// Each URL is refused with `code` by the network-free check.
    fn assert_refused(urls: &[&str], allow_private: bool, code: &str) {
        for u in urls {
            let e = check_url_str(u, allow_private).unwrap_err();
            assert_eq!(e.code(), code, "{u}: {e}");
        }
    }

    #[test]
    fn url_rules_refuse_every_spelling_of_loopback_literals() {
        let urls = [
            "http://127.0.0.1/k",
            "http://127.1.2.3/k",
            "http://127.1/k",
            "http://2130706433/k",
            "http://0x7f.1/k",
            "http://0177.0.0.1/k",
            "http://[::1]/k",
            "http://[::ffff:127.0.0.1]/k",
            "http://[::ffff:7f00:1]/k",
            "https://0.0.0.0/k",
            "http://0/k",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/k",
            "http://10.1.2.3/k",
            "http://[64:ff9b::a00:1]/k",
        ];
        assert_refused(&urls, false, "private_address");
        for u in urls {
            assert!(check_url_str(u, true).is_ok(), "{u} with allow_private");
        }
    }

    #[test]
    fn url_rules_schemes_and_userinfo() {
        let schemes = [
            "file:///etc/passwd",
            "ftp://example.com/k",
            "data:text/plain,abc",
            "gopher://example.com/",
            "ws://example.com/",
            "javascript:alert(1)",
        ];
        assert_refused(&schemes, true, "bad_scheme");
        assert_refused(
            &["https://user:pw@example.com/k", "not a url"],
            true,
            "bad_url",
        );
        assert!(check_url_str("https://example.com/publickey", false).is_ok());
        // A host name passes the network-free check; the resolver judges its addresses.
        assert!(check_url_str("http://localhost:3000/publickey", false).is_ok());
    }

    proptest::proptest! {
        /// Every IPv6 wrapping of an IPv4 address is judged like the address itself.
        #[test]
        fn embedded_v4_is_unwrapped(raw in proptest::prelude::any::<u32>()) {
            let v4 = Ipv4Addr::from(raw);
            let want = classify(IpAddr::V4(v4));
            let mapped = v4.to_ipv6_mapped();
            let nat64 = Ipv6Addr::from((0x0064_ff9b_u128 << 96) | u128::from(raw));
            let six_to_four = Ipv6Addr::from((0x2002_u128 << 112) | (u128::from(raw) << 80) | 1);
            proptest::prop_assert_eq!(classify(IpAddr::V6(mapped)), want);
            proptest::prop_assert_eq!(classify(IpAddr::V6(nat64)), want);
            proptest::prop_assert_eq!(classify(IpAddr::V6(six_to_four)), want);
        }

        /// Nothing outside 2000::/3 is ever public.
        #[test]
        fn only_global_unicast_v6_is_public(raw in proptest::prelude::any::<u128>()) {
            let ip = Ipv6Addr::from(raw);
            let embeds_v4 = in_v6(raw, 0xffff_0000_0000, 96)
                || in_v6(raw, 0, 96)
                || in_v6(raw, 0x0064_ff9b_u128 << 96, 96);
            if !embeds_v4 && !in_v6(raw, 0x2000_u128 << 112, 3) {
                proptest::prop_assert!(!classify(IpAddr::V6(ip)).is_public());
            }
        }
    }
}
