//! Round-trip and totality properties of the parser and the canonical formatter:
//! `parse(format(tree)) == tree` for generated trees, formatting is idempotent on every golden
//! script, and parsing never panics (nor takes long) on arbitrary or pathological input.

use bridle_dsl::ast::*;
use bridle_dsl::diag::Code;
use bridle_dsl::fmt::format_script;
use bridle_dsl::limits::{MAX_NESTING, MAX_SCRIPT_BYTES};
use bridle_dsl::parse_bytes;
use bridle_dsl::parser::{is_keyword, parse, MAX_CONDITION_DEPTH};
use proptest::prelude::*;
use std::time::{Duration as StdDuration, Instant};

// ---- generators: trees in the shape the parser produces ----

fn sp<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

fn text_chars() -> impl Strategy<Value = String> {
    // Letters plus every character the formatter must escape or that means something outside
    // strings; never `\r`, which the line splitter strips before `\n`.
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("Z"),
            Just(" "),
            Just("é"),
            Just("€"),
            Just("\""),
            Just("\\"),
            Just("\n"),
            Just("\t"),
            Just("{"),
            Just("}"),
            Just("#"),
            Just("/"),
            Just("~"),
            Just("<<<"),
            Just(">>>"),
            Just("0"),
        ],
        0..6,
    )
    .prop_map(|v| v.concat())
}

fn name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,5}".prop_filter("not a keyword", |n| !is_keyword(n))
}

fn field() -> impl Strategy<Value = String> {
    // Fields may be keywords: `item.text` is a path, not `text`.
    prop_oneof!["[a-z_][a-z0-9_]{0,5}", Just("text".to_owned())]
}

fn var_path() -> BoxedStrategy<VarPath> {
    (name(), proptest::collection::vec(field(), 0..3))
        .prop_map(|(n, fields)| VarPath {
            name: sp(n),
            fields: fields.into_iter().map(sp).collect(),
        })
        .boxed()
}

fn string() -> BoxedStrategy<Str> {
    proptest::collection::vec(
        prop_oneof![
            text_chars().prop_map(StrPart::Lit),
            var_path().prop_map(StrPart::Var)
        ],
        0..4,
    )
    .prop_map(|parts| {
        // The parser merges adjacent text and never produces empty text parts.
        let mut merged: Vec<StrPart> = Vec::new();
        for part in parts {
            match (merged.last_mut(), part) {
                (_, StrPart::Lit(t)) if t.is_empty() => {}
                (Some(StrPart::Lit(prev)), StrPart::Lit(t)) => prev.push_str(&t),
                (_, part) => merged.push(part),
            }
        }
        Str {
            parts: merged,
            span: Span::default(),
        }
    })
    .boxed()
}

fn literal() -> BoxedStrategy<Spanned<String>> {
    text_chars().prop_map(sp).boxed()
}

fn matcher() -> BoxedStrategy<Matcher> {
    let regex = (
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("/"),
                Just("\\d"),
                Just("\\."),
                Just("x*"),
                Just("^"),
                Just("é"),
                Just(" "),
                Just("#")
            ],
            1..5,
        ),
        proptest::sample::select(vec!["", "i", "m", "s", "im", "is", "ms", "ims"]),
    )
        .prop_map(|(pieces, flags)| {
            Matcher::Regex(Regex {
                pattern: pieces.concat(),
                flags: flags.to_owned(),
                span: Span::default(),
            })
        });
    prop_oneof![
        string().prop_map(Matcher::Exact),
        string().prop_map(Matcher::Contains),
        regex,
    ]
    .boxed()
}

fn role() -> impl Strategy<Value = Spanned<String>> {
    proptest::sample::select(vec![
        "button", "link", "textbox", "row", "table", "dialog", "element", "option", "tab",
    ])
    .prop_map(|r| sp(r.to_owned()))
}

fn target() -> BoxedStrategy<Target> {
    let base = prop_oneof![
        (role(), proptest::option::of(matcher()))
            .prop_map(|(role, name)| TargetBase::Role { role, name }),
        matcher().prop_map(TargetBase::Text),
        literal().prop_map(TargetBase::Css),
    ];
    let scope = (role(), proptest::option::of(matcher())).prop_map(|(role, name)| Scope {
        role,
        name,
        span: Span::default(),
    });
    (
        base,
        proptest::collection::vec(scope, 0..3),
        proptest::option::of(literal()),
        proptest::option::of((1u64..2000).prop_map(sp)),
    )
        .prop_map(|(base, scopes, frame, nth)| Target {
            base,
            scopes,
            frame,
            nth,
            span: Span::default(),
        })
        .boxed()
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1000i64..1000).prop_map(|n| n as f64),
        (-100_000i64..100_000).prop_map(|n| n as f64 / 100.0),
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
    ]
}

