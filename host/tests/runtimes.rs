//! Every runtime a job may name runs in the container tier where it is installed: `sh`,
//! `python3` and `node` each print, read their input and exit with the code they chose,
//! under the same seccomp filter, Landlock rules and limits as every job.

#[cfg(test)]
mod common;

use common::*;
use std::path::Path;

/// The runtimes the host knows, with a program printing `ok`, echoing its input and exiting 3.
const PROGRAMS: &[(&str, &str, &str)] = &[
    ("sh", "/bin/sh", "echo ok; cat; exit 3"),
    (
        "python3",
        "/usr/bin/python3",
        "import sys\nprint('ok')\nsys.stdout.write(sys.stdin.read())\nsys.exit(3)",
    ),
    (
        "node",
        "/usr/bin/node",
        "console.log('ok'); process.stdout.write(require('fs').readFileSync(0, 'utf8')); process.exitCode = 3;",
    ),
];

#[test]
fn every_installed_runtime_runs_reads_its_input_and_exits_with_its_code() {
    let mut ran = Vec::new();
    for (runtime, binary, code) in PROGRAMS {
        if !Path::new(binary).exists() {
            println!("skipped {runtime}: {binary} is not installed");
            continue;
        }
        let mut job = spec(runtime, code);
        job.input = b"from the input\n".to_vec();
        let outcome = run(&job);
        assert_eq!(
            stdout(&outcome),
            "ok\nfrom the input\n",
            "{runtime}: {outcome:?}"
        );
        assert_eq!(outcome.exit, Some(3), "{runtime}: {outcome:?}");
        assert!(outcome.limits_hit.is_empty(), "{runtime}: {outcome:?}");
        ran.push(*runtime);
    }
    // sh and python3 are on every machine the project supports (.ci/setup installs them).
    assert!(ran.contains(&"sh") && ran.contains(&"python3"), "{ran:?}");
}
