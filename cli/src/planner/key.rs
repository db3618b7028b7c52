//! The reference planner's signing key: read from a file, or created there on first start in
//! the format `bridle keys new --out` writes (base64url of the 32-byte seed, mode 0600).

use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::keys::{encode_secret_key, parse_secret_key};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The longest key file read: a seed and public key in base64url are 86 bytes.
const MAX_KEY_FILE_BYTES: u64 = 1024;

/// Why the key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` can be read or written by other users (mode {mode:o}); the planner's key signs its tokens")]
    Permissions { path: PathBuf, mode: u32 },
    #[error("`{path}` is larger than a key file ({len} bytes)")]
    TooLarge { path: PathBuf, len: u64 },
    #[error("`{path}`: {detail}")]
    Invalid { path: PathBuf, detail: String },
    #[error("cannot create `{path}`: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl KeyFileError {
    /// What to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            KeyFileError::Permissions { .. } => "run `chmod 600` on the key file",
            KeyFileError::Invalid { .. } | KeyFileError::TooLarge { .. } => {
                "pass a key file written by `bridle keys new --out FILE`, or a path that does not exist yet"
            }
            _ => "pass another `--key` path",
        }
    }
}

/// The default key file: `$XDG_CONFIG_HOME/bridle/planner.key`, or under `~/.config`.
pub fn default_key_path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("bridle").join("planner.key")
}

/// The key in `path`, or a new one written there when the file does not exist. Returns the key
/// and whether it was created.
pub fn load_or_create(path: &Path) -> Result<(SigningKey, bool), KeyFileError> {
    match std::fs::metadata(path) {
        Ok(meta) => load(path, &meta).map(|k| (k, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path).map(|k| (k, true)),
        Err(source) => Err(KeyFileError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn load(path: &Path, meta: &std::fs::Metadata) -> Result<SigningKey, KeyFileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Permissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(KeyFileError::TooLarge {
            path: path.to_owned(),
            len: meta.len(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_secret_key(text.trim()).map_err(|e| KeyFileError::Invalid {
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

fn create(path: &Path) -> Result<SigningKey, KeyFileError> {
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let fail = |source| KeyFileError::Create {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(format!("{}\n", encode_secret_key(&key)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(fail)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder, removed when the test drops it.
    fn scratch() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("bridle-planner-key-")
            .tempdir()
            .unwrap()
    }

    #[test]
    fn a_missing_key_is_created_once_and_then_read() {
        let dir = scratch();
        let path = dir.path().join("sub").join("planner.key");
        let (key, created) = load_or_create(&path).unwrap();
        assert!(created);
        let (again, created) = load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(key.to_bytes(), again.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_key_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = scratch();
        let path = dir.path().join("planner.key");
        load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(KeyFileError::Permissions { mode: 0o644, .. })
        ));
    }

    #[test]
    fn junk_is_refused() {
        let dir = scratch();
        let path = dir.path().join("planner.key");
        std::fs::write(&path, "not a key\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(
            load_or_create(&path),
            Err(KeyFileError::Invalid { .. })
        ));
    }
}
