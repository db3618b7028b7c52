//! Steps: pre-order indexes, lines, depth, canonical text, targets and spans.

use super::*;
use crate::ast::TargetBase;
use crate::risk::Verb;

const SCRIPT: &str = r#"param q: text
secret card = "visa"
navigate "https://shop.example/search?q={q}"
if exists button "Accept cookies" {
  click button "Accept cookies"
} else {
  note "no banner"
}
let rows = table table "Results"
for each row in rows at most 3 {
  repeat at most 2 until visible link "{row.name}" {
    scroll to css "footer"
  }
}
fill textbox "Card number" in frame "https://pay.example" with card
assert text of heading "Done" contains "Thank"
return count of row
"#;

#[test]
fn steps_come_in_pre_order_with_lines_and_depth() {
    let src = script(SCRIPT);
    let checked = ok(&src);
    let got: Vec<(usize, usize, Verb, usize)> = checked
        .steps
        .iter()
        .map(|s| (s.index, s.line, s.verb, s.depth))
        .collect();
    assert_eq!(
        got,
        [
            (1, 6, Verb::Navigate, 0),
            (2, 7, Verb::If, 0),
            (3, 8, Verb::Click, 1),
            (4, 10, Verb::Note, 1),
            (5, 12, Verb::Let, 0),
            (6, 13, Verb::ForEach, 0),
            (7, 14, Verb::Repeat, 1),
            (8, 15, Verb::ScrollTo, 2),
            (9, 18, Verb::Fill, 0),
            (10, 19, Verb::Assert, 0),
            (11, 20, Verb::Return, 0),
        ]
    );
    // A step's span is its statement; a block statement's span starts at its head.
    for step in &checked.steps {
        let text = &src[step.span.start..step.span.end];
        let first_line = text.lines().next().unwrap();
        assert!(
            first_line.starts_with(step.verb.as_str().split(' ').next().unwrap())
                || step.verb == Verb::Let,
            "{first_line}"
        );
    }
    // 1 + 1 + 1 + 1 + 1 + 1 + 3 (repeat) + 6 (scroll) + 1 + 1 + 1
    assert_eq!(checked.expanded_steps, 18);
}

#[test]
fn steps_carry_their_canonical_first_line() {
    let checked = ok(&script(SCRIPT));
    assert_eq!(
        checked.steps[0].text,
        crate::fmt::format_stmt_head(match &checked.script.lines[5] {
            crate::ast::Line::Stmt(stmt) => stmt,
            other => panic!("{other:?}"),
        })
    );
    assert!(checked.steps.iter().all(|s| !s.text.contains('\n')));
}

#[test]
fn steps_name_their_target() {
    let checked = ok(&script(SCRIPT));
    let describe = |i: usize| -> Option<String> {
        checked.steps[i].target.as_ref().map(|t| match &t.base {
            TargetBase::Role { role, .. } => role.node.clone(),
            TargetBase::Text(_) => "text".to_owned(),
            TargetBase::Css(c) => format!("css {}", c.node),
        })
    };
    assert_eq!(describe(0), None, "navigate");
    assert_eq!(describe(1).as_deref(), Some("button"), "if exists");
    assert_eq!(describe(2).as_deref(), Some("button"), "click");
    assert_eq!(describe(3), None, "note");
    assert_eq!(describe(4).as_deref(), Some("table"), "let … = table");
    assert_eq!(describe(5), None, "for each over a variable");
    assert_eq!(describe(6).as_deref(), Some("link"), "repeat until visible");
    assert_eq!(describe(7).as_deref(), Some("css footer"), "scroll to");
    assert_eq!(describe(8).as_deref(), Some("textbox"), "fill");
    assert_eq!(describe(9).as_deref(), Some("heading"), "assert text of");
    assert_eq!(describe(10).as_deref(), Some("row"), "return count of");
    assert_eq!(checked.steps[8].secret.as_deref(), Some("card"));
    assert_eq!(
        checked.steps[0].url_origin.as_deref(),
        Some("https://shop.example")
    );
}

#[test]
fn checking_keeps_the_tree() {
    let src = script(SCRIPT);
    let tree = crate::parser::parse(&src).unwrap();
    let checked = check(tree.clone(), &src, &CheckOptions::default()).unwrap();
    assert_eq!(checked.script, tree);
}
