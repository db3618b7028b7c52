//! Bridle's benchmarks. Each prints its own time, a baseline's time measured in the same
//! process on the same input, and the ratio between them; no absolute number is a pass/fail.
//!
//! `cargo run --release -p bridle-bench -- [dsl|token|decide|job|microvm|network|cpu|all]`

mod decide;
mod dsl;
mod grants;
mod job;
mod microvm;
mod timing;
mod token;

use std::process::ExitCode;

fn main() -> ExitCode {
    // The container benchmark uses this binary as the sandbox's launcher (see job.rs).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some((first, rest)) = args.split_first() {
        if first == bridle_host::container::shim::SUBCOMMAND {
            return bridle_host::container::shim::main(rest);
        }
    }
    let which = std::env::args().nth(1).unwrap_or_else(|| "all".to_owned());
    let result = match which.as_str() {
        "dsl" => dsl::run(),
        "decide" => decide::run(),
        "token" => token::run(),
        "job" => job::run(),
        "microvm" => microvm::run(),
        "network" => grants::network(),
        "cpu" => grants::cpu(),
        "all" => dsl::run()
            .and_then(|()| token::run())
            .and_then(|()| decide::run())
            .and_then(|()| job::run())
            .and_then(|()| microvm::run())
            .and_then(|()| grants::network())
            .and_then(|()| grants::cpu()),
        other => Err(format!(
            "unknown benchmark `{other}`; try `dsl`, `token`, `decide`, `job`, `microvm`, `network`, `cpu` or `all`"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
