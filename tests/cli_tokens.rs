//! `bridle keys` and `bridle token` run as a user would: the built binary, its output and its
//! exit codes (0 ok, 1 refused or invalid, 2 usage).

use bridle_executor::keys::{instance_id, key_id, parse_public_key, parse_secret_key};
use bridle_executor::replay::MemoryReplayStore;
use bridle_executor::time::format_description::well_known::Rfc3339;
use bridle_executor::time::{Duration, OffsetDateTime};
use bridle_executor::token::{paseto, PlannerKey, ScriptHash, UnverifiedToken, VerifyContext};
use bridle_tests::bridle_bin;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use fixture::*;

/// Helpers. `#[cfg(test)]` marks them as test code for clippy (integration tests always build
/// with it), so a failed `unwrap` here is a failed test, as in the tests themselves.
#[cfg(test)]
mod fixture {
    use super::*;

    pub struct Run {
        pub code: i32,
        pub stdout: String,
        pub stderr: String,
    }

    pub fn finish(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    pub fn bridle(args: &[&str]) -> Run {
        finish(Command::new(bridle_bin()).args(args).output().unwrap())
    }

    pub fn bridle_stdin(args: &[&str], input: &str) -> Run {
        use std::io::Write as _;
        let mut child = Command::new(bridle_bin())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        finish(child.wait_with_output().unwrap())
    }

    /// A fresh, empty directory for one test.
    pub fn scratch(name: &str) -> PathBuf {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("bridle-cli-tokens-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    pub fn json(run: &Run) -> Value {
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
    }

    /// A planner key file, its public key, and an instance id.
    pub struct Setup {
        pub dir: PathBuf,
        pub key_file: String,
        pub planner: PlannerKey,
        pub instance: String,
    }

    pub fn setup(name: &str) -> Setup {
        let dir = scratch(name);
        let key_file = dir.join("planner.key");
        let v = json(&bridle(&[
            "keys",
            "new",
            "--out",
            key_file.to_str().unwrap(),
            "--json",
        ]));
        let instance = json(&bridle(&["keys", "new", "--json"]))["instance_id"]
            .as_str()
            .unwrap()
            .to_owned();
        Setup {
            planner: PlannerKey {
                kid: v["kid"].as_str().unwrap().to_owned(),
                name: "shop-planner".into(),
                public_key: parse_public_key(v["public_key"].as_str().unwrap()).unwrap(),
                max_ttl: Duration::minutes(15),
            },
            key_file: key_file.to_str().unwrap().to_owned(),
            dir,
            instance,
        }
    }

    pub const IAT: &str = "2025-06-01T12:00:00Z";
}

#[test]
fn keys_new_prints_consistent_ids_and_keys() {
    let run = bridle(&["keys", "new", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    let public = parse_public_key(v["public_key"].as_str().unwrap()).unwrap();
    let secret = parse_secret_key(v["secret_key"].as_str().unwrap()).unwrap();
    assert_eq!(secret.verifying_key(), public);
    assert_eq!(v["kid"], key_id(&public).as_str());
    assert_eq!(v["instance_id"], instance_id(&public).as_str());

    let text = bridle(&["keys", "new"]);
    assert_eq!(text.code, 0);
    let labels: Vec<&str> = text
        .stdout
        .lines()
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(labels, ["kid", "instance id", "public key", "secret key"]);
}

#[test]
fn keys_new_out_writes_a_private_file_and_never_overwrites() {
    let dir = scratch("out");
    let file = dir.join("planner.key");
    let path = file.to_str().unwrap();
    let run = bridle(&["keys", "new", "--out", path, "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    assert_eq!(v.get("secret_key"), None, "the secret is not printed");
    assert_eq!(v["secret_key_file"], path);
    let secret = parse_secret_key(std::fs::read_to_string(&file).unwrap().trim()).unwrap();
    assert_eq!(
        v["public_key"],
        bridle_executor::keys::encode_public_key(&secret.verifying_key()).as_str()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(&file).unwrap();
    let again = bridle(&["keys", "new", "--out", path]);
    assert_eq!(again.code, 1);
    assert!(
        again
            .stderr
            .starts_with(&format!("error: cannot create `{path}`: ")),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("help: choose a new file name"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn keys_id_derives_both_ids() {
    let v = json(&bridle(&["keys", "new", "--json"]));
    let public = v["public_key"].as_str().unwrap();
    let run = bridle(&["keys", "id", "--public-key", public, "--json"]);
    assert_eq!(run.code, 0);
    let ids = json(&run);
    assert_eq!(ids["kid"], v["kid"]);
    assert_eq!(ids["instance_id"], v["instance_id"]);
    let bad = bridle(&["keys", "id", "--public-key", "AAAA"]);
    assert_eq!(bad.code, 1);
    assert_eq!(
        bad.stderr.lines().next().unwrap(),
        "error: public key is 3 bytes, but must be 32"
    );
}

#[test]
fn token_mint_with_every_grant_flag_verifies_in_the_executor() {
    let s = setup("mint");
    let script = s.dir.join("buy.bridle");
    std::fs::write(&script, "bridle 1\n").unwrap();
    let args = [
        "token",
        "mint",
        "--key",
        &s.key_file,
        "--iss",
        "shop-planner",
        "--aud",
        &s.instance,
        "--iat",
        IAT,
        "--ttl",
        "10m",
        "--jti",
        "jti-cli-1",
        "--uses",
        "2",
        "--script",
        script.to_str().unwrap(),
        "--grant",
        r#"{"origins":["https://bank.example"],"verbs":["let"]}"#,
        "--origin",
        "https://shop.example",
        "--origin",
        "https://*.pay.example",
        "--path",
        "/checkout/*",
        "--verb",
        "click",
        "--verb",
        "scroll to",
        "--max-steps",
        "40",
        "--max-amount",
        "19.99EUR",
        "--secret",
        "visa-personal",
        "--runtime",
        "python3",
        "--sandbox",
        "microvm",
        "--cpu",
        "0.5",
        "--memory",
        "256MB",
        "--network",
    ];
    let run = bridle(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = run.stdout.trim().to_owned();
    assert!(token.starts_with("v4.public."));
    // Deterministic: same flags, same token.
    assert_eq!(bridle(&args).stdout.trim(), token);

    let parsed = UnverifiedToken::parse(&token).unwrap();
    let mut store = MemoryReplayStore::new();
    let keys = vec![s.planner.clone()];
    let mut ctx = VerifyContext {
        keys: &keys,
        instance_id: &s.instance,
        now: OffsetDateTime::parse(IAT, &Rfc3339).unwrap(),
        script: Some(b"bridle 1\n"),
        replay: &mut store,
    };
    let verified = parsed.verify(&mut ctx).unwrap();
    let claims = serde_json::to_value(verified.claims()).unwrap();
    assert_eq!(claims["iss"], "shop-planner");
    assert_eq!(claims["aud"], s.instance.as_str());
    assert_eq!(claims["iat"], IAT);
    assert_eq!(claims["nbf"], IAT);
    assert_eq!(claims["exp"], "2025-06-01T12:10:00Z");
    assert_eq!(claims["jti"], "jti-cli-1");
    assert_eq!(claims["uses"], 2);
    assert_eq!(
        claims["script"],
        ScriptHash::of(b"bridle 1\n").to_string().as_str()
    );
    assert_eq!(
        claims["grants"],
        serde_json::json!([
            {"origins": ["https://bank.example"], "verbs": ["let"]},
            {
                "origins": ["https://shop.example", "https://*.pay.example"],
                "paths": ["/checkout/*"],
                "verbs": ["click", "scroll to"],
                "max_steps": 40,
                "max_amount": {"currency": "EUR", "value": 19.99},
                "secrets": ["visa-personal"],
                "runtimes": ["python3"],
                "sandbox": "microvm",
                "cpu": 0.5,
                "memory": "256MB",
                "network": true
            }
        ])
    );
    assert_eq!(verified.kid(), s.planner.kid);
}

#[test]
fn token_mint_defaults_kid_jti_and_accepts_the_key_as_text() {
    let s = setup("defaults");
    let secret = std::fs::read_to_string(&s.key_file).unwrap();
    let run = bridle(&[
        "token",
        "mint",
        "--key",
        secret.trim(),
        "--iss",
        "p",
        "--aud",
        &s.instance,
        "--verb",
        "click",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = UnverifiedToken::parse(run.stdout.trim()).unwrap();
    assert_eq!(
        token.kid(),
        s.planner.kid,
        "the kid defaults to the key's derived id"
    );
    let claims = token.claims_unverified().unwrap();
    assert_eq!(claims.jti.len(), 22, "128 random bits in base64url");
    assert_eq!(
        claims.exp - claims.iat,
        Duration::minutes(5),
        "the ttl defaults to 5m"
    );
    assert_eq!(claims.uses, 1);
    // Two mints differ in their random jti.
    let again = bridle(&[
        "token",
        "mint",
        "--key",
        secret.trim(),
        "--iss",
        "p",
        "--aud",
        &s.instance,
    ]);
    assert!(again
        .stderr
        .contains("warning: the token has no grants, so it allows no step"));
    let other = UnverifiedToken::parse(again.stdout.trim())
        .unwrap()
        .claims_unverified()
        .unwrap();
    assert_ne!(other.jti, claims.jti);
}

#[test]
fn token_mint_refuses_invalid_claims_with_exit_1_and_bad_flags_with_exit_2() {
    let s = setup("refuse");
    let base = [
        "token",
        "mint",
        "--key",
        &s.key_file,
        "--iss",
        "p",
        "--aud",
        &s.instance,
    ];
    let with = |extra: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        bridle(&args)
    };
    let run = with(&["--origin", "https://shop.example/cart"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("error: token claim `grants[0].origins[0]` is invalid: "),
        "{}",
        run.stderr
    );
    let run = with(&["--uses", "0"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("error: token claim `uses` is invalid: must be from 1 to 1000, not 0\n"),
        "{}",
        run.stderr
    );

    for (flag, value, message) in [
        (
            "--ttl",
            "5x",
            "`5x` is not a duration like `30s`, `5m` or `1h30m`",
        ),
        ("--verb", "fly", "unknown verb `fly`"),
        (
            "--max-amount",
            "twenty",
            "`twenty` is not an amount like `20EUR` or `19.99 USD`",
        ),
        ("--sandbox", "vm", "`vm` is not a sandbox tier"),
        (
            "--memory",
            "lots",
            "`lots` is not a memory size like `256MB`",
        ),
        ("--iat", "yesterday", "`yesterday` is not an RFC 3339 time"),
        (
            "--grant",
            "{\"colour\":1}",
            "not a grant: unknown field `colour`",
        ),
    ] {
        let run = with(&[flag, value]);
        assert_eq!(run.code, 2, "{flag} {value}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{flag}: {}", run.stderr);
    }
    let missing = bridle(&["token", "mint", "--key", &s.key_file, "--aud", "x"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("--iss <NAME>"),
        "{}",
        missing.stderr
    );

    let bad_key = bridle(&[
        "token",
        "mint",
        "--key",
        "not-a-key",
        "--iss",
        "p",
        "--aud",
        "x",
    ]);
    assert_eq!(bad_key.code, 1);
    assert!(
        bad_key.stderr.starts_with("error: `--key`: secret key is "),
        "{}",
        bad_key.stderr
    );
}

#[test]
fn token_inspect_labels_everything_unverified() {
    let s = setup("inspect");
    let token = bridle(&[
        "token",
        "mint",
        "--key",
        &s.key_file,
        "--iss",
        "p",
        "--aud",
        &s.instance,
        "--iat",
        IAT,
        "--jti",
        "j-1",
        "--verb",
        "click",
    ])
    .stdout
    .trim()
    .to_owned();

    let run = bridle(&["token", "inspect", &token]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some("UNVERIFIED: signature not checked"));
    assert_eq!(
        lines.next(),
        Some(format!("footer: {{\"kid\":\"{}\"}}", s.planner.kid).as_str())
    );
    assert_eq!(
        lines.next(),
        Some(format!("kid: {}", s.planner.kid).as_str())
    );
    assert_eq!(lines.next(), Some("claims:"));
    let claims: Value = serde_json::from_str(&lines.collect::<Vec<_>>().join("\n")).unwrap();
    assert_eq!(claims["jti"], "j-1");
    assert_eq!(claims["grants"], serde_json::json!([{"verbs": ["click"]}]));

    let run = bridle_stdin(&["token", "inspect", "-", "--json"], &format!("{token}\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    assert_eq!(v["verified"], false);
    assert_eq!(v["warning"], "UNVERIFIED: signature not checked");
    assert_eq!(v["kid"], s.planner.kid.as_str());
    assert_eq!(v["footer"]["kid"], s.planner.kid.as_str());
    assert_eq!(v["claims"]["jti"], "j-1");
    assert_eq!(v["error"], Value::Null);
}

#[test]
fn token_inspect_shows_bad_claims_and_exits_1() {
    let s = setup("inspect-bad");
    let secret = parse_secret_key(std::fs::read_to_string(&s.key_file).unwrap().trim()).unwrap();
    let footer = format!("{{\"kid\":\"{}\"}}", s.planner.kid);
    let token = paseto::sign(br#"{"v":1,"admin":true}"#, footer.as_bytes(), b"x", &secret);
    let run = bridle(&["token", "inspect", &token, "--json"]);
    assert_eq!(run.code, 1);
    let v = json(&run);
    assert_eq!(v["claims"], serde_json::json!({"v": 1, "admin": true}));
    assert_eq!(v["error"]["code"], "unknown-field");
    assert_eq!(v["error"]["message"], "token has unknown field `admin`");
    assert!(
        run.stderr
            .starts_with("error: token has unknown field `admin`"),
        "{}",
        run.stderr
    );

    let run = bridle(&["token", "inspect", "v4.local.AAAA"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: token does not start with `v4.public.`\n  help: mint a PASETO v4.public token (Ed25519); local tokens and other versions are not accepted\n"
    );
    assert_eq!(run.stdout, "");
}
