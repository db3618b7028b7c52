//! `bridle audit` (placeholder until written).

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum AuditCmd {}

pub fn run(cmd: AuditCmd) -> ExitCode {
    match cmd {}
}
