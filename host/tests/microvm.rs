//! The microVM tier end to end: jobs, exit statuses, every limit, cleanup, snapshot entropy,
//! and an escape suite whose attempts must all fail.
//!
//! These tests need the guest that `scripts/guest-kernel.sh` builds into `target/guest/` (`make
//! test` builds it through `.ci/setup`); without it they fail and say so, they never skip. Under
//! TCG a guest takes about a second, so the escape attempts share one guest run
//! (`microvm_escape.py`): each attempt is still its own test with its own verdict, and the
//! attempts that end or damage a guest (memory bomb, fork bomb, spin, flood, orphans) get
//! their own VM.

// A test crate: clippy.toml lets `#[test]` functions unwrap and panic (a failure is a failed
// test with its message); the shared helpers here fail the same way, on purpose.
#![allow(clippy::unwrap_used, clippy::panic)]

#[cfg(test)]
mod common;

use bridle_host::job::{
    Cancel, JobOutcome, JobSpec, LimitHit, Limits, NullSink, OutputSink, Sandbox, Stream, Tier,
    DEFAULT_OUTPUT,
};
use bridle_host::microvm::{detected_accel, Artifacts, Boot, Microvm};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

fn artifacts() -> Artifacts {
    match Artifacts::locate() {
        Ok(a) => a,
        Err(e) => panic!(
            "{e}\nThe microVM tests need the guest kernel and init: run scripts/guest-kernel.sh \
             (`make test` runs it through .ci/setup)."
        ),
    }
}

/// A private folder for one test's job folders, checked empty after every job.
struct WorkRoot(PathBuf);

impl WorkRoot {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("bridle-mvm-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        WorkRoot(dir)
    }
}

impl Drop for WorkRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tier(boot: Boot, root: &WorkRoot) -> Microvm {
    let artifacts = artifacts();
    let accel = detected_accel(&artifacts);
    Microvm::new(artifacts, accel, boot, common::snapshot_dir()).with_work_root(root.0.clone())
}

fn spec(runtime: &str, code: &str, input: &[u8], limits: Limits) -> JobSpec {
    JobSpec {
        runtime: runtime.into(),
        code: code.as_bytes().to_vec(),
        input: input.to_vec(),
        limits,
        network: false,
        tier: Tier::Microvm,
    }
}

/// Snapshots are made once per memory size (and runtime, when warm); concurrent tests wait for
/// the first maker.
fn prepared(boot: Boot, root: &WorkRoot, memory: u64, runtime: &str) -> Microvm {
    static MAKING: Mutex<()> = Mutex::new(());
    let t = tier(boot, root);
    if boot != Boot::Cold {
        let _guard = MAKING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        t.prepare_snapshot(memory, runtime).unwrap();
    }
    t
}

/// Runs one job and checks the VM left nothing behind: no file in the work root, no process
/// still referring to it.
fn run_with(
    boot: Boot,
    name: &str,
    job: &JobSpec,
    sink: &mut dyn OutputSink,
    cancel: &Cancel,
) -> JobOutcome {
    let root = WorkRoot::new(name);
    let t = prepared(boot, &root, job.limits.memory, &job.runtime);
    let outcome = t.run(job, sink, cancel).unwrap();
    let left: Vec<_> = std::fs::read_dir(&root.0).unwrap().collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
    assert!(
        processes_mentioning(&root.0).is_empty(),
        "a process outlived its job: {:?}",
        processes_mentioning(&root.0)
    );
    outcome
}

fn run(boot: Boot, name: &str, job: &JobSpec) -> JobOutcome {
    run_with(boot, name, job, &mut NullSink, &Cancel::new())
}

/// Host processes whose command line mentions `path` (a QEMU of that job would).
fn processes_mentioning(path: &Path) -> Vec<String> {
    // With the slash: the folder of a test named `exit` is a prefix of `exit-warm`'s, which
    // another test may be using at the same time.
    let needle = format!("{}/", path.to_string_lossy());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(&needle) {
                found.push(cmd);
            }
        }
    }
    found
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn cold_boot_job_prints() {
    let o = run(
        Boot::Cold,
        "cold-print",
        &spec("sh", "echo hello from a microvm", b"", Limits::default()),
    );
    assert_eq!(text(&o.stdout), "hello from a microvm\n", "{o:?}");
    assert_eq!(o.exit, Some(0));
    assert!(o.limits_hit.is_empty());
}

