//! Origins and URLs: the header's origins, `in frame` origins, and the URLs of `navigate` and
//! `open tab`, whose origin must be written literally and listed in `origins`.

use super::state::Checker;
use crate::ast::{Span, Spanned, Str, StrPart};
use crate::diag::{Code, Diagnostic};
use std::borrow::Cow;
use url::{Host, Url};

/// Why a text is not an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OriginError {
    /// No `scheme://` in front.
    NoScheme,
    /// A scheme other than `https` or `http`.
    Scheme(String),
    /// `http` for a host other than localhost.
    PlainHttp,
    /// Spaces, control characters or backslashes, which URL parsers silently drop or rewrite.
    Characters,
    /// The URL parser refused it (its message).
    Invalid(String),
    Credentials,
    Path,
    Query,
    Fragment,
    Wildcard,
}

/// Parses an origin, `scheme://host[:port]` with an optional trailing `/`, and returns it
/// normalised as the browser serialises origins (lowercase host, punycode, no default port,
/// no trailing slash). Stricter than a browser: `https:host`, backslashes and embedded
/// whitespace are refused rather than repaired, so what a person reads is what runs.
pub(crate) fn parse_origin(text: &str) -> Result<String, OriginError> {
    let Some(colon) = text.find("://") else {
        return match scheme_of(text) {
            Some(scheme) if !is_port_like(text, scheme.len()) => {
                if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http") {
                    Err(OriginError::Invalid(
                        "expected `//` after the scheme".to_owned(),
                    ))
                } else {
                    Err(OriginError::Scheme(scheme.to_ascii_lowercase()))
                }
            }
            _ => Err(OriginError::NoScheme),
        };
    };
    let scheme = text[..colon].to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(if scheme_of(text).is_some() {
            OriginError::Scheme(scheme)
        } else {
            OriginError::NoScheme
        });
    }
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return Err(OriginError::Characters);
    }
    let url = Url::parse(text).map_err(|e| OriginError::Invalid(e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OriginError::Credentials);
    }
    if url.path() != "/" {
        return Err(OriginError::Path);
    }
    if url.query().is_some() {
        return Err(OriginError::Query);
    }
    if url.fragment().is_some() {
        return Err(OriginError::Fragment);
    }
    let host = url.host();
    if url.host_str().is_some_and(|h| h.contains('*')) {
        return Err(OriginError::Wildcard);
    }
    if scheme == "http" {
        let local = match host {
            Some(Host::Domain(d)) => d == "localhost",
            Some(Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if !local {
            return Err(OriginError::PlainHttp);
        }
    }
    Ok(url.origin().ascii_serialization())
}

/// The scheme at the start of `text` (`javascript` in `javascript:alert(1)`), if any.
fn scheme_of(text: &str) -> Option<&str> {
    let end = text.find(':')?;
    let scheme = &text[..end];
    let mut chars = scheme.chars();
    let starts_alpha = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    (starts_alpha && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .then_some(scheme)
}

/// `localhost:8080/…`: a host and port without a scheme, not a scheme named `localhost`.
fn is_port_like(text: &str, scheme_len: usize) -> bool {
    text[scheme_len + 1..]
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit())
}

/// The diagnostic for an invalid origin; `code` is `header` in the header and `invalid-url`
/// elsewhere.
pub(crate) fn origin_diagnostic(
    err: &OriginError,
    text: &str,
    span: Span,
    code: Code,
) -> Diagnostic {
    let (message, help) = match err {
        OriginError::NoScheme => (
            format!("origin `{text}` has no scheme"),
            format!(
                "write it in full, e.g. `https://{}`",
                text.trim_start_matches('/')
            ),
        ),
        OriginError::Scheme(scheme) => (
            format!("origin `{text}` uses the scheme `{scheme}`"),
            "origins use `https` (or `http` for localhost)".to_owned(),
        ),
        OriginError::PlainHttp => (
            format!("origin `{text}` uses plain `http`"),
            "use `https`; plain `http` is allowed only for localhost, 127.0.0.1 and [::1]"
                .to_owned(),
        ),
        OriginError::Characters => (
            format!(
                "origin `{}` contains a space, a control character or a backslash",
                text.escape_debug()
            ),
            "write the origin as `https://host[:port]`".to_owned(),
        ),
        OriginError::Invalid(why) => (
            format!("origin `{text}` is not a valid URL: {why}"),
            "write the origin as `https://host[:port]`".to_owned(),
        ),
        OriginError::Credentials => (
            format!("origin `{text}` contains credentials"),
            "remove the `user:password@` part; the user signs in, never the script".to_owned(),
        ),
        OriginError::Path | OriginError::Query | OriginError::Fragment => {
            let what = match err {
                OriginError::Path => "a path",
                OriginError::Query => "a query",
                _ => "a fragment",
            };
            (
                format!("origin `{text}` has {what}"),
                "an origin is only `scheme://host[:port]`; put paths in the URLs of `navigate`"
                    .to_owned(),
            )
        }
        OriginError::Wildcard => (
            format!("origin `{text}` contains a wildcard"),
            "list each origin exactly; wildcards belong in a token's grants".to_owned(),
        ),
    };
    Diagnostic::new(code, span, message).with_help(help)
}

/// How many origin texts [`Checker::parse_origin_cached`] remembers. A script's URLs name a
/// handful of origins; the bound keeps a script of a thousand distinct (and rejected) origins
/// from making each lookup slower.
const ORIGIN_CACHE_SIZE: usize = 2 * crate::limits::MAX_ORIGINS;

/// The literal text of a string before its first interpolation, and whether one follows.
fn leading_literal(s: &Str) -> (Cow<'_, str>, bool) {
    let mut parts = s.parts.iter();
    let mut lead = Cow::Borrowed("");
    for part in parts.by_ref() {
        match part {
            StrPart::Lit(text) if lead.is_empty() => lead = Cow::Borrowed(text.as_str()),
            StrPart::Lit(text) => lead.to_mut().push_str(text),
            StrPart::Var(_) => return (lead, true),
        }
    }
    (lead, false)
}

/// Where the origin of a URL literal ends: at the first `/`, `?` or `#` after `scheme://`.
fn authority_end(lead: &str, after_scheme: usize) -> Option<usize> {
    lead[after_scheme..]
        .find(['/', '?', '#'])
        .map(|i| after_scheme + i)
}

impl<'a> Checker<'a> {
    /// Checks the URL of `navigate` or `open tab` and returns its normalised origin.
    pub(crate) fn url(&mut self, url: &'a Str, verb: &str) -> Option<String> {
        let (lead, interpolated) = leading_literal(url);
        let lead = lead.as_ref();
        let not_literal = |cx: &mut Self| {
            cx.error(
                Code::InvalidUrl,
                url.span,
                format!("the origin of a `{verb}` URL must be written literally"),
                "write `scheme://host` out before any `{…}`, e.g. \
                 `\"https://shop.example/search?q={query}\"`",
            );
            None
        };
        if lead.contains('\\') {
            self.error(
                Code::InvalidUrl,
                url.span,
                format!("`{verb}` URL contains a backslash"),
                "use `/` in URLs; browsers read `\\` as `/`, which hides where a URL goes",
            );
            return None;
        }
        // Absolute only when `://` follows a scheme at the very start: in
        // `/go?to=https://…` it is part of a relative URL's query.
        let absolute = lead
            .find("://")
            .filter(|&at| scheme_of(lead).is_some_and(|scheme| scheme.len() == at));
        let Some(colon) = absolute else {
            if lead.is_empty() && interpolated {
                return not_literal(self);
            }
            return self.relative_url(url, lead, interpolated, verb);
        };
        let origin_text = match authority_end(lead, colon + 3) {
            Some(end) => &lead[..end],
            None if interpolated => return not_literal(self),
            None => lead,
        };
        let origin = match self.parse_origin_cached(origin_text) {
            Ok(origin) => origin,
            Err(e) => {
                self.diag(origin_diagnostic(
                    &e,
                    origin_text,
                    url.span,
                    Code::InvalidUrl,
                ));
                return None;
            }
        };
        if !interpolated {
            if let Err(e) = Url::parse(lead) {
                self.error(
                    Code::InvalidUrl,
                    url.span,
                    format!("`{verb}` URL `{lead}` is not valid: {e}"),
                    "write a full URL, e.g. `https://shop.example/cart`",
                );
                return None;
            }
        }
        self.listed(&origin, url.span, "URL");
        Some(origin)
    }

    /// [`parse_origin`], remembering the last few answers: a script names the same few
    /// origins over and over, and parsing a URL is the costly part of checking one.
    fn parse_origin_cached(&mut self, text: &str) -> Result<String, OriginError> {
        if let Some((_, answer)) = self.origin_cache.iter().find(|(t, _)| t == text) {
            return answer.clone();
        }
        let answer = parse_origin(text);
        if self.origin_cache.len() < ORIGIN_CACHE_SIZE {
            self.origin_cache.push((text.to_owned(), answer.clone()));
        }
        answer
    }

    /// A URL without `scheme://`: relative, a bare host, or another scheme.
    fn relative_url(
        &mut self,
        url: &Str,
        lead: &str,
        interpolated: bool,
        verb: &str,
    ) -> Option<String> {
        let shown = if interpolated {
            format!("{lead}…")
        } else {
            lead.to_owned()
        };
        match scheme_of(lead) {
            Some(scheme) if !is_port_like(lead, scheme.len()) => {
                let scheme = scheme.to_ascii_lowercase();
                let (message, help) = if scheme == "http" || scheme == "https" {
                    (
                        format!("`{verb}` URL `{shown}` lacks `//` after `{scheme}:`"),
                        format!("write `{scheme}://host/…`"),
                    )
                } else {
                    (
                        format!("`{verb}` URL `{shown}` uses the scheme `{scheme}`"),
                        "scripts go only to `https` URLs (or `http` on localhost) within `origins`"
                            .to_owned(),
                    )
                };
                self.error(Code::InvalidUrl, url.span, message, help);
            }
            _ => {
                let example = if lead.starts_with('/') {
                    let origin = self
                        .origins
                        .first()
                        .map_or("https://shop.example", String::as_str);
                    format!("{origin}{shown}")
                } else {
                    format!("https://{shown}")
                };
                self.error(
                    Code::InvalidUrl,
                    url.span,
                    format!("relative URL `{shown}`"),
                    format!("write the full URL, e.g. `{example}`"),
                );
            }
        }
        None
    }

    /// An error unless `origin` is one of the header's origins.
    fn listed(&mut self, origin: &str, span: Span, what: &str) {
        if !self.origins_ok || self.origins.iter().any(|o| o == origin) {
            return;
        }
        let mut help = format!(
            "a script acts only on the origins it lists; add `{origin}` to `origins` if it must go there"
        );
        // Origins are long and alike (`https://…example`), so only a near miss is a typo.
        if let Some(near) = self
            .origins
            .iter()
            .find(|o| strsim::damerau_levenshtein(origin, o) <= 2)
        {
            help = format!("did you mean `{near}`? {help}");
        }
        self.error(
            Code::OriginOutside,
            span,
            format!("{what} origin `{origin}` is not in `origins`"),
            help,
        );
    }

    /// `in frame "<origin>"`: frames may be cross-origin, but must still be listed, because
    /// `origins` is the closed set the script may act on.
    pub(crate) fn frame(&mut self, frame: &Spanned<String>) {
        self.text_len(&frame.node, frame.span);
        match self.parse_origin_cached(&frame.node) {
            Err(e) => self.diag(origin_diagnostic(
                &e,
                &frame.node,
                frame.span,
                Code::InvalidUrl,
            )),
            Ok(origin) => self.listed(&origin, frame.span, "frame"),
        }
    }
}
