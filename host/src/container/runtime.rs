//! The runtimes a job may name, and how each runs its code file. Only runtimes under `/usr`
//! are offered: `/usr` is what the sandbox mounts (read-only).

use crate::job::SandboxError;
use std::path::Path;

/// A runtime this host knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// The policy's name (`python3`).
    pub name: &'static str,
    /// The interpreter inside the sandbox.
    pub program: &'static str,
    /// Flags before the code file.
    pub flags: &'static [&'static str],
    /// Where the code is written inside the sandbox.
    pub code_path: String,
}

/// The known runtimes: name, interpreter, flags, code file extension.
const KNOWN: &[(&str, &str, &[&str], &str)] = &[
    // -I: isolated mode (no user site-packages, no PYTHON* environment, no script dir on path).
    ("python3", "/usr/bin/python3", &["-I"], "py"),
    ("sh", "/usr/bin/sh", &[], "sh"),
    ("node", "/usr/bin/node", &[], "js"),
];

impl Runtime {
    /// The runtime called `name`, if this host knows it and has it installed.
    pub fn find(name: &str) -> Result<Runtime, SandboxError> {
        let (name, program, flags, ext) = KNOWN
            .iter()
            .find(|(n, ..)| *n == name)
            .ok_or_else(|| SandboxError::UnknownRuntime(name.to_owned()))?;
        if !Path::new(program).exists() {
            return Err(SandboxError::Unavailable {
                tier: crate::job::Tier::Container,
                reason: format!("the runtime `{name}` ({program}) is not installed"),
                fix: format!("install the package that provides {program}"),
            });
        }
        Ok(Runtime {
            name,
            program,
            flags,
            code_path: format!("{}/main.{ext}", super::WORKDIR),
        })
    }

    /// The runtime's command line.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![self.program.to_owned()];
        argv.extend(self.flags.iter().map(|f| (*f).to_owned()));
        argv.push(self.code_path.clone());
        argv
    }

    /// Names of the runtimes installed here.
    pub fn installed() -> Vec<&'static str> {
        KNOWN
            .iter()
            .filter(|(_, program, ..)| Path::new(program).exists())
            .map(|(name, ..)| *name)
            .collect()
    }
}
