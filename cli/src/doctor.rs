//! `bridle doctor`: checks what the native host's sandboxes need on this machine and explains
//! each finding with its fix — bubblewrap, user namespaces, seccomp, the Landlock ABI, the
//! cgroup layout, a real container job, KVM (a guest boot probe, not the existence of
//! `/dev/kvm`), QEMU, the guest kernel, whether microVM `python3` jobs can start warm, and the
//! network stacks of jobs granted a network (slirp4netns, passt).
//!
//! Exit status: 0 when the container tier works, 1 when it does not.

use bridle_host::container::cgroup::Layout;
use bridle_host::container::{shim, Container};
use bridle_host::job::{Cancel, JobSpec, Limits, NullSink, Sandbox, Tier};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// How long the KVM probe guest may take to reach its kernel's end of boot. A working KVM
/// boots the tiny kernel in well under a second; under a broken one the guest dies at once or
/// hangs, and the timeout ends it.
const KVM_PROBE_TIMEOUT: Duration = Duration::from_secs(10);
const QEMU: &str = "qemu-system-x86_64";

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Print one JSON object
    #[arg(long)]
    json: bool,
    /// Skip the KVM boot probe (it starts a guest for up to 10 s)
    #[arg(long)]
    no_kvm_probe: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, serde::Serialize)]
