//! Golden tests of the language: every `golden/ok/NNNN_name.bridle` must parse and check
//! cleanly and match its stored tree (`.ast`) and steps (`.steps`); every
//! `golden/err/NNNN_name.bridle` must fail and match its stored diagnostics (`.diag`).
//!
//! Run with `BRIDLE_BLESS=1` to (re)write every stored file from the current behaviour, then
//! review the diff: `BRIDLE_BLESS=1 cargo test -p bridle-tests --test golden`. Stored files
//! whose script is gone are deleted when blessing and reported otherwise.

use bridle_dsl::diag::{render, LineIndex};
use bridle_dsl::{check_bytes, parse_bytes, CheckOptions, Checked, Diagnostic};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// At least this many scripts in each set, so a mistaken path cannot make the test vacuous.
const MIN_OK_SCRIPTS: usize = 45;
const MIN_ERR_SCRIPTS: usize = 25;

/// The extensions of the files stored next to the scripts.
const OUTPUTS: &[&str] = &["ast", "steps", "diag"];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

fn blessing() -> bool {
    std::env::var("BRIDLE_BLESS").is_ok_and(|v| v == "1")
}

/// The scripts of one set, sorted by name.
fn scripts(set: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(golden_dir().join(set))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "bridle") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Compares `actual` with the stored file, or writes it when blessing; failures are collected
/// so one run reports every mismatch.
fn expect_file(path: &Path, actual: &str, failures: &mut Vec<String>) {
    if blessing() {
        if let Err(e) = std::fs::write(path, actual) {
            failures.push(format!("{}: cannot write: {e}", path.display()));
        }
        return;
    }
    let expected = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(_) => {
            failures.push(format!(
                "{}: missing; run with BRIDLE_BLESS=1 to create it",
                path.display()
            ));
            return;
        }
    };
    if expected != actual {
        failures.push(format!(
            "{}: differs from the current output (rerun with BRIDLE_BLESS=1 if the change is intended)\n{}",
            path.display(),
            first_difference(&expected, actual)
        ));
    }
}

/// The first differing line, with a little context: enough to see what changed.
fn first_difference(expected: &str, actual: &str) -> String {
    let exp: Vec<&str> = expected.lines().collect();
    let act: Vec<&str> = actual.lines().collect();
    let at = exp
        .iter()
        .zip(&act)
        .position(|(a, b)| a != b)
        .unwrap_or(exp.len().min(act.len()));
    let mut out = format!("  first difference at line {}:\n", at + 1);
    for (i, line) in exp.iter().enumerate().skip(at.saturating_sub(2)).take(5) {
        let mark = if i == at { '-' } else { ' ' };
        let _ = writeln!(out, "  {mark} {line}");
    }
    for line in act.iter().skip(at).take(3) {
        let _ = writeln!(out, "  + {line}");
    }
    let _ = write!(
        out,
        "  ({} lines stored, {} lines now)",
        exp.len(),
        act.len()
    );
    out
}

/// Outputs stored for a script that no longer exists: deleted when blessing, else failures.
fn orphans(set: &str, failures: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(golden_dir().join(set))? {
        let path = entry?.path();
        let is_output = path
            .extension()
            .is_some_and(|e| OUTPUTS.iter().any(|o| e == *o));
        if is_output && !path.with_extension("bridle").exists() {
            if blessing() {
                std::fs::remove_file(&path)?;
            } else {
                failures.push(format!(
                    "{}: stored output without a script",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} golden failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn diagnostics_text(name: &str, src: &str, diags: &[Diagnostic]) -> String {
    let index = LineIndex::new(src);
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.to_short(name, &index));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&render(diags, name, src));
    out
}

fn steps_text(checked: &Checked) -> String {
    let mut out = String::new();
    for step in &checked.steps {
        let _ = write!(
            out,
            "{:>3} L{:<4} {:<6} {:<10} {}{}",
            step.index,
            step.line,
            step.risk.as_str(),
            step.verb.as_str(),
            "  ".repeat(step.depth),
            step.text
        );
        if !step.risk_reasons.is_empty() {
            let _ = write!(out, "  -- {}", step.risk_reasons.join("; "));
        }
        out.push('\n');
    }
    out
}

#[test]
fn ok_scripts_parse_check_and_match_their_goldens() {
    let scripts = scripts("ok").unwrap();
    assert!(
        scripts.len() >= MIN_OK_SCRIPTS,
        "expected at least {MIN_OK_SCRIPTS} ok/ scripts, found {}",
        scripts.len()
    );
    let mut failures = Vec::new();
    for path in scripts {
        let name = file_name(&path);
        let bytes = std::fs::read(&path).unwrap();
        let src = String::from_utf8_lossy(&bytes).into_owned();
        let script = match parse_bytes(&bytes) {
            Ok(script) => script,
            Err(diags) => {
                failures.push(format!(
                    "ok/{name}: does not parse:\n{}",
                    diagnostics_text(&name, &src, &diags)
                ));
                continue;
            }
        };
        let ast = serde_json::to_string_pretty(&script).unwrap() + "\n";
        expect_file(&path.with_extension("ast"), &ast, &mut failures);
        match check_bytes(&bytes, &CheckOptions::default()) {
            Ok(checked) => expect_file(
                &path.with_extension("steps"),
                &steps_text(&checked),
                &mut failures,
            ),
            Err(diags) => failures.push(format!(
                "ok/{name}: parses but does not check:\n{}",
                diagnostics_text(&name, &src, &diags)
            )),
        }
    }
    orphans("ok", &mut failures).unwrap();
    report(failures);
}

#[test]
fn err_scripts_match_their_diagnostics() {
    let scripts = scripts("err").unwrap();
    assert!(
        scripts.len() >= MIN_ERR_SCRIPTS,
        "expected at least {MIN_ERR_SCRIPTS} err/ scripts, found {}",
        scripts.len()
    );
    let mut failures = Vec::new();
    for path in scripts {
        let name = file_name(&path);
        let bytes = std::fs::read(&path).unwrap();
        let src = String::from_utf8_lossy(&bytes).into_owned();
        let diags = match parse_bytes(&bytes) {
            Err(diags) => diags,
            Ok(_) => match check_bytes(&bytes, &CheckOptions::default()) {
                Err(diags) => diags,
                Ok(_) => {
                    failures.push(format!(
                        "err/{name}: parses and checks without a diagnostic"
                    ));
                    continue;
                }
            },
        };
        assert!(
            !diags.is_empty(),
            "err/{name}: an error with no diagnostics"
        );
        expect_file(
            &path.with_extension("diag"),
            &diagnostics_text(&name, &src, &diags),
            &mut failures,
        );
    }
    orphans("err", &mut failures).unwrap();
    report(failures);
}
