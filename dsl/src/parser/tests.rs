//! Unit tests of the parser: the tree of every statement form, spans, recovery, bounds, and
//! each diagnostic's code, message, help and underlined text.

use super::*;
use crate::ast::*;
use crate::limits::{MAX_DIAGNOSTICS, MAX_JOB_CODE_BYTES, MAX_NESTING};

fn ok(src: &str) -> Script {
    match parse(src) {
        Ok(s) => s,
        Err(d) => panic!("unexpected diagnostics for {src:?}: {d:#?}"),
    }
}

fn stmts(src: &str) -> Vec<StmtKind> {
    ok(src)
        .lines
        .into_iter()
        .filter_map(|l| match l {
            Line::Stmt(s) => Some(s.kind),
            _ => None,
        })
        .collect()
}

fn one(src: &str) -> StmtKind {
    let mut all = stmts(src);
    assert_eq!(all.len(), 1, "{src:?}");
    all.remove(0)
}

fn errs(src: &str) -> Vec<Diagnostic> {
    match parse(src) {
        Ok(s) => panic!("expected diagnostics for {src:?}, got {s:#?}"),
        Err(d) => d,
    }
}

/// The only diagnostic: its code, message, help and underlined text.
fn err(src: &str) -> (Code, String, Option<String>, String) {
    let d = errs(src);
    assert_eq!(d.len(), 1, "{d:#?}");
    let d = &d[0];
    let text = src
        .get(d.span.start..d.span.end)
        .unwrap_or("<bad span>")
        .to_owned();
    (d.code, d.message.clone(), d.help.clone(), text)
}

fn lit(s: &str) -> Str {
    Str {
        parts: if s.is_empty() {
            vec![]
        } else {
            vec![StrPart::Lit(s.to_owned())]
        },
        span: Span::default(),
    }
}

fn sp<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

fn role(r: &str, name: Option<Matcher>) -> Target {
    Target {
        base: TargetBase::Role {
            role: sp(r.to_owned()),
            name,
        },
        scopes: vec![],
        frame: None,
        nth: None,
        span: Span::default(),
    }
}

#[test]
fn header_and_declarations() {
    assert_eq!(
        stmts("bridle 1\ngoal \"Buy\"\norigins \"https://a.example\", \"https://b.example\"\nparam q: text = \"x\"\nparam n: number\nsecret card = \"visa\""),
        vec![
            StmtKind::Version(sp(1)),
            StmtKind::Goal(lit("Buy")),
            StmtKind::Origins(vec![
                sp("https://a.example".to_owned()),
                sp("https://b.example".to_owned())
            ]),
            StmtKind::Param {
                name: sp("q".into()),
                ty: sp(ParamType::Text),
                default: Some(Expr::Str(lit("x")))
            },
            StmtKind::Param {
                name: sp("n".into()),
                ty: sp(ParamType::Number),
                default: None
            },
            StmtKind::Secret {
                name: sp("card".into()),
                entry: sp("visa".into())
            },
        ]
    );
}

#[test]
fn spans_point_into_the_source() {
    let src = "bridle 1\nclick button \"Go\" in dialog \"D\" nth 2  # go\n";
    let script = ok(src);
    let Line::Stmt(stmt) = &script.lines[1] else {
        panic!()
    };
    assert_eq!(
        &src[stmt.span.start..stmt.span.end],
        "click button \"Go\" in dialog \"D\" nth 2"
    );
    assert_eq!(stmt.comment.as_deref(), Some(" go"));
    let StmtKind::Click(t) = &stmt.kind else {
        panic!()
    };
    assert_eq!(
        &src[t.span.start..t.span.end],
        "button \"Go\" in dialog \"D\" nth 2"
    );
    assert_eq!(
        &src[t.scopes[0].span.start..t.scopes[0].span.end],
        "in dialog \"D\""
    );
    let nth = t.nth.as_ref().unwrap();
    assert_eq!(&src[nth.span.start..nth.span.end], "2");
    let TargetBase::Role { role, name } = &t.base else {
        panic!()
    };
    assert_eq!(&src[role.span.start..role.span.end], "button");
    assert_eq!(
        &src[name.as_ref().unwrap().span().start..name.as_ref().unwrap().span().end],
        "\"Go\""
    );
}

