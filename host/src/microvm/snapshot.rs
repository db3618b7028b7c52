//! Pre-booted guests: a guest is booted once per machine shape (memory, accelerator, kernel,
//! init, QEMU) with its memory in a file (`memory-backend-file`, shared), and saved while its
//! init waits for `GO`: QEMU's migration with `x-ignore-shared` writes only the device state (a
//! few dozen kilobytes), the memory being in the file already. Each job then starts a new QEMU
//! that maps the memory file privately (`share=off`: copy-on-write, so restoring copies
//! nothing and the job's writes never reach the file) and loads the device state with
//! `-incoming`.
//!
//! Why this is sound (one VM per job is kept, and no job can see another's data):
//! - The snapshot is taken before any job exists: the guest has booted and its init has opened
//!   the channel, nothing more. The 9p exports are not even mounted yet (QEMU also refuses to
//!   migrate a guest with a mounted 9p export, so this is enforced, not just intended). Every
//!   job's code, input and output enter only its own restored copy, which is destroyed after.
//! - The files are only ever read: the memory is mapped `MAP_PRIVATE`, so no job's memory
//!   reaches them (`snapshots_never_hold_job_data` in host/tests/microvm.rs checks it).
//! - Identical memory means identical RNG state in every copy. Init therefore mixes 32 bytes
//!   of fresh host entropy from each `GO` into the input pool and forces an immediate CRNG
//!   rekey (`RNDRESEEDCRNG`) before anything job-related runs, so the job's `getrandom`,
//!   `AT_RANDOM`, stack canaries and ASLR of its processes differ per job and cannot be
//!   predicted from the snapshot. Boot-time randomness of the guest kernel itself (its own
//!   hash keys, stack-protector canary) is shared by all copies; it protects the guest kernel
//!   from the job in it, which one job learning does not help against another job's separate
//!   VM. The guest's clock is reset from the host in the same `GO`.
//! - Both files are written under temporary names and renamed into a 0700 folder (memory
//!   first, state last) after the maker QEMU has exited, so a half-written or another user's
//!   snapshot is never restored.
//! - A warm snapshot ([`Boot::Warm`](super::Boot::Warm), `python3` only) also holds an
//!   interpreter that started as root and waits to become the job (guest-init's `warm.rs`).
//!   It has read nothing of any job either: it starts before `READY`, from copies of the
//!   host's own interpreter files, and only after `GO` opens the job's input, drops to the
//!   job's uid and runs the code (`a_warm_python_job_sees_what_a_cold_one_sees` compares
//!   everything a job can see of its start with a cold boot's; the escape suite runs warm).
//!   What every copy shares, because it was computed before the snapshot: the interpreter's
//!   string-hash key (`PYTHONHASHSEED`) and its own memory layout. Neither is secret from
//!   the job that owns it, and learning them in one VM gives nothing in another but the
//!   ability to predict str hash collisions, i.e. to slow a later job's dicts down with
//!   crafted input, which its wall-clock limit bounds. Everything drawn after `GO`
//!   (`os.urandom`, `random`, `secrets`, `uuid4`) comes from the reseeded CRNG
//!   (`warm_python_jobs_get_fresh_randomness`).

use super::vm::{self, Machine, Start, Vm, WorkDir};
use super::{unavailable, BOOT_TIMEOUT};
use crate::job::SandboxError;
use bridle_guest_init::{FrameReader, TAG_FATAL, TAG_READY};
use std::fs::{self, File};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Bumped whenever what a snapshot contains changes in a way the inputs below do not show.
const FORMAT: u32 = 2;
/// How long saving the guest's state may take.
const SAVE_TIMEOUT: Duration = Duration::from_secs(30);

/// A saved guest: its memory (a sparse file, mapped privately by each restore) and its device
/// state (QEMU's migration stream without the memory, a few dozen kilobytes).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub ram: PathBuf,
    pub state: PathBuf,
}

impl Snapshot {
    /// Opens the device state for one restore.
    pub fn open_state(&self) -> Result<File, SandboxError> {
        File::open(&self.state)
            .map_err(|e| SandboxError::io(format!("open {}", self.state.display()), e))
    }
}

