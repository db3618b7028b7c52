//! `bridle authorize` (placeholder until written).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct AuthorizeArgs {}

pub fn run(_args: AuthorizeArgs) -> ExitCode {
    eprintln!("error: `bridle authorize` is not built yet");
    ExitCode::from(1)
}