#[test]
fn targets_in_every_form() {
    let StmtKind::Click(t) = one("click checkbox \"I agree\" in dialog \"Terms\" in main nth 2 in frame \"https://pay.example\"") else {
        panic!()
    };
    assert_eq!(t.scopes.len(), 2);
    assert_eq!(t.scopes[0].role.node, "dialog");
    assert_eq!(t.scopes[1].role.node, "main");
    assert_eq!(t.scopes[1].name, None);
    assert_eq!(t.frame.unwrap().node, "https://pay.example");
    assert_eq!(t.nth.unwrap().node, 2);
    assert_eq!(
        one("hover text ~\"Free\""),
        StmtKind::Hover(Target {
            base: TargetBase::Text(Matcher::Contains(lit("Free"))),
            ..role("x", None)
        })
    );
    assert_eq!(
        one("hover css \"#price\""),
        StmtKind::Hover(Target {
            base: TargetBase::Css(sp("#price".into())),
            ..role("x", None)
        })
    );
    let StmtKind::Click(t) = one("click textbox /^E-?mail$/i") else {
        panic!()
    };
    let TargetBase::Role {
        name: Some(Matcher::Regex(r)),
        ..
    } = t.base
    else {
        panic!()
    };
    assert_eq!((r.pattern.as_str(), r.flags.as_str()), ("^E-?mail$", "i"));
}

#[test]
fn every_simple_verb() {
    let src = "navigate \"https://a.example/\"\nback\nforward\nreload\nopen tab \"https://a.example/x\"\nswitch tab ~\"Cart\"\nclose tab\nclick link\nfill textbox with 5\nclear textbox\nselect combobox \"Size\" option \"XL\"\ncheck checkbox\nuncheck checkbox\nhover img\npress \"Enter\"\npress \"Tab\" on textbox \"A\"\nscroll to css \"footer\"\nsubmit form\nupload button \"Photo\"\nconfirm \"Sure?\"\nhandoff \"Sign in\"\nnote \"Done\"\nreturn true";
    let all = stmts(src);
    assert_eq!(all.len(), 23);
    assert_eq!(all[1], StmtKind::Back);
    assert_eq!(all[5], StmtKind::SwitchTab(Matcher::Contains(lit("Cart"))));
    assert_eq!(
        all[8],
        StmtKind::Fill {
            target: role("textbox", None),
            value: Expr::Number(sp(5.0))
        }
    );
    assert_eq!(
        all[10],
        StmtKind::Select {
            target: role("combobox", Some(Matcher::Exact(lit("Size")))),
            option: lit("XL")
        }
    );
    assert_eq!(
        all[15],
        StmtKind::Press {
            key: lit("Tab"),
            on: Some(role("textbox", Some(Matcher::Exact(lit("A")))))
        }
    );
    assert_eq!(all[22], StmtKind::Return(Expr::Bool(sp(true))));
}

#[test]
fn observations_and_values() {
    let values: Vec<Expr> = stmts(
        "let a = text of heading\nlet b = value of textbox \"E\"\nlet c = attribute \"href\" of link\nlet d = table table \"R\"\nlet e = count of row in table\nlet f = url\nlet g = title\nlet h = -1.25\nlet i = item.price.amount\nlet j = false\nlet k = \"{a}-{i}\"",
    )
    .into_iter()
    .map(|s| match s {
        StmtKind::Let { value, .. } => value,
        other => panic!("{other:?}"),
    })
    .collect();
    assert!(matches!(&values[0], Expr::Observe(o) if matches!(o.node, Observation::TextOf(_))));
    assert!(
        matches!(&values[2], Expr::Observe(o) if matches!(&o.node, Observation::Attribute { name, .. } if name.as_literal().as_deref() == Some("href")))
    );
    assert!(
        matches!(&values[3], Expr::Observe(o) if matches!(&o.node, Observation::Table(t) if matches!(&t.base, TargetBase::Role { role, .. } if role.node == "table")))
    );
    assert!(
        matches!(&values[4], Expr::Observe(o) if matches!(&o.node, Observation::CountOf(t) if t.scopes.len() == 1))
    );
    assert_eq!(values[5], Expr::Observe(sp(Observation::Url)));
    assert_eq!(values[6], Expr::Observe(sp(Observation::Title)));
    assert_eq!(values[7], Expr::Number(sp(-1.25)));
    let Expr::Var(v) = &values[8] else { panic!() };
    assert_eq!(v.name.node, "item");
    assert_eq!(
        v.fields.iter().map(|f| f.node.as_str()).collect::<Vec<_>>(),
        ["price", "amount"]
    );
    let Expr::Str(s) = &values[10] else { panic!() };
    assert_eq!(s.parts.len(), 3);
}

