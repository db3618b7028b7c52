//! The parser: text to [`Script`] with nom over located input.

use crate::ast::Script;
use crate::diag::Diagnostic;

/// Parses a script's text.
pub fn parse(src: &str) -> Result<Script, Vec<Diagnostic>> {
    let _ = src;
    Err(vec![])
}
