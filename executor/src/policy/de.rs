//! Turns what the TOML parser and serde report into policy errors: the key path, a message
//! in the project's style (no Rust type names) and a help.

use super::error::{PolicyError, PolicyErrorKind};
use super::suggest;

/// What each key holds, by path with array indices written `[]`: the "expected" part of a
/// wrong-type message and of a missing-key help. `docs/policy.md` documents every entry
/// (a test checks it).
pub const SCHEMA: &[(&str, &str)] = &[
    ("planner", "an array of `[[planner]]` tables"),
    ("planner[]", "a table"),
    ("planner[].name", "a string"),
    ("planner[].kid", "a string"),
    (
        "planner[].public_key",
        "a string (the 32-byte Ed25519 public key in base64url)",
    ),
    ("planner[].max_ttl", "a duration string like `15m`"),
    ("planner[].endpoint", "a string (a `wss://` URL)"),
    ("defaults", "a table"),
    ("defaults.approval", "a string (`low`, `medium` or `high`)"),
    ("defaults.blocked_schemes", "an array of strings"),
    (
        "defaults.blocked_schemes[]",
        "a string (a URL scheme like `ftp`)",
    ),
    ("defaults.never_read", "an array of strings"),
    (
        "defaults.never_read[]",
        "a string (a field kind like `password`)",
    ),
    ("defaults.sensitive_words", "an array of strings"),
    ("defaults.sensitive_words[]", "a string"),
    ("defaults.max_steps", "an integer"),
    ("defaults.max_duration", "a duration string like `10m`"),
    (
        "defaults.allow_css_targets",
        "a boolean (`true` or `false`)",
    ),
    ("site", "an array of `[[site]]` tables"),
    ("site[]", "a table"),
    (
        "site[].origin",
        "a string (an origin like `https://shop.example`)",
    ),
    ("site[].allow", "an array of verbs"),
    ("site[].allow[]", "a string (a verb like `click`)"),
    ("site[].ask", "an array of verbs"),
    ("site[].ask[]", "a string (a verb like `click`)"),
    ("site[].deny", "an array of verbs"),
    ("site[].deny[]", "a string (a verb like `click`)"),
    ("site[].read_only", "a boolean (`true` or `false`)"),
    ("site[].approval", "a string (`low`, `medium` or `high`)"),
    ("site[].sensitive_words", "an array of strings"),
    ("site[].sensitive_words[]", "a string"),
    (
        "site[].max_amount",
        "a table like `{ currency = \"EUR\", value = 50 }`",
    ),
    (
        "site[].max_amount.currency",
        "a string (a currency code like `EUR`)",
    ),
    ("site[].max_amount.value", "a number"),
    (
        "site[].standing",
        "an array of tables like `{ verb = \"submit\" }`",
    ),
    ("site[].standing[]", "a table like `{ verb = \"submit\" }`"),
    ("site[].standing[].verb", "a string (a verb like `submit`)"),
    (
        "site[].standing[].max_amount",
        "a table like `{ currency = \"EUR\", value = 20 }`",
    ),
    (
        "site[].standing[].max_amount.currency",
        "a string (a currency code like `EUR`)",
    ),
    ("site[].standing[].max_amount.value", "a number"),
    ("site[].allow_css", "a boolean (`true` or `false`)"),
    ("dataflow", "a table"),
    ("dataflow.cross_origin", "a string (`ask` or `deny`)"),
    ("dataflow.rule", "an array of `[[dataflow.rule]]` tables"),
    ("dataflow.rule[]", "a table"),
    (
        "dataflow.rule[].from",
        "a string (an origin like `https://shop.example`)",
    ),
    (
        "dataflow.rule[].to",
        "a string (an origin like `https://shop.example`)",
    ),
    (
        "dataflow.rule[].action",
        "a string (`allow`, `ask` or `deny`)",
    ),
    ("jobs", "a table"),
    ("jobs.runtimes", "an array of strings"),
    ("jobs.runtimes[]", "a string (a runtime like `python3`)"),
    ("jobs.min_tier", "a string (`container` or `microvm`)"),
    ("jobs.max_cpu", "a number"),
    ("jobs.max_memory", "a size string like `256MB`"),
    ("jobs.max_wall", "a duration string like `30s`"),
    ("jobs.max_output", "a size string like `1MB`"),
    ("jobs.network", "a boolean (`true` or `false`)"),
];

/// The schema entry for a concrete path (`site[3].allow[0]` → `site[].allow[]`).
pub fn expected_for(path: &str) -> Option<&'static str> {
    let generic = generic_path(path);
    SCHEMA
        .iter()
        .find(|(p, _)| *p == generic)
        .map(|(_, expected)| *expected)
}

/// `site[3].allow[0]` → `site[].allow[]`.
pub fn generic_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// serde's private key for the value inside a `Spanned`; it is not part of the user's path.
const SPANNED_KEY_PREFIX: &str = "$__serde_spanned_private";

