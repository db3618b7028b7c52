//! The parser: text to [`Script`], in two passes over located input.
//!
//! - [`lexer`]: one physical line to tokens (nom over `nom_locate::LocatedSpan`, so every
//!   token carries its byte span). Lines are lexed lazily because a job's code is raw text.
//! - [`stmt`] (with [`target`] and [`expr`]): tokens to statements, blocks and the tree.
//!
//! Parsing is total: any input yields a tree or diagnostics, in time linear in its length.
//! Recursion is bounded by [`crate::limits::MAX_NESTING`] for blocks and by
//! [`MAX_CONDITION_DEPTH`] for parentheses and `not`, and a line holds at most
//! [`MAX_LINE_TOKENS`] tokens. After an error the parser skips to the next line (and over the
//! body of a broken block head), so one script reports several errors, at most
//! [`crate::limits::MAX_DIAGNOSTICS`].

mod expr;
mod lexer;
mod stmt;
mod target;

use crate::ast::{Script, Span};
use crate::diag::{Code, Diagnostic};
use crate::limits::MAX_SCRIPT_BYTES;

/// Deepest nesting of parentheses and `not` inside one condition. Real conditions nest two or
/// three deep; the bound keeps a line of 10 MB of `(` from exhausting the stack.
pub const MAX_CONDITION_DEPTH: usize = 32;

/// Most `and`/`or` operators in one condition. Chains build a left-leaning tree, so this also
/// bounds the depth of the tree that later passes walk recursively.
pub const MAX_CONDITION_OPERATORS: usize = 64;

/// Most tokens on one line. A statement needs a few dozen; the bound caps the memory a
/// hostile single-line input can make the lexer use.
pub const MAX_LINE_TOKENS: usize = 1_024;

/// Words that start a statement, for "did you mean" on an unknown verb.
pub const STATEMENT_WORDS: &[&str] = &[
    "assert", "back", "bridle", "check", "clear", "click", "close", "confirm", "fill", "for",
    "forward", "goal", "handoff", "hover", "if", "job", "let", "navigate", "note", "open",
    "origins", "param", "press", "reload", "repeat", "return", "scroll", "secret", "select",
    "submit", "switch", "uncheck", "upload", "wait",
];

/// Reserved words: every word the grammar gives a meaning to. None of them can name a variable,
/// a parameter, a secret or a loop item (so `text of …` can never be mistaken for a variable).
/// Role words are not reserved unless they are also keywords (`table`, `option`, `note`,
/// `switch`, `tab`): a target never stands where a variable does, so `for each row in rows`
/// is fine. Sorted, for binary search.
pub const KEYWORDS: &[&str] = &[
    "and",
    "assert",
    "at",
    "attribute",
    "back",
    "be",
    "bool",
    "bridle",
    "check",
    "clear",
    "click",
    "close",
    "confirm",
    "container",
    "contains",
    "count",
    "css",
    "each",
    "else",
    "enabled",
    "exists",
    "false",
    "fill",
    "for",
    "forward",
    "frame",
    "goal",
    "gone",
    "handoff",
    "hidden",
    "hover",
    "idle",
    "if",
    "in",
    "input",
    "job",
    "let",
    "matches",
    "memory",
    "microvm",
    "most",
    "navigate",
    "not",
    "note",
    "nth",
    "number",
    "of",
    "on",
    "open",
    "option",
    "or",
    "origins",
    "param",
    "press",
    "reload",
    "repeat",
    "return",
    "sandbox",
    "scroll",
    "secret",
    "select",
    "submit",
    "switch",
    "tab",
    "table",
    "text",
    "timeout",
    "title",
    "to",
    "true",
    "uncheck",
    "until",
    "upload",
    "url",
    "value",
    "visible",
    "wait",
    "with",
];

/// Whether `word` is reserved.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.binary_search(&word).is_ok()
}

/// Longest piece of input echoed in a message; a longer one is cut with `…`, so a hostile
/// megabyte-long word costs neither a megabyte-long message nor a slow "did you mean".
const MAX_ECHO_CHARS: usize = 40;

/// `text` as messages show it, cut to [`MAX_ECHO_CHARS`].
fn shorten(text: &str) -> String {
    let mut shown: String = text.chars().take(MAX_ECHO_CHARS).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

/// "did you mean `x`?" for words short enough to be typos (edit distance is quadratic).
fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    (word.len() <= MAX_ECHO_CHARS)
        .then(|| crate::diag::did_you_mean(word, candidates))
        .flatten()
}

/// Parses a script's text. Never panics; see the module documentation for the bounds.
pub fn parse(src: &str) -> Result<Script, Vec<Diagnostic>> {
    // `parse_bytes` checks this too; repeating it here keeps callers that hold a `&str`
    // equally protected.
    if src.len() > MAX_SCRIPT_BYTES {
        return Err(vec![Diagnostic::new(
            Code::LimitExceeded,
            Span::new(MAX_SCRIPT_BYTES, src.len()),
            format!(
                "script is {} bytes, more than the limit of {MAX_SCRIPT_BYTES} bytes",
                src.len()
            ),
        )
        .with_help("split the work into several scripts")]);
    }
    stmt::Parser::new(src).parse_script()
}

#[cfg(test)]
mod tests;