fn expr() -> BoxedStrategy<Expr> {
    let observation = prop_oneof![
        target().prop_map(Observation::TextOf),
        target().prop_map(Observation::ValueOf),
        (string(), target()).prop_map(|(name, target)| Observation::Attribute { name, target }),
        target().prop_map(Observation::Table),
        target().prop_map(Observation::CountOf),
        Just(Observation::Url),
        Just(Observation::Title),
    ];
    prop_oneof![
        string().prop_map(Expr::Str),
        number().prop_map(|n| Expr::Number(sp(n))),
        any::<bool>().prop_map(|b| Expr::Bool(sp(b))),
        var_path().prop_map(Expr::Var),
        observation.prop_map(|o| Expr::Observe(sp(o))),
    ]
    .boxed()
}

fn cond() -> BoxedStrategy<Cond> {
    let op = proptest::sample::select(vec![
        CompareOp::Contains,
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Lt,
        CompareOp::Le,
        CompareOp::Gt,
        CompareOp::Ge,
    ]);
    let leaf = prop_oneof![
        target().prop_map(Cond::Exists),
        target().prop_map(Cond::Visible),
        string().prop_map(Cond::UrlMatches),
        (expr(), op, expr()).prop_map(|(left, op, right)| Cond::Compare {
            left,
            op: sp(op),
            right
        }),
    ];
    leaf.prop_recursive(4, 12, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Cond::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Cond::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|c| Cond::Group(Box::new(c))),
        ]
    })
    .prop_map(shape)
    .boxed()
}

/// Puts explicit groups where the parser would need them, so the tree is one it can produce.
fn shape(c: Cond) -> Cond {
    let group = |c: Cond, needed: bool| if needed { Cond::Group(Box::new(c)) } else { c };
    let loose = |c: &Cond| matches!(c, Cond::And(..) | Cond::Or(..));
    match c {
        Cond::And(l, r) => {
            let (l, r) = (shape(*l), shape(*r));
            let l_or = matches!(l, Cond::Or(..));
            let r_loose = loose(&r);
            Cond::And(Box::new(group(l, l_or)), Box::new(group(r, r_loose)))
        }
        Cond::Or(l, r) => {
            let (l, r) = (shape(*l), shape(*r));
            let r_or = matches!(r, Cond::Or(..));
            Cond::Or(Box::new(l), Box::new(group(r, r_or)))
        }
        Cond::Not(c) => {
            let c = shape(*c);
            let needed = loose(&c);
            Cond::Not(Box::new(group(c, needed)))
        }
        Cond::Group(c) => Cond::Group(Box::new(shape(*c))),
        other => other,
    }
}

fn duration() -> impl Strategy<Value = Spanned<Duration>> {
    prop_oneof![
        0u64..10_000,
        (0u64..100).prop_map(|n| n * 60_000),
        any::<u64>()
    ]
    .prop_map(|millis| sp(Duration { millis }))
}

fn size() -> impl Strategy<Value = Spanned<Size>> {
    prop_oneof![0u64..5000, (0u64..100).prop_map(|n| n << 20), any::<u64>()]
        .prop_map(|bytes| sp(Size { bytes }))
}

fn code() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just(""),
            Just("import json"),
            Just("  x = \"{y}\"  # c"),
            Just(">>> not the end"),
            Just("}"),
            Just("\t<<<")
        ],
        0..4,
    )
    .prop_map(|lines| lines.join("\n"))
}

fn job() -> BoxedStrategy<Job> {
    (
        literal(),
        proptest::option::of(
            prop_oneof![Just(SandboxTier::Container), Just(SandboxTier::Microvm)].prop_map(sp),
        ),
        proptest::option::of(duration()),
        proptest::option::of(size()),
        proptest::option::of(expr()),
        code(),
    )
        .prop_map(|(runtime, sandbox, timeout, memory, input, code)| Job {
            runtime,
            sandbox,
            timeout,
            memory,
            input,
            code: sp(code),
            span: Span::default(),
        })
        .boxed()
}

