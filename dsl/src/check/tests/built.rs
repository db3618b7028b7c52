//! Trees the parser would refuse, built by parsing a valid script and changing a node: the
//! checker must not rely on the parser for any rule (defence in depth).

use super::*;
use crate::ast::{
    Cond, Expr, Job, Line, Matcher, Script, Span, Stmt, StmtKind, Str, StrPart, Target, TargetBase,
};
use crate::check::MAX_CONDITION_TREE_DEPTH;
use crate::limits::{MAX_JOB_CODE_BYTES, MAX_NESTING, MAX_STRING_BYTES};

/// Parses `HEADER` + `body`, lets `change` edit the tree, and checks the result.
fn check_changed(body: &str, change: impl FnOnce(&mut Script)) -> (String, Vec<Found>) {
    let src = script(body);
    let mut tree = crate::parser::parse(&src).unwrap();
    change(&mut tree);
    let diags = match check(tree, &src, &CheckOptions::default()) {
        Ok(_) => panic!("expected diagnostics"),
        Err(diags) => diags,
    };
    let found = diags.iter().map(|d| found(&src, d)).collect();
    (src, found)
}

/// The last statement of the top level.
fn last_stmt(tree: &mut Script) -> &mut Stmt {
    tree.lines
        .iter_mut()
        .rev()
        .find_map(|line| match line {
            Line::Stmt(stmt) => Some(stmt),
            _ => None,
        })
        .unwrap()
}

fn target_of(stmt: &mut Stmt) -> &mut Target {
    match &mut stmt.kind {
        StmtKind::Click(t) => t,
        other => panic!("not a click: {other:?}"),
    }
}

#[test]
fn an_unknown_role_is_refused_with_a_suggestion() {
    let (_, got) = check_changed("click button \"Go\"\n", |tree| {
        if let TargetBase::Role { role, .. } = &mut target_of(last_stmt(tree)).base {
            role.node = "buton".to_owned();
        }
    });
    assert_eq!(got.len(), 1);
    assert_found(
        &got[0],
        Code::UnknownRole,
        "unknown role `buton`",
        "button",
        "did you mean `button`?",
    );
}

#[test]
fn element_and_every_listed_role_are_accepted() {
    let body: String = crate::roles::ROLES
        .iter()
        .filter(|role| !crate::parser::is_keyword(role))
        .map(|role| format!("hover {role}\n"))
        .collect();
    ok(&script(&body));
}

#[test]
fn an_unknown_regex_flag_is_refused() {
    let (_, got) = check_changed("click link /a/i\n", |tree| {
        if let TargetBase::Role {
            name: Some(Matcher::Regex(r)),
            ..
        } = &mut target_of(last_stmt(tree)).base
        {
            r.flags = "ix".to_owned();
        }
    });
    assert_found(
        &got[0],
        Code::InvalidRegex,
        "unknown regex flag `x`",
        "/a/i",
        "the flags are `i` (ignore case), `m` (multi-line) and `s`",
    );
}

#[test]
fn a_job_outside_let_is_refused() {
    let (_, got) = check_changed(
        "let out = job \"sh\" <<<\necho 1\n>>>\nreturn out\n",
        |tree| {
            let job: Job = match &tree.lines.iter().rev().find_map(|l| match l {
                Line::Stmt(Stmt {
                    kind: StmtKind::Let { value, .. },
                    ..
                }) => Some(value.clone()),
                _ => None,
            }) {
                Some(Expr::Job(job)) => (**job).clone(),
                other => panic!("{other:?}"),
            };
            last_stmt(tree).kind = StmtKind::Return(Expr::Job(Box::new(job)));
        },
    );
    assert_found(
        &got[0],
        Code::Syntax,
        "a job can only be the value of `let`",
        "job \"sh\" <<<\necho 1\n>>>",
        "run it first with `let output = job …`",
    );
}

#[test]
fn a_number_must_be_finite() {
    let (_, got) = check_changed("return 1\n", |tree| {
        if let StmtKind::Return(Expr::Number(n)) = &mut last_stmt(tree).kind {
            n.node = f64::INFINITY;
        }
    });
    assert_found(
        &got[0],
        Code::InvalidValue,
        "number is not finite",
        "1",
        "write a finite number",
    );
}

#[test]
fn an_empty_origins_list_is_refused() {
    let src = "bridle 1\ngoal \"Shop\"\norigins \"https://shop.example\"\n";
    let mut tree = crate::parser::parse(src).unwrap();
    last_stmt(&mut tree).kind = StmtKind::Origins(Vec::new());
    let diags = check(tree, src, &CheckOptions::default()).unwrap_err();
    assert_found(
        &found(src, &diags[0]),
        Code::Header,
        "`origins` lists no origin",
        "origins \"https://shop.example\"",
        "list every origin the script acts on",
    );
}

