//! The in-sandbox launcher: the first program bubblewrap runs inside the container. It applies
//! what bubblewrap cannot — Landlock (filesystem, TCP and scope rules) and the rlimits — and
//! then `exec`s the runtime, so the job inherits both and cannot undo them.
//!
//! It is the `bridle` binary itself (`bridle __sandbox-exec …`) or the host crate's
//! `bridle-sandbox-exec`; both call [`main`]. Arguments (written only by `super::bwrap_args`):
//!
//! ```text
//! __sandbox-exec [--network] [--rlimits] [--as BYTES] [--nproc N] [--fsize BYTES] -- PROGRAM ARGS…
//! ```

use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, Scope, ABI,
};
use rustix::process::{setrlimit, Resource, Rlimit};
use std::os::unix::process::CommandExt;
use std::process::ExitCode;

/// The argument that selects the launcher in the `bridle` binary.
pub const SUBCOMMAND: &str = "__sandbox-exec";

/// The Landlock ABI the rules are written for; older kernels enforce what they know
/// (best effort), newer ones nothing more.
const LANDLOCK_ABI: ABI = ABI::V6;

/// Paths the job may read and execute (inside the sandbox's own root).
const READ_PATHS: &[&str] = &["/usr", "/etc", "/proc", "/bridle-exec"];
/// Paths the job may write: its work directory, its temp directory and the device nodes
/// bubblewrap provides (`/dev/null` and friends).
const WRITE_PATHS: &[&str] = &["/work", "/tmp", "/dev"];

/// Exit status when the launcher itself fails (the job never started): like a shell's 127.
const LAUNCH_FAILED: u8 = 127;

#[derive(Debug, Default)]
struct Args {
    network: bool,
    address_space: Option<u64>,
    nproc: Option<u64>,
    fsize: Option<u64>,
    program: Vec<String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = Args::default();
    let mut it = args.iter();
    let number = |v: Option<&String>, flag: &str| -> Result<u64, String> {
        v.and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("`{flag}` needs a number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--network" => out.network = true,
            "--as" => out.address_space = Some(number(it.next(), "--as")?),
            "--nproc" => out.nproc = Some(number(it.next(), "--nproc")?),
            "--fsize" => out.fsize = Some(number(it.next(), "--fsize")?),
            "--" => {
                out.program = it.cloned().collect();
                break;
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if out.program.is_empty() {
        return Err("no program after `--`".into());
    }
    Ok(out)
}

fn limit(resource: Resource, value: u64) -> Result<(), String> {
    let lim = Rlimit {
        current: Some(value),
        maximum: Some(value),
    };
    setrlimit(resource, lim).map_err(|e| format!("setrlimit {resource:?}: {e}"))
}

/// Those of `paths` that exist here: a Landlock rule needs an open path, and a machine without
/// `/lib64`, say, must still get the other rules.
pub(super) fn existing_paths(paths: &'static [&'static str]) -> impl Iterator<Item = &'static str> {
    paths
        .iter()
        .copied()
        .filter(|p| std::path::Path::new(p).exists())
}

fn landlock(network: bool) -> Result<(), String> {
    let err = |e: landlock::RulesetError| format!("landlock: {e}");
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(LANDLOCK_ABI))
        .map_err(err)?;
    if !network {
        // Handling TCP bind/connect with no rule allowing any port refuses them all (a second
        // wall behind the empty network namespace).
        ruleset = ruleset
            .handle_access(AccessNet::from_all(LANDLOCK_ABI))
            .map_err(err)?;
    }
    ruleset
        .scope(Scope::from_all(LANDLOCK_ABI))
        .map_err(err)?
        .create()
        .map_err(err)?
        .add_rules(path_beneath_rules(
            existing_paths(READ_PATHS),
            AccessFs::from_read(LANDLOCK_ABI),
        ))
        .map_err(err)?
        .add_rules(path_beneath_rules(
            existing_paths(WRITE_PATHS),
            AccessFs::from_all(LANDLOCK_ABI),
        ))
        .map_err(err)?
        .restrict_self()
        .map_err(err)?;
    Ok(())
}