struct Finding {
    check: &'static str,
    status: Status,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

fn finding(check: &'static str, status: Status, detail: String, fix: Option<&str>) -> Finding {
    Finding {
        check,
        status,
        detail,
        fix: fix.map(str::to_owned),
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

pub fn run(args: DoctorArgs) -> ExitCode {
    let mut findings = vec![
        bubblewrap(),
        user_namespaces(),
        seccomp(),
        landlock(),
        cgroups(),
    ];
    let container = container_probe();
    let container_ok = container.status == Status::Ok;
    findings.push(container);
    findings.push(network_tool(
        "job network",
        bridle_host::container::net::find(),
        bridle_host::container::net::TOOL,
        "container jobs granted a network",
    ));
    findings.push(qemu());
    findings.push(network_tool(
        "vm network",
        bridle_host::microvm::net::find(),
        bridle_host::microvm::net::TOOL,
        "microVM jobs granted a network",
    ));
    let kernel = guest_kernel();
    findings.push(kvm(args.no_kvm_probe, kernel.as_deref()));
    findings.push(match &kernel {
        Some(dir) => finding(
            "guest kernel",
            Status::Ok,
            format!("{} (vmlinux and initrd.cpio)", dir.display()),
            None,
        ),
        None => finding(
            "guest kernel",
            Status::Warn,
            "no target/guest/vmlinux and initrd.cpio: the microvm tier cannot boot".into(),
            Some("run scripts/guest-kernel.sh (or set BRIDLE_GUEST_DIR)"),
        ),
    });
    findings.push(warm_python());
    if args.json {
        println!(
            "{}",
            serde_json::json!({"container_tier": container_ok, "checks": findings})
        );
    } else {
        for f in &findings {
            let mark = match f.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            println!("{mark}  {:<16} {}", f.check, f.detail);
            if let Some(fix) = &f.fix {
                println!("      {:<16} fix: {fix}", "");
            }
        }
        println!();
        println!(
            "container tier: {}",
            if container_ok {
                "works"
            } else {
                "does NOT work"
            }
        );
    }
    if container_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Whether `python3` jobs of the microVM tier can start from a warm interpreter (the default
/// boot): the host's `python3` and every file it maps must be under `/usr`.
fn warm_python() -> Finding {
    match bridle_host::microvm::warm::python3(Path::new("/usr")) {
        Ok(files) => finding(
            "warm python3",
            Status::Ok,
            format!(
                "microVM python3 jobs start from a snapshot where the interpreter already runs \
                 ({} files copied into it)",
                2 + files.rest.len()
            ),
            None,
        ),
        Err(why) => finding(
            "warm python3",
            Status::Warn,
            format!("{why}: microVM python3 jobs restore the plain snapshot (slower, as sound)"),
            Some("install Debian's python3 under /usr"),
        ),
    }
}

/// The user-mode network stack a tier gives jobs granted a network (outbound only, never the
/// host's loopback); without it those jobs are refused, naming it.
fn network_tool(check: &'static str, found: Option<PathBuf>, tool: &str, who: &str) -> Finding {
    match found {
        // Only slirp4netns (the container tier's) opens the device; passt needs none.
        Some(path) => match (check == "job network").then(tun_problem).flatten() {
            Some((problem, fix)) => finding(
                check,
                Status::Warn,
                format!(
                    "{} is there but {problem}: {who} are refused",
                    path.display()
                ),
                Some(fix),
            ),
            None => finding(check, Status::Ok, path.display().to_string(), None),
        },
        None => finding(
            check,
            Status::Warn,
            format!("`{tool}` is not installed: {who} are refused"),
            Some(if tool == "passt" {
                "apt-get install passt"
            } else {
                "apt-get install slirp4netns"
            }),
        ),
    }
}

/// Why slirp4netns, started by this user, could not open `/dev/net/tun` (it opens it as the
/// host's user, and a browser starts the host as the user), with the fix; `None` when it can.
fn tun_problem() -> Option<(&'static str, &'static str)> {
    const TUN: &str = "/dev/net/tun";
    if !Path::new(TUN).exists() {
        return Some(("/dev/net/tun is not", "load the tun module (modprobe tun)"));
    }
    let opens = std::fs::OpenOptions::new().read(true).write(true).open(TUN);
    opens.is_err().then_some((
        "this user cannot open /dev/net/tun",
        "chmod 0666 /dev/net/tun (Debian's default mode for it)",
    ))
}

fn bubblewrap() -> Finding {
    match Command::new("bwrap").arg("--version").output() {
        Ok(out) if out.status.success() => finding(
            "bubblewrap",
            Status::Ok,
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            None,
        ),
        _ => finding(
            "bubblewrap",
            Status::Fail,
            "`bwrap` is not installed".into(),
            Some("apt-get install bubblewrap"),
        ),
    }
}

fn user_namespaces() -> Finding {
    let max = read("/proc/sys/user/max_user_namespaces")
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if max == 0 {
        return finding(
            "user namespaces",
            Status::Fail,
            "user.max_user_namespaces is 0".into(),
            Some("sysctl -w user.max_user_namespaces=10000"),
        );
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").is_some_and(|t| t.trim() == "0") {
        return finding(
            "user namespaces",
            Status::Fail,
            "kernel.unprivileged_userns_clone is 0".into(),
            Some("sysctl -w kernel.unprivileged_userns_clone=1"),
        );
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
        .is_some_and(|t| t.trim() == "1")
    {
        return finding(
            "user namespaces",
            Status::Warn,
            "AppArmor restricts unprivileged user namespaces; bubblewrap needs a profile".into(),
            Some("install an AppArmor profile allowing `userns` for /usr/bin/bwrap"),
        );
    }
    finding(
        "user namespaces",
        Status::Ok,
        format!("enabled (max {max})"),
        None,
    )
}

fn seccomp() -> Finding {
    let status = read("/proc/self/status").unwrap_or_default();
    let actions = read("/proc/sys/kernel/seccomp/actions_avail").unwrap_or_default();
    if !status.contains("Seccomp:") {
        return finding(
            "seccomp",
            Status::Fail,
            "the kernel has no seccomp".into(),
            Some("use a kernel built with CONFIG_SECCOMP_FILTER"),
        );
    }
    if !actions.split_whitespace().any(|a| a == "errno") {
        return finding(
            "seccomp",
            Status::Fail,
            format!("seccomp lacks the errno action (has: {})", actions.trim()),
            Some("use a kernel built with CONFIG_SECCOMP_FILTER"),
        );
    }
    let denied: Vec<&str> = bridle_host::container::seccomp::denied_names().collect();
    finding(
        "seccomp",
        Status::Ok,
        format!(
            "filters available; the job filter refuses {} calls",
            denied.len()
        ),
        None,
    )
}

fn landlock() -> Finding {
    match shim::landlock_abi() {
        Some(abi) if abi >= 6 => finding(
            "landlock",
            Status::Ok,
            format!("ABI {abi} or later: files, TCP and scopes enforced"),
            None,
        ),
        Some(abi) => finding(
            "landlock",
            Status::Warn,
            format!("ABI {abi}: enforced as far as this kernel knows (TCP rules need 4, scopes 6)"),
            Some("a newer kernel (6.12 or later) enforces every rule"),
        ),
        None => finding(
            "landlock",
            Status::Warn,
            "not available: the container relies on its mount namespace alone".into(),
            Some("boot with `lsm=landlock,…` on a kernel built with CONFIG_SECURITY_LANDLOCK"),
        ),
    }
}

fn cgroups() -> Finding {
    match Layout::detect() {
        Layout::V2 { parent } => finding(
            "cgroups",
            Status::Ok,
            format!("v2, job cgroups under {}", parent.display()),
            None,
        ),
        Layout::V1 { memory, pids, .. } => finding(
            "cgroups",
            Status::Ok,
            format!(
                "v1 controllers (hybrid): memory under {}, pids under {}",
                memory.display(),
                pids.display()
            ),
            None,
        ),
        Layout::None { why } => finding(
            "cgroups",
            Status::Warn,
            format!("no usable cgroup ({why}); rlimits stand in, weaker for memory and pids"),
            Some("run the host in a delegated cgroup v2 subtree (systemd-run --user --scope -p Delegate=yes bridle host …)"),
        ),
    }
}

fn container_probe() -> Finding {
    let container = match Container::new() {
        Ok(c) => c,
        Err(e) => {
            return finding(
                "container job",
                Status::Fail,
                e.to_string(),
                Some("see the checks above"),
            )
        }
    };
    let spec = JobSpec {
        runtime: "sh".into(),
        code: b"echo ok".to_vec(),
        input: Vec::new(),
        limits: Limits::default(),
        network: false,
        tier: Tier::Container,
    };
    let started = Instant::now();
    match container.run(&spec, &mut NullSink, &Cancel::new()) {
        Ok(out) if out.exit == Some(0) && out.stdout == b"ok\n" => finding(
            "container job",
            Status::Ok,
            format!(
                "`sh -c 'echo ok'` ran in {} ms (cgroups: {})",
                started.elapsed().as_millis(),
                container.layout().name()
            ),
            None,
        ),
        Ok(out) => finding(
            "container job",
            Status::Fail,
            format!(
                "the probe job failed: exit {:?}, signal {:?}, stderr {}",
                out.exit,
                out.signal,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Some("see the checks above"),
        ),
        Err(e) => finding(
            "container job",
            Status::Fail,
            e.to_string(),
            Some("see the checks above"),
        ),
    }
}

fn qemu() -> Finding {
    match Command::new(QEMU).arg("--version").output() {
        Ok(out) if out.status.success() => finding(
            "qemu",
            Status::Ok,
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            None,
        ),
        _ => finding(
            "qemu",
            Status::Warn,
            format!("`{QEMU}` is not installed: the microvm tier is unavailable"),
            Some("apt-get install qemu-system-x86"),
        ),
    }
}

/// Where the guest kernel is: `$BRIDLE_GUEST_DIR`, `./target/guest`, or `../guest` next to this
/// binary (`target/debug/bridle` → `target/guest`).
fn guest_kernel() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("BRIDLE_GUEST_DIR") {
        candidates.push(PathBuf::from(dir));
    }
    candidates.push(PathBuf::from("target/guest"));
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent().and_then(Path::parent) {
            candidates.push(dir.join("guest"));
        }
    }
    candidates
        .into_iter()
        .find(|d| d.join("vmlinux").is_file() && d.join("initrd.cpio").is_file())
}

fn kvm(skip_probe: bool, kernel: Option<&Path>) -> Finding {
    if !Path::new("/dev/kvm").exists() {
        return finding(
            "kvm",
            Status::Warn,
            "no /dev/kvm: microVMs run under TCG (software emulation, 10–20× slower)".into(),
            Some("enable virtualisation (vmx/svm) and load kvm_intel or kvm_amd"),
        );
    }
    let cpuinfo = read("/proc/cpuinfo").unwrap_or_default();
    let hw = cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
    let pvm = Path::new("/sys/module/kvm_pvm").exists();
    let what = match (hw, pvm) {
        (_, true) => "paravirtual KVM (kvm_pvm)",
        (true, false) => "hardware KVM (vmx/svm)",
        (false, false) => "KVM without vmx/svm flags",
    };
    if skip_probe {
        return finding(
            "kvm",
            Status::Warn,
            format!("{what}; boot probe skipped"),
            None,
        );
    }
    let Some(dir) = kernel else {
        return finding(
            "kvm",
            Status::Warn,
            format!("{what}; not probed: no guest kernel to boot"),
            Some("run scripts/guest-kernel.sh, then `bridle doctor` again"),
        );
    };
    match kvm_boot_probe(&dir.join("vmlinux")) {
        Ok(ms) => finding(
            "kvm",
            Status::Ok,
            format!("{what}: a probe guest booted in {ms} ms"),
            None,
        ),
        Err(why) => finding(
            "kvm",
            Status::Warn,
            format!("{what}: a probe guest did not boot ({why}); microVMs use TCG"),
            Some(if pvm {
                "none here: guests die in kvm_pvm's instruction emulator; use a host with vmx/svm"
            } else {
                "check that the kvm module loads and /dev/kvm is accessible"
            }),
        ),
    }
}

/// Boots the guest kernel with no initramfs under KVM: a kernel that gets as far as looking for
/// a root file system (and then panics, and QEMU exits on `-no-reboot`) proves guests run.
fn kvm_boot_probe(vmlinux: &Path) -> Result<u128, String> {
    let started = Instant::now();
    let mut child = Command::new(QEMU)
        .args([
            "-M",
            "microvm,isa-serial=on,rtc=on,acpi=off",
            "-accel",
            "kvm",
            "-cpu",
            "host",
        ])
        .args([
            "-m",
            "64",
            "-nodefaults",
            "-nographic",
            "-serial",
            "stdio",
            "-no-reboot",
        ])
        .arg("-kernel")
        .arg(vmlinux)
        .args([
            "-append",
            "console=ttyS0 panic=-1 reboot=t tsc_early_khz=2600000",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {QEMU}: {e}"))?;
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(out) = stdout.as_mut() {
            let _ = out.read_to_string(&mut text);
        }
        text
    });
    let deadline = started + KVM_PROBE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let text = reader.join().unwrap_or_default();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let booted = [
        "VFS: Unable to mount root",
        "Kernel panic",
        "Run /init",
        "No working init",
    ]
    .iter()
    .any(|m| text.contains(m));
    if booted {
        return Ok(started.elapsed().as_millis());
    }
    let first_err = err.lines().next().unwrap_or_default().trim().to_owned();
    Err(match status {
        None => "timed out".into(),
        Some(_) if !first_err.is_empty() => first_err,
        Some(s) => format!("qemu exited with {s}"),
    })
}
