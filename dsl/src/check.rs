//! The checker: turns a parsed [`Script`] into a [`Checked`] one, or explains why it cannot.
//!
//! It enforces the header, declarations, variables and their types, the secret rules,
//! `origins`, regexes and every named limit, and computes each step's risk.

use crate::ast::{Script, Span, Target};
use crate::diag::Diagnostic;
use crate::risk::{Risk, RiskOptions, Verb};
use serde::Serialize;

/// What the checker needs to know beyond the script.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub risk: RiskOptions,
}

/// A script that passed every check, with its header and steps laid out for the executor.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub script: Script,
    pub goal: String,
    /// The header's origins, normalised (`https://shop.example`, no trailing slash).
    pub origins: Vec<String>,
    pub params: Vec<ParamDecl>,
    pub secrets: Vec<SecretDecl>,
    /// Every statement that runs, in pre-order (a block's head before its body).
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamDecl {
    pub name: String,
    pub ty: crate::ast::ParamType,
    pub default: Option<crate::ast::Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecretDecl {
    pub name: String,
    /// The name of the entry in the user's local vault.
    pub entry: String,
}

/// One step of a checked script.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// 1-based position in pre-order over all blocks.
    pub index: usize,
    /// 1-based source line where the statement starts.
    pub line: usize,
    /// The statement's span; `span.start` identifies the statement in the tree.
    pub span: Span,
    pub verb: Verb,
    pub risk: Risk,
    /// Why the risk is what it is (`"`submit` is irreversible"`, `"target names `pay`"` …).
    pub risk_reasons: Vec<String>,
    /// The statement's first line in canonical form, for approvals and the audit log.
    pub text: String,
    /// The element the step acts on or reads, if any.
    pub target: Option<Target>,
    /// For `navigate` and `open tab`: the origin of the literal URL.
    pub url_origin: Option<String>,
    /// For `fill` with a secret: the secret's name.
    pub secret: Option<String>,
    /// The step writes (a `fill` value, a URL) data that came from an observation of a page,
    /// so the executor must compare the origin it was read on with the origin written to.
    pub writes_observed: bool,
    /// Nesting depth, 0 at top level.
    pub depth: usize,
}

/// Checks a parsed script. Diagnostics come in source order, at most
/// [`crate::limits::MAX_DIAGNOSTICS`] of them.
pub fn check(script: Script, options: &CheckOptions) -> Result<Checked, Vec<Diagnostic>> {
    let _ = (&script, options);
    Err(vec![Diagnostic::new(
        crate::diag::Code::Syntax,
        Span::default(),
        "the checker is being written",
    )])
}
