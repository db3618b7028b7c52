//! Origins and origin patterns: `https://shop.example`, `https://*.example.com`,
//! `http://localhost:8080`. Both sides are normalised by the `url` crate (the WHATWG URL
//! rules a browser uses: lowercase, IDN to punycode, default ports), so what the policy says
//! and what the page is compare byte for byte.

use std::fmt;

/// An origin's scheme. Only web origins carry site rules; everything else is opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A normalised web origin: scheme, host and port (default ports filled in).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: Scheme,
    /// Lowercase ASCII (punycode) host without a trailing dot, or an IP address (IPv6 in
    /// brackets), as the `url` crate serialises it.
    host: String,
    is_domain: bool,
    port: u16,
}

/// Why a text is not an origin or an origin pattern. Displayed inside a policy error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginProblem {
    /// The `url` crate cannot parse it (or it has no host).
    NotAUrl,
    /// The scheme is not `https` (or `http`).
    Scheme(String),
    /// `http` with a host that is not loopback.
    PlainHttp(String),
    /// Anything after the host and port besides a single `/`.
    HasPath,
    /// `user:password@`.
    Credentials,
    /// A `*` anywhere but as the whole leftmost label.
    MisplacedWildcard,
    /// `*.com` or `*.localhost`: a wildcard needs at least two labels after it.
    WildcardTooBroad(String),
    /// `*.` in front of an IP address.
    WildcardOnAddress,
    /// `a..b`: a host with an empty label.
    EmptyLabel,
}

impl fmt::Display for OriginProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginProblem::NotAUrl => f.write_str("it is not a URL with a host"),
            OriginProblem::Scheme(s) => write!(f, "the scheme `{s}` is not `https`"),
            OriginProblem::PlainHttp(h) => {
                write!(
                    f,
                    "plain `http` is only allowed for loopback hosts, not `{h}`"
                )
            }
            OriginProblem::HasPath => f.write_str("an origin has no path, query or fragment"),
            OriginProblem::Credentials => f.write_str("an origin has no user name or password"),
            OriginProblem::MisplacedWildcard => {
                f.write_str("a `*` can only be the whole leftmost label, as in `*.example.com`")
            }
            OriginProblem::WildcardTooBroad(s) => {
                write!(
                    f,
                    "`*.{s}` is too broad: name at least two labels after `*.`"
                )
            }
            OriginProblem::WildcardOnAddress => {
                f.write_str("a wildcard cannot stand in front of an IP address")
            }
            OriginProblem::EmptyLabel => f.write_str("the host has an empty label"),
        }
    }
}

fn parse_url(text: &str) -> Result<url::Url, OriginProblem> {
    url::Url::parse(text).map_err(|_| OriginProblem::NotAUrl)
}

/// Host of a parsed URL, normalised: a single trailing dot is dropped, because
/// `bank.example.` reaches the same server as `bank.example`, and a deny rule must not be
/// sidestepped by a dot.
fn host_of(url: &url::Url) -> Result<(String, bool), OriginProblem> {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.strip_suffix('.').unwrap_or(d);
            if d.is_empty() || d.split('.').any(str::is_empty) {
                return Err(OriginProblem::EmptyLabel);
            }
            Ok((d.to_owned(), true))
        }
        Some(url::Host::Ipv4(ip)) => Ok((ip.to_string(), false)),
        Some(url::Host::Ipv6(ip)) => Ok((format!("[{ip}]"), false)),
        None => Err(OriginProblem::NotAUrl),
    }
}

fn scheme_of(url: &url::Url) -> Result<Scheme, OriginProblem> {
    match url.scheme() {
        "https" => Ok(Scheme::Https),
        "http" => Ok(Scheme::Http),
        other => Err(OriginProblem::Scheme(other.to_owned())),
    }
}

/// Whether a normalised host is this machine: `localhost` (and names under it), `127.0.0.0/8`
/// or `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Origin {
    /// The origin of a URL or origin text (`https://shop.example/cart?x` gives
    /// `https://shop.example`). Only `http` and `https` URLs have one here; every other
    /// scheme is an opaque origin that no site rule matches.
    pub fn parse(text: &str) -> Result<Origin, OriginProblem> {
        let url = parse_url(text)?;
        let scheme = scheme_of(&url)?;
        let (host, is_domain) = host_of(&url)?;
        let port = url.port().unwrap_or(scheme.default_port());
        Ok(Origin {
            scheme,
            host,
            is_domain,
            port,
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.host)?;
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// The host part of a pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// Exactly this host.
    Exact(String),
    /// Any host strictly under this suffix: `*.example.com` is stored as `example.com` and
    /// matches `a.example.com` and `a.b.example.com`, never `example.com` itself.
    Subdomains(String),
}

/// An origin pattern from the policy: an exact origin or `scheme://*.suffix[:port]`.
///
/// Matching rules: the scheme must be equal and the port equal (after default ports are
/// filled in: `https://a.example` and `https://a.example:443` are the same origin); the host
/// must be equal, or, for a wildcard, end with `.` + suffix with at least one more label
/// in front. Hosts are compared after the WHATWG normalisation (lowercase, punycode).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OriginPattern {
    scheme: Scheme,
    host: HostPattern,
    port: u16,
}

