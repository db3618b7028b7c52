//! Policy errors: what is wrong, where (line, column, key path), and the likely fix.
//!
//! Message style: lowercase, input in backticks, no trailing period, the fix in `help`. Key
//! paths count array entries from 0, as in `site[1].allow[2]` (the third verb of the second
//! `[[site]]` table).

use super::origin::OriginProblem;
use std::ops::Range;

/// Everything that can be wrong with a policy file; each variant is one distinct mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyErrorKind {
    /// The file is over [`super::limits::MAX_POLICY_BYTES`]; nothing else was looked at.
    #[error("policy is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// The bytes are not UTF-8.
    #[error("policy is not valid UTF-8 at byte {at}")]
    NotUtf8 { at: usize },
    /// The text is not TOML (a message from the TOML parser, lowercased).
    #[error("invalid TOML: {detail}")]
    Syntax { detail: String },
    /// The same key twice in one table.
    #[error("duplicate key `{key}` {}", in_table(table))]
    DuplicateKey { key: String, table: String },
    /// A key the policy format does not have (possibly a typo).
    #[error("unknown key `{key}` in `{table}`")]
    UnknownKey { key: String, table: String },
    /// A key the policy format does not have, at the top level.
    #[error("unknown top-level key `{key}`")]
    UnknownTopLevelKey { key: String },
    /// A required key is absent.
    #[error("missing key `{key}` {}", in_table(table))]
    MissingKey { key: String, table: String },
    /// A value of the wrong TOML type.
    #[error("`{key}` must be {expected}, found {found}")]
    WrongType {
        key: String,
        expected: String,
        found: String,
    },
    /// A word that is not one of the language's verbs.
    #[error("unknown verb `{verb}`")]
    UnknownVerb { verb: String },
    /// An approval threshold other than `low`, `medium`, `high`.
    #[error("unknown approval threshold `{value}`")]
    UnknownApproval { value: String },
    /// A `never_read` entry that is not a known field kind.
    #[error("unknown field kind `{value}`")]
    UnknownFieldKind { value: String },
    /// A `min_tier` other than `container` or `microvm`.
    #[error("unknown sandbox tier `{value}`")]
    UnknownTier { value: String },
    /// A data-flow action outside the allowed words.
    #[error("unknown data-flow action `{value}` for `{key}`")]
    UnknownFlowAction { key: String, value: String },
    /// `cross_origin = "allow"`: allowing every cross-origin flow would lower high risk.
    #[error("`cross_origin` cannot be `allow`")]
    CrossOriginAllow,
    /// Text that is not a duration like `30s`.
    #[error("`{key}` has an invalid duration `{value}`")]
    InvalidDuration { key: String, value: String },
    /// Text that is not a size like `256MB`.
    #[error("`{key}` has an invalid size `{value}`")]
    InvalidSize { key: String, value: String },
    /// A number, duration or size outside its bounds.
    #[error("`{key}` is `{value}`, outside the allowed range {min} to {max}")]
    OutOfRange {
        key: String,
        value: String,
        min: String,
        max: String,
    },
    /// An empty string where text is required.
    #[error("`{key}` is empty")]
    Empty { key: String },
    /// A string over its length limit.
    #[error("`{key}` is {len} bytes, more than the limit of {limit} bytes")]
    TooLong {
        key: String,
        len: usize,
        limit: usize,
    },
    /// More entries than a list or table array may have.
    #[error("too many entries in `{key}`: {count}, the limit is {limit}")]
    TooMany {
        key: String,
        count: usize,
        limit: usize,
    },
    /// The same entry twice in one list.
    #[error("`{value}` is listed twice in `{key}`")]
    DuplicateEntry { key: String, value: String },
    /// A `kid` with characters outside `A-Z a-z 0-9 . _ -`.
    #[error("key id `{kid}` has characters other than letters, digits, `.`, `_` and `-`")]
    InvalidKid { kid: String },
    /// Two planners with one `kid`.
    #[error("key id `{kid}` is used by two planners")]
    DuplicateKid { kid: String, first_line: usize },
    /// Two planners with one `name`.
    #[error("planner name `{name}` is used twice")]
    DuplicatePlannerName { name: String, first_line: usize },
    /// A planner name with control characters.
    #[error("planner name `{name}` has control characters")]
    InvalidPlannerName { name: String },
    /// `public_key` is not unpadded base64url.
    #[error("public key `{key}` is not unpadded base64url")]
    PublicKeyEncoding { key: String },
    /// `public_key` decodes to something other than 32 bytes.
    #[error("public key decodes to {len} bytes, not 32")]
    PublicKeyLength { len: usize },
    /// 32 bytes that are not a point on the Ed25519 curve.
    #[error("public key is not a valid Ed25519 key")]
    PublicKeyInvalid,
    /// A small-order (weak) Ed25519 point, for which signatures prove nothing.
    #[error("public key is a weak Ed25519 key")]
    PublicKeyWeak,
    /// An `endpoint` that is not a URL.
    #[error("endpoint `{endpoint}` is not a URL")]
    EndpointNotUrl { endpoint: String },
    /// An `endpoint` whose scheme is not `wss` or `ws`.
    #[error("endpoint `{endpoint}` must use `wss://`")]
    EndpointScheme { endpoint: String },
    /// `ws://` to a host that is not loopback: the channel would be readable on the network.
    #[error("endpoint `{endpoint}` uses unencrypted `ws://` to a host that is not loopback")]
    EndpointInsecure { endpoint: String },
    /// An `endpoint` with a user name, password or fragment.
    #[error("endpoint `{endpoint}` has a user name, password or fragment")]
    EndpointExtra { endpoint: String },
    /// An invalid origin or origin pattern.
    #[error("invalid origin `{origin}`: {problem}")]
    InvalidOrigin {
        origin: String,
        problem: OriginProblem,
    },
    /// Two `[[site]]` tables with the same pattern.
    #[error("there is already a site rule for `{origin}`")]
    DuplicateSite { origin: String, first_line: usize },
    /// One verb in two of `allow`, `ask`, `deny` (or in `deny` and `standing`).
    #[error("`{verb}` is in both `{first}` and `{second}`")]
    VerbConflict {
        verb: String,
        first: &'static str,
        second: &'static str,
    },
    /// A verb in `allow`, `ask` or `standing` of a read-only site that only reading allows.
    #[error("`{verb}` is in `{list}` but the site is read-only")]
    ReadOnlyConflict { verb: String, list: &'static str },
    /// A standing grant on a wildcard pattern.
    #[error("standing grants need an exact origin, not `{origin}`")]
    StandingOnWildcard { origin: String },
    /// A standing grant for `confirm` or `handoff`.
    #[error("`{verb}` cannot have a standing grant")]
    StandingForbidden { verb: String },
    /// A currency that is not three uppercase letters.
    #[error("currency `{currency}` is not a three-letter ISO 4217 code")]
    InvalidCurrency { currency: String },
    /// An amount with more than three decimals.
    #[error("amount `{value}` has more than {max} decimal places")]
    AmountPrecision { value: String, max: u32 },
    /// A URL scheme that is not `letter *(letter / digit / + / - / .)`.
    #[error("`{scheme}` is not a URL scheme")]
    InvalidScheme { scheme: String },
    /// A sensitive word without a letter or digit, or with control characters.
    #[error("sensitive word `{word}` has no letters or has control characters")]
    InvalidWord { word: String },
    /// A runtime name outside `a-z 0-9 . _ -`.
    #[error(
        "runtime `{runtime}` has characters other than lowercase letters, digits, `.`, `_` and `-`"
    )]
    InvalidRuntime { runtime: String },
    /// A data-flow `allow` rule with a wildcard on either side.
    #[error("a data-flow `allow` needs exact origins, not `{origin}`")]
    FlowAllowWildcard { origin: String },
    /// A data-flow rule whose `from` and `to` are the same exact origin.
    #[error("`from` and `to` are the same origin `{origin}`")]
    FlowSameOrigin { origin: String },
}