#[test]
fn waits_durations_and_sizes() {
    let all = stmts("wait for button \"A\" to be gone timeout 90000ms\nwait for url matches \"https://a.example/*\" timeout 2m\nwait for idle\nwait 1h");
    let StmtKind::Wait(Wait::For { state, timeout, .. }) = &all[0] else {
        panic!()
    };
    assert_eq!(state.node, WaitState::Gone);
    assert_eq!(timeout.as_ref().unwrap().node.millis, 90_000);
    assert!(
        matches!(&all[1], StmtKind::Wait(Wait::Url { timeout: Some(t), .. }) if t.node.millis == 120_000)
    );
    assert_eq!(all[2], StmtKind::Wait(Wait::Idle { timeout: None }));
    assert_eq!(
        all[3],
        StmtKind::Wait(Wait::Pause(sp(Duration { millis: 3_600_000 })))
    );
    let StmtKind::Job(job) = one("job \"sh\" memory 2GiB <<<\n>>>") else {
        panic!()
    };
    assert_eq!(job.memory.unwrap().node.bytes, 2 << 30);
    assert_eq!(job.code.node, "");
}

#[test]
fn conditions_follow_precedence() {
    let StmtKind::Assert(c) = one("assert not exists button or visible link and url matches \"x\"")
    else {
        panic!()
    };
    // or < and < not: (not exists) or (visible and url)
    let Cond::Or(l, r) = c else { panic!() };
    assert!(matches!(*l, Cond::Not(_)));
    assert!(matches!(*r, Cond::And(..)));
    let StmtKind::Assert(c) = one("assert (a == 1 or b != 2) and c contains \"x\" and d <= 3")
    else {
        panic!()
    };
    let Cond::And(l, r) = c else { panic!() };
    assert!(matches!(*l, Cond::And(ref ll, _) if matches!(**ll, Cond::Group(_))));
    assert!(matches!(*r, Cond::Compare { op, .. } if op.node == CompareOp::Le));
    let StmtKind::Assert(c) = one("assert url == \"x\"") else {
        panic!()
    };
    assert!(matches!(
        c,
        Cond::Compare {
            left: Expr::Observe(_),
            ..
        }
    ));
}

#[test]
fn blocks_one_line_and_multi_line() {
    let StmtKind::If {
        then, otherwise, ..
    } = one("if exists button \"A\" { click button \"A\" } else { back }")
    else {
        panic!()
    };
    assert_eq!(then.lines.len(), 1);
    assert_eq!(otherwise.unwrap().lines.len(), 1);
    let src = "repeat at most 3 until exists link \"Next\" {  # head\n\n\n  # inside\n  scroll to css \"footer\"\n\n}  # tail\nfor each row in rows at most 5 {\n  note \"{row.name}\"\n}";
    let script = ok(src);
    assert_eq!(script.lines.len(), 2);
    let Line::Stmt(stmt) = &script.lines[0] else {
        panic!()
    };
    assert_eq!(stmt.comment.as_deref(), Some(" head"));
    let StmtKind::Repeat { body, max, .. } = &stmt.kind else {
        panic!()
    };
    assert_eq!(max.node, 3);
    // Leading and trailing blank lines are dropped; the closing line's comment ends the body.
    assert!(matches!(&body.lines[0], Line::Comment(c) if c.node == " inside"));
    assert!(matches!(&body.lines[1], Line::Stmt(_)));
    assert!(matches!(&body.lines[2], Line::Comment(c) if c.node == " tail"));
    assert_eq!(body.lines.len(), 3);
    assert_eq!(&src[body.span.start..body.span.start + 1], "{");
    assert_eq!(&src[body.span.end - 1..body.span.end], "}");
    assert_eq!(&src[stmt.span.end - 1..stmt.span.end], "}");
}

