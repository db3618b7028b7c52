//! Nothing of a job outlives it on the host: after jobs that exit, hit the wall clock, are
//! cancelled (or are refused before starting), no job cgroup of this process is left behind.
//! Its own test binary, so no other test's running job is mistaken for a leftover.

#[cfg(test)]
mod common;

use bridle_host::container::cgroup::Layout;
use bridle_host::container::{launcher_args, Container};
use bridle_host::job::{Cancel, NullSink, Sandbox};

use common::*;
use std::path::PathBuf;
use std::time::Duration;

/// The job cgroup directories of this process under every controller the layout uses.
fn leftovers(layout: &Layout) -> Vec<PathBuf> {
    let parents: Vec<PathBuf> = match layout {
        Layout::V2 { parent } => vec![parent.clone()],
        Layout::V1 {
            memory,
            pids,
            cpu,
            cpuacct,
        } => {
            let mut v = vec![memory.clone(), pids.clone()];
            v.extend(cpu.iter().cloned());
            v.extend(cpuacct.iter().cloned());
            v
        }
        Layout::None { .. } => Vec::new(),
    };
    let prefixes = [
        format!("bridle-job-{}-", std::process::id()),
        format!("bridle-probe-{}-", std::process::id()),
    ];
    parents
        .iter()
        .flat_map(|p| std::fs::read_dir(p).into_iter().flatten().flatten())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| prefixes.iter().any(|pre| n.starts_with(pre.as_str())))
        })
        .collect()
}

#[test]
fn no_cgroup_is_left_after_any_ending() {
    let c = limited();
    // Ends on its own.
    assert_eq!(run(&spec("sh", "exit 0")).exit, Some(0));
    // Killed at the wall clock.
    let mut s = spec("sh", "sleep 60");
    s.limits.wall = Duration::from_millis(300);
    assert_eq!(run(&s).signal.as_deref(), Some("SIGKILL"));
    // Cancelled before it starts.
    let cancel = Cancel::new();
    cancel.cancel();
    let o = c
        .run(&spec("sh", "sleep 60"), &mut NullSink, &cancel)
        .unwrap();
    assert_eq!(o.exit, None);
    // A launcher that does not exist is refused before anything starts.
    let err = Container::with_launcher("/nonexistent/bridle-sandbox-exec".into(), launcher_args())
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert_eq!(leftovers(c.layout()), Vec::<PathBuf>::new());
}

#[test]
fn cgroups_of_a_dead_host_are_removed_by_the_next() {
    let c = limited();
    let (Layout::V1 { memory, .. } | Layout::V2 { parent: memory }) = c.layout().clone() else {
        unreachable!("limited() has a cgroup");
    };
    // No process has pid 4194304 (above the kernel's PID_MAX_LIMIT).
    let stale = memory.join("bridle-job-4194304-0");
    std::fs::create_dir(&stale).unwrap();
    let _ = limited();
    assert!(!stale.exists());
}