/// Placeholder label put where the `*` was so that the `url` crate can normalise the rest
/// of the host; it is stripped again right after.
const WILDCARD_PLACEHOLDER: &str = "wildcard-label";

impl OriginPattern {
    /// Parses a pattern as written in a policy. Stricter than [`Origin::parse`]: no path
    /// (a single trailing `/` is tolerated), no query, no fragment, no credentials, `https`
    /// only (or `http` for loopback hosts), and a wildcard only as the whole leftmost label
    /// with at least two labels after it.
    pub fn parse(text: &str) -> Result<OriginPattern, OriginProblem> {
        let Some((scheme_text, rest)) = text.split_once("://") else {
            return Err(OriginProblem::NotAUrl);
        };
        let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if !(tail.is_empty() || tail == "/") {
            return Err(OriginProblem::HasPath);
        }
        if authority.contains('@') {
            return Err(OriginProblem::Credentials);
        }
        let (wildcard, authority) = match authority.strip_prefix("*.") {
            Some(after) => (true, after),
            None => (false, authority),
        };
        if authority.contains('*') {
            return Err(OriginProblem::MisplacedWildcard);
        }
        if wildcard {
            // `*.127.0.0.1` would otherwise fail as a malformed address below; say what it is.
            let bare = parse_url(&format!("{scheme_text}://{authority}"));
            if bare.is_ok_and(|u| !matches!(u.host(), Some(url::Host::Domain(_)))) {
                return Err(OriginProblem::WildcardOnAddress);
            }
        }
        let rebuilt = if wildcard {
            format!("{scheme_text}://{WILDCARD_PLACEHOLDER}.{authority}")
        } else {
            format!("{scheme_text}://{authority}")
        };
        let url = parse_url(&rebuilt)?;
        let scheme = scheme_of(&url)?;
        let (host, is_domain) = host_of(&url)?;
        let port = url.port().unwrap_or(scheme.default_port());
        let host = if wildcard {
            if !is_domain {
                return Err(OriginProblem::WildcardOnAddress);
            }
            let suffix = host
                .strip_prefix(WILDCARD_PLACEHOLDER)
                .and_then(|s| s.strip_prefix('.'))
                .ok_or(OriginProblem::MisplacedWildcard)?;
            if suffix.split('.').count() < 2 {
                return Err(OriginProblem::WildcardTooBroad(suffix.to_owned()));
            }
            HostPattern::Subdomains(suffix.to_owned())
        } else {
            HostPattern::Exact(host)
        };
        let loopback = match &host {
            HostPattern::Exact(h) | HostPattern::Subdomains(h) => is_loopback_host(h),
        };
        if scheme == Scheme::Http && !loopback {
            let shown = match &host {
                HostPattern::Exact(h) => h.clone(),
                HostPattern::Subdomains(h) => format!("*.{h}"),
            };
            return Err(OriginProblem::PlainHttp(shown));
        }
        Ok(OriginPattern { scheme, host, port })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn host(&self) -> &HostPattern {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether this pattern names exactly one origin (no wildcard).
    pub fn is_exact(&self) -> bool {
        matches!(self.host, HostPattern::Exact(_))
    }

    /// How specific the pattern is, larger first: an exact origin beats every wildcard, and a
    /// wildcard with more labels beats one with fewer (`*.shop.example.com` over
    /// `*.example.com`).
    pub fn specificity(&self) -> (bool, usize) {
        match &self.host {
            HostPattern::Exact(_) => (true, usize::MAX),
            HostPattern::Subdomains(s) => (false, s.split('.').count()),
        }
    }

    /// Whether a URL or origin text falls under the pattern. Texts that have no web origin
    /// (`data:`, `file:`, garbage) match nothing.
    pub fn matches(&self, url_or_origin: &str) -> bool {
        Origin::parse(url_or_origin).is_ok_and(|o| self.matches_origin(&o))
    }

    /// Whether an already parsed origin falls under the pattern.
    pub fn matches_origin(&self, origin: &Origin) -> bool {
        if origin.scheme != self.scheme || origin.port != self.port {
            return false;
        }
        match &self.host {
            HostPattern::Exact(h) => origin.host == *h,
            HostPattern::Subdomains(suffix) => {
                origin.is_domain
                    && origin.host.len() > suffix.len() + 1
                    && origin.host.ends_with(suffix.as_str())
                    && origin.host.as_bytes()[origin.host.len() - suffix.len() - 1] == b'.'
            }
        }
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        match &self.host {
            HostPattern::Exact(h) => f.write_str(h)?,
            HostPattern::Subdomains(s) => write!(f, "*.{s}")?,
        }
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> OriginPattern {
        OriginPattern::parse(text).unwrap()
    }

    #[test]
    fn patterns_normalise_case_idn_ports_and_trailing_slash() {
        assert_eq!(
            pattern("HTTPS://Shop.Example:443/").to_string(),
            "https://shop.example"
        );
        assert_eq!(
            pattern("https://bücher.example").to_string(),
            "https://xn--bcher-kva.example"
        );
        assert_eq!(
            pattern("https://*.Example.COM:8443").to_string(),
            "https://*.example.com:8443"
        );
        assert_eq!(
            pattern("http://127.0.0.1:8080").to_string(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(pattern("http://[::1]").to_string(), "http://[::1]");
        assert_eq!(
            pattern("https://bank.example.").to_string(),
            "https://bank.example"
        );
    }

    #[test]
    fn malformed_patterns_say_why() {
        let cases: &[(&str, OriginProblem)] = &[
            ("shop.example", OriginProblem::NotAUrl),
            ("https://", OriginProblem::NotAUrl),
            ("ftp://shop.example", OriginProblem::Scheme("ftp".into())),
            ("wss://shop.example", OriginProblem::Scheme("wss".into())),
            (
                "http://shop.example",
                OriginProblem::PlainHttp("shop.example".into()),
            ),
            (
                "http://*.example.com",
                OriginProblem::PlainHttp("*.example.com".into()),
            ),
            ("https://shop.example/cart", OriginProblem::HasPath),
            ("https://shop.example?x=1", OriginProblem::HasPath),
            ("https://shop.example#top", OriginProblem::HasPath),
            ("https://user:pw@shop.example", OriginProblem::Credentials),
            ("https://shop.*.example", OriginProblem::MisplacedWildcard),
            ("https://*shop.example", OriginProblem::MisplacedWildcard),
            ("https://*.*.example.com", OriginProblem::MisplacedWildcard),
            ("https://*", OriginProblem::MisplacedWildcard),
            (
                "https://*.com",
                OriginProblem::WildcardTooBroad("com".into()),
            ),
            ("https://*.127.0.0.1", OriginProblem::WildcardOnAddress),
            ("https://a..example", OriginProblem::EmptyLabel),
        ];
        for (text, problem) in cases {
            assert_eq!(OriginPattern::parse(text).as_ref(), Err(problem), "{text}");
        }
    }

    #[test]
    fn wildcard_matching_table() {
        let wild = pattern("https://*.example.com");
        let yes = [
            "https://sub.example.com",
            "https://a.b.example.com",
            "https://SUB.EXAMPLE.COM/path?q",
            "https://sub.example.com:443",
            "https://sub.example.com.",
        ];
        let no = [
            "https://example.com",
            "https://evilexample.com",
            "https://sub.evilexample.com",
            "https://example.com.evil.net",
            "https://sub.example.com.evil.net",
            "https://sub.example.com:8443",
            "http://sub.example.com",
            "wss://sub.example.com",
            "https://127.0.0.1",
            "data:text/html,hi",
            "not a url",
            "",
        ];
        for text in yes {
            assert!(wild.matches(text), "{text} should match");
        }
        for text in no {
            assert!(!wild.matches(text), "{text} should not match");
        }
    }

    #[test]
    fn exact_matching_table() {
        let exact = pattern("https://shop.example");
        assert!(exact.matches("https://shop.example/checkout"));
        assert!(exact.matches("https://SHOP.example:443"));
        assert!(exact.matches("https://shop.example."));
        assert!(!exact.matches("https://www.shop.example"));
        assert!(!exact.matches("https://shop.example:444"));
        assert!(!exact.matches("http://shop.example"));
        assert!(!exact.matches("https://shop.example.evil.net"));

        let idn = pattern("https://bücher.example");
        assert!(idn.matches("https://xn--bcher-kva.example"));
        assert!(idn.matches("https://BÜCHER.example/"));

        let local = pattern("http://localhost:3000");
        assert!(local.matches("http://localhost:3000/app"));
        assert!(!local.matches("http://localhost"));
        assert!(!local.matches("https://localhost:3000"));
    }

    #[test]
    fn specificity_orders_exact_then_longer_suffixes() {
        let exact = pattern("https://a.shop.example.com").specificity();
        let long = pattern("https://*.shop.example.com").specificity();
        let short = pattern("https://*.example.com").specificity();
        assert!(exact > long && long > short);
    }

    #[test]
    fn origins_of_urls() {
        let o = Origin::parse("https://Shop.Example:443/a?b#c").unwrap();
        assert_eq!(o.to_string(), "https://shop.example");
        assert_eq!(o.port(), 443);
        assert!(Origin::parse("http://127.0.0.2:9").unwrap().is_loopback());
        assert!(!Origin::parse("https://shop.example").unwrap().is_loopback());
        assert_eq!(
            Origin::parse("file:///etc/passwd"),
            Err(OriginProblem::Scheme("file".into()))
        );
    }
}
