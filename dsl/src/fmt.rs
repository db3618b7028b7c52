//! The canonical formatter: prints any tree back as the one canonical text.

use crate::ast::{Script, Stmt};

/// The canonical text of a whole script.
pub fn format_script(script: &Script) -> String {
    let _ = script;
    String::new()
}

/// The canonical text of a statement's first line (a block's head without its body).
pub fn format_stmt_head(stmt: &Stmt) -> String {
    let _ = stmt;
    String::new()
}
