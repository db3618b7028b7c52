//! Bridle's script language, version 1: the parser, the checker, risk and the canonical
//! formatter. Pure functions over text; no IO, so it runs natively and in wasm alike.
//!
//! The passes, each its own module: bytes → [`parser`] → [`ast::Script`] → [`check`] →
//! [`check::Checked`] (typed, bounded, with every step's risk); [`fmt`] prints any tree back in
//! canonical form. Every error is a [`diag::Diagnostic`] with a span.

pub mod ast;
pub mod check;
pub mod diag;
pub mod fmt;
pub mod limits;
pub mod parser;
pub mod risk;
pub mod roles;

pub use ast::{Script, Span};
pub use check::{check, CheckOptions, Checked, Step};
pub use diag::{Code, Diagnostic};
pub use fmt::format_script;
pub use risk::{Risk, RiskOptions, Verb};

/// Parses raw bytes: the size limit and UTF-8 are checked first, so any byte string yields a
/// tree or diagnostics, never a panic, and a huge input costs one length check.
pub fn parse_bytes(bytes: &[u8]) -> Result<Script, Vec<Diagnostic>> {
    parser::parse(decode(bytes)?)
}

/// Parses and checks raw bytes in one go.
pub fn check_bytes(bytes: &[u8], options: &CheckOptions) -> Result<Checked, Vec<Diagnostic>> {
    let src = decode(bytes)?;
    check(parser::parse(src)?, src, options)
}

/// The source text of a script: the size limit first, then UTF-8.
fn decode(bytes: &[u8]) -> Result<&str, Vec<Diagnostic>> {
    if bytes.len() > limits::MAX_SCRIPT_BYTES {
        return Err(vec![Diagnostic::new(
            Code::LimitExceeded,
            Span::new(limits::MAX_SCRIPT_BYTES, bytes.len()),
            format!(
                "script is {} bytes, more than the limit of {} bytes",
                bytes.len(),
                limits::MAX_SCRIPT_BYTES
            ),
        )
        .with_help("split the work into several scripts")]);
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        vec![Diagnostic::new(
            Code::InvalidUtf8,
            Span::new(at, at + e.error_len().unwrap_or(1)),
            format!("script is not valid UTF-8 at byte {at}"),
        )
        .with_help("save the script as UTF-8 text")]
    })
}
