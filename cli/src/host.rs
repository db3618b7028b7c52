//! `bridle host`: the native messaging host a browser starts (`bridle host [CALLER…]`, the
//! protocol in `docs/native-host.md`), and `bridle host install|uninstall`, which write or
//! remove the host manifest where each browser looks for it (per user).
//!
//! A browser cannot pass options to a host, so `install` writes a small launcher script that
//! runs `bridle host --policy … --instance …` and points the manifest at it.

use bridle_executor::time::OffsetDateTime;
use bridle_executor::Policy;
use bridle_host::auth::ReplayFile;
use bridle_host::native::{serve, HostConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// The host's name, as the extension passes it to `connectNative`.
pub const HOST_NAME: &str = "dev.bridle.host";
/// Bridle's Firefox add-on id (extension/build.mjs, `GECKO_ID`).
pub const GECKO_ID: &str = "bridle@bridle.dev";

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HostArgs {
    #[command(subcommand)]
    cmd: Option<HostCmd>,
    /// The local policy (TOML) [default: ~/.config/bridle/policy.toml]
    #[arg(long)]
    policy: Option<PathBuf>,
    /// This executor instance's id (the audience of the tokens it accepts)
    #[arg(long)]
    instance: Option<String>,
    /// What the browser passes: Chrome the caller's origin, Firefox the manifest path and the
    /// add-on id. Logged, not trusted: the token decides.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    caller: Vec<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum HostCmd {
    /// Register the host with a browser (per user)
    Install(InstallArgs),
    /// Remove the host's registration from a browser
    Uninstall(UninstallArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Browser {
    Chrome,
    Chromium,
    Firefox,
}

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    #[arg(long, value_enum)]
    browser: Browser,
    /// The extension's id: required for Chrome and Chromium (32 letters a–p); for Firefox the
    /// add-on id [default: bridle@bridle.dev]
    #[arg(long)]
    extension_id: Option<String>,
    /// The policy the host enforces [default: ~/.config/bridle/policy.toml]
    #[arg(long)]
    policy: Option<PathBuf>,
    /// The executor instance id tokens must be addressed to
    #[arg(long)]
    instance: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    #[arg(long, value_enum)]
    browser: Browser,
}

fn home() -> Result<PathBuf, String> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or_else(|| "HOME is not set".to_owned())
}

fn config_dir() -> Result<PathBuf, String> {
    match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(home()?.join(".config")),
    }
}

/// The per-user manifest directory on Linux. macOS: `~/Library/Application Support/` +
/// `Google/Chrome/NativeMessagingHosts`, `Chromium/NativeMessagingHosts`,
/// `Mozilla/NativeMessagingHosts`. Windows: the registry key
/// `HKCU\Software\Google\Chrome\NativeMessagingHosts\dev.bridle.host` (Chromium: `…\Chromium\…`,
/// Firefox: `HKCU\Software\Mozilla\NativeMessagingHosts\…`) whose default value is the
/// manifest's path (see docs/native-host.md).
pub fn manifest_dir(browser: Browser) -> Result<PathBuf, String> {
    Ok(match browser {
        Browser::Chrome => config_dir()?.join("google-chrome/NativeMessagingHosts"),
        Browser::Chromium => config_dir()?.join("chromium/NativeMessagingHosts"),
        Browser::Firefox => home()?.join(".mozilla/native-messaging-hosts"),
    })
}

fn launcher_path() -> Result<PathBuf, String> {
    let data = match std::env::var_os("XDG_DATA_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => home()?.join(".local/share"),
    };
    Ok(data.join("bridle").join(format!("{HOST_NAME}.sh")))
}

/// Chrome extension ids: 32 characters `a`–`p`.
fn valid_chrome_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| (b'a'..=b'p').contains(&b))
}

/// Firefox add-on ids: an email-like id or a `{GUID}`; only characters that need no escaping.
fn valid_gecko_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@._-{}".contains(&b))
}

/// Single-quotes a path for the launcher script.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

pub fn run(args: HostArgs) -> ExitCode {
    match args.cmd {
        Some(HostCmd::Install(a)) => report(install(a)),
        Some(HostCmd::Uninstall(a)) => report(uninstall(a)),
        None => run_host(args.policy, args.instance, &args.caller),
    }
}