/// The user-facing key path of a serde path: `site[1].allow[2]`.
fn user_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } => {
                if key.starts_with(SPANNED_KEY_PREFIX) {
                    continue;
                }
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            serde_path_to_error::Segment::Enum { variant } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(variant);
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    out
}

/// The path without its last key (`site[0].max_amount.valu` → `site[0].max_amount`).
fn parent_path(path: &str) -> &str {
    path.rfind('.').map_or("", |i| &path[..i])
}

/// The words between backticks in `text`, in order.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// serde's "unexpected" part (`string "x"`, `integer `5``, `map`) in the project's words.
fn describe_found(unexpected: &str) -> String {
    if let Some(rest) = unexpected.strip_prefix("string ") {
        let inner = rest.strip_prefix('"').and_then(|r| r.strip_suffix('"'));
        return format!("the string `{}`", inner.unwrap_or(rest));
    }
    for (serde_word, ours) in [
        ("integer ", "the integer "),
        ("floating point ", "the number "),
        ("boolean ", "the boolean "),
    ] {
        if let Some(rest) = unexpected.strip_prefix(serde_word) {
            return format!("{ours}{rest}");
        }
    }
    match unexpected {
        "sequence" => "an array".to_owned(),
        "map" => "a table".to_owned(),
        other => other.to_owned(),
    }
}

const SYNTAX_HELP: &str =
    "the policy is TOML: `key = value` lines under `[table]` headers, strings in double quotes";

/// Translates a deserialisation failure into one policy error.
pub fn translate(error: serde_path_to_error::Error<toml::de::Error>, src: &str) -> PolicyError {
    let path = user_path(error.path());
    let inner = error.into_inner();
    let span = inner.span();
    let message = inner.message().trim().to_owned();

    if let Some(rest) = message.strip_prefix("unknown field ") {
        let words = backticked(rest);
        let key = words.first().copied().unwrap_or_default().to_owned();
        let candidates: Vec<&str> = words.iter().skip(1).copied().collect();
        let help = if candidates.is_empty() {
            "this table has no keys".to_owned()
        } else {
            suggest::did_you_mean(&key, &candidates)
        };
        let table = parent_path(&path).to_owned();
        let kind = if table.is_empty() {
            PolicyErrorKind::UnknownTopLevelKey { key }
        } else {
            PolicyErrorKind::UnknownKey { key, table }
        };
        return PolicyError::new(kind, path, span, src).with_help(help);
    }

    if let Some(rest) = message.strip_prefix("missing field ") {
        let key = backticked(rest)
            .first()
            .copied()
            .unwrap_or_default()
            .to_owned();
        let full = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let help = match expected_for(&full) {
            Some(expected) => format!("add `{key} = …` to this table: {expected}"),
            None => format!("add `{key} = …` to this table"),
        };
        let table = path.clone();
        return PolicyError::new(PolicyErrorKind::MissingKey { key, table }, full, span, src)
            .with_help(help);
    }

    let wrong = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "));
    if let Some(rest) = wrong {
        let (found, serde_expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
        let expected = expected_for(&path).map_or_else(
            // Only reached for a key the schema lacks; serde's text then is the best we have.
            || serde_expected.to_owned(),
            str::to_owned,
        );
        let help = format!("write {expected} here");
        return PolicyError::new(
            PolicyErrorKind::WrongType {
                key: path.clone(),
                expected,
                found: describe_found(found),
            },
            path,
            span,
            src,
        )
        .with_help(help);
    }

    if let Some(rest) = message.strip_prefix("duplicate key ") {
        let words = backticked(rest);
        let key = words.first().copied().unwrap_or_default().to_owned();
        let table = words.get(1).map_or_else(String::new, |t| (*t).to_owned());
        return PolicyError::new(
            PolicyErrorKind::DuplicateKey { key, table },
            path,
            span,
            src,
        )
        .with_help("remove one of the two; a key can appear once per table");
    }

    let detail = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    // An unquoted word (`approval = high`) is the commonest slip; say so directly.
    let help = if detail.starts_with("invalid string") {
        "put text in double quotes, as in `approval = \"high\"`"
    } else {
        SYNTAX_HELP
    };
    PolicyError::new(PolicyErrorKind::Syntax { detail }, String::new(), span, src).with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_paths_drop_indices() {
        assert_eq!(generic_path("site[3].allow[10]"), "site[].allow[]");
        assert_eq!(
            expected_for("site[3].allow[10]"),
            Some("a string (a verb like `click`)")
        );
        assert_eq!(expected_for("nowhere"), None);
    }

    #[test]
    fn found_values_are_described_without_type_names() {
        assert_eq!(describe_found("string \"yes\""), "the string `yes`");
        assert_eq!(describe_found("integer `5`"), "the integer `5`");
        assert_eq!(describe_found("floating point `1.5`"), "the number `1.5`");
        assert_eq!(describe_found("boolean `true`"), "the boolean `true`");
        assert_eq!(describe_found("sequence"), "an array");
        assert_eq!(describe_found("map"), "a table");
    }
}
