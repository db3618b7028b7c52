//! String work of the engine: interpolation of `"…{name}…"`, percent-encoding of values put
//! into URLs, the glob of `url matches`, and the origin of a URL.

use super::value::Tainted;
use bridle_dsl::ast::{StrPart, VarPath};
use std::collections::BTreeSet;

/// Interpolates a string literal's parts, looking each variable up with `lookup`.
///
/// With `url_encode`, every interpolated value is percent-encoded (the literal parts are
/// kept as written), so a value can never add a path segment, a query parameter or change
/// the URL's origin: `"https://shop.example/search?q={query}"` with `a b&c` gives
/// `…?q=a%20b%26c`. The result carries the union of the origins of every value used.
///
/// The text grows at most to `max_bytes` (counted as UTF-8, the way the JSON of the result
/// is measured, less its quotes): past that, `too_long` gives the error, before more memory
/// is spent.
pub fn interpolate<E>(
    parts: &[StrPart],
    url_encode: bool,
    max_bytes: usize,
    mut lookup: impl FnMut(&VarPath) -> Result<Tainted, E>,
    too_long: impl Fn() -> E,
) -> Result<Tainted, E> {
    let mut text = String::new();
    let mut origins = BTreeSet::new();
    for part in parts {
        match part {
            StrPart::Lit(lit) => text.push_str(lit),
            StrPart::Var(path) => {
                let value = lookup(path)?;
                let piece = value.value.to_text();
                if url_encode {
                    text.push_str(&percent_encode(&piece));
                } else {
                    text.push_str(&piece);
                }
                origins.extend(value.origins);
            }
        }
        if text.len() > max_bytes {
            return Err(too_long());
        }
    }
    Ok(Tainted {
        value: super::value::Value::Text(text),
        origins,
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`),
/// as UTF-8 bytes: the strictest encoding, valid in any URL component.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Whether `text` matches the glob `pattern` as a whole. `*` matches any run of characters
/// (including `/`, so `https://shop.example/*` covers every path); every other character,
/// `?` included, matches itself, because `?` is common in URLs and a wildcard there would
/// surprise.
///
/// Runs in O(len(pattern) × len(text)) at worst (one backtrack point, the last `*`), so a
/// hostile pattern cannot make it exponential.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The origin (`scheme://host[:port]`) of a URL, or `None` when it has none (`about:blank`,
/// `data:` URLs) or does not parse.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::value::Value;
    use bridle_dsl::ast::{Span, Spanned};

    fn var(name: &str) -> StrPart {
        StrPart::Var(VarPath {
            name: Spanned::new(name.to_owned(), Span::default()),
            fields: vec![],
        })
    }

    #[test]
    fn url_interpolation_encodes_values_only() {
        let parts = vec![
            StrPart::Lit("https://shop.example/search?q=".into()),
            var("query"),
        ];
        let out = interpolate(
            &parts,
            true,
            1_000,
            |_| {
                Ok::<_, ()>(Tainted::read_on(
                    Value::Text("a b&c".into()),
                    Some("https://a.example".into()),
                ))
            },
            || (),
        )
        .unwrap();
        assert_eq!(
            out.value,
            Value::Text("https://shop.example/search?q=a%20b%26c".into())
        );
        assert_eq!(
            out.origins.into_iter().collect::<Vec<_>>(),
            ["https://a.example"]
        );
    }

    #[test]
    fn plain_interpolation_keeps_values() {
        let parts = vec![StrPart::Lit("n=".into()), var("n")];
        let three = |_: &VarPath| Ok::<_, &str>(Tainted::clean(Value::Number(3.0)));
        let out = interpolate(&parts, false, 3, three, || "too long").unwrap();
        assert_eq!(out.value, Value::Text("n=3".into()));
        assert!(out.origins.is_empty());
        // One byte over the bound is refused.
        assert_eq!(
            interpolate(&parts, false, 2, three, || "too long"),
            Err("too long")
        );
    }

    #[test]
    fn percent_encoding_covers_reserved_and_unicode() {
        assert_eq!(percent_encode("a b&c"), "a%20b%26c");
        assert_eq!(percent_encode("x/y?z#w"), "x%2Fy%3Fz%23w");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode("A-z_0.9~"), "A-z_0.9~");
    }

    #[test]
    fn globs_match_whole_urls() {
        assert!(glob_match(
            "https://shop.example/checkout*",
            "https://shop.example/checkout/step2"
        ));
        assert!(!glob_match(
            "https://shop.example/checkout*",
            "https://evil.example/https://shop.example/checkout"
        ));
        assert!(glob_match("*://shop.example/*", "https://shop.example/a"));
        assert!(glob_match(
            "https://a.example/s?q=*",
            "https://a.example/s?q=1"
        ));
        assert!(!glob_match(
            "https://a.example/s?q=*",
            "https://a.example/sXq=1"
        ));
        assert!(glob_match("", ""));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a", "ab"));
        assert!(glob_match("a*b*c", "a_b_b_c"));
        // A pattern built to make naive backtracking exponential stays fast.
        let text = "a".repeat(5_000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!glob_match(&pattern, &text));
    }

    #[test]
    fn origins_of_urls() {
        assert_eq!(
            origin_of("https://Shop.Example:443/a?b").as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/x").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("about:blank"), None);
        assert_eq!(origin_of("not a url"), None);
    }
}
