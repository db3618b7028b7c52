//! Risk: every verb's base risk, sensitive words, secrets, submitting keys, and taint (data
//! read from a page flowing into what a step writes).

use super::*;
use crate::risk::{Risk, RiskOptions, Verb};

/// One statement of every verb, with names free of sensitive words.
const EVERY_VERB: &str = r##"navigate "https://shop.example/"
back
forward
reload
open tab "https://shop.example/cart"
switch tab ~"Cart"
close tab
click button "Add to cart"
fill textbox "Search" with "cable"
clear textbox "Search"
select combobox "Size" option "2 m"
check checkbox "Gift wrap"
uncheck checkbox "Gift wrap"
hover link "Details"
press "a"
scroll to css "footer"
submit form "Search"
upload button "Photo"
let t = text of heading "Cable"
wait for idle
assert t contains "Cable"
if exists button "More" { note "more" }
repeat at most 2 until exists link "Next" { note "again" }
let rows = table table "Results"
for each row in rows at most 2 { note "{row.name}" }
confirm "Go on?"
handoff "Please sign in"
job "sh" <<<
true
>>>
let out = job "sh" <<<
echo 1
>>>
return t
"##;

#[test]
fn every_verb_has_its_contract_risk() {
    let checked = ok(&script(EVERY_VERB));
    let got: Vec<(Verb, Risk)> = checked.steps.iter().map(|s| (s.verb, s.risk)).collect();
    use Risk::*;
    use Verb as V;
    let expected = [
        (V::Navigate, Medium),
        (V::Back, Medium),
        (V::Forward, Medium),
        (V::Reload, Medium),
        (V::OpenTab, Medium),
        (V::SwitchTab, Medium),
        (V::CloseTab, Medium),
        (V::Click, Medium),
        (V::Fill, Medium),
        (V::Clear, Medium),
        (V::Select, Medium),
        (V::Check, Medium),
        (V::Uncheck, Medium),
        (V::Hover, Low),
        (V::Press, Medium),
        (V::ScrollTo, Low),
        (V::Submit, High),
        (V::Upload, High),
        (V::Let, Low),
        (V::Wait, Low),
        (V::Assert, Low),
        (V::If, Low),
        (V::Note, Low),
        (V::Repeat, Low),
        (V::Note, Low),
        (V::Let, Low),
        (V::ForEach, Low),
        (V::Note, Low),
        (V::Confirm, High),
        (V::Handoff, High),
        (V::Job, High),
        (V::Job, High),
        (V::Return, Low),
    ];
    assert_eq!(got, expected);
    for step in &checked.steps {
        assert_eq!(step.risk, step.verb.base_risk(), "{}", step.text);
        assert_eq!(step.risk_reasons[0], step.verb.base_reason());
    }
    // Every verb of the language is covered.
    for verb in Verb::ALL {
        assert!(got.iter().any(|(v, _)| v == verb), "no step for `{verb}`");
    }
}

fn step_of(body: &str) -> crate::check::Step {
    let checked = ok(&script(body));
    checked.steps.last().cloned().unwrap()
}

#[track_caller]
fn assert_high_because(body: &str, reason: &str) {
    let step = step_of(body);
    assert_eq!(step.risk, Risk::High, "{body}");
    assert!(
        step.risk_reasons.iter().any(|r| r == reason),
        "{:?} lacks {reason:?}",
        step.risk_reasons
    );
}

#[test]
fn sensitive_words_in_names_make_acting_steps_high() {
    let name = "target name contains the sensitive word `pay`";
    assert_high_because("click button \"Pay now\"\n", name);
    assert_high_because(
        "click button ~\"PAYING\"\n",
        "target name contains the sensitive word `pay`",
    );
    assert_high_because("click button /^Pay(ment)?$/i\n", name);
    assert_high_because("click text \"Pay\"\n", name);
    assert_high_because("param who: text\nclick button \"Pay {who}\"\n", name);
    assert_high_because(
        "click button \"Delete\"\n",
        "target name contains the sensitive word `delete`",
    );
    assert_high_because(
        "check checkbox \"I agree\" in dialog \"Place order\"\n",
        "target container name contains the sensitive word `order`",
    );
    assert_high_because(
        "click css \"#checkout-button\"\n",
        "target selector contains the sensitive word `checkout`",
    );
    assert_high_because(
        "select combobox \"Plan\" option \"Subscribe yearly\"\n",
        "option label contains the sensitive word `subscribe`",
    );
    assert_high_because(
        "hover link \"Buy\"\n",
        "target name contains the sensitive word `buy`",
    );
}

#[test]
fn reading_or_waiting_on_a_sensitive_name_stays_low() {
    for body in [
        "let label = text of button \"Pay now\"\n",
        "wait for button \"Pay now\" to be visible\n",
        "assert exists button \"Pay now\"\n",
        "if exists button \"Delete\" { note \"x\" }\n",
    ] {
        let checked = ok(&script(body));
        assert_eq!(checked.steps[0].risk, Risk::Low, "{body}");
        assert_eq!(checked.steps[0].risk_reasons.len(), 1, "{body}");
    }
}