#[test]
fn else_line_comment_opens_the_else_block() {
    let StmtKind::If {
        otherwise: Some(o), ..
    } = one("if a == 1 {\n  back\n} else {  # other\n  reload\n}")
    else {
        panic!()
    };
    assert!(matches!(&o.lines[0], Line::Comment(c) if c.node == " other"));
}

#[test]
fn blank_lines_collapse_and_comments_keep_their_text() {
    let script = ok("\n\n# top\nback\n\n\n\n#tight   \nreload\n\n");
    assert_eq!(script.lines.len(), 5);
    assert!(matches!(&script.lines[0], Line::Comment(c) if c.node == " top"));
    assert!(matches!(&script.lines[2], Line::Blank(_)));
    assert!(matches!(&script.lines[3], Line::Comment(c) if c.node == "tight"));
}

#[test]
fn crlf_and_bom_parse_like_lf() {
    let lf = ok(
        "bridle 1\nif exists button \"A\" {\n  back\n}\nlet x = job \"sh\" <<<\necho 1\n  >>>  \n",
    );
    let crlf = ok("\u{feff}bridle 1\r\nif exists button \"A\" {\r\n  back\r\n}\r\nlet x = job \"sh\" <<<\r\necho 1\r\n  >>>  \r\n");
    assert_eq!(lf, crlf);
    let StmtKind::Let {
        value: Expr::Job(job),
        ..
    } = &stmts("let x = job \"sh\" <<<\r\na\r\n\r\nb\r\n>>>")[0]
    else {
        panic!()
    };
    assert_eq!(job.code.node, "a\n\nb");
}

#[test]
fn job_options_in_any_order_and_code_verbatim() {
    let src = "let t = job \"python3\" input rows memory 256MB timeout 30s sandbox microvm <<<  # sum\nimport json  # not a comment\n  x = \"{y}\"\n>>>";
    let script = ok(src);
    let Line::Stmt(stmt) = &script.lines[0] else {
        panic!()
    };
    assert_eq!(stmt.comment.as_deref(), Some(" sum"));
    assert_eq!(&src[stmt.span.end - 3..stmt.span.end], ">>>");
    let StmtKind::Let {
        value: Expr::Job(job),
        ..
    } = &stmt.kind
    else {
        panic!()
    };
    assert_eq!(job.code.node, "import json  # not a comment\n  x = \"{y}\"");
    assert_eq!(job.sandbox.as_ref().unwrap().node, SandboxTier::Microvm);
    assert_eq!(job.timeout.as_ref().unwrap().node.millis, 30_000);
    assert_eq!(job.memory.as_ref().unwrap().node.bytes, 256 << 20);
    assert!(matches!(job.input, Some(Expr::Var(_))));
}

#[test]
fn roles_that_are_not_keywords_can_name_variables() {
    assert!(matches!(
        one("for each row in rows at most 3 {\n}"),
        StmtKind::ForEach { .. }
    ));
    assert!(matches!(one("let button = 1"), StmtKind::Let { .. }));
    let (code, msg, help, text) = err("let table = 1");
    assert_eq!(code, Code::Syntax);
    assert_eq!(msg, "`table` is a reserved word, not a variable name");
    assert_eq!(
        help.as_deref(),
        Some("choose another name, e.g. `table_value`")
    );
    assert_eq!(text, "table");
}

#[test]
fn keywords_are_sorted_and_cover_statement_words() {
    assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]));
    for word in STATEMENT_WORDS {
        assert!(is_keyword(word), "{word}");
    }
}

