//! Which files a warm `python3` needs in guest memory ([`Boot::Warm`](super::Boot::Warm); the
//! guest side is `host/guest-init/src/warm.rs`): exactly the files the host's own interpreter
//! has mapped once started the way the guest starts it, found by asking it
//! (`/proc/self/maps`), plus the names its loader looks those libraries up by. Every one must
//! be under the shared `/usr`, or there is no warm interpreter.

use bridle_guest_init::WarmFiles;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Run by the host's interpreter: what the guest's warm interpreter imports before it waits
/// (`zygote.py`), then the files mapped into the process.
const PROBE: &str = "import os, sys\nfrom importlib.machinery import SourceFileLoader\n\
print('\\n'.join(l.split()[-1] for l in open('/proc/self/maps') if l.split()[-1].startswith('/')))";

/// The warm files of the `python3` under `usr` (the shared runtime tree), or why there are
/// none.
pub fn python3(usr: &Path) -> Result<WarmFiles, String> {
    let usr_real = fs::canonicalize(usr).map_err(|e| format!("{}: {e}", usr.display()))?;
    let python = usr.join("bin/python3");
    let program = fs::canonicalize(&python).map_err(|e| format!("{}: {e}", python.display()))?;
    let out = Command::new(&python)
        .args(["-c", PROBE])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LANG", "C.UTF-8")
        .output()
        .map_err(|e| format!("run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mapped: BTreeSet<PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| fs::canonicalize(l.trim()).ok())
        .collect();
    let rel = |p: &Path| -> Result<String, String> {
        p.strip_prefix(&usr_real)
            .ok()
            .and_then(Path::to_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                format!(
                    "python3 maps {}, which is not under {}",
                    p.display(),
                    usr.display()
                )
            })
    };
    let mut loader = None;
    let mut rest = Vec::new();
    for file in &mapped {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if *file == program || name == "gconv-modules.cache" {
            // The program is named on its own; conversion modules are not used (the guest
            // sets GCONV_PATH to nothing), so their cache is not copied.
            continue;
        }
        if name.starts_with("ld-linux") {
            loader = Some(rel(file)?);
            continue;
        }
        rest.push(rel(file)?);
        rest.extend(
            links_to(file)
                .iter()
                .map(|l| rel(l))
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    let files = WarmFiles {
        loader: loader.ok_or(
            "python3 maps no dynamic loader (a static interpreter needs no warm-up copy of one)",
        )?,
        program: rel(&program)?,
        rest,
    };
    files
        .to_arg()
        .map(|_| files.clone())
        .ok_or_else(|| format!("a file of python3 cannot be named to the guest: {files:?}"))
}

/// The symbolic links in `file`'s folder that lead to it (a library's soname, by which the
/// loader looks it up).
fn links_to(file: &Path) -> Vec<PathBuf> {
    let Some(dir) = file.parent() else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut links: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_symlink()))
        .map(|e| e.path())
        .filter(|p| fs::canonicalize(p).is_ok_and(|real| real == file))
        .collect();
    links.sort();
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_python_needs_its_loader_libraries_and_locale_all_under_usr() {
        let usr = Path::new("/usr");
        if !usr.join("bin/python3").exists() {
            eprintln!("skipped: no python3 on this host");
            return;
        }
        let files = python3(usr).unwrap();
        assert!(files.loader.contains("ld-linux"), "{files:?}");
        assert!(files.program.starts_with("bin/python3"), "{files:?}");
        assert!(
            files.rest.iter().any(|f| f.ends_with("/libc.so.6")),
            "{files:?}"
        );
        // The soname the loader looks for, not only the file it resolves to.
        assert!(
            files.rest.iter().any(|f| f.ends_with("/libz.so.1")),
            "{files:?}"
        );
        assert!(files.rest.iter().all(|f| usr.join(f).exists()), "{files:?}");
        assert!(files.to_arg().is_some());
    }
}
