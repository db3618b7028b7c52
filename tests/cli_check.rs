//! `bridle check` and `bridle fmt` end to end: exit codes, the JSON diagnostics planners read,
//! `--steps`, canonical rewriting, and hostile files (empty, not UTF-8, 10 MB) that must get a
//! diagnostic, never a panic or a hang.

use bridle_tests::bridle_bin;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const VALID: &str = "bridle 1\ngoal \"Add a cable\"\norigins \"https://shop.example\"\nclick button \"Add to cart\"\nsubmit button \"Place order\"\n";
const TYPO: &str =
    "bridle 1\ngoal \"x\"\norigins \"https://shop.example\"\nclik button \"Add to cart\"\n";

fn dir(name: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bridle-cli-check-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &std::path::Path, file: &str, bytes: &[u8]) -> String {
    let path = dir.join(file);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

fn bridle(args: &[&str]) -> Output {
    Command::new(bridle_bin()).args(args).output().unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn check_exit_codes_are_zero_one_two() {
    let d = dir("codes");
    let ok = write(&d, "ok.bridle", VALID.as_bytes());
    let bad = write(&d, "bad.bridle", TYPO.as_bytes());
    assert_eq!(bridle(&["check", &ok]).status.code(), Some(0));
    let out = bridle(&["check", &ok, &bad]);
    assert_eq!(out.status.code(), Some(1), "one bad file fails the run");
    let err = text(&out.stderr);
    assert!(err.contains("bad.bridle:4:1"), "{err}");
    assert!(err.contains("unknown verb `clik`"), "{err}");
    assert!(err.contains("did you mean `click`?"), "{err}");
    assert_eq!(bridle(&["check"]).status.code(), Some(2), "no file");
    let missing = d.join("missing.bridle");
    assert_eq!(
        bridle(&["check", missing.to_str().unwrap()]).status.code(),
        Some(2),
        "unreadable file"
    );
    assert_eq!(bridle(&["check", "--bogus", &ok]).status.code(), Some(2));
}

#[test]
fn check_json_carries_positions_codes_and_help() {
    let d = dir("json");
    let bad = write(&d, "bad.bridle", TYPO.as_bytes());
    let out = bridle(&["check", "--json", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let diag = &json["files"][0]["diagnostics"][0];
    assert_eq!(diag["code"], "unknown-verb");
    assert_eq!(diag["line"], 4);
    assert_eq!(diag["column"], 1);
    assert_eq!(diag["length"], 4);
    assert_eq!(diag["message"], "unknown verb `clik`");
    assert_eq!(diag["help"], "did you mean `click`?");
}

#[test]
fn check_steps_lists_every_step_with_its_risk() {
    let d = dir("steps");
    let ok = write(&d, "ok.bridle", VALID.as_bytes());
    let out = bridle(&["check", "--steps", &ok]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("ok, 2 steps"), "{stdout}");
    assert!(stdout.contains("click       medium"), "{stdout}");
    assert!(stdout.contains("submit      high"), "{stdout}");
    let out = bridle(&["check", "--steps", "--json", &ok]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = json["files"][0]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[1]["verb"], "submit");
    assert_eq!(steps[1]["risk"], "high");
    assert_eq!(steps[1]["line"], 5);
}

#[test]
fn hostile_files_get_diagnostics_quickly() {
    let d = dir("hostile");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.bridle", Vec::new(), "header"),
        (
            "latin1.bridle",
            b"bridle 1\ngoal \"caf\xe9\"\n".to_vec(),
            "invalid-utf8",
        ),
        (
            "huge.bridle",
            vec![b'a'; 10 * 1024 * 1024],
            "limit-exceeded",
        ),
        ("nul.bridle", b"bridle 1\n\0\0\0\n".to_vec(), "syntax"),
    ];
    for (file, bytes, code) in cases {
        let path = write(&d, file, &bytes);
        let start = Instant::now();
        let out = bridle(&["check", "--json", &path]);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{file} took too long"
        );
        assert_eq!(out.status.code(), Some(1), "{file}: {}", text(&out.stderr));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let codes: Vec<&str> = json["files"][0]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        assert!(codes.contains(&code), "{file}: {codes:?}");
    }
}

#[test]
fn fmt_rewrites_to_canonical_form_and_check_reports_it() {
    let d = dir("fmt");
    let messy = "bridle 1\ngoal   \"Add a cable\"\norigins \"https://shop.example\"\n\n\n\nif exists button \"Accept\" { click button \"Accept\" }   # cookies\n";
    let path = write(&d, "messy.bridle", messy.as_bytes());
    let out = bridle(&["fmt", "--check", &path]);
    assert_eq!(out.status.code(), Some(1), "not canonical");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        messy,
        "--check changes nothing"
    );

    let out = bridle(&["fmt", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let formatted = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        formatted,
        "bridle 1\ngoal \"Add a cable\"\norigins \"https://shop.example\"\n\nif exists button \"Accept\" {  # cookies\n  click button \"Accept\"\n}\n"
    );
    assert_eq!(bridle(&["fmt", "--check", &path]).status.code(), Some(0));
    assert_eq!(bridle(&["check", &path]).status.code(), Some(0));
}

#[test]
fn fmt_never_rewrites_a_script_that_does_not_parse() {
    let d = dir("fmt-bad");
    let path = write(&d, "bad.bridle", TYPO.as_bytes());
    let out = bridle(&["fmt", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("unknown verb `clik`"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), TYPO);
}
