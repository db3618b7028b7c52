//! Properties over generated scripts: checking never panics, diagnostics are sorted, capped
//! and point into the source, and a script that checks has consistent steps.

use super::*;
use crate::limits::MAX_DIAGNOSTICS;
use proptest::prelude::*;

/// Lines that are valid alone or wrong in interesting ways, so random sequences mix header,
/// scope, type, secret, URL and limit errors.
const LINES: &[&str] = &[
    "bridle 1",
    "bridle 2",
    "goal \"Shop\"",
    "goal \"Shop {q}\"",
    "origins \"https://shop.example\", \"https://pay.example\"",
    "origins \"http://evil.example/x\"",
    "param q: text = \"cable\"",
    "param n: number = \"x\"",
    "secret card = \"visa\"",
    "let a = text of css \"#a\"",
    "let rows = table table \"Results\"",
    "let n2 = count of row",
    "let out = job \"sh\" input rows <<<\necho 1\n>>>",
    "note \"{a} {q} {card} {rows} {missing}\"",
    "fill textbox \"Card\" with card",
    "fill textbox \"Note\" with a",
    "fill textbox \"Gift\" with true",
    "navigate \"https://shop.example/search?q={q}\"",
    "navigate \"{a}\"",
    "navigate \"/cart\"",
    "open tab \"https://evil.example/\"",
    "click button \"Pay now\" in frame \"https://pay.example\"",
    "click link /Pay (now/",
    "press \"Enter\"",
    "if a < 3 {",
    "if exists button \"A\" {",
    "} else {",
    "for each row in rows at most 5 {",
    "for each row in a at most 0 {",
    "repeat at most 2000 until exists link \"Next\" {",
    "}",
    "return card",
    "return a",
    "wait 0ms",
    "wait for idle timeout 11m",
    "click button \"B\" nth 0",
    "# a comment",
    "",
];

fn any_script() -> impl Strategy<Value = String> {
    let picks = proptest::collection::vec(0..LINES.len(), 0..40);
    (any::<bool>(), picks).prop_map(|(header, picks)| {
        // Half the scripts start with a valid header, so some of them check.
        let mut out = if header {
            HEADER.to_owned()
        } else {
            String::new()
        };
        for i in picks {
            out.push_str(LINES[i]);
            out.push('\n');
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn checking_never_panics_and_reports_in_order(src in any_script()) {
        let Ok(tree) = crate::parser::parse(&src) else {
            return Ok(());
        };
        match check(tree, &src, &CheckOptions::default()) {
            Err(diags) => {
                prop_assert!(!diags.is_empty());
                prop_assert!(diags.len() <= MAX_DIAGNOSTICS);
                prop_assert!(diags.windows(2).all(|w| w[0].span.start <= w[1].span.start));
                for d in &diags {
                    prop_assert!(src.get(d.span.start..d.span.end).is_some(), "{d:?}");
                    prop_assert!(d.help.is_some(), "{d:?}");
                    prop_assert!(!d.message.ends_with('.'), "{d:?}");
                }
            }
            Ok(checked) => {
                for (i, step) in checked.steps.iter().enumerate() {
                    prop_assert_eq!(step.index, i + 1);
                    prop_assert!(step.line >= 1);
                    prop_assert!(!step.risk_reasons.is_empty());
                    prop_assert_eq!(&step.risk_reasons[0], step.verb.base_reason());
                    prop_assert!(step.risk >= step.verb.base_risk());
                }
                prop_assert!(checked.expanded_steps >= checked.steps.len() as u64);
            }
        }
    }
}
