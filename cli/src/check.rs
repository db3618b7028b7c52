//! `bridle check` and `bridle fmt` (placeholder until written).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {}
#[derive(Debug, clap::Args)]
pub struct FmtArgs {}

pub fn run_check(_args: CheckArgs) -> ExitCode {
    ExitCode::from(1)
}
pub fn run_fmt(_args: FmtArgs) -> ExitCode {
    ExitCode::from(1)
}
