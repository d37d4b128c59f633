//! Requests this server sends to other systems' addresses (the order events' receivers,
//! CONTRACT §21): one HTTP client over rustls with the system's root certificates plus
//! an operator's extra CA file (`--extra-ca-file`, for a private CA or tests), and the
//! rule of where it may go. Plain `http://` only to this machine (loopback); and no
//! loopback, private, link-local or otherwise non-public address unless the operator
//! allows it (`--outbox-allow-private`), checked on the URL and again on every address
//! a name resolves to when a connection is made, so a name that starts pointing at
//! 127.0.0.1 later is refused then.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    path::Path,
    sync::Arc,
    time::Duration,
};

use reqwest::{
    dns::{Addrs, Name, Resolve, Resolving},
    Url,
};

/// How long connecting to a receiver may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where outgoing requests may go, and whom they trust.
#[derive(Clone, Default)]
pub struct Outbound {
    /// Loopback, private and link-local addresses allowed (tests, a receiver on the
    /// shop's own network).
    pub allow_private: bool,
    /// Extra trusted CA certificates (PEM).
    pub extra_ca: Vec<reqwest::Certificate>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("allow_private", &self.allow_private)
            .field("extra_ca", &self.extra_ca.len())
            .finish()
    }
}

impl Outbound {
    /// The policy of the flags: `extra_ca_file` is a PEM file of one or more
    /// certificates, read now (a missing or unreadable file stops the start).
    pub fn new(allow_private: bool, extra_ca_file: Option<&Path>) -> Result<Outbound, String> {
        let extra_ca = match extra_ca_file {
            None => Vec::new(),
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("--extra-ca-file {}: {e}", path.display()))?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| format!("--extra-ca-file {}: {e}", path.display()))?;
                if certs.is_empty() {
                    return Err(format!(
                        "--extra-ca-file {}: no PEM certificate in it",
                        path.display()
                    ));
                }
                certs
            }
        };
        Ok(Outbound {
            allow_private,
            extra_ca,
        })
    }

    /// The same policy with private addresses allowed or not (the identity provider's
    /// keys may come from the shop's own network).
    pub fn with_private(&self, allow_private: bool) -> Outbound {
        Outbound {
            allow_private,
            extra_ca: self.extra_ca.clone(),
        }
    }

    /// A client that keeps to this policy: each attempt ends within `timeout`, no
    /// redirect is followed, every resolved address is checked.
    pub fn client(&self, timeout: Duration) -> Result<reqwest::Client, String> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .pool_max_idle_per_host(64)
            .redirect(reqwest::redirect::Policy::none())
            // Never through a proxy from *_PROXY variables: the proxy would resolve
            // the name, past the address check.
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver {
                allow_private: self.allow_private,
            }));
        for cert in &self.extra_ca {
            builder = builder.add_root_certificate(cert.clone());
        }
        builder.build().map_err(|e| e.to_string())
    }

    /// Whether `url` may be sent to: `https://`, or `http://` to loopback only; a host
    /// written as an address must be public unless private ones are allowed (a name
    /// is checked when it resolves). The error says why not, in the admin's words.
    pub fn check_url(&self, url: &Url) -> Result<(), String> {
        let host = url.host_str().unwrap_or_default();
        let ip = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok();
        let loopback =
            ip.is_some_and(|ip| ip.is_loopback()) || host.eq_ignore_ascii_case("localhost");
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(
                    "plain http:// is only for this machine (loopback): use https://".into(),
                )
            }
            _ => return Err("only https:// (or http:// to loopback)".into()),
        }
        if !self.allow_private && (loopback || ip.is_some_and(|ip| !is_public(ip))) {
            return Err(format!(
                "{host} is a loopback, private or link-local address \
                 (allowed only with --outbox-allow-private)"
            ));
        }
        Ok(())
    }
}

/// Resolves names as the system does, then keeps only the addresses the policy allows;
/// a name left with none is refused.
struct CheckedResolver {
    allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                let why = if found.is_empty() {
                    format!("{host} has no address")
                } else {
                    format!("{host} resolves to a loopback, private or link-local address (allowed only with --outbox-allow-private)")
                };
                return Err(why.into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Whether `ip` is a public unicast address: not loopback, private (RFC 1918, IPv6
/// unique local), link-local, shared (100.64/10), unspecified, broadcast, multicast,
/// documentation, benchmarking or reserved; an IPv4-mapped IPv6 address by its IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 88 && c == 99)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        // Discard-only (100::/64).
        || ip.segments()[..4] == [0x100, 0, 0, 0]
        // 6to4 (2002::/16): by the IPv4 address it carries.
        || (first == 0x2002
            && !is_public_v4(Ipv4Addr::from(
                (u32::from(ip.segments()[1]) << 16) | u32::from(ip.segments()[2]),
            )))
        // NAT64 (64:ff9b::/96) and IPv4-compatible addresses: by the IPv4 inside.
        || (ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
            && !is_public_v4(Ipv4Addr::from(
                u32::try_from(u128::from(ip) & 0xffff_ffff).unwrap_or(0),
            )))
        || ip.segments()[..6] == [0; 6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "::127.0.0.1",
            "2001:db8::1",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "100::1",
            "192.88.99.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_https_anywhere_public_http_only_to_loopback() {
        let strict = Outbound::default();
        let open = Outbound {
            allow_private: true,
            ..Outbound::default()
        };
        let check = |o: &Outbound, u: &str| o.check_url(&Url::parse(u).unwrap());
        assert!(check(&strict, "https://erp.example.com/hook").is_ok());
        assert!(check(&strict, "https://93.184.216.34/hook").is_ok());
        for refused in [
            "http://erp.example.com/hook",
            "http://127.0.0.1:9000/hook",
            "https://127.0.0.1/hook",
            "https://localhost/hook",
            "https://[::1]/hook",
            "https://10.0.0.8/hook",
            "https://169.254.169.254/latest",
            "https://[::ffff:192.168.0.1]/hook",
            "ftp://erp.example.com/",
        ] {
            assert!(check(&strict, refused).is_err(), "{refused}");
        }
        assert!(check(&open, "http://127.0.0.1:9000/hook").is_ok());
        assert!(check(&open, "http://localhost:9000/hook").is_ok());
        assert!(check(&open, "https://10.0.0.8/hook").is_ok());
        assert!(check(&open, "http://10.0.0.8/hook").is_err());
    }
}
