//! Warm interpreters: Python started before the guest is saved, so a restored copy runs its job
//! without paying the interpreter's start-up again (under TCG: its 6.6 MB binary read over 9p
//! and about 0.35 s of emulated CPU; a `print(1)` job's first output comes after about 0.19 s
//! instead of 0.55 s, `bench/RESULTS.md`).
//!
//! Only the snapshot maker's kernel command line names one ([`WarmFiles`]); every restored copy
//! inherits the process from memory. A 9p export cannot be mounted while the guest is saved,
//! so init mounts `/usr` just long enough to copy the interpreter, its dynamic loader, its
//! libraries and its locale data into the guest's own memory ([`WARM_ROOT`]), starts it from
//! there with `/usr` mounted (Python finds its standard library and site folders as usual),
//! and unmounts `/usr` again; an interpreter still holding a file there fails the unmount, and
//! so the snapshot. The process then waits (`zygote.py`) until init, after `GO`, tells it to
//! become the job: it drops to the job's uid and runs `/job/code` as `python3 /job/code`
//! would. One interpreter serves one job: each restored copy is its own VM.
//!
//! What a job can still tell apart from a cold start (everything else is compared by
//! `host/tests/microvm.rs::a_warm_python_job_sees_what_a_cold_one_sees`): `sys.excepthook` is
//! the interpreter's own wrapped (to leave this start's frame out of tracebacks); the process
//! changed uid without an `exec`, so the kernel keeps it non-dumpable and its `/proc/self`
//! files belong to root (it still reads them; its children that `exec` are dumpable again);
//! `/proc/self/cmdline` and `/proc/self/exe` show how it was started (the loader in
//! [`WARM_ROOT`] running the copied interpreter on `zygote.py`), while `sys.executable` is
//! `/usr/bin/python3` as usual; and the string-hash key and memory layout are those of the
//! snapshot, the same in every restored copy (`host/src/microvm/snapshot.rs` says why that is
//! acceptable).