fn wait() -> BoxedStrategy<Wait> {
    let state = proptest::sample::select(vec![
        WaitState::Visible,
        WaitState::Enabled,
        WaitState::Hidden,
        WaitState::Gone,
    ]);
    prop_oneof![
        (target(), state, proptest::option::of(duration())).prop_map(|(target, state, timeout)| {
            Wait::For {
                target,
                state: sp(state),
                timeout,
            }
        }),
        (string(), proptest::option::of(duration()))
            .prop_map(|(glob, timeout)| Wait::Url { glob, timeout }),
        proptest::option::of(duration()).prop_map(|timeout| Wait::Idle { timeout }),
        duration().prop_map(Wait::Pause),
    ]
    .boxed()
}

fn simple_stmt() -> BoxedStrategy<StmtKind> {
    let param_ty = prop_oneof![
        Just(ParamType::Text),
        Just(ParamType::Number),
        Just(ParamType::Bool)
    ];
    prop_oneof![
        any::<u64>().prop_map(|n| StmtKind::Version(sp(n))),
        string().prop_map(StmtKind::Goal),
        proptest::collection::vec(literal(), 1..4).prop_map(StmtKind::Origins),
        (name(), param_ty, proptest::option::of(expr())).prop_map(|(n, ty, default)| {
            StmtKind::Param {
                name: sp(n),
                ty: sp(ty),
                default,
            }
        }),
        (name(), literal()).prop_map(|(n, entry)| StmtKind::Secret { name: sp(n), entry }),
        string().prop_map(StmtKind::Navigate),
        Just(StmtKind::Back),
        Just(StmtKind::Forward),
        Just(StmtKind::Reload),
        string().prop_map(StmtKind::OpenTab),
        matcher().prop_map(StmtKind::SwitchTab),
        Just(StmtKind::CloseTab),
        target().prop_map(StmtKind::Click),
        (target(), expr()).prop_map(|(target, value)| StmtKind::Fill { target, value }),
        target().prop_map(StmtKind::Clear),
        (target(), string()).prop_map(|(target, option)| StmtKind::Select { target, option }),
        target().prop_map(StmtKind::Check),
        target().prop_map(StmtKind::Uncheck),
        target().prop_map(StmtKind::Hover),
        (string(), proptest::option::of(target()))
            .prop_map(|(key, on)| StmtKind::Press { key, on }),
        target().prop_map(StmtKind::ScrollTo),
        target().prop_map(StmtKind::Submit),
        target().prop_map(StmtKind::Upload),
        (name(), expr()).prop_map(|(n, value)| StmtKind::Let { name: sp(n), value }),
        (name(), job()).prop_map(|(n, j)| StmtKind::Let {
            name: sp(n),
            value: Expr::Job(Box::new(j))
        }),
        wait().prop_map(StmtKind::Wait),
        cond().prop_map(StmtKind::Assert),
        string().prop_map(StmtKind::Confirm),
        string().prop_map(StmtKind::Handoff),
        string().prop_map(StmtKind::Note),
        job().prop_map(StmtKind::Job),
        expr().prop_map(StmtKind::Return),
    ]
    .boxed()
}

fn comment_text() -> impl Strategy<Value = String> {
    // Stored comments never end in whitespace: the parser trims it.
    text_chars().prop_map(|t| t.replace(['\n', '\r'], " ").trim_end().to_owned())
}

fn stmt(kind: impl Strategy<Value = StmtKind>) -> impl Strategy<Value = Stmt> {
    (kind, proptest::option::of(comment_text())).prop_map(|(kind, comment)| Stmt {
        kind,
        span: Span::default(),
        comment,
    })
}

/// Lines as the parser leaves them: no blank line first, last or after another.
fn tidy(lines: Vec<Line>) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    for line in lines {
        let blank = matches!(line, Line::Blank(_));
        if blank && (out.is_empty() || matches!(out.last(), Some(Line::Blank(_)))) {
            continue;
        }
        out.push(line);
    }
    while matches!(out.last(), Some(Line::Blank(_))) {
        out.pop();
    }
    out
}

fn lines(line: impl Strategy<Value = Line>, max: usize) -> impl Strategy<Value = Vec<Line>> {
    proptest::collection::vec(line, 0..max).prop_map(tidy)
}