#[test]
fn snapshot_job_runs_python_with_input() {
    let code = "import json,sys\nd=json.load(sys.stdin)\nprint(sum(d['n']))\nprint('err', file=sys.stderr)";
    let o = run(
        Boot::Snapshot,
        "input",
        &spec("python3", code, br#"{"n":[1,2,39]}"#, Limits::default()),
    );
    assert_eq!(text(&o.stdout), "42\n", "{o:?}");
    assert_eq!(text(&o.stderr), "err\n");
    assert_eq!(o.exit, Some(0));
}

#[test]
fn exit_status_and_signal_are_reported() {
    let o = run(
        Boot::Snapshot,
        "exit",
        &spec(
            "sh",
            "echo out; echo err >&2; exit 7",
            b"",
            Limits::default(),
        ),
    );
    assert_eq!((o.exit, o.signal.as_deref()), (Some(7), None), "{o:?}");
    assert_eq!(
        (text(&o.stdout), text(&o.stderr)),
        ("out\n".into(), "err\n".into())
    );
    let o = run(
        Boot::Snapshot,
        "signal",
        &spec("sh", "kill -SEGV $$", b"", Limits::default()),
    );
    assert_eq!(
        (o.exit, o.signal.as_deref()),
        (None, Some("SIGSEGV")),
        "{o:?}"
    );
}

#[test]
fn cpu_spin_is_killed_at_the_wall_clock() {
    let limits = Limits {
        wall: Duration::from_secs(2),
        ..Limits::default()
    };
    let o = run(
        Boot::Cold,
        "spin",
        &spec("python3", "while True: pass", b"", limits),
    );
    assert_eq!(o.limits_hit, vec![LimitHit::Wall], "{o:?}");
    assert_eq!((o.exit, o.signal.as_deref()), (None, Some("SIGKILL")));
}

#[test]
fn sleep_past_the_wall_clock_is_killed() {
    let limits = Limits {
        wall: Duration::from_secs(1),
        ..Limits::default()
    };
    let o = run(
        Boot::Snapshot,
        "sleep",
        &spec("sh", "echo before; sleep 600; echo after", b"", limits),
    );
    assert_eq!(o.limits_hit, vec![LimitHit::Wall], "{o:?}");
    assert_eq!(text(&o.stdout), "before\n");
}

/// Under TCG the guest has no local APIC timer (`noapictimer`, see `vm.rs`): the PIT is its
/// only timer. Sleeps, and the timers that a job's own waits rely on, end on time in a booted
/// guest and in a restored one, by the guest's clock and by the host's.
#[test]
fn guest_timers_fire_on_time() {
    let code = "import time\n\
                t = time.monotonic()\n\
                time.sleep(0.5)\n\
                print(round(time.monotonic() - t, 2))";
    for (boot, name) in [(Boot::Cold, "timer-cold"), (Boot::Warm, "timer-warm")] {
        let o = run(boot, name, &spec("python3", code, b"", Limits::default()));
        assert_eq!(o.exit, Some(0), "{boot:?}: {o:?}");
        let slept: f64 = text(&o.stdout).trim().parse().unwrap();
        assert!(
            (0.5..2.0).contains(&slept),
            "{boot:?}: slept {slept} s: {o:?}"
        );
        assert!(o.wall_ms >= 500, "{boot:?}: {o:?}");
    }
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    let limits = Limits {
        memory: 64 * 1024 * 1024,
        ..Limits::default()
    };
    let code = "a = []\nwhile True:\n    a.append(b'x' * (4 << 20))";
    let o = run(
        Boot::Snapshot,
        "membomb",
        &spec("python3", code, b"", limits),
    );
    assert!(o.limits_hit.contains(&LimitHit::Memory), "{o:?}");
    assert_eq!(o.signal.as_deref(), Some("SIGKILL"), "{o:?}");
}

#[test]
fn fork_bomb_is_contained() {
    let limits = Limits {
        wall: Duration::from_secs(3),
        pids: 32,
        ..Limits::default()
    };
    let o = run(
        Boot::Snapshot,
        "forkbomb",
        &spec("sh", "b() { b | b & }; b; wait", b"", limits),
    );
    // The bomb ends (by the process limit, or at worst the wall clock) and the VM is gone:
    // `run` checked that no process and no file survived it.
    assert!(
        o.exit.is_some() || o.limits_hit.contains(&LimitHit::Wall),
        "{o:?}"
    );
}

#[test]
fn output_beyond_the_budget_is_cut() {
    let limits = Limits {
        output: 100,
        ..Limits::default()
    };
    let o = run(
        Boot::Snapshot,
        "budget",
        &spec(
            "sh",
            "i=0; while [ $i -lt 100 ]; do echo 0123456789; i=$((i+1)); done",
            b"",
            limits,
        ),
    );
    assert_eq!(o.stdout.len(), 100, "{o:?}");
    assert!(o.stdout_cut);
    assert!(o.limits_hit.contains(&LimitHit::Output));
}

#[test]
fn output_flood_is_cut_and_stopped() {
    let o = run(
        Boot::Cold,
        "flood",
        &spec("sh", "yes flood", b"", Limits::default()),
    );
    assert_eq!(o.stdout.len() as u64, DEFAULT_OUTPUT, "{:?}", o.limits_hit);
    assert!(o.limits_hit.contains(&LimitHit::Output));
    assert!(
        !o.limits_hit.contains(&LimitHit::Wall),
        "the flood was not stopped at the budget"
    );
}

#[test]
fn orphans_do_not_survive_the_job() {
    let code = "setsid sleep 1000 >/dev/null 2>&1 &\n(sleep 1000 &)\necho started";
    let o = run(
        Boot::Snapshot,
        "orphans",
        &spec("sh", code, b"", Limits::default()),
    );
    // The job ends when its own process does; `run` checked the VM (with the orphans) is gone.
    assert_eq!(o.exit, Some(0), "{o:?}");
    assert_eq!(text(&o.stdout), "started\n");
    assert!(o.limits_hit.is_empty(), "{o:?}");
}

/// Cancels the job as soon as it produces output.
struct CancelOnOutput(Cancel);

impl OutputSink for CancelOnOutput {
    fn chunk(&mut self, _stream: Stream, _bytes: &[u8]) {
        self.0.cancel();
    }
}

#[test]
fn cancel_destroys_the_vm() {
    let cancel = Cancel::new();
    let mut sink = CancelOnOutput(cancel.clone());
    let job = spec("sh", "echo go; sleep 600", b"", Limits::default());
    let o = run_with(Boot::Snapshot, "cancel", &job, &mut sink, &cancel);
    assert_eq!(o.limits_hit, vec![LimitHit::Cancelled], "{o:?}");
}

#[test]
fn network_grants_without_passt_are_refused_not_ignored() {
    // With passt the grant is honoured (host/tests/network.rs); without it, refused by name.
    let root = WorkRoot::new("network");
    let mut job = spec("sh", "true", b"", Limits::default());
    job.network = true;
    let err = tier(Boot::Cold, &root)
        .with_network_tool("/nonexistent/passt".into())
        .run(&job, &mut NullSink, &Cancel::new())
        .unwrap_err();
    assert!(err.to_string().contains("passt"), "{err}");
}

#[test]
fn restored_guests_get_fresh_entropy_and_the_host_clock() {
    let code =
        "import os,random,time\nprint(os.urandom(16).hex(), random.random(), int(time.time()))";
    let a = run(
        Boot::Snapshot,
        "entropy-a",
        &spec("python3", code, b"", Limits::default()),
    );
    let b = run(
        Boot::Snapshot,
        "entropy-b",
        &spec("python3", code, b"", Limits::default()),
    );
    let (a, b) = (text(&a.stdout), text(&b.stdout));
    let fields = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let (fa, fb) = (fields(&a), fields(&b));
    assert_eq!(fa.len(), 3, "{a}");
    assert_ne!(
        fa[0], fb[0],
        "two restored guests returned the same random bytes"
    );
    assert_ne!(
        fa[1], fb[1],
        "two restored guests seeded Python's random alike"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let guest: u64 = fa[2].parse().unwrap();
    assert!(
        now.abs_diff(guest) < 600,
        "guest clock {guest} vs host {now}"
    );
}

/// What a `python3` job can see of how it was started.
const INTROSPECT: &str = r#"start = sorted(globals())
import json, os, sys
info = {
    "globals": start, "loader": type(__loader__).__name__, "annotations": __annotations__,
    "argv": sys.argv, "orig_argv": sys.orig_argv, "path": sys.path, "cwd": os.getcwd(),
    "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups()],
    "env": dict(os.environ), "stdin": sys.stdin.read(), "name": __name__, "file": __file__,
    "spec": repr(__spec__), "executable": sys.executable, "prefix": sys.prefix,
    "flags": str(sys.flags), "stdout": [sys.stdout.encoding, sys.stdout.line_buffering],
    "status": [l.strip() for l in open("/proc/self/status")
               if l.startswith(("Cap", "NoNewPrivs", "Seccomp"))],
    # Less the pending-signals limit, which the kernel sizes by the guest's memory (a warm
    # guest has 16 MiB more for the interpreter's copied files).
    "limits": [l for l in open("/proc/self/limits") if not l.startswith("Max pending signals")],
    "fds": sorted(os.listdir("/proc/self/fd")),
    "modules_loaded_from_rt": [m for m, v in sys.modules.items()
                               if str(getattr(v, "__file__", "")).startswith("/rt")],
}
print(json.dumps(info, sort_keys=True))
print("to stderr", file=sys.stderr)
def fail():
    raise ValueError("boom")
fail()
"#;

#[test]
fn a_warm_python_job_sees_what_a_cold_one_sees() {
    // The warm interpreter started as root before the snapshot; the job it becomes must not be
    // told apart from `python3 /job/code` started after GO: same argv, paths, ids, environment,
    // stdin, limits, capabilities, open files, exit status and traceback.
    let limits = Limits {
        pids: 24,
        ..Limits::default()
    };
    let job = spec("python3", INTROSPECT, b"the input", limits);
    let cold = run(Boot::Cold, "introspect-cold", &job);
    let warm = run(Boot::Warm, "introspect-warm", &job);
    assert_eq!(cold.exit, Some(1), "{cold:?} {}", text(&cold.stderr));
    assert_eq!(warm.exit, cold.exit, "{}", text(&warm.stderr));
    let seen = |o: &JobOutcome| -> serde_json::Value { serde_json::from_slice(&o.stdout).unwrap() };
    assert_eq!(seen(&warm), seen(&cold));
    assert_eq!(text(&warm.stderr), text(&cold.stderr));
    assert_eq!(
        seen(&warm)["ids"],
        serde_json::json!([65534, 65534, 65534, 65534, []])
    );
    assert!(text(&warm.stderr).contains("Traceback (most recent call last):\n  File \"/job/code\""));
    // A script that does not compile, and one that exits with its own status.
    for (name, code) in [
        ("syntax", "x = (\n"),
        ("exit", "import sys\nprint('out')\nsys.exit(3)"),
    ] {
        let job = spec("python3", code, b"", Limits::default());
        let cold = run(Boot::Cold, &format!("{name}-cold"), &job);
        let warm = run(Boot::Warm, &format!("{name}-warm"), &job);
        assert_eq!(
            (warm.exit, text(&warm.stdout), text(&warm.stderr)),
            (cold.exit, text(&cold.stdout), text(&cold.stderr)),
            "{name}"
        );
    }
}

#[test]
fn warm_python_jobs_get_fresh_randomness() {
    // Every restored copy holds the same interpreter: what it draws after GO must still differ.
    let code = "import os, random\nprint(os.urandom(16).hex(), random.getrandbits(64))";
    let job = spec("python3", code, b"", Limits::default());
    let a = run(Boot::Warm, "warm-random-a", &job);
    let b = run(Boot::Warm, "warm-random-b", &job);
    assert_eq!(a.exit, Some(0), "{a:?} {}", text(&a.stderr));
    assert_eq!(b.exit, Some(0), "{b:?} {}", text(&b.stderr));
    let (a, b) = (text(&a.stdout), text(&b.stdout));
    let (a, b): (Vec<&str>, Vec<&str>) = (
        a.split_whitespace().collect(),
        b.split_whitespace().collect(),
    );
    assert_ne!(a[0], b[0], "os.urandom repeated across warm jobs");
    assert_ne!(a[1], b[1], "random repeated across warm jobs");
}

#[test]
fn snapshots_never_hold_job_data() {
    // Restores only read the snapshot: a job's code, input and output never reach the file that
    // the next job is restored from, with or without a warm interpreter in it.
    let secret = format!("bridle-job-secret-{}", std::process::id());
    let code = format!("import sys\nprint(sys.stdin.read()[::-1]) # {secret}");
    let job = spec("python3", &code, secret.as_bytes(), Limits::default());
    for boot in [Boot::Snapshot, Boot::Warm] {
        let o = run(boot, "snapshot-data", &job);
        assert_eq!(o.exit, Some(0), "{boot:?}: {o:?}");
    }
    let reversed: String = secret.chars().rev().collect();
    let mut checked = 0;
    for entry in std::fs::read_dir(common::snapshot_dir()).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        for needle in [&secret, &reversed] {
            assert!(
                !contains(&bytes, needle.as_bytes()),
                "{} holds job data",
                entry.path().display()
            );
        }
        checked += 1;
    }
    assert!(checked > 0, "no snapshot was made");
}

/// Whether `hay` contains `needle` (quick enough for a snapshot file in a debug build).
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, _)) = needle.split_first() else {
        return true;
    };
    let mut at = 0;
    while let Some(i) = hay[at..].iter().position(|&b| b == first) {
        let start = at + i;
        if hay[start..].starts_with(needle) {
            return true;
        }
        at = start + 1;
    }
    false
}

