//! One QEMU `microvm` process: its command line, its private folder, and the guard that kills
//! it and removes every file it used on every path (drop runs on errors and panics alike).

use crate::job::SandboxError;
use command_fds::{CommandFdExt, FdMapping};
use rustix::fd::OwnedFd;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The guest kernel's command line. `tsc_early_khz` is mandatory under TCG (without it about a
/// third of boots hang calibrating the timer); `random.trust_cpu` lets the CRNG start from
/// RDRAND (`-cpu max` offers it) instead of stalling; `panic=-1` plus QEMU's `-no-reboot` turns
/// any guest kernel panic (init dying included) into QEMU exiting; `no_timer_check` skips
/// the boot-time test of the timer interrupt's routing (QEMU's `microvm` wiring is fixed, and
/// the test busy-waits for ticks: 40 ms under TCG).
pub const KERNEL_CMDLINE: &str = "console=ttyS0 quiet panic=-1 reboot=t tsc_early_khz=2600000 \
     random.trust_cpu=on 8250.nr_uarts=1 no_timer_check";
/// Added under TCG: no local APIC timer, so the kernel does not calibrate one against the PIT
/// for a tenth of a second of emulated time (0.2–0.3 s of a cold boot here); the PIT is the
/// guest's timer instead. Under KVM the CPU's TSC-deadline timer needs no calibration.
pub const TCG_CMDLINE: &str = "noapictimer";
/// The guest's memory beyond the job's own limit: kernel, init, page cache of the shared
/// runtime. The job's limit is what the OOM killer enforces on top of it.
pub const GUEST_OVERHEAD_MIB: u64 = 48;
/// What a warm interpreter's guest needs beyond that: the interpreter's copied files (about
/// 10 MB for Python) live in guest memory. The interpreter's own memory is the job's.
pub const WARM_OVERHEAD_MIB: u64 = 16;
/// The guest's virtual CPUs: one, so a CPU limit of a core or more is already met by the VM's
/// shape; a smaller one needs a host cgroup on QEMU (see `super`).
pub const VCPUS: u32 = 1;
/// QEMU's descriptor for the network socket of a VM with network (passt's peer).
const FD_NET: i32 = 3;
/// The most of the serial console kept for diagnostics.
const CONSOLE_KEEP: u64 = 16 * 1024;

/// Which accelerator runs the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Accel {
    /// Software emulation: works everywhere, 12–17× slower CPU.
    Tcg,
    /// Hardware virtualisation, only where a probe guest actually booted.
    Kvm,
}

impl Accel {
    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }

    /// QEMU's `-cpu`. Under TCG, everything QEMU emulates except the "fast string" features
    /// (ERMS, FSRM): with them the guest kernel clears and copies pages with `rep stosb` and
    /// `rep movsb`, which TCG runs one byte per step; without them it uses `rep stosq` and
    /// `rep movsq`, eight bytes per step (a `python3` cold start: about 0.1 s less).
    pub fn cpu(self) -> &'static str {
        match self {
            Accel::Tcg => "max,-erms,-fsrm",
            Accel::Kvm => "host",
        }
    }
}

/// What a VM is built from (identical between a snapshot and its restores: QEMU refuses, or
/// worse misbehaves, when the device layout differs).
#[derive(Debug, Clone)]
pub struct Machine<'a> {
    pub qemu: &'a Path,
    pub kernel: &'a Path,
    pub initrd: &'a Path,
    /// The runtime tree shared read-only (the host's `/usr`).
    pub usr: &'a Path,
    pub accel: Accel,
    pub memory_mib: u64,
    /// The interpreter init warms up before `READY` (a snapshot maker's guest; its restored
    /// copies inherit it from memory).
    pub warm: Option<&'a bridle_guest_init::WarmFiles>,
    /// A virtio-net card (a job granted network, or the snapshot such jobs restore): QEMU then
    /// needs the socket of its backend ([`Vm::spawn_with_network`]). Every other guest has
    /// none.
    pub network: bool,
}

