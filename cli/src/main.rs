//! The `bridle` command: check and format scripts, manage keys and tokens, dry-run the policy
//! enforcement point, and verify audit logs.
//!
//! Exit codes everywhere: 0 success, 1 the input was refused or invalid, 2 usage errors.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod audit;
mod authorize;
mod check;
mod doctor;
mod host;
mod job;
mod keys;
mod planner;
mod token;

#[derive(Debug, Parser)]
#[command(
    name = "bridle",
    version,
    about = "Bridle: a semantic sandbox for AI agents in the browser"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check scripts: exit 0 when every file is valid, 1 with diagnostics otherwise
    Check(check::CheckArgs),
    /// Rewrite scripts in canonical form
    Fmt(check::FmtArgs),
    /// Ed25519 key pairs for planners and executor instances
    #[command(subcommand)]
    Keys(keys::KeysCmd),
    /// Mint and inspect capability tokens
    #[command(subcommand)]
    Token(token::TokenCmd),
    /// Dry-run the policy enforcement point: the decision for every step of a script
    Authorize(authorize::AuthorizeArgs),
    /// Verify audit logs
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Run jobs in a sandbox, through the same checks as the native host
    #[command(subcommand)]
    Job(job::JobCmd),
    /// The native messaging host a browser starts; `install`/`uninstall` register it
    Host(host::HostArgs),
    /// Check what the job sandboxes need on this machine, with the fix for each
    Doctor(doctor::DoctorArgs),
    /// The reference planner: serve instances, mint tokens, run scripts
    #[command(subcommand)]
    Planner(planner::PlannerCmd),
}

fn main() -> ExitCode {
    // Inside a job's sandbox this binary is the launcher (bridle_host::container::shim); it is
    // matched before clap so nothing else runs there.
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if let Some((first, rest)) = raw.split_first() {
        if first == bridle_host::container::shim::SUBCOMMAND {
            return bridle_host::container::shim::main(rest);
        }
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with success; real usage errors exit 2.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Check(args) => check::run_check(args),
        Command::Fmt(args) => check::run_fmt(args),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Token(cmd) => token::run(cmd),
        Command::Authorize(args) => authorize::run(args),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Job(cmd) => job::run(cmd),
        Command::Host(args) => host::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Planner(cmd) => planner::run(cmd),
    }
}