fn report(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn install(args: InstallArgs) -> Result<String, String> {
    let (allowed_key, allowed) = match args.browser {
        Browser::Chrome | Browser::Chromium => {
            let id = args.extension_id.ok_or(
                "Chrome and Chromium need `--extension-id` (chrome://extensions shows it)",
            )?;
            if !valid_chrome_id(&id) {
                return Err(format!(
                    "`{id}` is not a Chrome extension id (32 letters a-p)"
                ));
            }
            ("allowed_origins", format!("chrome-extension://{id}/"))
        }
        Browser::Firefox => {
            let id = args.extension_id.unwrap_or_else(|| GECKO_ID.to_owned());
            if !valid_gecko_id(&id) {
                return Err(format!("`{id}` is not a Firefox add-on id"));
            }
            ("allowed_extensions", id)
        }
    };
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let policy = match args.policy {
        Some(p) => std::path::absolute(&p).map_err(|e| format!("{}: {e}", p.display()))?,
        None => config_dir()?.join("bridle/policy.toml"),
    };
    let mut script = format!(
        "#!/bin/sh\n# Written by `bridle host install`: browsers start native hosts without options.\nexec {} host --policy {}",
        sh_quote(&exe.to_string_lossy()),
        sh_quote(&policy.to_string_lossy())
    );
    if let Some(instance) = &args.instance {
        script.push_str(&format!(" --instance {}", sh_quote(instance)));
    }
    script.push_str(" \"$@\"\n");
    let launcher = launcher_path()?;
    write_file(&launcher, script.as_bytes(), 0o755)?;
    let manifest = serde_json::json!({
        "name": HOST_NAME,
        "description": "Bridle native host: runs jobs in throwaway sandboxes",
        "path": launcher.to_string_lossy(),
        "type": "stdio",
        allowed_key: [allowed],
    });
    let dir = manifest_dir(args.browser)?;
    let path = dir.join(format!("{HOST_NAME}.json"));
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    write_file(&path, text.as_bytes(), 0o644)?;
    Ok(format!(
        "installed {} (launcher {})",
        path.display(),
        launcher.display()
    ))
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))
}

fn uninstall(args: UninstallArgs) -> Result<String, String> {
    let path = manifest_dir(args.browser)?.join(format!("{HOST_NAME}.json"));
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(format!(
                "nothing to remove: {} does not exist",
                path.display()
            ))
        }
        Err(e) => return Err(format!("cannot remove {}: {e}", path.display())),
    }
    // The launcher is shared by every browser: remove it with the last manifest.
    let others = [Browser::Chrome, Browser::Chromium, Browser::Firefox]
        .into_iter()
        .filter_map(|b| manifest_dir(b).ok())
        .any(|d| d.join(format!("{HOST_NAME}.json")).exists());
    if !others {
        let _ = std::fs::remove_file(launcher_path()?);
    }
    Ok(format!("removed {}", path.display()))
}

/// Serves native messaging on stdin/stdout until the browser disconnects. Diagnostics go to
/// stderr (browsers log a host's stderr); stdout carries frames only.
fn run_host(policy: Option<PathBuf>, instance: Option<String>, caller: &[String]) -> ExitCode {
    let policy_path = match policy {
        Some(p) => p,
        None => match config_dir() {
            Ok(dir) => dir.join("bridle/policy.toml"),
            Err(e) => {
                eprintln!("bridle host: {e}");
                return ExitCode::from(2);
            }
        },
    };
    // A missing or broken policy is the built-in default, which allows no jobs: the host
    // still answers `hello`, and every job is refused with `jobs-disabled`.
    let policy = match std::fs::read(&policy_path) {
        Ok(bytes) => match Policy::from_bytes(&bytes) {
            Ok(policy) => policy,
            Err(e) => {
                eprintln!(
                    "bridle host: {}: {e}; using the default policy (no jobs)",
                    policy_path.display()
                );
                Policy::default()
            }
        },
        Err(e) => {
            eprintln!(
                "bridle host: cannot read {}: {e}; using the default policy (no jobs)",
                policy_path.display()
            );
            Policy::default()
        }
    };
    let Some(replay_path) = ReplayFile::default_path() else {
        eprintln!("bridle host: no place for the replay state: set HOME or BRIDLE_STATE_DIR");
        return ExitCode::from(2);
    };
    if !caller.is_empty() {
        eprintln!("bridle host: started by {}", caller.join(" "));
    }
    let config = Arc::new(HostConfig {
        policy,
        instance_id: instance.unwrap_or_default(),
        replay: Mutex::new(Box::new(ReplayFile::new(replay_path))),
        runner: Box::new(bridle_host::job::run),
        now: Box::new(OffsetDateTime::now_utc),
    });
    match serve(config, std::io::stdin().lock(), Box::new(std::io::stdout())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bridle host: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(valid_chrome_id("abcdefghijklmnopabcdefghijklmnop"));
        assert!(!valid_chrome_id("abcdefghijklmnopabcdefghijklmnoz"));
        assert!(!valid_chrome_id("short"));
        assert!(valid_gecko_id(GECKO_ID));
        assert!(!valid_gecko_id("a\"b"));
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
    }
}