/// How the QEMU process starts.
#[derive(Debug)]
pub enum Start {
    /// Boot the kernel, with anonymous guest memory.
    Cold,
    /// The snapshot maker: boot with guest memory in the file `ram` (shared: the guest's memory
    /// lands in the file), and offer a QMP monitor at `qmp` to save the device state.
    Save { qmp: PathBuf, ram: PathBuf },
    /// Restore: guest memory is the file `ram` mapped privately (copy-on-write: the job's
    /// writes never reach the file), the device state is read from `state` (QEMU's stdin) once
    /// the host starts the incoming migration through the QMP monitor at `qmp`.
    Restore {
        state: File,
        ram: PathBuf,
        qmp: PathBuf,
    },
}

/// The guest kernel's command line for `machine`: [`KERNEL_CMDLINE`], [`TCG_CMDLINE`] under
/// TCG, and the warm interpreter's files if it has one.
pub fn cmdline(machine: &Machine<'_>) -> String {
    let mut line = KERNEL_CMDLINE.to_owned();
    if machine.accel == Accel::Tcg {
        line.push(' ');
        line.push_str(TCG_CMDLINE);
    }
    if let Some(warm) = machine.warm.and_then(bridle_guest_init::WarmFiles::to_arg) {
        line.push(' ');
        line.push_str(&warm);
    }
    line
}