// ---- the escape suite: one guest, one verdict per attempt -----------------------------------

const ESCAPE_PIDS: u32 = 32;
const ESCAPE_MEMORY: u64 = 96 * 1024 * 1024;

struct Escape {
    verdicts: serde_json::Value,
    marker: String,
}

/// The escape script's verdicts. A failed run is kept as an error (every attempt's test then
/// fails with it) rather than re-run by each of them.
fn escape() -> &'static Escape {
    static RESULT: OnceLock<Result<Escape, String>> = OnceLock::new();
    let result = RESULT.get_or_init(|| {
        let nonce = format!(
            "{:x}{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let marker = format!("bridle-escape-{nonce}");
        let secret = format!("bridle-secret-{nonce}");
        // Another job's data, as a sibling of this job's folder on the host.
        let root = WorkRoot::new("escape");
        let other = root
            .0
            .parent()
            .unwrap()
            .join(format!("bridle-mvm-other-{nonce}"));
        std::fs::create_dir_all(other.join("job")).unwrap();
        std::fs::write(other.join("job/input"), &secret).unwrap();
        // An abstract unix socket listening on the host.
        let abstract_name = format!("bridle-test-{nonce}");
        let _listener = abstract_listener(&abstract_name);
        let usr_links: Vec<String> = [
            "/usr/lib/ssl/certs",
            "/usr/lib/ssl/openssl.cnf",
            "/usr/lib/ssl/private",
        ]
        .into_iter()
        .filter(|p| {
            std::fs::symlink_metadata(p)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false)
        })
        .map(str::to_owned)
        .collect();
        let input = serde_json::json!({
            "marker": marker,
            // In two halves: the input itself must not contain the secret the guest looks for.
            "secret_halves": [&secret[..secret.len() / 2], &secret[secret.len() / 2..]],
            "abstract": abstract_name,
            "usr_links": usr_links,
            "tmp_limit": ESCAPE_MEMORY / 2,
            "pids": ESCAPE_PIDS,
        });
        let limits = Limits {
            memory: ESCAPE_MEMORY,
            pids: ESCAPE_PIDS,
            wall: Duration::from_secs(120),
            ..Limits::default()
        };
        let job = spec(
            "python3",
            include_str!("microvm_escape.py"),
            input.to_string().as_bytes(),
            limits,
        );
        // Warm: the way a `python3` job runs by default, as an interpreter that started as root
        // before the snapshot and dropped to the job's uid after it.
        let t = prepared(Boot::Warm, &root, ESCAPE_MEMORY, "python3");
        let o = t.run(&job, &mut NullSink, &Cancel::new());
        let _ = std::fs::remove_dir_all(&other);
        let o = o.map_err(|e| format!("the escape job did not run: {e}"))?;
        if o.exit != Some(0) {
            return Err(format!(
                "the escape script failed: {o:?} {}",
                text(&o.stderr)
            ));
        }
        let verdicts = serde_json::from_slice(&o.stdout)
            .map_err(|e| format!("escape output {e}: {}", text(&o.stdout)))?;
        // Shown with `--nocapture`: what each attempt ran into.
        eprintln!("escape verdicts: {verdicts:#}");
        Ok(Escape { verdicts, marker })
    });
    match result {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    }
}

