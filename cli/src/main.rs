//! The `bridle` command: check and format scripts, manage keys and tokens, dry-run the policy
//! enforcement point, and verify audit logs.
//!
//! Exit codes everywhere: 0 success, 1 the input was refused or invalid, 2 usage errors.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod audit;
mod authorize;
mod check;
mod keys;
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
}

fn main() -> ExitCode {
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
    }
}
