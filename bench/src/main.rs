//! Bridle's benchmarks. Each prints its own time, a baseline's time measured in the same
//! process on the same input, and the ratio between them; no absolute number is a pass/fail.
//!
//! `cargo run --release -p bridle-bench -- [dsl|all]`

mod decide;
mod dsl;
mod timing;
mod token;

use std::process::ExitCode;

fn main() -> ExitCode {
    let which = std::env::args().nth(1).unwrap_or_else(|| "all".to_owned());
    let result = match which.as_str() {
        "dsl" => dsl::run(),
        "decide" => decide::run(),
        "token" => token::run(),
        "all" => dsl::run()
            .and_then(|()| token::run())
            .and_then(|()| decide::run()),
        other => Err(format!(
            "unknown benchmark `{other}`; try `dsl`, `token`, `decide` or `all`"
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
