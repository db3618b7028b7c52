//! `bridle token` (placeholder until written).

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCmd {}

pub fn run(cmd: TokenCmd) -> ExitCode {
    match cmd {}
}