fn abstract_listener(name: &str) -> Option<std::os::unix::net::UnixListener> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).ok()?;
    std::os::unix::net::UnixListener::bind_addr(&addr).ok()
}

fn blocked(attempt: &str) {
    let v = &escape().verdicts[attempt];
    assert_eq!(v["result"], "blocked", "escape attempt `{attempt}`: {v}");
}

#[test]
fn escape_tcp_connect() {
    blocked("tcp_connect");
}
#[test]
fn escape_udp_send() {
    blocked("udp_send");
}
#[test]
fn escape_dns_lookup() {
    blocked("dns_lookup");
}
#[test]
fn escape_network_interfaces() {
    blocked("network_interfaces");
}
#[test]
fn escape_unix_socket_to_host_service() {
    blocked("unix_socket_host_service");
}
#[test]
fn escape_read_host_home() {
    blocked("read_host_home");
}
#[test]
fn escape_read_host_etc() {
    blocked("read_host_etc");
}
#[test]
fn escape_symlink_out_of_usr() {
    blocked("symlink_out_of_usr");
}
#[test]
fn escape_9p_dotdot_traversal() {
    blocked("ninep_dotdot_traversal");
}
#[test]
fn escape_write_shared_usr() {
    blocked("write_shared_usr");
    let marker = &escape().marker;
    assert!(!Path::new("/usr").join(marker).exists());
    assert!(!Path::new("/usr/lib").join(marker).exists());
}
#[test]
fn escape_write_warm_runtime() {
    blocked("write_warm_runtime");
    // The suite runs warm: the copies were there to be tried.
    let v = &escape().verdicts["write_warm_runtime"];
    assert!(v.to_string().contains("warm runtime present: True"), "{v}");
}
#[test]
fn escape_write_job_folder() {
    blocked("write_job_folder");
}
#[test]
fn escape_read_another_jobs_data() {
    blocked("read_other_job");
}
#[test]
fn escape_proc_of_init_and_host() {
    blocked("proc_of_init_and_host");
}
#[test]
fn escape_signal_or_ptrace_init() {
    blocked("signal_or_ptrace_init");
}
#[test]
fn escape_device_nodes() {
    blocked("device_nodes");
}
#[test]
fn escape_become_root() {
    blocked("become_root");
}
#[test]
fn escape_io_uring() {
    blocked("io_uring");
}
#[test]
fn escape_mount_unshare_modules_reboot() {
    blocked("mount_unshare_modules");
}
#[test]
fn escape_disk_fill() {
    blocked("disk_fill");
}
#[test]
fn escape_fork_limit() {
    blocked("fork_limit");
}

