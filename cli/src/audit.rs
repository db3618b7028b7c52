//! `bridle audit verify`: checks an exported audit log's chain, hashes and signatures and
//! reports its runs and open steps, or the first fault with its line.
//!
//! Exit 0 when the log verifies, 1 when it does not, 2 on usage errors (bad flags, a file that
//! cannot be read — the same as `bridle check`).

use bridle_executor::audit::{verify_log, AuditError, KeyPin, VerifyReport};
use bridle_executor::ed25519_dalek::VerifyingKey;
use bridle_executor::keys::{encode_public_key, parse_public_key};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum AuditCmd {
    /// Verify an exported audit log: exit 0 when it verifies, 1 at the first fault
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The exported log (JSON Lines)
    log: PathBuf,
    /// The executor instance's public key (base64url); the log must be signed by it
    #[arg(long, value_name = "B64", value_parser = parse_key, conflicts_with = "instance")]
    public_key: Option<VerifyingKey>,
    /// The executor instance id (`bx1_…`); the log must belong to it
    #[arg(long, value_name = "ID")]
    instance: Option<String>,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

fn parse_key(text: &str) -> Result<VerifyingKey, String> {
    parse_public_key(text).map_err(|e| e.to_string())
}

const NOT_PINNED: &str = "key not pinned: the log is only checked against the key it carries, \
                          and anyone can write a log that verifies under their own key";
const PIN_HELP: &str = "pass --public-key or --instance to check that this instance wrote it";

pub fn run(cmd: AuditCmd) -> ExitCode {
    match cmd {
        AuditCmd::Verify(args) => verify(args),
    }
}

fn verify(args: VerifyArgs) -> ExitCode {
    let bytes = match std::fs::read(&args.log) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", args.log.display());
            return ExitCode::from(2);
        }
    };
    let pin = match (args.public_key, args.instance) {
        (Some(key), _) => KeyPin::PublicKey(key),
        (None, Some(id)) => KeyPin::Instance(id),
        (None, None) => KeyPin::Unpinned,
    };
    let outcome = verify_log(&bytes, &pin);
    if args.json {
        println!("{}", json_report(&outcome));
    } else {
        match &outcome {
            Ok(report) => print_report(report),
            Err(e) => {
                eprintln!("error: {e}");
                eprintln!("help: {}", e.help());
            }
        }
    }
    ExitCode::from(if outcome.is_ok() { 0 } else { 1 })
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn print_report(r: &VerifyReport) {
    println!(
        "ok: {}, {}, {} ({} open)",
        plural(r.entries, "entry", "entries"),
        plural(r.tally.runs, "run", "runs"),
        plural(r.tally.steps, "step", "steps"),
        r.open_steps.len()
    );
    println!(
        "instance: {} (key {})",
        r.instance,
        encode_public_key(&r.public_key)
    );
    println!(
        "decisions: {} allow, {} ask, {} deny; {} acted, {} failed",
        r.tally.allow, r.tally.ask, r.tally.deny, r.tally.acted, r.tally.failed
    );
    println!(
        "last entry: seq {}, hash {} (compare with a copy kept elsewhere to detect truncation)",
        r.last_seq, r.last_hash
    );
    for s in &r.open_steps {
        println!(
            "open step: line {} (seq {}): step {} of run seq {} started and has no result: {}",
            s.seq + 1,
            s.seq,
            s.step,
            s.run,
            s.text
        );
    }
    for run in &r.open_runs {
        println!(
            "open run: line {} (seq {}): no run-end",
            run.seq + 1,
            run.seq
        );
    }
    if !r.pinned {
        eprintln!("warning: {NOT_PINNED}");
        eprintln!("help: {PIN_HELP}");
    }
}

fn json_report(outcome: &Result<VerifyReport, AuditError>) -> serde_json::Value {
    match outcome {
        Ok(r) => json!({
            "ok": true,
            "entries": r.entries,
            "runs": r.tally.runs,
            "steps": r.tally.steps,
            "open_steps": r.open_steps.iter().map(|s| json!({
                "line": s.seq + 1,
                "seq": s.seq,
                "run": s.run,
                "step": s.step,
                "text": s.text,
            })).collect::<Vec<_>>(),
            "open_runs": r.open_runs.iter().map(|run| json!({
                "line": run.seq + 1,
                "seq": run.seq,
            })).collect::<Vec<_>>(),
            "decisions": {
                "allow": r.tally.allow,
                "ask": r.tally.ask,
                "deny": r.tally.deny,
            },
            "acted": r.tally.acted,
            "failed": r.tally.failed,
            "instance": r.instance,
            "public_key": encode_public_key(&r.public_key),
            "pinned": r.pinned,
            "last_seq": r.last_seq,
            "last_hash": r.last_hash.to_hex(),
            "error": null,
        }),
        Err(e) => json!({
            "ok": false,
            "entries": null,
            "runs": null,
            "steps": null,
            "open_steps": null,
            "error": {
                "line": e.line(),
                "seq": e.seq(),
                "kind": e.kind(),
                "message": e.to_string(),
                "help": e.help(),
            },
        }),
    }
}
