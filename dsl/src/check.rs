//! The checker: turns a parsed [`Script`] into a [`Checked`] one, or explains why it cannot.
//!
//! It enforces the header, declarations, variables and their types, the secret rules,
//! `origins`, regexes and every named limit, and computes each step's risk. The rules are
//! written out for script authors in `docs/dsl.md` ("Checking rules"); the decisions that the
//! design left open are recorded there and next to the code that makes them.
//!
//! The work is split by concern, each pass a method set on one [`state::Checker`]:
//! - [`header`]: `bridle 1`, `goal`, `origins`, `param` and `secret`
//! - [`stmts`]: the walk over statements and blocks, scopes, statement limits, steps
//! - [`values`]: values, strings, conditions: types, secrets and taint
//! - [`targets`]: targets, roles, regexes and frames
//! - [`urls`]: origins and the URLs of `navigate` and `open tab`
//! - [`bounds`]: loop bounds, durations, sizes, job runtimes
//! - [`assess`]: the risk of each step

mod assess;
mod bounds;
mod header;
mod state;
mod stmts;
mod targets;
mod urls;
mod values;

#[cfg(test)]
mod tests;

pub use bounds::{JOB_RUNTIMES, MAX_CONDITION_TREE_DEPTH, REGEX_NEST_LIMIT};

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
    /// Every statement that runs, in pre-order (a block's head before its body). The header
    /// (`bridle`, `goal`, `origins`) and the declarations (`param`, `secret`) are not steps.
    pub steps: Vec<Step>,
    /// The most step executions the script can reach when every loop runs to its bound (each
    /// step counted once per iteration of every loop around it, both branches of an `if`
    /// counted); at most [`crate::limits::MAX_EXPANDED_STEPS`].
    pub expanded_steps: u64,
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
    /// The step's verb; `let x = job …` has the verb `job`.
    pub verb: Verb,
    /// The risk the checker computed. It is a lower bound: the executor raises it when the
    /// resolved element's real name holds a sensitive word, when data read on one origin is
    /// written to another (see `writes_observed`), or when the policy says so.
    pub risk: Risk,
    /// Why the risk is what it is (`"`submit` commits a form and cannot be undone"`,
    /// `"target name contains the sensitive word `pay`"` …); the first reason is the verb's.
    pub risk_reasons: Vec<String>,
    /// The statement's first line in canonical form, for approvals and the audit log.
    pub text: String,
    /// The element the step acts on or reads, if any. For a step that only reads through a
    /// value or a condition (`let`, `assert`, `if`, `repeat`, `for each`, `return`), the first
    /// target the value or condition names.
    pub target: Option<Target>,
    /// For `navigate` and `open tab`: the origin of the URL, normalised. The checker proved it
    /// is written literally and listed in `origins`; values interpolated after it are
    /// percent-encoded as one URL component each at run time, so they cannot change the
    /// origin, add path segments, a query or a fragment.
    pub url_origin: Option<String>,
    /// For `fill` with a secret: the secret's name.
    pub secret: Option<String>,
    /// The step writes (a `fill` value, a `select` option, a URL) data that came from an
    /// observation of a page, directly or through variables, so the executor must compare the
    /// origin it was read on with the origin written to. The checker does not raise the risk
    /// for this (it cannot know the origins at run time); the executor raises it to high when
    /// they differ.
    pub writes_observed: bool,
    /// Nesting depth, 0 at top level.
    pub depth: usize,
}

/// Checks a parsed script against the source it was parsed from (used for line numbers and
/// to point inside regex literals). Diagnostics come in source order, at most
/// [`crate::limits::MAX_DIAGNOSTICS`] of them.
pub fn check(
    script: Script,
    src: &str,
    options: &CheckOptions,
) -> Result<Checked, Vec<Diagnostic>> {
    let outcome = {
        let mut cx = state::Checker::new(src, options);
        cx.run(&script);
        cx.finish()
    };
    let parts = outcome?;
    Ok(Checked {
        script,
        goal: parts.goal,
        origins: parts.origins,
        params: parts.params,
        secrets: parts.secrets,
        steps: parts.steps,
        expanded_steps: parts.expanded_steps,
    })
}