#[test]
fn vm_ends_itself_when_the_host_disappears() {
    // A host killed mid-job cannot destroy its VM: the guest notices the channel's hang-up and
    // ends the VM itself. Driven at the VM level, with the host's side of the channel dropped.
    use bridle_guest_init::{write_frame, FrameReader, Go, TAG_GO, TAG_STARTED};
    use bridle_host::microvm::vm::{Machine, Start, Vm, WorkDir};
    use std::io::Read;
    let a = artifacts();
    let root = WorkRoot::new("host-gone");
    let dir = WorkDir::new(&root.0, "bridle-vm").unwrap();
    let job_dir = dir.path().join("job");
    std::fs::create_dir(&job_dir).unwrap();
    std::fs::write(job_dir.join("code"), "sleep 600").unwrap();
    std::fs::write(job_dir.join("input"), "").unwrap();
    let channel = dir.path().join("chan.sock");
    let listener = std::os::unix::net::UnixListener::bind(&channel).unwrap();
    let usr = PathBuf::from("/usr");
    let machine = Machine {
        qemu: &a.qemu,
        kernel: &a.kernel,
        initrd: &a.initrd,
        usr: &usr,
        accel: detected_accel(&a),
        memory_mib: 128,
        warm: None,
        network: false,
    };
    let mut vm = Vm::spawn(&machine, dir.path(), &channel, &job_dir, Start::Cold).unwrap();
    let (mut stream, _) = listener.accept().unwrap();
    let go = Go {
        seed: [1; 32],
        unix_nanos: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
        runtime: "/usr/bin/sh".into(),
        pids: 16,
        tmp_bytes: 1 << 20,
        network: false,
    };
    write_frame(&mut stream, TAG_GO, &go.encode()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut frames = FrameReader::new();
    let mut buf = [0u8; 4096];
    'started: loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the guest closed the channel: {}", vm.diagnostics());
        frames.feed(&buf[..n]);
        while let Some((tag, payload)) = frames.next_frame().unwrap() {
            assert_ne!(
                tag,
                b'F',
                "init failed: {}",
                String::from_utf8_lossy(&payload)
            );
            if tag == TAG_STARTED {
                break 'started;
            }
        }
    }
    drop(stream);
    drop(listener);
    let mut waited = Duration::ZERO;
    while !vm.exited() && waited < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
        waited += Duration::from_millis(20);
    }
    assert!(vm.exited(), "the VM outlived its host's channel");
}

