//! The in-sandbox launcher as its own small binary (the `bridle` binary carries the same code
//! behind `bridle __sandbox-exec`); see `bridle_host::container::shim`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((first, rest)) if first == bridle_host::container::shim::SUBCOMMAND => {
            bridle_host::container::shim::main(rest)
        }
        _ => {
            eprintln!("usage: bridle-sandbox-exec __sandbox-exec [OPTIONS] -- PROGRAM ARGS…");
            ExitCode::from(2)
        }
    }
}
