//! `bridle authorize` end to end: the stable JSON shape, the exit codes, and the refusals a
//! hostile planner meets (wrong key, another instance, an edited script, a widening token).

use bridle_tests::bridle_bin;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SCRIPT: &str = r#"bridle 1
goal "Buy a cable"
origins "https://shop.example"
navigate "https://shop.example/cable"
click button "Add to cart"
submit button "Place order"
"#;

struct Setup {
    dir: PathBuf,
    instance: String,
}

fn run(args: &[&str]) -> Output {
    Command::new(bridle_bin()).args(args).output().unwrap()
}

fn field(json: &Value, key: &str) -> String {
    json[key].as_str().unwrap().to_owned()
}

/// A planner key, an instance key, a policy trusting the planner, and the script.
fn setup(name: &str, site_rules: &str) -> Setup {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bridle-authorize-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let keys = |file: &str| -> Value {
        let out = run(&[
            "keys",
            "new",
            "--json",
            "--out",
            dir.join(file).to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let planner = keys("planner.key");
    let instance = keys("instance.key");
    let policy = format!(
        "[[planner]]\nname = \"test-planner\"\nkid = \"{}\"\npublic_key = \"{}\"\nmax_ttl = \"15m\"\n\n{site_rules}",
        field(&planner, "kid"),
        field(&planner, "public_key")
    );
    std::fs::write(dir.join("policy.toml"), policy).unwrap();
    std::fs::write(dir.join("script.bridle"), SCRIPT).unwrap();
    Setup {
        instance: field(&instance, "instance_id"),
        dir,
    }
}

impl Setup {
    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_str().unwrap().to_owned()
    }

    fn mint(&self, key: &str, aud: &str, script: &Path, extra: &[&str]) -> String {
        let mut args = vec![
            "token",
            "mint",
            "--key",
            key,
            "--iss",
            "test-planner",
            "--aud",
            aud,
            "--script",
        ];
        let script = script.to_str().unwrap().to_owned();
        args.push(&script);
        args.extend_from_slice(extra);
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn authorize(&self, token: &str, script: &str) -> (i32, Value) {
        let policy = self.path("policy.toml");
        let out = run(&[
            "authorize",
            "--json",
            "--policy",
            &policy,
            "--token",
            token,
            "--instance",
            &self.instance,
            script,
        ]);
        let json = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code().unwrap(), json)
    }
}

const GRANT: &[&str] = &[
    "--origin",
    "https://shop.example",
    "--verb",
    "navigate",
    "--verb",
    "click",
    "--verb",
    "submit",
];

fn decisions(json: &Value) -> Vec<String> {
    json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["decision"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn json_shape_is_the_stable_one() {
    let s = setup("shape", "");
    let script = s.path("script.bridle");
    let token = s.mint(
        &s.path("planner.key"),
        &s.instance,
        Path::new(&script),
        GRANT,
    );
    let (code, json) = s.authorize(&token, &script);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["token"]["valid"], true);
    assert!(json["token"]["error"].is_null());
    let steps = json["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    for (i, step) in steps.iter().enumerate() {
        for key in ["index", "line", "verb", "risk", "decision", "reasons"] {
            assert!(step.get(key).is_some(), "step {i} lacks `{key}`: {step}");
        }
        assert_eq!(step["index"], i + 1);
        assert!(step["reasons"].is_array());
    }
    assert_eq!(steps[0]["verb"], "navigate");
    assert_eq!(steps[0]["line"], 4);
    assert_eq!(steps[2]["verb"], "submit");
    assert_eq!(steps[2]["risk"], "high");
    assert_eq!(decisions(&json), ["allow", "allow", "ask"]);
}

#[test]
fn a_denied_step_exits_one() {
    let s = setup(
        "denied",
        "[[site]]\norigin = \"https://shop.example\"\ndeny = [\"submit\"]\n",
    );
    let script = s.path("script.bridle");
    let token = s.mint(
        &s.path("planner.key"),
        &s.instance,
        Path::new(&script),
        GRANT,
    );
    let (code, json) = s.authorize(&token, &script);
    assert_eq!(code, 1);
    assert_eq!(json["token"]["valid"], true);
    assert_eq!(decisions(&json), ["allow", "allow", "deny"]);
    let reasons = json["steps"][2]["reasons"].to_string();
    assert!(reasons.contains("denies it"), "{reasons}");
}

#[test]
fn a_widening_token_never_beats_the_policy() {
    // The token grants `submit` everywhere with a huge amount; the user's policy makes the
    // shop read-only. The policy wins on every acting step.
    let s = setup(
        "widen",
        "[[site]]\norigin = \"https://shop.example\"\nread_only = true\n",
    );
    let script = s.path("script.bridle");
    let token = s.mint(
        &s.path("planner.key"),
        &s.instance,
        Path::new(&script),
        &[
            "--verb",
            "navigate",
            "--verb",
            "click",
            "--verb",
            "submit",
            "--max-amount",
            "1000000EUR",
        ],
    );
    let (code, json) = s.authorize(&token, &script);
    assert_eq!(code, 1);
    assert_eq!(decisions(&json), ["allow", "deny", "deny"]);
}

#[test]
fn hostile_tokens_are_refused_with_their_reason() {
    let s = setup("hostile", "");
    let script = s.path("script.bridle");
    let key = s.path("planner.key");

    // Signed by a key the policy does not trust (the instance's own key, say).
    let wrong_key = s.mint(
        &s.path("instance.key"),
        &s.instance,
        Path::new(&script),
        GRANT,
    );
    let (code, json) = s.authorize(&wrong_key, &script);
    assert_eq!(code, 1);
    assert_eq!(json["token"]["valid"], false);
    assert_eq!(json["token"]["code"], "unknown-key");

    // Minted for another browser.
    let other = s.mint(
        &key,
        "bx1_00000000000000000000000000000000",
        Path::new(&script),
        GRANT,
    );
    let (code, json) = s.authorize(&other, &script);
    assert_eq!(code, 1);
    assert_eq!(json["token"]["code"], "bad-signature");

    // Bound to another script.
    let edited = s.path("edited.bridle");
    std::fs::write(&edited, SCRIPT.replace("Place order", "Place order now")).unwrap();
    let token = s.mint(&key, &s.instance, Path::new(&script), GRANT);
    let (code, json) = s.authorize(&token, &edited);
    assert_eq!(code, 1);
    assert_eq!(json["token"]["code"], "script-mismatch");
    assert!(decisions(&json).iter().all(|d| d == "deny"));

    // Expired (minted an hour ago with a five-minute life).
    let old = s.mint(
        &key,
        &s.instance,
        Path::new(&script),
        &[GRANT, &["--iat", "2020-01-01T00:00:00Z"]].concat(),
    );
    let (code, json) = s.authorize(&old, &script);
    assert_eq!(code, 1);
    assert_eq!(json["token"]["code"], "expired");

    // Garbage.
    let (code, json) = s.authorize("v4.public.not-a-token", &script);
    assert_eq!(code, 1);
    assert_eq!(json["token"]["valid"], false);
}

#[test]
fn usage_errors_exit_two() {
    let s = setup("usage", "");
    let script = s.path("script.bridle");
    let policy = s.path("policy.toml");
    let out = run(&[
        "authorize",
        "--policy",
        &policy,
        "--instance",
        &s.instance,
        &script,
    ]);
    assert_eq!(out.status.code(), Some(2), "missing --token");
    let out = run(&[
        "authorize",
        "--policy",
        &policy,
        "--token",
        "x",
        "--instance",
        &s.instance,
        "--now",
        "yesterday",
        &script,
    ]);
    assert_eq!(out.status.code(), Some(2), "bad --now");
    let out = run(&[
        "authorize",
        "--policy",
        "/nonexistent.toml",
        "--token",
        "x",
        "--instance",
        &s.instance,
        &script,
    ]);
    assert_eq!(out.status.code(), Some(2), "missing policy file");
}

#[test]
fn an_invalid_script_exits_one_with_diagnostics() {
    let s = setup("badscript", "");
    let bad = s.path("bad.bridle");
    std::fs::write(
        &bad,
        "bridle 1\ngoal \"x\"\norigins \"https://shop.example\"\nclik button \"Go\"\n",
    )
    .unwrap();
    let (code, json) = s.authorize("v4.public.x", &bad);
    assert_eq!(code, 1);
    assert_eq!(json["script"]["ok"], false);
    assert_eq!(json["script"]["diagnostics"][0]["code"], "unknown-verb");
    assert_eq!(
        json["script"]["diagnostics"][0]["help"],
        "did you mean `click`?"
    );
}

#[test]
fn now_flag_decides_as_of_that_time() {
    let s = setup("now", "");
    let script = s.path("script.bridle");
    let token = s.mint(
        &s.path("planner.key"),
        &s.instance,
        Path::new(&script),
        &[GRANT, &["--iat", "2030-01-01T00:00:00Z"]].concat(),
    );
    let policy = s.path("policy.toml");
    let out = run(&[
        "authorize",
        "--json",
        "--policy",
        &policy,
        "--token",
        &token,
        "--instance",
        &s.instance,
        "--now",
        "2030-01-01T00:01:00Z",
        &script,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
