//! Every named limit, exactly at the limit (passes) and one past it (fails), and the values
//! that are out of range at the bottom.

use super::*;
use crate::limits::{
    MAX_DIAGNOSTICS, MAX_EXPANDED_STEPS, MAX_JOB_CODE_BYTES, MAX_LOOP_BOUND, MAX_NTH,
    MAX_STATEMENTS,
};

/// `HEADER` has three statements.
const HEADER_STATEMENTS: usize = 3;

fn notes(n: usize) -> String {
    "note \"x\"\n".repeat(n)
}

#[test]
fn statements_at_the_limit_pass_and_one_more_fails() {
    let at = script(&notes(MAX_STATEMENTS - HEADER_STATEMENTS));
    assert_eq!(ok(&at).steps.len(), MAX_STATEMENTS - HEADER_STATEMENTS);
    let over = script(&format!(
        "{}click button \"Last\"\n",
        notes(MAX_STATEMENTS - HEADER_STATEMENTS)
    ));
    assert_found(
        &error(&over),
        Code::LimitExceeded,
        "the script has more than 5000 statements",
        "click button \"Last\"",
        "split the work into several scripts",
    );
}

#[test]
fn statements_in_blocks_count_too() {
    let inner = notes(MAX_STATEMENTS - HEADER_STATEMENTS - 1);
    let at = script(&format!("if exists button \"A\" {{\n{inner}}}\n"));
    ok(&at);
    let over = script(&format!(
        "if exists button \"A\" {{\n{inner}note \"y\"\n}}\n"
    ));
    let got = error(&over);
    assert_eq!(got.message, "the script has more than 5000 statements");
    assert_eq!(got.spanned, "note \"y\"");
}

#[test]
fn loop_bounds_at_the_limit_pass_and_outside_fail() {
    let repeat = |n: u64| {
        format!("repeat at most {n} until exists link \"Next\" {{ click button \"More\" }}\n")
    };
    ok(&script(&repeat(1)));
    ok(&script(&repeat(MAX_LOOP_BOUND)));
    assert_error(
        &repeat(MAX_LOOP_BOUND + 1),
        Code::LimitExceeded,
        "loop bound `1001` is more than the limit of 1000",
        "1001",
        "loop over fewer items",
    );
    assert_error(
        &repeat(0),
        Code::InvalidValue,
        "a loop bound must be at least 1",
        "0",
        "write `at most 1` or more",
    );
    assert_error(
        "let rows = table table \"R\"\nfor each row in rows at most 0 { note \"x\" }\n",
        Code::InvalidValue,
        "a loop bound must be at least 1",
        "0",
        "write `at most 1` or more",
    );
}

#[test]
fn expanded_steps_at_the_limit_pass_and_one_more_fails() {
    // The loop head runs once and its 99 statements 1000 times each: 99,001 expanded steps;
    // 999 more at the top level make exactly 100,000.
    let body = notes(99);
    let base = format!(
        "repeat at most 1000 until exists link \"Done\" {{\n{body}}}\n{}",
        notes(999)
    );
    let checked = ok(&script(&base));
    assert_eq!(checked.expanded_steps, MAX_EXPANDED_STEPS);
    let over = script(&format!("{base}click button \"One more\"\n"));
    assert_found(
        &error(&over),
        Code::LimitExceeded,
        "with every loop at its bound, the script runs more than 100000 expanded steps by here",
        "click button \"One more\"",
        "lower the loop bounds",
    );
}

#[test]
fn nested_loop_bounds_multiply() {
    let src = script(
        "let rows = table table \"R\"\nfor each row in rows at most 10 {\n  repeat at most 5 until exists link \"x\" {\n    note \"{row.a}\"\n  }\n}\n",
    );
    // let 1, for each 1, repeat 10, note 50.
    assert_eq!(ok(&src).expanded_steps, 62);
}

#[test]
fn timeouts_and_pauses_at_the_limit_pass_and_outside_fail() {
    ok(&script(
        "wait for idle timeout 10m\nwait 10m\nwait 1ms\nwait for url matches \"https://shop.example/*\" timeout 600000ms\nwait for button \"A\" to be visible timeout 1ms\nlet out = job \"sh\" timeout 10m <<<\ntrue\n>>>\n",
    ));
    assert_error(
        "wait for idle timeout 600001ms\n",
        Code::LimitExceeded,
        "timeout `600001ms` is longer than the limit of 10m",
        "600001ms",
        "wait in several shorter steps",
    );
    assert_error(
        "wait 11m\n",
        Code::LimitExceeded,
        "pause `11m` is longer than the limit of 10m",
        "11m",
        "hand off to the user",
    );
    assert_error(
        "wait 0ms\n",
        Code::InvalidValue,
        "a pause must be at least 1ms",
        "0ms",
        "remove the `wait`",
    );
    assert_error(
        "wait for button \"A\" to be gone timeout 0s\n",
        Code::InvalidValue,
        "a timeout must be at least 1ms",
        "0s",
        "give the step time to happen",
    );
    assert_error(
        "let out = job \"sh\" timeout 1h <<<\ntrue\n>>>\n",
        Code::LimitExceeded,
        "timeout `1h` is longer than the limit of 10m",
        "1h",
        "wait in several shorter steps",
    );
}