fn line() -> impl Strategy<Value = Line> {
    let leaf = prop_oneof![
        6 => stmt(simple_stmt()).prop_map(Line::Stmt),
        1 => comment_text().prop_map(|c| Line::Comment(sp(c))),
        1 => Just(Line::Blank(Span::default())),
    ];
    // Depth 3 keeps trees within MAX_NESTING and cases small.
    leaf.prop_recursive(3, 24, 4, |inner| {
        let block = lines(inner, 4)
            .prop_map(|lines| Block {
                lines,
                span: Span::default(),
            })
            .boxed();
        let kind = prop_oneof![
            (cond(), block.clone(), proptest::option::of(block.clone())).prop_map(
                |(cond, then, otherwise)| StmtKind::If {
                    cond,
                    then,
                    otherwise
                }
            ),
            (1u64..2000, cond(), block.clone()).prop_map(|(max, until, body)| StmtKind::Repeat {
                max: sp(max),
                until,
                body
            }),
            (name(), expr(), 1u64..2000, block).prop_map(|(item, list, max, body)| {
                StmtKind::ForEach {
                    item: sp(item),
                    list,
                    max: sp(max),
                    body,
                }
            }),
        ];
        stmt(kind).prop_map(Line::Stmt)
    })
}

fn script() -> impl Strategy<Value = Script> {
    lines(line(), 8).prop_map(|lines| Script { lines })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn format_then_parse_gives_the_same_tree(script in script()) {
        let text = format_script(&script);
        let parsed = parse(&text);
        prop_assert!(parsed.is_ok(), "formatted text does not parse:\n{text}\n{parsed:#?}");
        let parsed = parsed.unwrap_or_else(|_| Script { lines: vec![] });
        prop_assert_eq!(&parsed, &script, "text:\n{}", text);
        prop_assert_eq!(format_script(&parsed), text);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_text(src in "\\PC*") {
        let _ = parse(&src);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_bytes(&bytes);
    }

    #[test]
    fn parse_never_panics_on_grammar_soup(words in proptest::collection::vec(
        prop_oneof![
            Just("if"), Just("{"), Just("}"), Just("\n"), Just("\r\n"), Just("("), Just(")"), Just("not"),
            Just("and"), Just("click"), Just("button"), Just("\"x{a}\""), Just("~"), Just("/r/i"), Just("<<<"),
            Just(">>>"), Just("let"), Just("x"), Just("="), Just("job"), Just("\"sh\""), Just("5s"), Just("#c"),
            Just("else"), Just("in"), Just("nth"), Just("3"), Just("exists"), Just("=="), Just("\""), Just("\\"),
        ],
        0..60,
    )) {
        let src = words.join(" ");
        if let Ok(script) = parse(&src) {
            let text = format_script(&script);
            prop_assert_eq!(parse(&text).ok(), Some(script), "text:\n{}", text);
        }
    }
}

// ---- golden scripts ----

fn golden_ok_scripts() -> std::io::Result<Vec<(String, String)>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/ok");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "bridle") {
            let text = std::fs::read_to_string(&path)?;
            out.push((path.display().to_string(), text));
        }
    }
    out.sort();
    Ok(out)
}

#[test]
fn formatting_golden_scripts_is_idempotent_and_round_trips() {
    let scripts = golden_ok_scripts().unwrap();
    assert!(
        scripts.len() >= 45,
        "expected the golden ok/ scripts, found {}",
        scripts.len()
    );
    for (path, text) in scripts {
        let script = parse(&text).unwrap_or_else(|d| panic!("{path}: {d:#?}"));
        let once = format_script(&script);
        let reparsed =
            parse(&once).unwrap_or_else(|d| panic!("{path}: formatted text fails: {d:#?}\n{once}"));
        assert_eq!(reparsed, script, "{path}: tree changed by formatting");
        assert_eq!(
            format_script(&reparsed),
            once,
            "{path}: formatting is not idempotent"
        );
    }
}

#[test]
fn examples_are_canonical_and_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "bridle") {
            let text = std::fs::read_to_string(&path).unwrap();
            let script = parse(&text).unwrap_or_else(|d| panic!("{}: {d:#?}", path.display()));
            assert_eq!(
                format_script(&script),
                text,
                "{} is not in canonical form",
                path.display()
            );
            seen += 1;
        }
    }
    assert!(seen >= 4, "expected the example scripts, found {seen}");
}