/// Marks every descriptor above stderr close-on-exec, so the job inherits only stdin, stdout
/// and stderr. Bubblewrap passes on whatever its parent left open without close-on-exec (a
/// browser's or build tool's descriptors, say); the job must see none of them.
fn close_inherited() -> Result<(), String> {
    use rustix::fd::{AsRawFd, BorrowedFd};
    use rustix::fs::{Dir, Mode, OFlags};
    let dir_fd = rustix::fs::open(
        "/proc/self/fd",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("open /proc/self/fd: {e}"))?;
    let own = dir_fd.as_raw_fd();
    let mut numbers = Vec::new();
    let mut dir = Dir::read_from(&dir_fd).map_err(|e| format!("read /proc/self/fd: {e}"))?;
    while let Some(entry) = dir.read() {
        let entry = entry.map_err(|e| format!("read /proc/self/fd: {e}"))?;
        if let Some(n) = entry
            .file_name()
            .to_str()
            .ok()
            .and_then(|n| n.parse::<i32>().ok())
        {
            if n > 2 && n != own {
                numbers.push(n);
            }
        }
    }
    for n in numbers {
        #[expect(unsafe_code, reason = "no safe way to name an inherited descriptor")]
        // SAFETY: `n` was listed in /proc/self/fd just now and this process is single-threaded
        // (the launcher starts no threads), so nothing can close it while the borrow lives;
        // the borrow ends with this statement and only sets a flag on the descriptor.
        let fd = unsafe { BorrowedFd::borrow_raw(n) };
        rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC)
            .map_err(|e| format!("mark descriptor {n} close-on-exec: {e}"))?;
    }
    Ok(())
}

/// Runs the launcher with the arguments after [`SUBCOMMAND`]. Returns only on failure: on
/// success the process has become the job.
pub fn main(args: &[String]) -> ExitCode {
    let args = match parse(args) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("bridle sandbox: {e}");
            return ExitCode::from(LAUNCH_FAILED);
        }
    };
    // A core dump would write the job's memory to the work directory; never useful here.
    let mut steps: Vec<Result<(), String>> = vec![limit(Resource::Core, 0)];
    if let Some(bytes) = args.address_space {
        steps.push(limit(Resource::As, bytes));
    }
    if let Some(n) = args.nproc {
        steps.push(limit(Resource::Nproc, n));
    }
    if let Some(bytes) = args.fsize {
        steps.push(limit(Resource::Fsize, bytes));
    }
    steps.push(landlock(args.network));
    steps.push(close_inherited());
    for step in steps {
        if let Err(e) = step {
            eprintln!("bridle sandbox: {e}");
            return ExitCode::from(LAUNCH_FAILED);
        }
    }
    let (program, rest) = match args.program.split_first() {
        Some(split) => split,
        None => return ExitCode::from(LAUNCH_FAILED),
    };
    let e = std::process::Command::new(program).args(rest).exec();
    eprintln!("bridle sandbox: cannot run `{program}`: {e}");
    ExitCode::from(LAUNCH_FAILED)
}

/// Whether this kernel enforces Landlock, and which ABI (for `bridle doctor`).
pub fn landlock_abi() -> Option<i32> {
    // The crate keeps the probe private; ask the kernel through a ruleset the way it would be
    // used, without restricting this process.
    let created = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(ABI::V1))
        .ok()?
        .create()
        .ok()?;
    drop(created);
    let mut abi = 1;
    for (n, candidate) in [
        (2, ABI::V2),
        (3, ABI::V3),
        (4, ABI::V4),
        (5, ABI::V5),
        (6, ABI::V6),
    ] {
        let ok = Ruleset::default()
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(AccessFs::from_all(candidate))
            .and_then(|r| r.create())
            .is_ok();
        let scope_ok = n < 6
            || Ruleset::default()
                .set_compatibility(CompatLevel::HardRequirement)
                .scope(Scope::from_all(candidate))
                .and_then(|r| r.create())
                .is_ok();
        let net_ok = n < 4
            || Ruleset::default()
                .set_compatibility(CompatLevel::HardRequirement)
                .handle_access(AccessNet::from_all(candidate))
                .and_then(|r| r.create())
                .is_ok();
        if ok && scope_ok && net_ok {
            abi = n;
        }
    }
    Some(abi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_flags_and_program() {
        let args = parse(&strings(&[
            "--as",
            "100",
            "--network",
            "--",
            "/bin/true",
            "x",
        ]));
        let args = args.unwrap_or_default();
        assert_eq!(args.address_space, Some(100));
        assert!(args.network);
        assert_eq!(args.program, strings(&["/bin/true", "x"]));
    }

    #[test]
    fn refuses_unknown_and_empty() {
        assert!(parse(&strings(&["--bogus", "--", "x"])).is_err());
        assert!(parse(&strings(&["--as", "many", "--", "x"])).is_err());
        assert!(parse(&strings(&["--"])).is_err());
    }
}