#[test]
fn words_inside_other_words_do_not_count() {
    let step = step_of("click button \"Display settings\"\n");
    assert_eq!(step.risk, Risk::Medium);
    assert_eq!(step.risk_reasons, ["`click` acts on the page"]);
}

#[test]
fn the_policy_adds_sensitive_words() {
    let options = CheckOptions {
        risk: RiskOptions::with_extra_words(["add to cart"]),
    };
    let src = script("click button \"Add to cart\"\n");
    let checked = run_with(&src, &options).unwrap();
    assert_eq!(checked.steps[0].risk, Risk::High);
    assert_eq!(
        checked.steps[0].risk_reasons[1],
        "target name contains the sensitive word `add to cart`"
    );
}

#[test]
fn filling_a_secret_is_high() {
    assert_high_because(
        "secret card = \"visa\"\nfill textbox \"Number\" with card\n",
        "fills the secret `card` from the vault",
    );
}

#[test]
fn keys_that_can_submit_are_high() {
    assert_high_because("press \"Enter\"\n", "`Enter` can submit a form");
    assert_high_because(
        "press \"Control+Enter\" on textbox \"Message\"\n",
        "`Control+Enter` can submit a form",
    );
    assert_high_because(
        "param k: text\npress \"{k}\"\n",
        "the key is not written out and could be `Enter`, which can submit a form",
    );
    assert_eq!(step_of("press \"Escape\"\n").risk, Risk::Medium);
}

#[test]
fn css_targets_carry_a_reason_but_no_raise() {
    let step = step_of("click css \"#add\"\n");
    assert_eq!(step.risk, Risk::Medium);
    assert_eq!(
        step.risk_reasons,
        [
            "`click` acts on the page",
            "css selector targets are lower trust"
        ]
    );
    let step = step_of("let p = text of css \"#price\"\n");
    assert_eq!(step.risk, Risk::Low);
    assert_eq!(step.risk_reasons[1], "css selector targets are lower trust");
}

// ---- taint ----

/// Whether the last step writes observed data.
fn writes_observed(body: &str) -> bool {
    let step = step_of(body);
    let reason = step
        .risk_reasons
        .iter()
        .any(|r| r == "writes data read from a page");
    assert_eq!(reason, step.writes_observed, "{body}");
    // The checker records the flow; only the executor, which knows both origins, raises it.
    if step.writes_observed {
        assert!(step.risk < Risk::High, "{body}");
    }
    step.writes_observed
}

#[test]
fn observed_data_taints_what_is_written() {
    let read = "let price = text of css \"#price\"\n";
    assert!(writes_observed(&format!(
        "{read}fill textbox \"Note\" with price\n"
    )));
    assert!(writes_observed(&format!(
        "{read}let copy = price\nlet msg = \"Price: {{copy}}\"\nfill textbox \"Note\" with msg\n"
    )));
    assert!(writes_observed(&format!(
        "{read}navigate \"https://pay.example/?amount={{price}}\"\n"
    )));
    assert!(writes_observed(&format!(
        "{read}open tab \"https://pay.example/?amount={{price}}\"\n"
    )));
    assert!(writes_observed(&format!(
        "{read}select combobox \"Amount\" option \"{{price}}\"\n"
    )));
    assert!(writes_observed(
        "let rows = table table \"Results\"\nfor each row in rows at most 3 { fill textbox \"Name\" with row.name }\n"
    ));
    assert!(writes_observed(
        "let n = count of row in table \"Results\"\nfill textbox \"Qty\" with n\n"
    ));
    assert!(writes_observed(
        "let here = url\nfill textbox \"From\" with here\n"
    ));
    assert!(writes_observed("fill textbox \"Title\" with title\n"));
    assert!(writes_observed(
        "let out = job \"sh\" <<<\necho 1\n>>>\nfill textbox \"Result\" with out\n"
    ));
}

#[test]
fn literals_and_params_do_not_taint() {
    assert!(!writes_observed("fill textbox \"Search\" with \"cable\"\n"));
    assert!(!writes_observed(
        "param q: text\nlet msg = \"{q} 2m\"\nfill textbox \"Search\" with msg\n"
    ));
    assert!(!writes_observed(
        "param q: text\nnavigate \"https://shop.example/search?q={q}\"\n"
    ));
    assert!(!writes_observed(
        "secret card = \"visa\"\nfill textbox \"Card\" with card\n"
    ));
    // Reading a page to decide what to click is not writing what was read.
    assert!(!writes_observed(
        "let name = text of heading \"Best\"\nclick link \"{name}\"\n"
    ));
}
