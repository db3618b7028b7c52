//! The network of a microVM job granted one: a virtio-net device whose other end is `passt`, a
//! user-mode TCP/IP stack run by the host, outside the VM.
//!
//! The host makes a connected socket pair and hands one end to passt (`--fd`) and the other to
//! QEMU (`-netdev stream,addr.type=fd`), so there is no socket file to find or race for, and
//! passt ends by itself when QEMU's end closes. passt is told the guest's static numbers
//! (`bridle_guest_init::NET_*`, which init configures), refuses IPv6, forwards no port in, and
//! runs with `--no-map-gw`: the gateway address is not mapped to the host, and nothing else in
//! passt reaches the host's loopback (a loopback destination is the guest's own). What the
//! guest reaches is what passt's ordinary host sockets reach: the outside network, and the
//! host's own non-loopback addresses.
//!
//! A job granted network restores a snapshot of its own whose card was saved with a socket
//! nobody served: the restore's card gets this job's passt, and the guest configures `eth0`
//! only after `GO`.
//!
//! QEMU's built-in `-netdev user` (libslirp) is not used: in QEMU 7.2 it maps its gateway to the
//! host's 127.0.0.1 with no option to turn that off short of `restrict=on`, which cuts
//! everything.

use crate::job::{SandboxError, Tier};
use bridle_guest_init::{NET_ADDRESS, NET_GATEWAY, NET_MTU, NET_NAMESERVER, NET_PREFIX};
use command_fds::{CommandFdExt, FdMapping};
use rustix::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The user-mode network stack this tier uses, by name (what an error tells the user to install).
pub const TOOL: &str = "passt";
/// Where [`TOOL`] is looked for.
const TOOL_PATHS: &[&str] = &["/usr/bin/passt", "/bin/passt", "/usr/local/bin/passt"];
/// passt's end of the socket pair, in passt.
const FD_PASST: i32 = 3;

/// The installed passt, if any.
pub fn find() -> Option<PathBuf> {
    TOOL_PATHS.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// `tool` if it is there; else the tier is unavailable for network jobs, naming passt.
pub fn require(tool: Option<&Path>) -> Result<&Path, SandboxError> {
    let looked = match tool {
        Some(path) if path.is_file() => return Ok(path),
        Some(path) => path.display().to_string(),
        None => TOOL_PATHS.join(", "),
    };
    Err(SandboxError::Unavailable {
        tier: Tier::Microvm,
        reason: format!(
            "network access needs `{TOOL}`, which is not installed (looked at {looked})"
        ),
        fix: format!("`apt-get install {TOOL}`, or run the job without network"),
    })
}

/// The error for a passt that exited before its VM's job started, with the end of its log.
pub fn failed(log: &Path) -> SandboxError {
    let said = std::fs::read_to_string(log).unwrap_or_default();
    let said: Vec<&str> = said
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Failed to send"))
        .collect();
    let tail = said[said.len().saturating_sub(5)..].join("; ");
    SandboxError::Unavailable {
        tier: Tier::Microvm,
        reason: format!("`{TOOL}` exited before the job started: {tail}"),
        fix: "run `passt` by hand with the same options to see why; run `bridle doctor`".into(),
    }
}

fn dotted(a: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

/// passt's command line (after the program).
pub fn args() -> Vec<String> {
    let mut a: Vec<String> = [
        "--foreground",
        "--quiet",
        // IPv4 only: the guest has no IPv6, and passt then offers none of its v6 services.
        "--ipv4-only",
        "--no-map-gw",
        // Init configures the guest statically; passt's DHCP server is not needed.
        "--no-dhcp",
        "--tcp-ports",
        "none",
        "--udp-ports",
        "none",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for (flag, value) in [
        ("--fd", FD_PASST.to_string()),
        ("--address", dotted(NET_ADDRESS)),
        ("--netmask", NET_PREFIX.to_string()),
        ("--gateway", dotted(NET_GATEWAY)),
        ("--dns-forward", dotted(NET_NAMESERVER)),
        ("--mtu", NET_MTU.to_string()),
    ] {
        a.push(flag.to_owned());
        a.push(value);
    }
    a
}

/// A running passt serving one VM; killed and reaped when dropped.
#[derive(Debug)]
pub struct Passt {
    child: Child,
}

impl Passt {
    /// Starts passt on one end of a new socket pair and returns the other end, for QEMU.
    /// passt's stderr goes to `log`.
    pub fn start(tool: &Path, log: &Path) -> Result<(Passt, OwnedFd), SandboxError> {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()
            .map_err(|e| SandboxError::io("socketpair for the VM's network", e))?;
        let (ours, theirs) = (OwnedFd::from(ours), OwnedFd::from(theirs));
        let err = std::fs::File::create(log)
            .map_err(|e| SandboxError::io(format!("create {}", log.display()), e))?;
        let mut cmd = Command::new(tool);
        cmd.args(args())
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(err))
            .fd_mappings(vec![FdMapping {
                parent_fd: theirs,
                child_fd: FD_PASST,
            }])
            .map_err(|e| SandboxError::BadSpec(e.to_string()))?;
        let child = cmd
            .spawn()
            .map_err(|e| SandboxError::io(format!("start {}", tool.display()), e))?;
        // Close the parent's copy of passt's end: once QEMU's end closes, passt sees it.
        drop(cmd);
        Ok((Passt { child }, ours))
    }

    /// passt's pid on the host.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether passt has exited (it does when it fails to start, or when QEMU's end closes).
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Passt {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passt_gets_the_guest_numbers_and_no_host_loopback() {
        let a = args().join(" ");
        for part in [
            "--no-map-gw",
            "--ipv4-only",
            "--tcp-ports none",
            "--udp-ports none",
            "--address 10.0.2.15",
            "--netmask 24",
            "--gateway 10.0.2.2",
            "--dns-forward 10.0.2.3",
            "--fd 3",
        ] {
            assert!(a.contains(part), "{part} missing from {a}");
        }
    }

    #[test]
    fn a_missing_passt_is_named() {
        let e = require(Some(Path::new("/nonexistent/passt"))).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("passt") && text.contains("apt-get install passt"),
            "{text}"
        );
    }
}