// ---- usage reports: peak memory, the CPU quota, the process limit ----------------------------

const MIB: u64 = 1024 * 1024;

#[test]
fn peak_memory_is_the_jobs_largest_resident_set() {
    let limits = Limits::default();
    // Touched page by page: an untouched bytearray would stay zero pages, never resident.
    let code =
        "b = bytearray(64 << 20)\nfor i in range(0, len(b), 4096):\n    b[i] = 1\nprint(len(b))";
    let o = run(
        Boot::Snapshot,
        "peak-64m",
        &spec("python3", code, b"", limits),
    );
    assert_eq!(o.exit, Some(0), "{o:?}");
    let peak = o.peak_memory.unwrap();
    println!("python3, 64 MiB touched: peak_memory {peak} bytes");
    assert!(
        (64 * MIB..limits.memory).contains(&peak),
        "peak {} MiB for a 64 MiB job under a {} MiB limit",
        peak / MIB,
        limits.memory / MIB
    );
    let o = run(
        Boot::Snapshot,
        "peak-exit0",
        &spec("sh", "exit 0", b"", Limits::default()),
    );
    assert_eq!(o.exit, Some(0), "{o:?}");
    assert!(o.limits_hit.is_empty(), "{o:?}");
    let peak = o.peak_memory.unwrap();
    println!("sh, exit 0: peak_memory {peak} bytes");
    assert!(peak > 0 && peak < 8 * MIB, "sh's peak is {peak} bytes");
}