#[test]
fn unknown_verb_suggests_the_closest() {
    let (code, msg, help, text) = err("clik button \"Go\"");
    assert_eq!(code, Code::UnknownVerb);
    assert_eq!(msg, "unknown verb `clik`");
    assert_eq!(help.as_deref(), Some("did you mean `click`?"));
    assert_eq!(text, "clik");
    assert_eq!(
        err("type textbox with 1").2.as_deref(),
        Some("did you mean `fill`?")
    );
    assert_eq!(
        err("xyzzy").2.as_deref(),
        Some("a statement starts with a verb such as `click`, `fill`, `navigate` or `let`")
    );
    let (_, msg, help, _) = err("else {");
    assert_eq!(msg, "`else` must follow the `}` that closes an `if` block");
    assert_eq!(help.as_deref(), Some("write `} else {` on one line"));
}

#[test]
fn unknown_role_suggests_the_closest() {
    let (code, msg, help, text) = err("click buton \"Go\"");
    assert_eq!(code, Code::UnknownRole);
    assert_eq!(msg, "unknown role `buton`");
    assert_eq!(help.as_deref(), Some("did you mean `button`?"));
    assert_eq!(text, "buton");
    assert_eq!(
        err("click button in frme \"x\"").2.as_deref(),
        Some("did you mean `frame`?")
    );
}

#[test]
fn missing_pieces_name_what_was_expected() {
    let (code, msg, help, text) = err("click");
    assert_eq!(code, Code::Syntax);
    assert_eq!(
        msg,
        "expected a target after `click`, found the end of the line"
    );
    assert_eq!(
        help.as_deref(),
        Some("name the element by role and name, e.g. `click button \"Add to cart\"`")
    );
    assert_eq!(text, "");
    let (_, msg, _, text) = err("click \"Add to cart\"");
    assert_eq!(msg, "expected a role before the name `\"Add to cart\"`");
    assert_eq!(text, "\"Add to cart\"");
    let (_, msg, help, text) = err("fill textbox \"Email\" \"x\"");
    assert_eq!(
        msg,
        "expected `with` after the target of `fill`, found `\"x\"`"
    );
    assert_eq!(
        help.as_deref(),
        Some("write `fill textbox \"Email\" with \"me@example.com\"`")
    );
    assert_eq!(text, "\"x\"");
    let (_, msg, _, _) = err("click button \"A\" \"B\"");
    assert_eq!(msg, "expected the end of the statement, found `\"B\"`");
    let (_, msg, help, text) = err("if exsts button \"A\" { back }");
    assert_eq!(msg, "expected a condition, found `exsts`");
    assert_eq!(help.as_deref(), Some("did you mean `exists`?"));
    assert_eq!(text, "exsts");
    let (_, msg, help, _) = err("assert a = 1");
    assert_eq!(msg, "expected a comparison, found `=`");
    assert_eq!(help.as_deref(), Some("use `==` to compare"));
}

#[test]
fn quantities_are_checked() {
    let (code, msg, help, text) = err("wait 5sec");
    assert_eq!(code, Code::Syntax);
    assert_eq!(msg, "unknown duration unit `sec`");
    assert_eq!(
        help.as_deref(),
        Some("the units are `ms`, `s`, `m` and `h`")
    );
    assert_eq!(text, "5sec");
    assert_eq!(
        err("wait 5").1,
        "expected a duration after `wait`, found `5`"
    );
    assert_eq!(
        err("wait 1.5s").1,
        "a duration is a whole number of units, not `1.5`"
    );
    let (code, msg, _, _) = err("wait 18446744073709551615s");
    assert_eq!(code, Code::InvalidValue);
    assert_eq!(msg, "`18446744073709551615s` is too large");
    // The largest duration that fits is accepted.
    assert!(
        matches!(one("wait 18446744073709551615ms"), StmtKind::Wait(Wait::Pause(d)) if d.node.millis == u64::MAX)
    );
    assert_eq!(err("bridle 99999999999999999999").0, Code::InvalidValue);
    assert_eq!(
        err("job \"sh\" memory 5PB <<<\n>>>").1,
        "unknown size unit `PB`"
    );
    assert_eq!(
        err("let x = 1e5").1,
        "expected a value after `=`, found `1e`"
    );
    let huge = format!("let x = {}", "9".repeat(400));
    assert_eq!(err(&huge).1, "number is too large");
}

