//! The container tier's seccomp filter: refuses, with `EPERM`, the system calls jobs never need
//! and that widen the kernel's attack surface or break out of the namespaces bubblewrap set up.
//!
//! Everything else is allowed: the filter is a deny list on top of bubblewrap's namespaces,
//! capability drop and `no_new_privs`, not the only wall. It is compiled with seccompiler and
//! handed to `bwrap --seccomp FD` as raw `struct sock_filter` bytes.

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

/// The errno refused calls get: `EPERM` reads as "not allowed" to every runtime.
const DENY_ERRNO: u32 = 1;

/// `AF_UNIX`: the one socket family a job without network may open.
const AF_UNIX: u64 = 1;

/// The `clone` flags that create namespaces (`CLONE_NEWNS` … `CLONE_NEWTIME`).
const CLONE_NAMESPACE_FLAGS: [u64; 8] = [
    0x0000_0080, // CLONE_NEWTIME
    0x0002_0000, // CLONE_NEWNS
    0x0200_0000, // CLONE_NEWCGROUP
    0x0400_0000, // CLONE_NEWUTS
    0x0800_0000, // CLONE_NEWIPC
    0x1000_0000, // CLONE_NEWUSER
    0x2000_0000, // CLONE_NEWPID
    0x4000_0000, // CLONE_NEWNET
];

/// The system calls refused outright, by name (the names are checked by a test against the
/// kernel's numbers for this architecture).
const DENIED: &[(&str, i64)] = &[
    ("ptrace", libc::SYS_ptrace),
    ("process_vm_readv", libc::SYS_process_vm_readv),
    ("process_vm_writev", libc::SYS_process_vm_writev),
    ("io_uring_setup", libc::SYS_io_uring_setup),
    ("io_uring_enter", libc::SYS_io_uring_enter),
    ("io_uring_register", libc::SYS_io_uring_register),
    ("bpf", libc::SYS_bpf),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("keyctl", libc::SYS_keyctl),
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("mount", libc::SYS_mount),
    ("umount2", libc::SYS_umount2),
    ("pivot_root", libc::SYS_pivot_root),
    ("chroot", libc::SYS_chroot),
    ("open_tree", libc::SYS_open_tree),
    ("move_mount", libc::SYS_move_mount),
    ("fsopen", libc::SYS_fsopen),
    ("fsconfig", libc::SYS_fsconfig),
    ("fsmount", libc::SYS_fsmount),
    ("fspick", libc::SYS_fspick),
    ("mount_setattr", libc::SYS_mount_setattr),
    ("unshare", libc::SYS_unshare),
    ("setns", libc::SYS_setns),
    ("init_module", libc::SYS_init_module),
    ("finit_module", libc::SYS_finit_module),
    ("delete_module", libc::SYS_delete_module),
    ("kexec_load", libc::SYS_kexec_load),
    ("kexec_file_load", libc::SYS_kexec_file_load),
    ("reboot", libc::SYS_reboot),
    ("swapon", libc::SYS_swapon),
    ("swapoff", libc::SYS_swapoff),
    ("acct", libc::SYS_acct),
    ("quotactl", libc::SYS_quotactl),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
    ("name_to_handle_at", libc::SYS_name_to_handle_at),
    ("lookup_dcookie", libc::SYS_lookup_dcookie),
    ("syslog", libc::SYS_syslog),
    ("settimeofday", libc::SYS_settimeofday),
    ("clock_settime", libc::SYS_clock_settime),
    ("clock_adjtime", libc::SYS_clock_adjtime),
    ("adjtimex", libc::SYS_adjtimex),
    ("vhangup", libc::SYS_vhangup),
];

/// `ENOSYS`: what `clone3` gets, so libc falls back to `clone`, whose flags the filter can
/// see (`clone3` passes them in memory, out of seccomp's reach).
const ENOSYS: u32 = 38;

/// Why the filter could not be built (a bug in the rule table, reported, not panicked on).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the seccomp filter: {0}")]
pub struct FilterError(String);

/// Builds the filters as the bytes `bwrap --add-seccomp-fd` reads, one buffer per filter:
/// native-endian `struct sock_filter` records (`u16 code, u8 jt, u8 jf, u32 k`).
pub fn filter_bytes(network: bool) -> Result<Vec<Vec<u8>>, FilterError> {
    Ok(programs(network)?.iter().map(to_bytes).collect())
}

fn to_bytes(program: &BpfProgram) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(program.len() * 8);
    for insn in program {
        bytes.extend_from_slice(&insn.code.to_ne_bytes());
        bytes.push(insn.jt);
        bytes.push(insn.jf);
        bytes.extend_from_slice(&insn.k.to_ne_bytes());
    }
    bytes
}

/// The filters as BPF programs for this architecture. Two, because a seccompiler filter has
/// one answer for all its rules: the main one answers `EPERM`; the second answers `ENOSYS` to
/// `clone3`. The kernel runs every stacked filter and the error beats an allow.
pub fn programs(network: bool) -> Result<Vec<BpfProgram>, FilterError> {
    let arch = target_arch()?;
    let err = |e: seccompiler::BackendError| FilterError(e.to_string());
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (_, nr) in DENIED {
        rules.insert(*nr, Vec::new());
    }
    let mut clone_rules = Vec::new();
    for flag in CLONE_NAMESPACE_FLAGS {
        let cond = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(flag),
            flag,
        )
        .map_err(err)?;
        clone_rules.push(SeccompRule::new(vec![cond]).map_err(err)?);
    }
    rules.insert(libc::SYS_clone, clone_rules);
    if !network {
        let cond = SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, AF_UNIX)
            .map_err(err)?;
        rules.insert(
            libc::SYS_socket,
            vec![SeccompRule::new(vec![cond]).map_err(err)?],
        );
    }
    let main = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(DENY_ERRNO),
        arch,
    )
    .map_err(err)?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(ENOSYS),
        arch,
    )
    .map_err(err)?;
    Ok(vec![
        main.try_into().map_err(err)?,
        clone3.try_into().map_err(err)?,
    ])
}

fn target_arch() -> Result<TargetArch, FilterError> {
    if cfg!(target_arch = "x86_64") {
        Ok(TargetArch::x86_64)
    } else if cfg!(target_arch = "aarch64") {
        Ok(TargetArch::aarch64)
    } else {
        Err(FilterError(
            "the container tier's filter supports x86_64 and aarch64 only".into(),
        ))
    }
}

/// The names of the refused calls, for `bridle doctor` and the docs.
pub fn denied_names() -> impl Iterator<Item = &'static str> {
    DENIED.iter().map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile_with_and_without_network() {
        for network in [false, true] {
            let bytes = filter_bytes(network).unwrap_or_default();
            assert_eq!(bytes.len(), 2);
            assert!(bytes.iter().all(|b| !b.is_empty() && b.len() % 8 == 0));
        }
    }
}
