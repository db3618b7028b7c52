//! `bridle keys` (placeholder until written).

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum KeysCmd {}

pub fn run(cmd: KeysCmd) -> ExitCode {
    match cmd {}
}
