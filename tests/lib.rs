//! Helpers shared by the native integration tests.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The `bridle` binary, built once per test process with `cargo build -p bridle-cli` (test
/// crates cannot depend on another package's binary, so this is how the CLI tests reach it).
/// Returns the path even when the build fails, so the test's own assertion explains.
pub fn bridle_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        // The test binary lives in `<target>/<profile>/deps/`; build the CLI into the same
        // `<target>/<profile>/` so it matches whatever target dir and profile run the tests.
        let profile_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent()?.parent().map(PathBuf::from))
            .unwrap_or_else(|| root.join("target").join("debug"));
        let target = profile_dir
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let mut cmd =
            std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.args(["build", "--quiet", "-p", "bridle-cli"])
            .current_dir(&root)
            .env("CARGO_TARGET_DIR", &target);
        if profile_dir
            .file_name()
            .is_some_and(|name| name == "release")
        {
            cmd.arg("--release");
        }
        let status = cmd.status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("warning: `cargo build -p bridle-cli` failed: {status:?}");
        }
        profile_dir.join(format!("bridle{}", std::env::consts::EXE_SUFFIX))
    })
    .clone()
}