#[test]
fn job_errors() {
    let (code, msg, help, text) = err("let x = job \"sh\" <<<\necho hi\n");
    assert_eq!(code, Code::Syntax);
    assert_eq!(msg, "the job's code is never closed");
    assert_eq!(
        help.as_deref(),
        Some("end the code with a line holding only `>>>`")
    );
    assert_eq!(text, "<<<");
    assert_eq!(
        err("job \"sh\" timeout 1s timeout 2s <<<\n>>>").1,
        "`timeout` is given twice"
    );
    assert_eq!(
        err("job \"{x}\" <<<\n>>>").1,
        "a runtime cannot interpolate variables"
    );
    assert_eq!(
        err("fill textbox with job \"sh\" <<<\n>>>").1,
        "a job can only be the value of `let`"
    );
    assert_eq!(
        err("if a == 1 { job \"sh\" <<<\n>>>").1,
        "a job cannot stand in a one-line block"
    );
    assert_eq!(
        err(">>>").1,
        "`>>>` closes a job's code, but no job is open"
    );
}

#[test]
fn job_code_limit() {
    let at = format!("job \"sh\" <<<\n{}\n>>>", "x".repeat(MAX_JOB_CODE_BYTES));
    assert!(matches!(one(&at), StmtKind::Job(j) if j.code.node.len() == MAX_JOB_CODE_BYTES));
    let over = format!(
        "job \"sh\" <<<\n{}\nx\n>>>\nback\nclik",
        "x".repeat(MAX_JOB_CODE_BYTES - 1)
    );
    let d = errs(&over);
    assert_eq!(d[0].code, Code::LimitExceeded);
    assert_eq!(
        d[0].message,
        format!(
            "job code is {} bytes, more than the limit of {MAX_JOB_CODE_BYTES} bytes",
            MAX_JOB_CODE_BYTES + 1
        )
    );
    // Parsing resumes after `>>>`.
    assert_eq!(d[1].message, "unknown verb `clik`");
}

fn nested(levels: usize) -> String {
    let mut src = String::new();
    for _ in 0..levels {
        src.push_str("if a == 1 {\n");
    }
    src.push_str("back\n");
    for _ in 0..levels {
        src.push_str("}\n");
    }
    src
}

#[test]
fn nesting_limit() {
    ok(&nested(MAX_NESTING));
    let d = errs(&format!("{}clik", nested(MAX_NESTING + 1)));
    assert_eq!(d[0].code, Code::LimitExceeded);
    assert_eq!(
        d[0].message,
        format!("blocks nest more than {MAX_NESTING} deep")
    );
    // The deep body is skipped and parsing resumes after it, with no stray `}` errors.
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(d[1].message, "unknown verb `clik`");
    let one_line = format!(
        "{}back{}",
        "if a == 1 { ".repeat(MAX_NESTING + 1),
        " }".repeat(MAX_NESTING + 1)
    );
    assert_eq!(errs(&one_line)[0].code, Code::LimitExceeded);
}