use crate::{sys, InitError, JOB_ENV, NINEP_OPTS};
use bridle_guest_init::{WarmFiles, WARM_ROOT};
use rustix::mount::{mount, unmount, MountFlags, UnmountFlags};
use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The runtime a warm interpreter stands in for (the job's `Go::runtime`).
pub const RUNTIME: &str = "/usr/bin/python3";
/// What the interpreter runs: waits for init's word, then becomes the job.
const ZYGOTE: &str = include_str!("zygote.py");

/// A started interpreter, waiting to become a job.
#[derive(Debug)]
pub struct Warm {
    child: Child,
}

impl Warm {
    /// Copies `files` into guest memory and starts the interpreter from there, as root, with
    /// the job's environment and its output going to pipes init holds.
    pub fn start(files: &WarmFiles, job_uid: u32) -> Result<Warm, InitError> {
        let ro = MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV;
        let opts =
            std::ffi::CString::new(NINEP_OPTS).map_err(|e| InitError::Sys("9p", e.into()))?;
        sys(
            "mount the shared /usr to warm up",
            mount("usr", "/usr", "9p", ro, opts.as_c_str()),
        )?;
        let started = copy_and_start(files, job_uid);
        // Unmounted on every path; a failure to unmount fails the warm-up (the guest could not
        // be saved anyway).
        let unmounted = sys(
            "unmount /usr after warming up (the interpreter holds a file there)",
            unmount("/usr", UnmountFlags::empty()),
        );
        match (started, unmounted) {
            (Ok(warm), Ok(())) => Ok(warm),
            (Ok(mut warm), Err(e)) => {
                warm.discard();
                Err(e)
            }
            (Err(e), _) => Err(e),
        }
    }

    /// Whether this interpreter can be the job that runs `runtime`.
    pub fn serves(&self, runtime: &str) -> bool {
        runtime == RUNTIME
    }

    /// Makes the interpreter the job: its process limit (it was started before init set its
    /// own), then the word to go on. Returns the job's process, its output pipes attached.
    pub fn go(mut self, pids: u32) -> Result<Child, InitError> {
        let pid = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .ok_or(InitError::Sys(
                "the warm interpreter's pid",
                io::ErrorKind::InvalidData.into(),
            ))?;
        for (resource, value) in [
            (rustix::process::Resource::Nproc, u64::from(pids)),
            (rustix::process::Resource::Core, 0),
        ] {
            let limit = rustix::process::Rlimit {
                current: Some(value),
                maximum: Some(value),
            };
            sys(
                "limit the warm interpreter",
                rustix::process::prlimit(Some(pid), resource, limit),
            )?;
        }
        let mut control = self.child.stdin.take().ok_or(InitError::Sys(
            "the warm interpreter's control pipe",
            io::ErrorKind::BrokenPipe.into(),
        ))?;
        sys("wake the warm interpreter", control.write_all(b"go\n"))?;
        Ok(self.child)
    }

    /// Ends an interpreter no job will use (a job of another runtime).
    pub fn discard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn copy_and_start(files: &WarmFiles, job_uid: u32) -> Result<Warm, InitError> {
    let root = Path::new(WARM_ROOT).join("usr");
    let mut lib_dirs = BTreeSet::new();
    for rel in [&files.loader, &files.program]
        .into_iter()
        .chain(&files.rest)
    {
        let to = root.join(rel);
        if let Some(dir) = to.parent() {
            sys("create the warm runtime's folders", fs::create_dir_all(dir))?;
        }
        // Through symbolic links: a library is copied under the name the loader looks for.
        sys(
            "copy the warm runtime",
            fs::copy(Path::new("/usr").join(rel), &to),
        )?;
        sys(
            "protect the warm runtime",
            fs::set_permissions(&to, fs::Permissions::from_mode(0o555)),
        )?;
    }
    for rel in &files.rest {
        if let Some(dir) = root.join(rel).parent() {
            lib_dirs.insert(dir.to_path_buf());
        }
    }
    let lib_path = lib_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let uid = job_uid.to_string();
    let child = sys(
        "start the warm interpreter",
        Command::new(root.join(&files.loader))
            .args(["--library-path", &lib_path, "--argv0", RUNTIME])
            .arg(root.join(&files.program))
            .args(["-c", ZYGOTE, &uid])
            .current_dir("/")
            .env_clear()
            .envs(JOB_ENV)
            // glibc's locale data from the copy; no conversion modules (UTF-8 needs none).
            .env("LOCPATH", root.join("lib/locale"))
            .env("GCONV_PATH", PathBuf::from(WARM_ROOT).join("no-gconv"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn(),
    )?;
    let mut warm = Warm { child };
    match ready(&mut warm.child) {
        Ok(()) => Ok(warm),
        Err(e) => {
            warm.discard();
            Err(e)
        }
    }
}

/// Waits for the interpreter's one byte saying it is waiting; anything else (it died, it
/// wrote to stderr) fails the warm-up with what it said.
fn ready(child: &mut Child) -> Result<(), InitError> {
    let mut byte = [0u8; 1];
    let got = child.stdout.as_mut().map(|out| out.read(&mut byte));
    // Whatever it wrote to stderr while starting (a warning about its paths) would sit in the
    // pipe and open every job's stderr: that fails the warm-up too.
    let quiet = child.stderr.as_ref().is_some_and(|err| {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let mut fds = [PollFd::new(err, PollFlags::IN)];
        let now = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        matches!(poll(&mut fds, Some(&now)), Ok(0))
    });
    if matches!(got, Some(Ok(1))) && byte[0] == b'R' && quiet {
        return Ok(());
    }
    let _ = child.kill();
    let mut said = String::new();
    if let Some(err) = child.stderr.as_mut() {
        let _ = err.take(4096).read_to_string(&mut said);
    }
    Err(InitError::Sys(
        "warm up the interpreter",
        io::Error::other(format!("it did not start: {}", said.trim())),
    ))
}