/// The snapshot for `machine` in `dir`, made first if missing. Older snapshots of the same
/// shape (a rebuilt kernel or init) are removed when a new one is made.
pub fn ensure(machine: &Machine<'_>, dir: &Path) -> Result<Snapshot, SandboxError> {
    let shape = shape(machine);
    let stem = format!("{shape}{:016x}", key(machine));
    let snap = Snapshot {
        ram: dir.join(format!("{stem}.ram")),
        state: dir.join(format!("{stem}.state")),
    };
    // The state file is renamed into place last: its presence means the pair is complete.
    if snap.state.is_file() && snap.ram.is_file() {
        return Ok(snap);
    }
    fs::create_dir_all(dir).map_err(|e| SandboxError::io(format!("mkdir {}", dir.display()), e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| SandboxError::io(format!("chmod {}", dir.display()), e))?;
    make(machine, &snap)?;
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let replaced = name.starts_with(&shape) && !name.starts_with(&stem);
            if (replaced || is_unflavoured(&name)) && !name.contains(".tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    Ok(snap)
}

/// The name prefix shared by every snapshot of `machine`'s shape (the older ones a new
/// snapshot replaces). No shape's prefix starts another's: a warm guest's names the flavour
/// before the memory, so that neither kind's clean-up can remove the other's files.
fn shape(machine: &Machine<'_>) -> String {
    let flavour = match (machine.warm.is_some(), machine.network) {
        (false, false) => "plain",
        (true, false) => "warm",
        (false, true) => "net",
        (true, true) => "warm+net",
    };
    format!(
        "guest-{}-{flavour}-{}M-",
        machine.accel.as_str(),
        machine.memory_mib
    )
}

/// Whether `name` is a snapshot named before shapes had a flavour (`guest-tcg-304M-…`): no
/// machine restores those any more.
fn is_unflavoured(name: &str) -> bool {
    let mut parts = name.split('-');
    parts.next() == Some("guest")
        && parts.next().is_some_and(|a| a == "tcg" || a == "kvm")
        && parts.next().is_some_and(|m| {
            m.strip_suffix('M')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Everything that shapes the saved guest. A changed kernel, init or QEMU is a new file.
fn key(machine: &Machine<'_>) -> u64 {
    let mut h = DefaultHasher::new();
    FORMAT.hash(&mut h);
    machine.accel.as_str().hash(&mut h);
    machine.accel.cpu().hash(&mut h);
    machine.memory_mib.hash(&mut h);
    machine.usr.hash(&mut h);
    vm::cmdline(machine).hash(&mut h);
    machine.network.hash(&mut h);
    // A warm interpreter's files are copied into the saved memory: an updated one is a new
    // snapshot.
    let warm_files = machine.warm.iter().flat_map(|w| {
        [&w.loader, &w.program]
            .into_iter()
            .chain(&w.rest)
            .map(|rel| machine.usr.join(rel))
    });
    let parts = [machine.qemu, machine.kernel, machine.initrd].map(Path::to_path_buf);
    for p in parts.into_iter().chain(warm_files) {
        p.hash(&mut h);
        if let Ok(m) = fs::metadata(&p) {
            (m.len(), m.mtime(), m.mtime_nsec(), m.ino()).hash(&mut h);
        }
    }
    h.finish()
}

/// Boots a guest to init's ready point and saves it as `snap`.
fn make(machine: &Machine<'_>, snap: &Snapshot) -> Result<(), SandboxError> {
    let work = WorkDir::new(&std::env::temp_dir(), "bridle-snap")?;
    let job_dir = work.path().join("job");
    fs::create_dir(&job_dir).map_err(|e| SandboxError::io("mkdir job", e))?;
    let channel = work.path().join("chan.sock");
    let qmp_path = work.path().join("qmp.sock");
    let listener = UnixListener::bind(&channel).map_err(|e| SandboxError::io("bind channel", e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| SandboxError::io("channel socket", e))?;
    let suffix = format!("tmp{:x}", vm::nonce()?);
    let tmp_ram = snap.ram.with_extension(format!("ram.{suffix}"));
    let tmp_state = snap.state.with_extension(format!("state.{suffix}"));
    // A snapshot for jobs granted network has their card, its backend a socket nobody serves
    // (the guest sends nothing before `GO`); each restore gets its own passt's.
    let (card, _unserved) = if machine.network {
        let (card, peer) = UnixStream::pair().map_err(|e| SandboxError::io("socketpair", e))?;
        (Some(rustix::fd::OwnedFd::from(card)), Some(peer))
    } else {
        (None, None)
    };
    let mut vm = Vm::spawn_with_network(
        machine,
        work.path(),
        &channel,
        &job_dir,
        Start::Save {
            qmp: qmp_path.clone(),
            ram: tmp_ram.clone(),
        },
        card,
    )?;
    let fail = |what: &str, vm: &Vm| {
        unavailable(
            format!(
                "could not save a pre-booted guest: {what}{}",
                vm.diagnostics()
            ),
            "set BRIDLE_MICROVM_BOOT=cold, and check scripts/guest-kernel.sh's output",
        )
    };
    // The channel stays open while saving: the guest's port records the host as connected.
    let saved = wait_ready(&listener, &mut vm)
        .and_then(|_chan| save(&qmp_path, &tmp_state))
        .map_err(|e| fail(&e, &vm));
    // QEMU quits by itself after `quit`; it must be gone before the memory file is used.
    vm.wait_or_kill(Duration::from_secs(5));
    let stored = saved.and_then(|()| {
        let store = |from: &Path, to: &Path| {
            fs::set_permissions(from, fs::Permissions::from_mode(0o600))
                .and_then(|()| fs::rename(from, to))
                .map_err(|e| SandboxError::io(format!("store {}", to.display()), e))
        };
        store(&tmp_ram, &snap.ram)?;
        store(&tmp_state, &snap.state)
    });
    let _ = fs::remove_file(&tmp_ram);
    let _ = fs::remove_file(&tmp_state);
    stored
}

fn wait_ready(listener: &UnixListener, vm: &mut Vm) -> Result<UnixStream, String> {
    let deadline = Instant::now() + BOOT_TIMEOUT;
    let mut stream: Option<UnixStream> = None;
    let mut frames = FrameReader::new();
    let mut buf = [0u8; 256];
    while Instant::now() < deadline {
        if vm.exited() {
            return Err("QEMU exited while booting".into());
        }
        match stream.as_mut() {
            None => match listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).map_err(|e| e.to_string())?;
                    s.set_read_timeout(Some(Duration::from_millis(5)))
                        .map_err(|e| e.to_string())?;
                    stream = Some(s);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            },
            Some(s) => {
                if let Ok(n) = s.read(&mut buf) {
                    frames.feed(&buf[..n]);
                }
                match frames.next_frame() {
                    Ok(Some((TAG_READY, _))) => {
                        return stream.ok_or_else(|| "no channel".to_owned());
                    }
                    Ok(Some((TAG_FATAL, why))) => {
                        return Err(format!(
                            "the guest's init failed: {}",
                            String::from_utf8_lossy(&why)
                        ));
                    }
                    Ok(Some((tag, _))) => return Err(format!("unexpected frame {tag:#x}")),
                    Ok(None) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
    }
    Err("the guest did not become ready in time".into())
}

/// Migrates the guest into `file` through the QMP monitor (QEMU stops it at completion).
fn save(qmp_path: &Path, file: &Path) -> Result<(), String> {
    let target = file.to_str().ok_or("snapshot path is not UTF-8")?;
    if target.contains('\'') {
        return Err("snapshot path contains a quote".into());
    }
    let deadline = Instant::now() + SAVE_TIMEOUT;
    let stream = loop {
        match UnixStream::connect(qmp_path) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("QMP: {e}")),
        }
    };
    stream
        .set_read_timeout(Some(SAVE_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut qmp = Qmp {
        reader: BufReader::new(stream.try_clone().map_err(|e| e.to_string())?),
        writer: stream,
    };
    qmp.line()?; // greeting
    qmp.call(r#"{"execute":"qmp_capabilities"}"#)?;
    // Guest memory is already in the shared file: leave it out of the stream.
    qmp.call(IGNORE_SHARED)?;
    // Migrated while running (init idles in a blocking read, so it converges at once): a
    // stream saved from a stopped guest would restore paused and need a monitor to resume.
    let migrate = serde_json::json!({
        "execute": "migrate",
        "arguments": {"uri": format!("exec:cat > '{target}'")}
    });
    qmp.call(&migrate.to_string())?;
    loop {
        let status = qmp.call(r#"{"execute":"query-migrate"}"#)?;
        match status["status"].as_str() {
            Some("completed") => break,
            Some("failed") | Some("cancelled") => {
                return Err(format!("migration failed: {status}"));
            }
            _ if Instant::now() >= deadline => return Err("migration timed out".into()),
            _ => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    let _ = qmp.call(r#"{"execute":"quit"}"#);
    Ok(())
}

/// QMP: migrate without the memory blocks backed by a file (`x-ignore-shared`).
const IGNORE_SHARED: &str = r#"{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-ignore-shared","state":true}]}}"#;

/// Starts a restore: QEMU was started with `-incoming defer` and the device state on its stdin;
/// this sets the capability that takes guest memory from the mapped file and starts reading.
/// The guest runs as soon as the state is loaded.
pub fn incoming(qmp_path: &Path, deadline: Instant) -> Result<(), String> {
    let stream = loop {
        match UnixStream::connect(qmp_path) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => return Err(format!("QMP: {e}")),
        }
    };
    let left = deadline.saturating_duration_since(Instant::now());
    stream
        .set_read_timeout(Some(left.max(Duration::from_millis(1))))
        .map_err(|e| e.to_string())?;
    let mut qmp = Qmp {
        reader: BufReader::new(stream.try_clone().map_err(|e| e.to_string())?),
        writer: stream,
    };
    qmp.line()?; // greeting
    qmp.call(r#"{"execute":"qmp_capabilities"}"#)?;
    qmp.call(IGNORE_SHARED)?;
    qmp.call(r#"{"execute":"migrate-incoming","arguments":{"uri":"fd:0"}}"#)?;
    Ok(())
}

struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    fn line(&mut self) -> Result<serde_json::Value, String> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|e: io::Error| e.to_string())?;
        if n == 0 {
            return Err("QMP closed".into());
        }
        serde_json::from_str(&line).map_err(|e| e.to_string())
    }

    /// Sends a command and returns its `return` value, skipping asynchronous events.
    fn call(&mut self, command: &str) -> Result<serde_json::Value, String> {
        self.writer
            .write_all(format!("{command}\n").as_bytes())
            .map_err(|e| e.to_string())?;
        loop {
            let reply = self.line()?;
            if reply.get("event").is_some() {
                continue;
            }
            if let Some(err) = reply.get("error") {
                return Err(format!("QMP {command}: {err}"));
            }
            return Ok(reply.get("return").cloned().unwrap_or_default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microvm::vm::Accel;

    #[test]
    fn key_changes_with_the_machine_shape() {
        let warm = bridle_guest_init::WarmFiles {
            loader: "bin/sh".into(),
            program: "bin/sh".into(),
            rest: Vec::new(),
        };
        let m = |mem, accel, warm| Machine {
            qemu: Path::new("/bin/sh"),
            kernel: Path::new("/bin/sh"),
            initrd: Path::new("/bin/sh"),
            usr: Path::new("/usr"),
            accel,
            memory_mib: mem,
            warm,
            network: false,
        };
        let plain = key(&m(100, Accel::Tcg, None));
        assert_eq!(plain, key(&m(100, Accel::Tcg, None)));
        assert_ne!(plain, key(&m(101, Accel::Tcg, None)));
        assert_ne!(plain, key(&m(100, Accel::Kvm, None)));
        // A warm interpreter is part of the saved memory.
        assert_ne!(plain, key(&m(100, Accel::Tcg, Some(&warm))));
        // One shape's clean-up never matches another shape's files.
        // A network card is part of the device layout.
        let net = |mem, warm| Machine {
            network: true,
            ..m(mem, Accel::Tcg, warm)
        };
        assert_ne!(plain, key(&net(100, None)));
        let shapes: Vec<String> = [10, 100, 1000]
            .into_iter()
            .flat_map(|mem| {
                [
                    shape(&m(mem, Accel::Tcg, None)),
                    shape(&m(mem, Accel::Tcg, Some(&warm))),
                    shape(&net(mem, None)),
                    shape(&net(mem, Some(&warm))),
                ]
            })
            .collect();
        for a in &shapes {
            assert!(!is_unflavoured(&format!("{a}0123456789abcdef.ram")), "{a}");
            for b in &shapes {
                assert!(
                    a == b || !b.starts_with(a.as_str()),
                    "{a} is a prefix of {b}"
                );
            }
        }
        assert!(is_unflavoured("guest-tcg-304M-c65c1ff19391ef5b.ram"));
        assert!(!is_unflavoured("guest-tcg-plain-304M-c65c1ff19391ef5b.ram"));
    }
}