#[test]
fn condition_limits() {
    let at = format!(
        "assert {}a == 1{}",
        "(".repeat(MAX_CONDITION_DEPTH),
        ")".repeat(MAX_CONDITION_DEPTH)
    );
    ok(&at);
    let over = format!(
        "assert {}a == 1{}",
        "(".repeat(MAX_CONDITION_DEPTH + 1),
        ")".repeat(MAX_CONDITION_DEPTH + 1)
    );
    let (code, msg, _, text) = err(&over);
    assert_eq!(code, Code::LimitExceeded);
    assert_eq!(
        msg,
        format!("condition nests more than {MAX_CONDITION_DEPTH} deep")
    );
    assert_eq!(text, "(");
    let nots = format!("assert {}a == 1", "not ".repeat(MAX_CONDITION_DEPTH + 1));
    assert_eq!(err(&nots).0, Code::LimitExceeded);
    let at = format!(
        "assert a == 1{}",
        " and a == 1".repeat(MAX_CONDITION_OPERATORS)
    );
    ok(&at);
    let over = format!(
        "assert a == 1{}",
        " or a == 1".repeat(MAX_CONDITION_OPERATORS + 1)
    );
    let (code, msg, _, text) = err(&over);
    assert_eq!(code, Code::LimitExceeded);
    assert_eq!(
        msg,
        format!("condition has more than {MAX_CONDITION_OPERATORS} `and`/`or` operators")
    );
    assert_eq!(text, "or");
}

#[test]
fn errors_recover_per_line_and_skip_broken_blocks() {
    let src = "clik a\nif exsts button \"A\" {\n  click buton\n  if a == 1 {\n  }\n} else {\n  back\n}\nnote \"x\nreload\n}";
    let d = errs(src);
    let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "unknown verb `clik`",
            "expected a condition, found `exsts`",
            "unterminated string",
            "unexpected `}` with no open block",
        ]
    );
}

#[test]
fn unclosed_block_points_at_its_brace() {
    let (code, msg, help, text) = err("if a == 1 {\n  back\n");
    assert_eq!(code, Code::Syntax);
    assert_eq!(msg, "this `{` is never closed");
    assert_eq!(
        help.as_deref(),
        Some("close the block with a line that starts with `}`")
    );
    assert_eq!(text, "{");
    assert_eq!(
        err("if a == 1 { back").1,
        "expected `}` to close the one-line block, found the end of the line"
    );
    assert_eq!(
        err("if a == 1 { back reload }").1,
        "expected `}` to close the one-line block, found `reload`"
    );
    // The line leaves two blocks open; both bodies are skipped, so no stray `}` follows.
    assert_eq!(
        err("if a == 1 { if b == 2 {\n}\n}").1,
        "a one-line block cannot hold a multi-line block"
    );
}

#[test]
fn diagnostics_are_capped() {
    let src = "clik\n".repeat(MAX_DIAGNOSTICS * 2);
    let d = errs(&src);
    assert_eq!(d.len(), MAX_DIAGNOSTICS);
    assert_eq!(d[MAX_DIAGNOSTICS - 2].message, "unknown verb `clik`");
    let last = &d[MAX_DIAGNOSTICS - 1];
    assert_eq!(last.code, Code::LimitExceeded);
    assert_eq!(
        last.message,
        format!("too many errors; parsing stopped after {MAX_DIAGNOSTICS}")
    );
}

#[test]
fn script_size_limit_applies_to_text_too() {
    let src = " ".repeat(crate::limits::MAX_SCRIPT_BYTES + 1);
    let (code, msg, _, _) = err(&src);
    assert_eq!(code, Code::LimitExceeded);
    assert_eq!(
        msg,
        "script is 1048577 bytes, more than the limit of 1048576 bytes"
    );
    ok(&" ".repeat(crate::limits::MAX_SCRIPT_BYTES));
}

#[test]
fn literals_that_cannot_interpolate() {
    let (_, msg, _, text) = err("origins \"https://{host}\"");
    assert_eq!(msg, "an origin cannot interpolate variables");
    assert_eq!(text, "{host}");
    assert_eq!(
        err("click css \"#{id}\"").1,
        "a css selector cannot interpolate variables"
    );
    assert!(
        matches!(one("click css \"a\\{b\\}\""), StmtKind::Click(t) if t.base == TargetBase::Css(sp("a{b}".into())))
    );
}

#[test]
fn duplicate_target_parts() {
    assert_eq!(
        err("click button nth 1 nth 2").1,
        "a target takes at most one `nth`"
    );
    assert_eq!(
        err("click button in frame \"a\" in frame \"b\"").1,
        "a target takes at most one `in frame`"
    );
    assert_eq!(
        err("click button nth -1").1,
        "expected a position after `nth`, found `-1`"
    );
}