#[test]
fn threads_at_the_process_limit_are_reported() {
    let limits = Limits {
        pids: 8,
        wall: Duration::from_secs(20),
        ..Limits::default()
    };
    // Holds its threads at the limit for a while: the guest samples the count.
    let code = "import threading, time\nts = []\ntry:\n    while True:\n        \
                t = threading.Thread(target=time.sleep, args=(3,))\n        t.start()\n        \
                ts.append(t)\nexcept RuntimeError:\n    print('refused after', len(ts))\n\
                time.sleep(1)";
    let o = run(
        Boot::Snapshot,
        "pids-hit",
        &spec("python3", code, b"", limits),
    );
    assert!(text(&o.stdout).starts_with("refused after"), "{o:?}");
    assert_eq!(o.exit, Some(0), "{o:?}");
    assert_eq!(o.limits_hit, vec![LimitHit::Pids], "{o:?}");
}

/// Counts loop iterations for `secs` seconds of the guest's clock (which runs in host time,
/// throttled or not) and prints the count.
fn spin_for(secs: u32) -> String {
    format!(
        "import time\nt = time.monotonic()\nn = 0\nwhile time.monotonic() - t < {secs}:\n    \
         n += 1\nprint(n)"
    )
}

/// The job cgroups of this test process (`bridle-job-PID-N`) under the CPU controller, with
/// their quota files.
fn cpu_cgroups() -> Vec<(PathBuf, PathBuf)> {
    use bridle_host::container::cgroup::Layout;
    let (parent, file) = match Layout::detect() {
        Layout::V2 { parent } => (parent, "cpu.max"),
        Layout::V1 { cpu: Some(cpu), .. } => (cpu, "cpu.cfs_quota_us"),
        other => panic!("no CPU controller to test against: {other:?}"),
    };
    let prefix = format!("bridle-job-{}-", std::process::id());
    std::fs::read_dir(&parent)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| (e.path(), e.path().join(file)))
        .collect()
}