/// "in `site[0]`", or "at the top level" for the empty path.
fn in_table(table: &str) -> String {
    if table.is_empty() {
        "at the top level".to_owned()
    } else {
        format!("in `{table}`")
    }
}

/// One problem in a policy file, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct PolicyError {
    /// Boxed so that `Result<_, PolicyError>` stays small on the success path.
    pub kind: Box<PolicyErrorKind>,
    /// The key path, as in `site[1].allow[2]`; empty for the whole file.
    pub path: String,
    /// Byte range in the file, when the error has a place.
    pub span: Option<Range<usize>>,
    /// 1-based line and column (in characters) of the span's start; 1:1 without a span.
    pub line: usize,
    pub column: usize,
    /// The likely fix.
    pub help: Option<String>,
}

/// 1-based line and column (in characters) of byte `offset` in `src`.
pub fn line_column(src: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

impl PolicyError {
    /// An error at `span` of `src`.
    pub fn new(
        kind: PolicyErrorKind,
        path: impl Into<String>,
        span: Option<Range<usize>>,
        src: &str,
    ) -> Self {
        let (line, column) = span
            .as_ref()
            .map_or((1, 1), |span| line_column(src, span.start));
        PolicyError {
            kind: Box::new(kind),
            path: path.into(),
            span,
            line,
            column,
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The message alone (what `Display` prints).
    pub fn message(&self) -> String {
        self.kind.to_string()
    }

    /// `file:line:col: error: message`, the source line with the span underlined, the key
    /// path and the help: for people reading a terminal.
    pub fn render(&self, file_name: &str, src: &str) -> String {
        let mut out = format!(
            "{file_name}:{}:{}: error: {}\n",
            self.line, self.column, self.kind
        );
        let gutter = self.line.to_string().len();
        let pad = " ".repeat(gutter);
        if let Some(span) = &self.span {
            let mut at = span.start.min(src.len());
            while !src.is_char_boundary(at) {
                at -= 1;
            }
            let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_end = src[at..].find('\n').map_or(src.len(), |i| at + i);
            let text = &src[line_start..line_end];
            let text = text.strip_suffix('\r').unwrap_or(text);
            let before = &src[line_start..at];
            let mut end = span.end.min((line_start + text.len()).max(at)).max(at);
            while !src.is_char_boundary(end) {
                end -= 1;
            }
            let width = src[at..end].chars().count().max(1);
            // Keep tabs so the caret lines up under the same column as the text.
            let indent: String = before
                .chars()
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("{pad} |\n{} | {text}\n", self.line));
            out.push_str(&format!("{pad} | {indent}{}\n", "^".repeat(width)));
        }
        if !self.path.is_empty() {
            out.push_str(&format!("{pad} = key: {}\n", self.path));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("{pad} = help: {help}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let src = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_column(src, 0), (1, 1));
        assert_eq!(line_column(src, 6), (2, 1));
        // `=` after the two-byte `é` is the 4th character of line 2.
        assert_eq!(line_column(src, 10), (2, 4));
        assert_eq!(line_column(src, 999), (3, 1));
    }

    #[test]
    fn render_underlines_the_span_and_shows_help() {
        let src = "[defaults]\naprroval = \"high\"\n";
        let error = PolicyError::new(
            PolicyErrorKind::UnknownKey {
                key: "aprroval".into(),
                table: "defaults".into(),
            },
            "defaults.aprroval",
            Some(11..19),
            src,
        )
        .with_help("did you mean `approval`?");
        assert_eq!(
            error.render("policy.toml", src),
            "policy.toml:2:1: error: unknown key `aprroval` in `defaults`\n  |\n2 | aprroval = \"high\"\n  | ^^^^^^^^\n  = key: defaults.aprroval\n  = help: did you mean `approval`?\n"
        );
    }

    #[test]
    fn render_without_span_has_no_source_line() {
        let error = PolicyError::new(
            PolicyErrorKind::TooLarge { size: 9, limit: 8 },
            "",
            None,
            "",
        );
        assert_eq!(
            error.render("p.toml", ""),
            "p.toml:1:1: error: policy is 9 bytes, more than the limit of 8 bytes\n"
        );
    }
}
