//! Diagnostics: what went wrong, where, and the likely fix; rendered for people with miette
//! and as JSON for planners that feed errors back to their model.
//!
//! Message style (followed by every pass): lowercase, user input in backticks, no trailing
//! period, the fix in `help`, no Rust type names.

use crate::ast::Span;
use serde::Serialize;
use std::fmt;

/// Stable, machine-readable diagnostic codes. Planners may match on them; keep them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// The bytes are not UTF-8.
    InvalidUtf8,
    /// The text does not follow the grammar.
    Syntax,
    /// A word where a verb was expected is not one.
    UnknownVerb,
    /// A word where a role was expected is not an ARIA role.
    UnknownRole,
    /// `bridle`, `goal` or `origins` missing, repeated, misplaced or invalid.
    Header,
    /// A `param` or `secret` outside the top of the script.
    Declaration,
    UndefinedVariable,
    RedefinedVariable,
    TypeMismatch,
    /// A secret used anywhere but as the value of `fill`.
    SecretMisuse,
    /// A secret inside `"…{secret}…"`.
    SecretInterpolation,
    /// A URL whose origin is not in `origins`.
    OriginOutside,
    InvalidUrl,
    InvalidRegex,
    /// A named limit (script size, statements, nesting, loop bound, string length …) exceeded.
    LimitExceeded,
    /// A value out of its allowed range (zero loop bound, `nth 0`, a zero timeout …).
    InvalidValue,
    /// A statement that can never run (it follows `return` in its block).
    Unreachable,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidUtf8 => "invalid-utf8",
            Code::Syntax => "syntax",
            Code::UnknownVerb => "unknown-verb",
            Code::UnknownRole => "unknown-role",
            Code::Header => "header",
            Code::Declaration => "declaration",
            Code::UndefinedVariable => "undefined-variable",
            Code::RedefinedVariable => "redefined-variable",
            Code::TypeMismatch => "type-mismatch",
            Code::SecretMisuse => "secret-misuse",
            Code::SecretInterpolation => "secret-interpolation",
            Code::OriginOutside => "origin-outside",
            Code::InvalidUrl => "invalid-url",
            Code::InvalidRegex => "invalid-regex",
            Code::LimitExceeded => "limit-exceeded",
            Code::InvalidValue => "invalid-value",
            Code::Unreachable => "unreachable",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a script.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    pub span: Span,
    /// A short text under the underlined source; the message is used when absent.
    pub label: Option<String>,
    /// The likely fix, e.g. "did you mean `fill`?".
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            span,
            label: None,
            help: None,
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

/// Maps byte offsets of a source to lines and columns.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    src: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(src: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { src, line_starts }
    }

    /// The line and column of a byte offset (clamped to the source).
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.src.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let column = self
            .src
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        LineCol {
            line: line + 1,
            column,
        }
    }
}

/// The JSON shape of one diagnostic (stable: planners parse it).
#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub file: &'a str,
    pub code: Code,
    pub severity: &'static str,
    pub message: &'a str,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// Byte offset and length of the underlined source.
    pub offset: usize,
    pub length: usize,
    pub label: Option<&'a str>,
    pub help: Option<&'a str>,
}

impl Diagnostic {
    /// The JSON form, positions computed against `src`.
    pub fn to_json<'a>(&'a self, file: &'a str, index: &LineIndex<'_>) -> JsonDiagnostic<'a> {
        let start = index.line_col(self.span.start);
        let end = index.line_col(self.span.end);
        JsonDiagnostic {
            file,
            code: self.code,
            severity: "error",
            message: &self.message,
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
            offset: self.span.start,
            length: self.span.len(),
            label: self.label.as_deref(),
            help: self.help.as_deref(),
        }
    }

    /// A one-line form, `file:line:column: error[code]: message`, used by golden files.
    pub fn to_short(&self, file: &str, index: &LineIndex<'_>) -> String {
        let at = index.line_col(self.span.start);
        let mut out = format!(
            "{file}:{}:{}: error[{}]: {}",
            at.line, at.column, self.code, self.message
        );
        if let Some(help) = &self.help {
            out.push_str(&format!("\n  help: {help}"));
        }
        out
    }
}

/// A diagnostic bound to its source, rendered by miette with the underlined line.
#[derive(Debug)]
pub struct Report {
    diag: Diagnostic,
    source: miette::NamedSource<String>,
}

impl Report {
    pub fn new(diag: Diagnostic, file: &str, src: &str) -> Self {
        Report {
            diag,
            source: miette::NamedSource::new(file, src.to_owned()),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.diag.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("bridle::{}", self.diag.code)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let label = self
            .diag
            .label
            .clone()
            .unwrap_or_else(|| self.diag.message.clone());
        let span = miette::SourceSpan::new(self.diag.span.start.into(), self.diag.span.len());
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_with_span(Some(label), span),
        )))
    }
}

/// Renders diagnostics for a terminal (no colours, so output is stable in files and tests).
pub fn render(diags: &[Diagnostic], file: &str, src: &str) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    let mut out = String::new();
    for diag in diags {
        let report = Report::new(diag.clone(), file, src);
        let at = LineIndex::new(src).line_col(diag.span.start);
        out.push_str(&format!("{file}:{}:{}\n", at.line, at.column));
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&diag.message);
        }
        out.push('\n');
    }
    out
}

/// "did you mean `x`?" for the closest candidate, when one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let word_lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&word_lower, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let src = "ab\néx\n";
        let index = LineIndex::new(src);
        assert_eq!(index.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(index.line_col(3), LineCol { line: 2, column: 1 });
        // `x` follows the two-byte `é`: byte 5, character column 2.
        assert_eq!(index.line_col(5), LineCol { line: 2, column: 2 });
        assert_eq!(index.line_col(999), LineCol { line: 3, column: 1 });
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            did_you_mean("fil", ["fill", "click"]).as_deref(),
            Some("did you mean `fill`?")
        );
        assert_eq!(did_you_mean("zzzzzz", ["fill", "click"]), None);
    }

    #[test]
    fn renders_with_position_underline_and_help() {
        let src = "bridle 1\nclik button \"Go\"\n";
        let diag = Diagnostic::new(Code::UnknownVerb, Span::new(9, 13), "unknown verb `clik`")
            .with_help("did you mean `click`?");
        let out = render(&[diag], "a.bridle", src);
        assert!(out.starts_with("a.bridle:2:1\n"), "{out}");
        assert!(out.contains("unknown verb `clik`"), "{out}");
        assert!(out.contains("did you mean `click`?"), "{out}");
        assert!(out.contains("clik button"), "{out}");
    }
}
