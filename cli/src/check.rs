//! `bridle check` and `bridle fmt`: the language's diagnostics and canonical form on files.

use bridle_dsl::diag::{render, LineIndex};
use bridle_dsl::{CheckOptions, Diagnostic};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Script files to check
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print machine-readable JSON (one object with every file's diagnostics)
    #[arg(long)]
    json: bool,
    /// Print each step with its risk
    #[arg(long)]
    steps: bool,
}

#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// Script files to rewrite in canonical form
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Change nothing; exit 1 when a file is not in canonical form
    #[arg(long)]
    check: bool,
}

/// What `check --json` prints for one file.
#[derive(Debug, Serialize)]
struct FileReport<'a> {
    file: String,
    ok: bool,
    diagnostics: Vec<bridle_dsl::diag::JsonDiagnostic<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    steps: Option<Vec<StepRow>>,
}

#[derive(Debug, Serialize)]
struct StepRow {
    index: usize,
    line: usize,
    verb: String,
    risk: String,
    reasons: Vec<String>,
    text: String,
}

/// A file's bytes, its name for messages, and what checking made of it.
struct Checked {
    name: String,
    src: String,
    outcome: Result<bridle_dsl::Checked, Vec<Diagnostic>>,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

fn check_file(path: &Path, options: &CheckOptions) -> Result<Checked, String> {
    let bytes = read(path)?;
    let outcome = bridle_dsl::check_bytes(&bytes, options);
    Ok(Checked {
        name: path.display().to_string(),
        src: String::from_utf8_lossy(&bytes).into_owned(),
        outcome,
    })
}

fn step_rows(checked: &bridle_dsl::Checked) -> Vec<StepRow> {
    checked
        .steps
        .iter()
        .map(|s| StepRow {
            index: s.index,
            line: s.line,
            verb: s.verb.as_str().to_owned(),
            risk: s.risk.as_str().to_owned(),
            reasons: s.risk_reasons.clone(),
            text: s.text.clone(),
        })
        .collect()
}

pub fn run_check(args: CheckArgs) -> ExitCode {
    let options = CheckOptions::default();
    let mut results = Vec::with_capacity(args.files.len());
    for path in &args.files {
        match check_file(path, &options) {
            Ok(checked) => results.push(checked),
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::from(2);
            }
        }
    }
    let all_ok = results.iter().all(|r| r.outcome.is_ok());

    if args.json {
        let indexes: Vec<LineIndex<'_>> = results.iter().map(|r| LineIndex::new(&r.src)).collect();
        let reports: Vec<FileReport<'_>> = results
            .iter()
            .zip(&indexes)
            .map(|(r, index)| FileReport {
                file: r.name.clone(),
                ok: r.outcome.is_ok(),
                diagnostics: match &r.outcome {
                    Ok(_) => Vec::new(),
                    Err(diags) => diags.iter().map(|d| d.to_json(&r.name, index)).collect(),
                },
                steps: match (&r.outcome, args.steps) {
                    (Ok(checked), true) => Some(step_rows(checked)),
                    _ => None,
                },
            })
            .collect();
        let out = serde_json::json!({ "ok": all_ok, "files": reports });
        println!("{out}");
    } else {
        for r in &results {
            match &r.outcome {
                Ok(checked) => {
                    println!("{}: ok, {} steps", r.name, checked.steps.len());
                    if args.steps {
                        print_steps(checked);
                    }
                }
                Err(diags) => {
                    eprint!("{}", render(diags, &r.name, &r.src));
                    eprintln!(
                        "{}: {} error{}",
                        r.name,
                        diags.len(),
                        if diags.len() == 1 { "" } else { "s" }
                    );
                }
            }
        }
    }
    ExitCode::from(if all_ok { 0 } else { 1 })
}

fn print_steps(checked: &bridle_dsl::Checked) {
    println!(
        "  {:>4}  {:>4}  {:<10}  {:<6}  step",
        "#", "line", "verb", "risk"
    );
    for row in step_rows(checked) {
        let indent = checked
            .steps
            .get(row.index.saturating_sub(1))
            .map_or(0, |s| s.depth * 2);
        println!(
            "  {:>4}  {:>4}  {:<10}  {:<6}  {:indent$}{}",
            row.index,
            row.line,
            row.verb,
            row.risk,
            "",
            row.text,
            indent = indent
        );
        for reason in &row.reasons {
            println!(
                "  {:>4}  {:>4}  {:<10}  {:<6}  {:indent$}  ↳ {reason}",
                "",
                "",
                "",
                "",
                "",
                indent = indent
            );
        }
    }
}

pub fn run_fmt(args: FmtArgs) -> ExitCode {
    let mut changed = Vec::new();
    let mut failed = false;
    for path in &args.files {
        let bytes = match read(path) {
            Ok(bytes) => bytes,
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::from(2);
            }
        };
        let name = path.display().to_string();
        let script = match bridle_dsl::parse_bytes(&bytes) {
            Ok(script) => script,
            Err(diags) => {
                // A script that does not parse is never rewritten: formatting must not lose text.
                eprint!(
                    "{}",
                    render(&diags, &name, &String::from_utf8_lossy(&bytes))
                );
                failed = true;
                continue;
            }
        };
        let formatted = bridle_dsl::format_script(&script);
        if formatted.as_bytes() == bytes.as_slice() {
            continue;
        }
        changed.push(name.clone());
        if args.check {
            println!("{name}: not in canonical form");
        } else if let Err(e) = write_atomically(path, formatted.as_bytes()) {
            eprintln!("error: cannot write `{name}`: {e}");
            failed = true;
        } else {
            println!("{name}: formatted");
        }
    }
    if failed || (args.check && !changed.is_empty()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes through a temporary file and a rename, so an interrupted `fmt` never leaves a
/// half-written script behind.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".bridle-fmt.tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
