//! Unit tests of the checker, one file per rule family, over scripts parsed from text (and,
//! in [`built`], over trees built by hand for what the parser cannot produce).

mod built;
mod decls;
mod header;
mod limits;
mod props;
mod regexes;
mod risk;
mod secrets;
mod steps;
mod types;
mod urls;
mod vars;

use super::{check, CheckOptions, Checked};
use crate::diag::{render, Code, Diagnostic};

/// A header that passes, for tests about what follows it.
pub(super) const HEADER: &str =
    "bridle 1\ngoal \"Test the checker\"\norigins \"https://shop.example\", \"https://pay.example\"\n";

/// `HEADER` followed by `body`.
pub(super) fn script(body: &str) -> String {
    format!("{HEADER}{body}")
}

pub(super) fn run(src: &str) -> Result<Checked, Vec<Diagnostic>> {
    run_with(src, &CheckOptions::default())
}

pub(super) fn run_with(src: &str, options: &CheckOptions) -> Result<Checked, Vec<Diagnostic>> {
    let tree = match crate::parser::parse(src) {
        Ok(tree) => tree,
        Err(diags) => panic!(
            "the test script does not parse:\n{}\n{src}",
            render(&diags, "test.bridle", src)
        ),
    };
    check(tree, src, options)
}

/// The checked script, or a failure showing the diagnostics.
pub(super) fn ok(src: &str) -> Checked {
    match run(src) {
        Ok(checked) => checked,
        Err(diags) => panic!(
            "expected the script to check:\n{}\n{src}",
            render(&diags, "test.bridle", src)
        ),
    }
}

/// One diagnostic, flattened for assertions: code, message, help and the underlined text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub code: Code,
    pub message: String,
    pub help: String,
    pub spanned: String,
}

pub(super) fn found(src: &str, diag: &Diagnostic) -> Found {
    Found {
        code: diag.code,
        message: diag.message.clone(),
        help: diag.help.clone().unwrap_or_default(),
        spanned: src
            .get(diag.span.start..diag.span.end)
            .unwrap_or("<span outside the source>")
            .to_owned(),
    }
}

/// Every diagnostic of a script that must fail.
pub(super) fn errors(src: &str) -> Vec<Found> {
    match run(src) {
        Ok(_) => panic!("expected diagnostics, but the script checks:\n{src}"),
        Err(diags) => diags.iter().map(|d| found(src, d)).collect(),
    }
}

/// The only diagnostic of a script that must fail.
pub(super) fn error(src: &str) -> Found {
    let mut all = errors(src);
    assert_eq!(all.len(), 1, "expected one diagnostic, got {all:#?}\n{src}");
    all.remove(0)
}

/// Asserts code, message and underlined text, and that the help contains `help`.
#[track_caller]
pub(super) fn assert_found(got: &Found, code: Code, message: &str, spanned: &str, help: &str) {
    assert_eq!(got.code, code, "{got:#?}");
    assert_eq!(got.message, message, "{got:#?}");
    assert_eq!(got.spanned, spanned, "{got:#?}");
    assert!(
        got.help.contains(help),
        "help `{}` lacks `{help}`",
        got.help
    );
}

/// The single diagnostic of `HEADER` + `body`, asserted.
#[track_caller]
pub(super) fn assert_error(body: &str, code: Code, message: &str, spanned: &str, help: &str) {
    let src = script(body);
    let got = error(&src);
    assert_found(&got, code, message, spanned, help);
}