/// A private folder for one VM: 0700, removed with everything in it when dropped.
#[derive(Debug)]
pub struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    pub fn new(base: &Path, prefix: &str) -> Result<Self, SandboxError> {
        sweep_stale(base, prefix);
        let mut last = None;
        for _ in 0..8 {
            let path = base.join(format!("{prefix}-{}-{:016x}", std::process::id(), nonce()?));
            match fs::create_dir(&path) {
                Ok(()) => {
                    let dir = WorkDir { path };
                    fs::set_permissions(&dir.path, fs::Permissions::from_mode(0o700)).map_err(
                        |e| SandboxError::io(format!("chmod {}", dir.path.display()), e),
                    )?;
                    return Ok(dir);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => {
                    return Err(SandboxError::io(format!("mkdir {}", path.display()), e));
                }
            }
        }
        Err(SandboxError::io(
            "create a VM folder",
            last.unwrap_or_else(|| io::Error::other("no unique name")),
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Removes the folders `prefix-PID-…` of host processes that no longer exist (a host killed
/// mid-job cannot run its own cleanup; its VM powers itself off when the channel closes).
fn sweep_stale(base: &Path, prefix: &str) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    let me = fs::metadata("/proc/self").map(|m| m.uid()).ok();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let Some(pid) = rest.strip_prefix('-').and_then(|r| r.split('-').next()) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let owned = entry
            .metadata()
            .map(|m| Some(m.uid()) == me)
            .unwrap_or(false);
        if owned && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Eight random bytes from the kernel.
pub fn nonce() -> Result<u64, SandboxError> {
    let mut b = [0u8; 8];
    random_bytes(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Fills `buf` from `/dev/urandom` (the host's CRNG).
pub fn random_bytes(buf: &mut [u8]) -> Result<(), SandboxError> {
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(|e| SandboxError::io("read /dev/urandom", e))
}

/// A running QEMU process; killed and reaped when dropped.
#[derive(Debug)]
pub struct Vm {
    child: Child,
    console: PathBuf,
    stderr: PathBuf,
}

impl Vm {
    /// Starts QEMU for `machine`, with the channel socket and the job folder (exported
    /// read-only as the 9p tag `job`) inside `dir`.
    pub fn spawn(
        machine: &Machine<'_>,
        dir: &Path,
        channel: &Path,
        job_dir: &Path,
        start: Start,
    ) -> Result<Self, SandboxError> {
        Self::spawn_with_network(machine, dir, channel, job_dir, start, None)
    }

    /// As [`Vm::spawn`], with `net` (a connected stream socket: passt's peer, see
    /// [`super::net`]) as the backend of the machine's virtio-net card: given exactly when the
    /// machine has one.
    pub fn spawn_with_network(
        machine: &Machine<'_>,
        dir: &Path,
        channel: &Path,
        job_dir: &Path,
        start: Start,
        net: Option<OwnedFd>,
    ) -> Result<Self, SandboxError> {
        let console = dir.join("console.log");
        let stderr = dir.join("qemu.err");
        if machine.network != net.is_some() {
            return Err(SandboxError::BadSpec(
                "a VM with a network card needs its backend's socket, and only it".into(),
            ));
        }
        let args = args(machine, &console, channel, job_dir, &start);
        let err_file = File::create(&stderr)
            .map_err(|e| SandboxError::io(format!("create {}", stderr.display()), e))?;
        let stdin = match start {
            Start::Restore { state, .. } => Stdio::from(state),
            _ => Stdio::null(),
        };
        let mut cmd = Command::new(machine.qemu);
        cmd.args(args)
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::from(err_file))
            .env_clear();
        if let Some(fd) = net {
            cmd.fd_mappings(vec![FdMapping {
                parent_fd: fd,
                child_fd: FD_NET,
            }])
            .map_err(|e| SandboxError::BadSpec(e.to_string()))?;
        }
        let child = cmd
            .spawn()
            .map_err(|e| SandboxError::io(format!("start {}", machine.qemu.display()), e))?;
        Ok(Vm {
            child,
            console,
            stderr,
        })
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether QEMU has exited.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// The tail of the guest's serial console and of QEMU's stderr, for error messages.
    pub fn diagnostics(&self) -> String {
        let mut out = String::new();
        for (label, path) in [("console", &self.console), ("qemu", &self.stderr)] {
            if let Ok(text) = read_tail(path, CONSOLE_KEEP) {
                let text = text.trim();
                if !text.is_empty() {
                    out.push_str(&format!("\n--- {label} ---\n{text}"));
                }
            }
        }
        out
    }

    /// Kills QEMU (SIGKILL: the guest gets no say) and reaps it.
    pub fn destroy(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits up to `timeout` for QEMU to exit by itself; kills it after that.
    pub fn wait_or_kill(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.exited() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.destroy();
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        self.destroy();
    }
}

fn read_tail(path: &Path, keep: u64) -> io::Result<String> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(keep)))?;
    let mut buf = Vec::new();
    f.take(keep).read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// QEMU's command line. Everything that shapes the guest (machine, memory, devices and their
/// order) depends only on `machine`, so a snapshot and its restores agree.
pub fn args(
    machine: &Machine<'_>,
    console: &Path,
    channel: &Path,
    job_dir: &Path,
    start: &Start,
) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |s: &str| a.push(OsString::from(s));
    let ram = match start {
        Start::Cold => None,
        Start::Save { ram, .. } => Some((ram, "on")),
        Start::Restore { ram, .. } => Some((ram, "off")),
    };
    push("-M");
    push(if ram.is_some() {
        "microvm,isa-serial=on,rtc=on,acpi=off,memory-backend=ram"
    } else {
        "microvm,isa-serial=on,rtc=on,acpi=off"
    });
    if let Some((path, share)) = ram {
        let mut backend = OsString::from(format!(
            "memory-backend-file,id=ram,size={}M,mem-path=",
            machine.memory_mib
        ));
        backend.push(escape_commas(path));
        backend.push(format!(",share={share}"));
        a.push("-object".into());
        a.push(backend);
    }
    let mut push = |s: &str| a.push(OsString::from(s));
    push("-accel");
    push(machine.accel.as_str());
    push("-cpu");
    push(machine.accel.cpu());
    push("-m");
    push(&format!("{}M", machine.memory_mib));
    push("-smp");
    push(&VCPUS.to_string());
    // No default devices, no user config, no display, no network card (one is added below only
    // for a machine granted network).
    push("-nodefaults");
    push("-no-user-config");
    push("-display");
    push("none");
    push("-nic");
    push("none");
    push("-no-reboot");
    push("-kernel");
    a.push(machine.kernel.into());
    a.push("-initrd".into());
    a.push(machine.initrd.into());
    a.push("-append".into());
    a.push(cmdline(machine).into());
    let mut serial = OsString::from("file:");
    serial.push(console);
    a.push("-serial".into());
    a.push(serial);
    // The job channel: one virtio-serial port, QEMU connecting to the host's listening socket.
    a.push("-device".into());
    a.push("virtio-serial-device,max_ports=2".into());
    let mut chardev = OsString::from("socket,id=chan,path=");
    chardev.push(escape_commas(channel));
    a.push("-chardev".into());
    a.push(chardev);
    a.push("-device".into());
    a.push("virtserialport,chardev=chan,name=bridle".into());
    // The runtime and the job folder: 9p, exported read-only by QEMU itself (the guest's ro
    // mount is only a second fence).
    for (tag, path) in [("usr", machine.usr), ("job", job_dir)] {
        let mut fsdev = OsString::from(format!("local,id={tag},path="));
        fsdev.push(escape_commas(path));
        fsdev.push(",security_model=none,readonly=on,multidevs=remap");
        a.push("-fsdev".into());
        a.push(fsdev);
        a.push("-device".into());
        a.push(format!("virtio-9p-device,fsdev={tag},mount_tag={tag}").into());
    }
    // Last of the devices, in the same place for a snapshot and its restores (the device
    // layout must match).
    if machine.network {
        network_device(&mut a);
    }
    match start {
        Start::Cold => sandbox(&mut a, true),
        Start::Save { qmp, .. } => {
            // The snapshot maker runs no job; it needs `exec:` migration, so no spawn ban.
            sandbox(&mut a, false);
            monitor(&mut a, qmp);
        }
        Start::Restore { qmp, .. } => {
            sandbox(&mut a, true);
            monitor(&mut a, qmp);
            // The capability that leaves guest memory out of the stream must be set before the
            // stream is read, hence `defer` and the monitor.
            a.push("-incoming".into());
            a.push("defer".into());
        }
    }
    a
}

/// The network card of a VM granted network (or of the snapshot such VMs restore): virtio-net
/// over virtio-mmio, its backend the stream socket QEMU inherits as [`FD_NET`].
fn network_device(a: &mut Vec<OsString>) {
    a.push("-netdev".into());
    a.push(format!("stream,id=net0,server=off,addr.type=fd,addr.str={FD_NET}").into());
    a.push("-device".into());
    a.push("virtio-net-device,netdev=net0".into());
}

fn monitor(a: &mut Vec<OsString>, qmp: &Path) {
    let mut m = OsString::from("unix:");
    m.push(escape_commas(qmp));
    m.push(",server=on,wait=off");
    a.push("-qmp".into());
    a.push(m);
}

/// QEMU's own seccomp filter: no obsolete syscalls, no privilege changes, no spawning
/// processes, no resource-control calls, whatever the guest makes the device models do.
fn sandbox(a: &mut Vec<OsString>, deny_spawn: bool) {
    a.push("-sandbox".into());
    a.push(
        format!(
            "on,obsolete=deny,elevateprivileges=deny,spawn={},resourcecontrol=deny",
            if deny_spawn { "deny" } else { "allow" }
        )
        .into(),
    );
}

/// QEMU's option syntax doubles commas inside values.
fn escape_commas(p: &Path) -> OsString {
    let s = p.as_os_str().to_string_lossy();
    OsString::from(s.replace(',', ",,"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine<'static> {
        Machine {
            qemu: Path::new("/usr/bin/qemu-system-x86_64"),
            kernel: Path::new("/k"),
            initrd: Path::new("/i"),
            usr: Path::new("/usr"),
            accel: Accel::Tcg,
            memory_mib: 300,
            warm: None,
            network: false,
        }
    }

    fn joined(start: &Start) -> String {
        args(
            &machine(),
            Path::new("/d/console.log"),
            Path::new("/d/a,b.sock"),
            Path::new("/d/job"),
            start,
        )
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
    }

    #[test]
    fn no_network_device_and_read_only_exports() {
        let cmd = joined(&Start::Cold);
        assert!(cmd.contains("-nodefaults") && cmd.contains("-nic none"));
        assert!(!cmd.contains("virtio-net") && !cmd.contains("-netdev"));
        assert_eq!(cmd.matches("readonly=on").count(), 2);
        assert!(cmd.contains("spawn=deny"));
        assert!(cmd.contains("path=/d/a,,b.sock"));
    }

    #[test]
    fn only_tcg_guests_go_without_the_apic_timer_and_fast_strings() {
        let tcg = joined(&Start::Cold);
        assert!(tcg.contains("-cpu max,-erms,-fsrm "), "{tcg}");
        assert!(tcg.contains(" no_timer_check noapictimer"), "{tcg}");
        let kvm = Machine {
            accel: Accel::Kvm,
            ..machine()
        };
        let line = cmdline(&kvm);
        assert!(
            line.contains("no_timer_check") && !line.contains("noapictimer"),
            "{line}"
        );
    }

    #[test]
    fn a_network_card_only_on_request_and_on_the_inherited_socket() {
        let card = "-netdev stream,id=net0,server=off,addr.type=fd,addr.str=3 \
                    -device virtio-net-device,netdev=net0";
        assert!(!joined(&Start::Cold).contains("-netdev"));
        let networked = Machine {
            network: true,
            ..machine()
        };
        let cmd = args(
            &networked,
            Path::new("/d/console.log"),
            Path::new("/d/a,b.sock"),
            Path::new("/d/job"),
            &Start::Cold,
        )
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
        assert!(cmd.contains(card), "{cmd}");
    }

    #[test]
    fn snapshot_and_restore_share_the_device_layout() {
        let strip = |s: String| {
            s.split(" -sandbox ")
                .next()
                .unwrap_or_default()
                .replace("share=on", "share=off")
        };
        let ram = PathBuf::from("/s/guest.ram");
        let save = strip(joined(&Start::Save {
            qmp: PathBuf::from("/q"),
            ram: ram.clone(),
        }));
        let file = File::open("/dev/null").unwrap();
        let restore = joined(&Start::Restore {
            state: file,
            ram,
            qmp: PathBuf::from("/q"),
        });
        assert!(restore.contains("share=off") && !restore.contains("share=on"));
        assert_eq!(save, strip(restore));
    }

    #[test]
    fn folders_of_dead_hosts_are_swept() {
        let base = std::env::temp_dir().join(format!("bridle-sweep-test-{}", std::process::id()));
        fs::create_dir_all(&base).unwrap();
        // Pid 0 never names a live process in /proc; our own pid does.
        let dead = base.join("bridle-vm-0-00ff");
        let alive = base.join(format!("bridle-vm-{}-00ff", std::process::id()));
        let other = base.join("unrelated-0-00ff");
        for d in [&dead, &alive, &other] {
            fs::create_dir_all(d).unwrap();
        }
        let fresh = WorkDir::new(&base, "bridle-vm").unwrap();
        assert!(!dead.exists() && alive.exists() && other.exists());
        drop(fresh);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn work_dirs_are_private_and_removed() {
        let dir = WorkDir::new(&std::env::temp_dir(), "bridle-vm-test").unwrap();
        let path = dir.path().to_owned();
        fs::write(path.join("x"), b"secret").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        drop(dir);
        assert!(!path.exists());
    }
}