#[test]
fn strings_at_the_limit_pass_and_one_more_fails() {
    let at = "x".repeat(MAX_STRING_BYTES);
    ok(&script(&format!("note \"{at}\"\n")));
    let (_, got) = check_changed("note \"x\"\n", |tree| {
        if let StmtKind::Note(s) = &mut last_stmt(tree).kind {
            s.parts = vec![StrPart::Lit("x".repeat(MAX_STRING_BYTES + 1))];
        }
    });
    assert_found(
        &got[0],
        Code::LimitExceeded,
        "string is 4097 bytes, more than the limit of 4096 bytes",
        "\"x\"",
        "shorten it",
    );
}

#[test]
fn a_css_selector_over_the_string_limit_fails() {
    let (_, got) = check_changed("click css \"#a\"\n", |tree| {
        if let TargetBase::Css(selector) = &mut target_of(last_stmt(tree)).base {
            selector.node = "a".repeat(MAX_STRING_BYTES + 1);
        }
    });
    assert_eq!(
        got[0].message,
        "string is 4097 bytes, more than the limit of 4096 bytes"
    );
}

/// `exists button "A"` wrapped in `depth - 1` `not`s: a condition `depth` levels deep.
fn deep_condition(depth: usize) -> impl FnOnce(&mut Script) {
    move |tree| {
        if let StmtKind::Assert(cond) = &mut last_stmt(tree).kind {
            let mut c = cond.clone();
            for _ in 1..depth {
                c = Cond::Not(Box::new(c));
            }
            *cond = c;
        }
    }
}

#[test]
fn conditions_at_the_depth_limit_pass_and_one_more_fails() {
    let body = "assert exists button \"A\"\n";
    let src = script(body);
    let mut tree = crate::parser::parse(&src).unwrap();
    deep_condition(MAX_CONDITION_TREE_DEPTH)(&mut tree);
    assert!(check(tree, &src, &CheckOptions::default()).is_ok());
    let (_, got) = check_changed(body, deep_condition(MAX_CONDITION_TREE_DEPTH + 1));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_found(
        &got[0],
        Code::LimitExceeded,
        "condition nests more than 256 deep",
        "button \"A\"",
        "split it into several `if`s or `assert`s",
    );
}

/// `depth` nested `if`s around a note, built without the parser's own nesting check.
fn nested_ifs(depth: usize) -> (String, Script) {
    let src = script("if exists button \"A\" { note \"x\" }\n");
    let mut tree = crate::parser::parse(&src).unwrap();
    let stmt = last_stmt(&mut tree).clone();
    let mut current = stmt.clone();
    for _ in 1..depth {
        let mut outer = stmt.clone();
        if let StmtKind::If { then, .. } = &mut outer.kind {
            then.lines = vec![Line::Stmt(current)];
        }
        current = outer;
    }
    *last_stmt(&mut tree) = current;
    (src, tree)
}

#[test]
fn nesting_at_the_limit_passes_and_one_more_fails() {
    let (src, tree) = nested_ifs(MAX_NESTING);
    let checked = check(tree, &src, &CheckOptions::default()).unwrap();
    assert_eq!(checked.steps.last().map(|s| s.depth), Some(MAX_NESTING));
    let (src, tree) = nested_ifs(MAX_NESTING + 1);
    let diags = check(tree, &src, &CheckOptions::default()).unwrap_err();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_found(
        &found(&src, &diags[0]),
        Code::LimitExceeded,
        "blocks nest more than 8 deep",
        "if exists button \"A\" {",
        "flatten the conditions",
    );
}

#[test]
fn a_deep_hostile_tree_does_not_exhaust_the_stack() {
    // Far past the limits: reported once, not walked.
    let (src, tree) = nested_ifs(1_000);
    let diags = check(tree, &src, &CheckOptions::default()).unwrap_err();
    assert_eq!(diags.len(), 1);
    let body = "assert exists button \"A\"\n";
    let (_, got) = check_changed(body, deep_condition(4 * MAX_CONDITION_TREE_DEPTH));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message, "condition nests more than 256 deep");
}

#[test]
fn a_statement_spanning_nothing_still_gets_a_line() {
    // Spans from a tree built by hand may not match the source; nothing panics.
    let src = script("note \"x\"\n");
    let mut tree = crate::parser::parse(&src).unwrap();
    last_stmt(&mut tree).span = Span::new(10_000, 10_001);
    if let StmtKind::Note(s) = &mut last_stmt(&mut tree).kind {
        *s = Str {
            parts: vec![StrPart::Lit("x".to_owned())],
            span: Span::new(10_000, 10_001),
        };
    }
    let checked = check(tree, &src, &CheckOptions::default()).unwrap();
    assert_eq!(checked.steps[0].line, 5, "the last line");
}

#[test]
fn job_code_over_the_limit_fails() {
    let (_, got) = check_changed("job \"sh\" <<<\necho 1\n>>>\n", |tree| {
        if let StmtKind::Job(job) = &mut last_stmt(tree).kind {
            job.code.node = "x".repeat(MAX_JOB_CODE_BYTES + 1);
        }
    });
    assert_found(
        &got[0],
        Code::LimitExceeded,
        "job code is 65537 bytes, more than the limit of 64KB",
        "echo 1",
        "pass data through `input`",
    );
}