#[test]
fn a_fractional_cpu_limit_puts_qemu_under_a_quota() {
    let limits = Limits {
        cpu: 0.5,
        wall: Duration::from_secs(30),
        ..Limits::default()
    };
    let root = WorkRoot::new("cpu-half");
    let t = prepared(Boot::Snapshot, &root, limits.memory, "python3");
    let job = spec("python3", &spin_for(2), b"", limits);
    // While the job runs: the quota file of the cgroup holding this job's QEMU.
    let seen: std::sync::Arc<Mutex<Option<(String, bool)>>> = Default::default();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (seen, done, needle) = (seen.clone(), done.clone(), root.0.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                for (dir, quota) in cpu_cgroups() {
                    let procs =
                        std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                    let qemu = procs.lines().any(|pid| {
                        std::fs::read(format!("/proc/{}/cmdline", pid.trim()))
                            .map(|c| contains(&c, needle.to_string_lossy().as_bytes()))
                            .unwrap_or(false)
                    });
                    if let Ok(q) = std::fs::read_to_string(quota) {
                        if qemu {
                            *seen.lock().unwrap() = Some((q.trim().to_owned(), qemu));
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let o = t.run(&job, &mut NullSink, &Cancel::new()).unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    watcher.join().unwrap();
    assert_eq!(o.exit, Some(0), "{o:?}");
    let (quota, _) = seen
        .lock()
        .unwrap()
        .clone()
        .expect("QEMU never seen in a CPU cgroup");
    assert!(quota == "50000" || quota == "50000 100000", "quota {quota}");
    // The cgroup goes with the VM.
    assert!(cpu_cgroups().is_empty(), "left: {:?}", cpu_cgroups());
    // An upper bound only, so a loaded machine cannot fail it: QEMU's CPU time (which caps the
    // reported figure) is at most half its lifetime, plus a period of slack. Unthrottled, the
    // guest would report about 2000 ms of a spin that took little more than 2 s.
    let cpu = o.cpu_ms.unwrap();
    println!(
        "cpu 0.5, 2 s spin: quota {quota}, cpu_ms {cpu}, wall_ms {}, limits {:?}, stdout {}",
        o.wall_ms,
        o.limits_hit,
        text(&o.stdout).trim()
    );
    assert!(
        cpu <= o.wall_ms / 2 + 150,
        "cpu {cpu} ms in {} ms at half a core: {o:?}",
        o.wall_ms
    );
}

#[test]
fn node_runs_in_a_microvm_where_it_is_installed() {
    if !Path::new("/usr/bin/node").exists() {
        println!("skipped: /usr/bin/node is not installed");
        return;
    }
    let code = "process.stdout.write(require('fs').readFileSync(0, 'utf8').toUpperCase()); process.exitCode = 3;";
    let limits = Limits {
        wall: Duration::from_secs(60),
        ..Limits::default()
    };
    let o = run(
        Boot::Snapshot,
        "node",
        &spec("node", code, b"from the input\n", limits),
    );
    assert_eq!(text(&o.stdout), "FROM THE INPUT\n", "{o:?}");
    assert_eq!(o.exit, Some(3), "{o:?}");
    assert!(o.limits_hit.is_empty(), "{o:?}");
}