#[test]
fn job_memory_at_the_limit_passes_and_outside_fails() {
    let job =
        |memory: &str| format!("let out = job \"python3\" memory {memory} <<<\nprint(1)\n>>>\n");
    ok(&script(&job("16GB")));
    ok(&script(&job("1KB")));
    assert_error(
        &job("17GB"),
        Code::LimitExceeded,
        "job memory `17GB` is more than the limit of 16GB",
        "17GB",
        "ask for less memory",
    );
    assert_error(
        &job("0MB"),
        Code::InvalidValue,
        "job memory must be more than 0",
        "0MB",
        "e.g. `memory 256MB`",
    );
}

#[test]
fn job_runtimes_are_a_known_set() {
    for runtime in ["python3", "sh", "node"] {
        ok(&script(&format!("job \"{runtime}\" <<<\nx\n>>>\n")));
    }
    assert_error(
        "job \"python\" <<<\nprint(1)\n>>>\n",
        Code::InvalidValue,
        "unknown job runtime `python`",
        "\"python\"",
        "did you mean `python3`? the runtimes are `python3`, `sh` and `node`",
    );
    assert_error(
        "job \"ruby\" <<<\nputs 1\n>>>\n",
        Code::InvalidValue,
        "unknown job runtime `ruby`",
        "\"ruby\"",
        "the runtimes are `python3`, `sh` and `node`",
    );
}

#[test]
fn job_code_at_the_limit_passes() {
    // One byte more is refused by the parser already; `built.rs` tests the checker's own
    // check on a tree changed past it.
    let job = format!("job \"sh\" <<<\n{}\n>>>\n", "x".repeat(MAX_JOB_CODE_BYTES));
    ok(&script(&job));
}

#[test]
fn nth_at_the_limit_passes_and_outside_fails() {
    ok(&script(&format!("click button \"Delete\" nth {MAX_NTH}\n")));
    assert_error(
        "click button \"Next\" nth 1001\n",
        Code::LimitExceeded,
        "`nth 1001` is more than the limit of 1000",
        "1001",
        "narrow the target",
    );
    assert_error(
        "click button \"Next\" nth 0\n",
        Code::InvalidValue,
        "`nth 0` names no element",
        "0",
        "use `nth 1` for the first match",
    );
}

#[test]
fn an_empty_css_selector_is_invalid() {
    assert_error(
        "click css \"  \"\n",
        Code::InvalidValue,
        "empty css selector",
        "\"  \"",
        "name the element by role and name instead",
    );
}

#[test]
fn statements_after_return_never_run() {
    assert_error(
        "return 1\n# a comment is fine\nnote \"after\"\nnote \"reported once\"\n",
        Code::Unreachable,
        "this statement never runs: it comes after `return`",
        "note \"after\"",
        "remove it, or move `return` to the end of its block",
    );
    assert_error(
        "if exists button \"A\" {\n  return 1\n  click button \"B\"\n}\nnote \"reachable\"\n",
        Code::Unreachable,
        "this statement never runs: it comes after `return`",
        "click button \"B\"",
        "move `return` to the end of its block",
    );
    // `return` may stand in a block: it ends the script there.
    ok(&script("if exists button \"A\" { return 1 }\nreturn 2\n"));
}

#[test]
fn diagnostics_are_capped_and_the_rest_summarised() {
    let body: String = (0..MAX_DIAGNOSTICS + 10)
        .map(|i| format!("note \"{{missing{i}}}\"\n"))
        .collect();
    let got = errors(&script(&body));
    assert_eq!(got.len(), MAX_DIAGNOSTICS);
    assert_eq!(got[0].message, "undefined variable `missing0`");
    assert_eq!(
        got[MAX_DIAGNOSTICS - 2].message,
        "undefined variable `missing48`"
    );
    let last = &got[MAX_DIAGNOSTICS - 1];
    assert_eq!(last.code, Code::LimitExceeded);
    assert_eq!(last.message, "11 more errors not shown");
    assert_eq!(last.spanned, "missing49");
    assert_eq!(last.help, "fix the errors above and check again");
}

#[test]
fn diagnostics_come_in_source_order() {
    // The header pass finds the misplaced `goal` before the walk finds `a`; the result is
    // sorted by position all the same.
    let src = "bridle 1\norigins \"https://shop.example\"\nnote \"{a}\"\ngoal \"Shop\"\n";
    let got = errors(src);
    let spans: Vec<&str> = got.iter().map(|f| f.spanned.as_str()).collect();
    assert_eq!(spans, ["a", "goal \"Shop\""]);
}
