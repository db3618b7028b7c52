//! `bridle authorize`: a dry run of the policy enforcement point. It checks the script,
//! verifies the token against the policy, and prints the decision for every step, as a plan
//! preview would show it before the run (page facts are unknown here).
//!
//! The `--json` shape is stable: `{"token": {"valid", "error"}, "steps": [{"index", "line",
//! "verb", "risk", "decision", "reasons"}]}`; more keys may be added, none removed.

use bridle_dsl::diag::{render, LineIndex};
use bridle_dsl::CheckOptions;
use bridle_executor::preview::{plan, verify_token, PlannedStep, TokenReport};
use bridle_executor::replay::MemoryReplayStore;
use bridle_executor::time::format_description::well_known::Rfc3339;
use bridle_executor::time::OffsetDateTime;
use bridle_executor::Policy;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct AuthorizeArgs {
    /// The local policy (TOML)
    #[arg(long)]
    policy: PathBuf,
    /// The capability token (`v4.public.…`), or `@FILE` to read it from a file
    #[arg(long)]
    token: String,
    /// This executor instance's id (the token's audience)
    #[arg(long)]
    instance: String,
    /// Decide as of this time (RFC 3339) instead of now
    #[arg(long)]
    now: Option<String>,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
    /// The script to authorise
    script: PathBuf,
}

/// A usage error: printed, exit 2.
fn usage(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

pub fn run(args: AuthorizeArgs) -> ExitCode {
    let now = match &args.now {
        Some(text) => match OffsetDateTime::parse(text, &Rfc3339) {
            Ok(now) => now,
            Err(e) => return usage(format!("`--now {text}` is not an RFC 3339 time: {e}")),
        },
        None => OffsetDateTime::now_utc(),
    };
    let policy_src = match std::fs::read(&args.policy) {
        Ok(bytes) => bytes,
        Err(e) => return usage(format!("cannot read `{}`: {e}", args.policy.display())),
    };
    let script_bytes = match std::fs::read(&args.script) {
        Ok(bytes) => bytes,
        Err(e) => return usage(format!("cannot read `{}`: {e}", args.script.display())),
    };
    let token_text = match args.token.strip_prefix('@') {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text.trim().to_owned(),
            Err(e) => return usage(format!("cannot read `{path}`: {e}")),
        },
        None => args.token.trim().to_owned(),
    };

    let policy_name = args.policy.display().to_string();
    let policy = match Policy::from_bytes(&policy_src) {
        Ok(policy) => policy,
        Err(e) => {
            eprint!(
                "{}",
                e.render(&policy_name, &String::from_utf8_lossy(&policy_src))
            );
            return ExitCode::from(1);
        }
    };

    let script_name = args.script.display().to_string();
    let options = CheckOptions {
        risk: policy.risk_options(),
    };
    let checked = match bridle_dsl::check_bytes(&script_bytes, &options) {
        Ok(checked) => checked,
        Err(diags) => {
            let src = String::from_utf8_lossy(&script_bytes);
            if args.json {
                let index = LineIndex::new(&src);
                let out = serde_json::json!({
                    "token": {"valid": false, "error": "the script does not check", "code": null},
                    "script": {"ok": false, "diagnostics":
                        diags.iter().map(|d| d.to_json(&script_name, &index)).collect::<Vec<_>>()},
                    "steps": [],
                });
                println!("{out}");
            } else {
                eprint!("{}", render(&diags, &script_name, &src));
            }
            return ExitCode::from(1);
        }
    };

    // A dry run must not consume the token: a fresh replay store sees it for the first time.
    let verified = verify_token(
        &token_text,
        &policy,
        &args.instance,
        now,
        &script_bytes,
        &mut MemoryReplayStore::new(),
    );
    let steps = plan(&checked, &verified, &policy);
    let token = TokenReport::of(&verified);
    let any_denied = steps.iter().any(|s| s.decision == "deny");
    if args.json {
        let out = serde_json::json!({ "token": token, "steps": steps });
        println!("{out}");
    } else {
        print_table(&token, &steps, &checked.goal);
    }
    if token.valid && !any_denied {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_table(token: &TokenReport, steps: &[PlannedStep], goal: &str) {
    println!("goal (the planner's claim): {goal}");
    match &token.error {
        None => println!("token: valid"),
        Some(e) => println!("token: INVALID: {e}"),
    }
    println!();
    println!(
        "{:>4}  {:>4}  {:<10}  {:<6}  {:<8}  step",
        "#", "line", "verb", "risk", "decision"
    );
    for s in steps {
        println!(
            "{:>4}  {:>4}  {:<10}  {:<6}  {:<8}  {}",
            s.index, s.line, s.verb, s.risk, s.decision, s.text
        );
        for reason in &s.reasons {
            println!("{:>44}↳ {reason}", "");
        }
    }
    let count = |d: &str| steps.iter().filter(|s| s.decision == d).count();
    println!();
    println!(
        "{} steps: {} allow, {} ask, {} deny",
        steps.len(),
        count("allow"),
        count("ask"),
        count("deny")
    );
}