// ---- pathological inputs: bounded time, no stack overflow ----

/// Parses and returns the diagnostics, failing if it took suspiciously long. The bound is
/// loose (debug build, shared machine); exponential behaviour would blow far past it.
fn timed_errors(src: &[u8]) -> Vec<bridle_dsl::Diagnostic> {
    let start = Instant::now();
    let result = parse_bytes(src);
    let took = start.elapsed();
    assert!(took < StdDuration::from_secs(10), "parse took {took:?}");
    match result {
        Ok(_) => Vec::new(),
        Err(d) => d,
    }
}

#[test]
fn ten_megabytes_hit_the_size_limit_at_once() {
    for filler in [b'(', b'{', b'a', b'\n'] {
        let mut src = b"assert ".to_vec();
        src.resize(10 * 1024 * 1024, filler);
        let d = timed_errors(&src);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::LimitExceeded);
        // The same through `parse` on text, which checks the size itself.
        let text = String::from_utf8(src).unwrap();
        assert_eq!(parse(&text).unwrap_err()[0].code, Code::LimitExceeded);
    }
}

#[test]
fn a_megabyte_of_open_parentheses_stops_at_the_depth_limit() {
    let mut src = b"assert ".to_vec();
    src.resize(MAX_SCRIPT_BYTES, b'(');
    let d = timed_errors(&src);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].code, Code::LimitExceeded);
    assert_eq!(
        d[0].message,
        format!("condition nests more than {MAX_CONDITION_DEPTH} deep")
    );
}

#[test]
fn a_megabyte_of_braces_and_block_heads_is_cheap() {
    let d = timed_errors(&vec![b'{'; MAX_SCRIPT_BYTES]);
    assert_eq!(d[0].message, "expected a statement, found `{`");
    let d = timed_errors(&vec![b'}'; MAX_SCRIPT_BYTES]);
    assert_eq!(d[0].message, "unexpected `}` with no open block");
    let heads = "if a == 1 {\n".repeat(MAX_SCRIPT_BYTES / 12);
    let d = timed_errors(heads.as_bytes());
    assert_eq!(
        d[0].message,
        format!("blocks nest more than {MAX_NESTING} deep")
    );
    let one_line = "if a == 1 { ".repeat(MAX_SCRIPT_BYTES / 12);
    let d = timed_errors(one_line.as_bytes());
    assert_eq!(d[0].code, Code::LimitExceeded);
}

#[test]
fn a_megabyte_long_line_or_word_is_cheap() {
    let word = "a".repeat(MAX_SCRIPT_BYTES);
    let d = timed_errors(word.as_bytes());
    assert_eq!(d[0].code, Code::UnknownVerb);
    assert!(
        d[0].message.len() < 100,
        "the message echoes a shortened word"
    );
    let target = format!("click {}", "b".repeat(MAX_SCRIPT_BYTES - 6));
    assert_eq!(timed_errors(target.as_bytes())[0].code, Code::UnknownRole);
    let string = format!("note \"{}\"", "x".repeat(MAX_SCRIPT_BYTES - 7));
    assert_eq!(timed_errors(string.as_bytes())[0].code, Code::LimitExceeded);
    let unterminated = format!("note \"{}", "{".repeat(MAX_SCRIPT_BYTES - 6));
    assert_eq!(timed_errors(unterminated.as_bytes())[0].code, Code::Syntax);
    let tokens = "( ".repeat(MAX_SCRIPT_BYTES / 2);
    assert_eq!(timed_errors(tokens.as_bytes())[0].code, Code::Syntax);
    let lines = "back\n".repeat(MAX_SCRIPT_BYTES / 5);
    assert!(timed_errors(lines.as_bytes()).is_empty());
    let nul = vec![0u8; MAX_SCRIPT_BYTES];
    assert_eq!(
        timed_errors(&nul)[0].message,
        "unexpected character `\\u{0}`"
    );
}

#[test]
fn invalid_utf8_is_a_diagnostic() {
    let d = timed_errors(b"note \"caf\xe9\"");
    assert_eq!(d[0].code, Code::InvalidUtf8);
    assert_eq!(d[0].message, "script is not valid UTF-8 at byte 9");
}
