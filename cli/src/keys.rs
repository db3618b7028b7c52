//! `bridle keys`: Ed25519 key pairs for planners and executor instances, and the ids derived
//! from a public key (the planner key id `k1_…` and the instance id `bx1_…`).

use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::keys::{
    encode_public_key, encode_secret_key, instance_id, key_id, parse_public_key,
};
use serde::Serialize;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum KeysCmd {
    /// Generate a key pair; print its key id, instance id, public key and secret key
    New(NewArgs),
    /// Print the key id and instance id of a public key
    Id(IdArgs),
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// Write the secret key to this new file (mode 0600) instead of printing it
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct IdArgs {
    /// The public key: base64url (no padding) of its 32 raw bytes
    #[arg(long, value_name = "B64")]
    public_key: String,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: KeysCmd) -> ExitCode {
    match cmd {
        KeysCmd::New(args) => new(args),
        KeysCmd::Id(args) => id(args),
    }
}

/// Prints `error: …` and `help: …` to stderr and returns exit code 1 (refused or invalid).
pub(crate) fn fail(message: &str, help: &str) -> ExitCode {
    eprintln!("error: {message}");
    if !help.is_empty() {
        eprintln!("  help: {help}");
    }
    ExitCode::FAILURE
}

#[derive(Debug, Serialize)]
struct NewKey {
    kid: String,
    instance_id: String,
    public_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key_file: Option<String>,
}

fn new(args: NewArgs) -> ExitCode {
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let public = key.verifying_key();
    let secret = encode_secret_key(&key);
    let mut out = NewKey {
        kid: key_id(&public),
        instance_id: instance_id(&public),
        public_key: encode_public_key(&public),
        secret_key: None,
        secret_key_file: None,
    };
    match &args.out {
        Some(path) => {
            if let Err(message) = write_secret(path, &secret) {
                return fail(
                    &message,
                    "choose a new file name; an existing key is never overwritten",
                );
            }
            out.secret_key_file = Some(path.display().to_string());
        }
        None => out.secret_key = Some(secret),
    }
    if args.json {
        match serde_json::to_string_pretty(&out) {
            Ok(text) => println!("{text}"),
            Err(e) => return fail(&format!("cannot write JSON: {e}"), ""),
        }
    } else {
        println!("kid:         {}", out.kid);
        println!("instance id: {}", out.instance_id);
        println!("public key:  {}", out.public_key);
        match (&out.secret_key, &out.secret_key_file) {
            (Some(secret), _) => println!("secret key:  {secret}"),
            (None, Some(file)) => println!("secret key:  written to {file}"),
            (None, None) => {}
        }
    }
    ExitCode::SUCCESS
}

/// Creates `path` (which must not exist) readable by its owner only, and writes the key.
fn write_secret(path: &Path, secret: &str) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create `{}`: {e}", path.display()))?;
    file.write_all(format!("{secret}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

#[derive(Debug, Serialize)]
struct Ids {
    kid: String,
    instance_id: String,
}

fn id(args: IdArgs) -> ExitCode {
    let public = match parse_public_key(args.public_key.trim()) {
        Ok(key) => key,
        Err(e) => {
            return fail(
                &e.to_string(),
                "pass the base64url text of the 32 raw public key bytes, as `bridle keys new` prints it",
            )
        }
    };
    let ids = Ids {
        kid: key_id(&public),
        instance_id: instance_id(&public),
    };
    if args.json {
        match serde_json::to_string_pretty(&ids) {
            Ok(text) => println!("{text}"),
            Err(e) => return fail(&format!("cannot write JSON: {e}"), ""),
        }
    } else {
        println!("kid:         {}", ids.kid);
        println!("instance id: {}", ids.instance_id);
    }
    ExitCode::SUCCESS
}
