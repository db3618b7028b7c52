//! The step engine end to end: scripts from text through the checker and the machine, against
//! a fake page, a table-driven PEP, a scripted approver and a recording audit log.

#[cfg(test)]
#[path = "engine/harness.rs"]
mod harness;

use bridle_dsl::Verb;
use bridle_executor::audit::AuditStore;
use bridle_executor::decision::{Amount, Outcome};
use bridle_executor::engine::*;
use harness::*;
use serde_json::json;
use std::collections::BTreeMap;

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn row(pairs: &[(&str, &str)]) -> Value {
    Value::Record(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), text(v)))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn acts(world: &World) -> Vec<Action> {
    world.page.acts.iter().map(|a| a.action.clone()).collect()
}

// ---- every verb ----

#[test]
fn every_verb_performs_its_one_action() {
    let mut world = World::new(vec![
        el("link", "Cable"),
        el("textbox", "Name"),
        el("combobox", "Size"),
        el("checkbox", "Gift"),
        el("checkbox", "Newsletter"),
        el("img", "Photo"),
        el("searchbox", "Search"),
        el("contentinfo", "Footer").css("footer"),
        el("button", "Save"),
        el("button", "Attach"),
    ]);
    let run = world.run(
        r#"navigate "https://shop.example/cables"
click link "Cable"
fill textbox "Name" with "Ada"
clear textbox "Name"
select combobox "Size" option "2 m"
check checkbox "Gift"
uncheck checkbox "Newsletter"
hover img "Photo"
press "Enter" on searchbox "Search"
press "Escape"
scroll to css "footer"
submit button "Save"
upload button "Attach"
back
forward
reload
open tab "https://pay.example/"
switch tab ~"Shop"
close tab"#,
    );
    assert_eq!(
        run.result.outcome,
        RunOutcome::Completed,
        "{:?}",
        run.result
    );
    assert_eq!(
        acts(&world),
        vec![
            Action::Navigate {
                url: "https://shop.example/cables".into()
            },
            Action::Click,
            Action::Fill {
                value: FillValue::Text { text: "Ada".into() }
            },
            Action::Clear,
            Action::Select {
                option: "2 m".into()
            },
            Action::Check,
            Action::Uncheck,
            Action::Hover,
            Action::Press {
                key: "Enter".into()
            },
            Action::Press {
                key: "Escape".into()
            },
            Action::ScrollTo,
            Action::Submit,
            Action::Upload,
            Action::Back,
            Action::Forward,
            Action::Reload,
            Action::OpenTab {
                url: "https://pay.example/".into()
            },
            Action::SwitchTab {
                matcher: NameMatch::Contains("Shop".into())
            },
            Action::CloseTab,
        ]
    );
    // Each act targets the element the script names, or none for page-level verbs.
    let targets: Vec<Option<String>> = world.page.acts.iter().map(|a| a.element.clone()).collect();
    assert_eq!(targets[1].as_deref(), Some("Cable"));
    assert_eq!(targets[8].as_deref(), Some("Search"));
    assert_eq!(targets[9], None);
    assert_eq!(targets[10].as_deref(), Some("Footer"));
    assert_eq!(run.result.steps_done, 19);
    assert!(run.result.steps.iter().all(|s| s.ok));
}

#[test]
fn act_carries_the_fingerprint_that_was_decided() {
    let mut world = World::new(vec![el("button", "Add")]);
    let run = world.run(r#"click button "Add""#);
    let (fingerprint, target) = run
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::Act {
                expect_fingerprint,
                target,
                ..
            } => Some((expect_fingerprint.clone(), target.clone())),
            _ => None,
        })
        .unwrap();
    let decided = world.pep.calls_for(1)[0].element.clone().unwrap();
    assert_eq!(fingerprint, Some(decided.fingerprint));
    assert_eq!(target.unwrap().to_string(), "button \"Add\"");
}

// ---- decisions and approvals ----

#[test]
fn deny_stops_before_acting() {
    let mut world = World::new(vec![el("button", "Add")]);
    world.pep = TablePep::with(&[("click", Outcome::Deny)]);
    let run = world.run(r#"click button "Add""#);
    assert_eq!(run.result.outcome, RunOutcome::Denied);
    assert_eq!(run.error_code().as_deref(), Some("denied"));
    assert!(world.page.acts.is_empty());
    assert!(!run.trace().iter().any(|t| t.starts_with("act:")));
    // The denial is recorded: a completed event with the deny decision, never a started one.
    assert_eq!(
        run.trace()
            .iter()
            .filter(|t| t.starts_with("audit:"))
            .cloned()
            .collect::<Vec<_>>(),
        ["audit:run-started", "audit:completed:1", "audit:run-ended"]
    );
    let completed = &world.audit.events[1];
    let AuditKind::Completed(step) = &completed.kind else {
        panic!("{completed:?}")
    };
    assert_eq!(step.decision.as_ref().unwrap().outcome, Outcome::Deny);
    assert_eq!(
        step.result.as_ref().unwrap().error.as_deref(),
        Some("denied")
    );
    let error = run.result.error.as_ref().unwrap();
    assert_eq!(
        error.message,
        "step 1 was denied: deny (policy): table says `click` is deny"
    );
    assert_eq!(run.result.steps[0].decision, Some(Outcome::Deny));
    assert_eq!(run.result.steps[0].error.as_deref(), Some("denied"));
}

#[test]
fn ask_then_deny_timeout_or_close_stops_before_acting() {
    for choice in [
        ApprovalChoice::Deny,
        ApprovalChoice::Timeout,
        ApprovalChoice::Closed,
    ] {
        let mut world = World::new(vec![el("button", "Add")]);
        world.pep = TablePep::with(&[("click", Outcome::Ask)]);
        world.approver = ScriptedApprover::answering(&[choice]);
        let run = world.run(r#"click button "Add""#);
        assert_eq!(run.result.outcome, RunOutcome::Denied);
        assert_eq!(run.error_code().as_deref(), Some("not-approved"));
        assert_eq!(
            run.result.error.as_ref().unwrap().message,
            format!("step 1 was not approved (the user's answer: {choice})")
        );
        assert!(world.page.acts.is_empty(), "{choice}");
        assert_eq!(world.approver.requests.len(), 1);
        assert_eq!(run.result.steps[0].approval, Some(choice.into()));
    }
}

#[test]
fn ask_then_once_acts_and_records_the_approval() {
    let mut world = World::new(vec![el("button", "Add")]);
    world.pep = TablePep::with(&[("click", Outcome::Ask)]);
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Once]);
    let run = world.run(r#"click button "Add""#);
    assert_eq!(run.result.outcome, RunOutcome::Completed);
    assert_eq!(acts(&world), [Action::Click]);
    let request = &world.approver.requests[0];
    assert_eq!(request.origin.as_deref(), Some(SHOP));
    assert_eq!(
        request.element,
        Some(ElementLabel {
            role: "button".into(),
            name: "Add".into()
        })
    );
    assert_eq!(request.planner_goal, "test the engine");
    assert_eq!(request.outcome, Outcome::Ask);
    assert_eq!(request.text, "click button \"Add\"");
    assert_eq!(run.result.steps[0].approval, Some(Approval::Once));
    // The approval reaches the write-ahead event.
    let AuditKind::Started(started) = &world.audit.events[1].kind else {
        panic!()
    };
    assert_eq!(started.approval, Some(Approval::Once));
}

#[test]
fn approve_for_this_script_is_not_asked_again_in_a_loop() {
    let mut world = World::new(vec![
        el("table", "Results").table(vec![
            row(&[("n", "1")]),
            row(&[("n", "2")]),
            row(&[("n", "3")]),
        ]),
        el("button", "Add"),
    ]);
    world.pep = TablePep::with(&[("click", Outcome::Ask)]);
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Script]);
    let run = world.run(
        r#"let rows = table table "Results"
for each r in rows at most 10 {
  click button "Add"
}"#,
    );
    assert_eq!(
        run.result.outcome,
        RunOutcome::Completed,
        "{:?}",
        run.result
    );
    assert_eq!(world.approver.requests.len(), 1);
    assert_eq!(acts(&world), [Action::Click, Action::Click, Action::Click]);
    let approvals: Vec<_> = run
        .result
        .steps
        .iter()
        .filter(|s| s.verb == Verb::Click)
        .map(|s| s.approval)
        .collect();
    assert_eq!(
        approvals,
        [
            Some(Approval::Script),
            Some(Approval::Remembered),
            Some(Approval::Remembered)
        ]
    );
}

#[test]
fn approve_for_this_script_covers_neither_other_steps_nor_other_origins() {
    // Another step is asked again.
    let mut world = World::new(vec![el("button", "Add"), el("button", "More")]);
    world.pep = TablePep::with(&[("click", Outcome::Ask)]);
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Script, ApprovalChoice::Once]);
    let run = world.run("click button \"Add\"\nclick button \"More\"");
    assert_eq!(run.result.outcome, RunOutcome::Completed);
    assert_eq!(world.approver.requests.len(), 2);

    // The same step on another origin is asked again (here, and denied).
    let mut world = World::new(vec![
        el("table", "R").table(vec![row(&[("name", "Add")]), row(&[("name", "Pay")])]),
        el("button", "Add"),
        el("button", "Pay").origin(PAY),
    ]);
    world.pep = TablePep::with(&[("click", Outcome::Ask)]);
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Script, ApprovalChoice::Deny]);
    let run = world.run(
        "let rows = table table \"R\"\nfor each r in rows at most 2 {\n  click button \"{r.name}\"\n}",
    );
    assert_eq!(world.approver.requests.len(), 2);
    assert_eq!(world.approver.requests[0].origin.as_deref(), Some(SHOP));
    assert_eq!(world.approver.requests[1].origin.as_deref(), Some(PAY));
    assert_eq!(run.error_code().as_deref(), Some("not-approved"));
    assert_eq!(acts(&world), [Action::Click]);
}

#[test]
fn confirm_always_asks_even_when_allowed() {
    let mut world = World::new(vec![el("table", "T").table(vec![row(&[]), row(&[])])]);
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Script, ApprovalChoice::Once]);
    let run = world.run(
        r#"let price = "20 EUR"
let rows = table table "T"
for each r in rows at most 5 {
  confirm "Pay {price}?"
}"#,
    );
    assert_eq!(
        run.result.outcome,
        RunOutcome::Completed,
        "{:?}",
        run.result
    );
    // Asked on both iterations: "for this script" never covers a confirm.
    assert_eq!(world.approver.requests.len(), 2);
    let request = &world.approver.requests[0];
    assert_eq!(request.message.as_deref(), Some("Pay 20 EUR?"));
    assert_eq!(request.outcome, Outcome::Ask);
    assert!(request
        .reasons
        .iter()
        .any(|r| r.text == "`confirm` always asks the user"));
    let confirms: Vec<_> = run
        .result
        .steps
        .iter()
        .filter(|s| s.verb == Verb::Confirm)
        .map(|s| (s.decision, s.approval))
        .collect();
    assert_eq!(
        confirms,
        [
            (Some(Outcome::Ask), Some(Approval::Script)),
            (Some(Outcome::Ask), Some(Approval::Once))
        ]
    );
}

#[test]
fn confirm_denied_stops_the_run() {
    let mut world = World::new(vec![el("button", "Pay")]);
    let run = world.run("confirm \"Pay?\"\nclick button \"Pay\"");
    assert_eq!(run.error_code().as_deref(), Some("not-approved"));
    assert!(world.page.acts.is_empty());
}

#[test]
fn approval_requests_show_values_and_mask_secrets() {
    let mut world = World::new(vec![
        el("textbox", "Name"),
        el("textbox", "Card").origin(PAY).field_kind("card-number"),
    ]);
    world.pep = TablePep::with(&[("fill", Outcome::Ask)]);
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Once, ApprovalChoice::Once]);
    world
        .page
        .vault
        .insert("visa".into(), "4111 SECRET 1111".into());
    let run = world.run(
        r#"secret card = "visa"
fill textbox "Name" with "Ada"
fill textbox "Card" in frame "https://pay.example" with card"#,
    );
    assert_eq!(
        run.result.outcome,
        RunOutcome::Completed,
        "{:?}",
        run.result
    );
    assert_eq!(world.approver.requests[0].values, ["Ada"]);
    assert_eq!(world.approver.requests[1].values, [SECRET_MASK]);
    assert_eq!(world.approver.requests[1].origin.as_deref(), Some(PAY));
}

#[test]
fn high_risk_steps_read_the_amount_first() {
    let mut world = World::new(vec![el("button", "Pay"), el("button", "Add")]);
    world.page.amount = Some(Amount {
        currency: "EUR".into(),
        value: 19.5,
    });
    let run = world.run("click button \"Add\"\nsubmit button \"Pay\"");
    assert_eq!(run.result.outcome, RunOutcome::Completed);
    // Only the high-risk submit looks for an amount, and its decision sees it.
    assert_eq!(world.page.amount_reads, [2]);
    assert_eq!(world.pep.calls_for(1)[0].amount, None);
    assert_eq!(
        world.pep.calls_for(2)[0].amount,
        Some(Amount {
            currency: "EUR".into(),
            value: 19.5
        })
    );
    assert_eq!(world.pep.calls_for(2)[0].steps_done, 1);
}

#[test]
fn a_step_the_page_shows_to_be_high_risk_reads_the_amount_and_is_decided_again() {
    let mut world = World::new(vec![el("button", "Pay now")]);
    world.page.amount = Some(Amount {
        currency: "EUR".into(),
        value: 5.0,
    });
    let run = world.run("click button ~\"now\"");
    assert_eq!(run.result.outcome, RunOutcome::Completed);
    assert_eq!(
        run.trace()[..7],
        [
            "audit:run-started",
            "observe:url",
            "resolve:1",
            "decide:1",
            "read-amount",
            "decide:1",
            "audit:started:1"
        ]
    );
    let calls = world.pep.calls_for(1);
    assert_eq!(calls[0].amount, None);
    assert_eq!(calls[1].amount.as_ref().map(|a| a.value), Some(5.0));
}

// ---- the audit log ----

#[test]
fn audit_is_written_ahead_of_every_act_and_completed_after() {
    let mut world = World::new(vec![el("button", "Add")]);
    let run = world.run("click button \"Add\"\nnote \"done\"");
    assert_eq!(
        run.trace(),
        [
            "audit:run-started",
            "observe:url",
            "resolve:1",
            "decide:1",
            "audit:started:1",
            "act:1:click",
            "audit:completed:1",
            "observe:url",
            "decide:2",
            "audit:started:2",
            "note",
            "audit:completed:2",
            "audit:run-ended",
            "done",
        ]
    );
    let seqs: Vec<u64> = world.audit.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    let AuditKind::Started(started) = &world.audit.events[1].kind else {
        panic!()
    };
    assert_eq!(started.action, Some(Action::Click));
    assert_eq!(started.element.as_ref().unwrap().name, "Add");
    assert_eq!(started.result, None);
    assert_eq!(world.audit.events[1].jti.as_deref(), Some("jti-1"));
    let AuditKind::RunEnded { outcome, error } = &world.audit.events[5].kind else {
        panic!()
    };
    assert_eq!((*outcome, error.as_deref()), (RunOutcome::Completed, None));
}

#[test]
fn a_failing_audit_write_prevents_the_act() {
    let mut world = World::new(vec![el("button", "Add")]);
    world.audit.fail = Some(Box::new(|e| matches!(e.kind, AuditKind::Started(_))));
    let run = world.run("click button \"Add\"");
    assert!(world.page.acts.is_empty());
    assert_eq!(run.result.outcome, RunOutcome::Failed);
    assert_eq!(run.error_code().as_deref(), Some("audit-failed"));
    assert_eq!(
        run.result.error.as_ref().unwrap().message,
        "the audit log could not be written: disk full"
    );
    assert!(!run.trace().iter().any(|t| t.starts_with("act:")));
}

#[test]
fn a_failing_run_start_write_runs_nothing() {
    let mut world = World::new(vec![el("button", "Add")]);
    world.audit.fail = Some(Box::new(|e| matches!(e.kind, AuditKind::RunStarted)));
    let run = world.run("click button \"Add\"");
    assert_eq!(run.trace(), ["audit:run-started", "done"]);
    assert_eq!(run.error_code().as_deref(), Some("audit-failed"));
}

#[test]
fn a_failing_completion_write_ends_the_run_after_the_act() {
    let mut world = World::new(vec![el("button", "Add"), el("button", "Next")]);
    world.audit.fail = Some(Box::new(|e| matches!(e.kind, AuditKind::Completed(_))));
    let run = world.run("click button \"Add\"\nclick button \"Next\"");
    assert_eq!(acts(&world), [Action::Click]);
    assert_eq!(run.error_code().as_deref(), Some("audit-failed"));
    assert_eq!(run.result.steps[0].error.as_deref(), Some("audit-failed"));
}

#[test]
fn a_failing_run_end_write_is_a_warning() {
    let mut world = World::new(vec![]);
    world.audit.fail = Some(Box::new(|e| matches!(e.kind, AuditKind::RunEnded { .. })));
    let run = world.run("return 1");
    assert_eq!(run.result.outcome, RunOutcome::Completed);
    assert_eq!(
        run.result.warnings,
        ["the audit log could not record the end of the run: disk full"]
    );
}

// ---- control flow ----

#[test]
fn repeat_checks_before_each_pass_and_stops_at_its_bound() {
    let mut world = World::new(vec![el("button", "More")]);
    let run =
        world.run("repeat at most 3 until exists link \"Next\" {\n  click button \"More\"\n}");
    assert_eq!(run.result.outcome, RunOutcome::Completed);
    assert_eq!(world.page.acts.len(), 3);
    assert_eq!(
        run.result.warnings,
        ["`repeat` at step 1 stopped at its bound of 3 iterations before its condition held"]
    );
    // The condition is checked 4 times: before each pass and after the last.
    let repeats = run
        .result
        .steps
        .iter()
        .filter(|s| s.verb == Verb::Repeat)
        .count();
    assert_eq!(repeats, 4);

    // Already true: the body never runs.
    let mut world = World::new(vec![el("button", "More"), el("link", "Next")]);
    let run =
        world.run("repeat at most 3 until exists link \"Next\" {\n  click button \"More\"\n}");
    assert!(world.page.acts.is_empty());
    assert!(run.result.warnings.is_empty());

    // Becomes true after the first click.
    let mut world = World::new(vec![
        el("button", "More").on_click(OnClick::Reveal("Next".into())),
        el("link", "Next").hidden(),
    ]);
    let run =
        world.run("repeat at most 3 until exists link \"Next\" {\n  click button \"More\"\n}");
    assert_eq!(world.page.acts.len(), 1);
    assert!(run.result.warnings.is_empty());
}

#[test]
fn for_each_runs_min_of_length_and_bound() {
    let rows = vec![
        row(&[("name", "a")]),
        row(&[("name", "b")]),
        row(&[("name", "c")]),
    ];
    let body = "let rows = table table \"R\"\nfor each item in rows at most 2 {\n  note \"{item.name}\"\n}";
    let mut world = World::new(vec![el("table", "R").table(rows.clone())]);
    let run = world.run(body);
    assert_eq!(world.approver.notes, ["a", "b"]);
    assert_eq!(
        run.result.warnings,
        ["`for each` at step 2 stopped after 2 of 3 items"]
    );
    let mut world = World::new(vec![el("table", "R").table(rows)]);
    let run = world.run(&body.replace("at most 2", "at most 3"));
    assert_eq!(world.approver.notes, ["a", "b", "c"]);
    assert!(run.result.warnings.is_empty());
    let mut world = World::new(vec![el("table", "R").table(vec![])]);
    world.run(body);
    assert!(world.approver.notes.is_empty());
}

#[test]
fn if_and_else_take_one_branch() {
    let body =
        "if exists button \"Accept\" {\n  note \"yes\"\n} else {\n  note \"no\"\n}\nnote \"after\"";
    let mut world = World::new(vec![el("button", "Accept")]);
    world.run(body);
    assert_eq!(world.approver.notes, ["yes", "after"]);
    let mut world = World::new(vec![]);
    world.run(body);
    assert_eq!(world.approver.notes, ["no", "after"]);
}

#[test]
fn conditions_short_circuit() {
    let presence = |world: &World| -> Vec<String> {
        world
            .page
            .observed
            .iter()
            .filter_map(|q| match q {
                Query::Exists { target } => Some(target.to_string()),
                _ => None,
            })
            .collect()
    };
    let mut world = World::new(vec![el("button", "B")]);
    world.run("if exists button \"A\" and exists button \"B\" {\n  note \"both\"\n}");
    assert_eq!(presence(&world), ["button \"A\""]);
    assert!(world.approver.notes.is_empty());

    let mut world = World::new(vec![el("button", "A")]);
    world.run("if exists button \"A\" or exists button \"B\" {\n  note \"one\"\n}");
    assert_eq!(presence(&world), ["button \"A\""]);
    assert_eq!(world.approver.notes, ["one"]);

    let mut world = World::new(vec![el("button", "B")]);
    world.run("if not exists button \"A\" and (exists button \"B\" or exists button \"C\") {\n  note \"ok\"\n}");
    assert_eq!(presence(&world), ["button \"A\"", "button \"B\""]);
    assert_eq!(world.approver.notes, ["ok"]);
}

#[test]
fn comparisons_on_page_values() {
    let mut world = World::new(vec![
        el("heading", "Done").text("Thank you for your order"),
        el("row", "r1"),
        el("row", "r2"),
    ]);
    let run = world.run(
        r#"let n = count of row
assert n < 3
assert n >= 2
assert n == 2
assert n != 3
assert text of heading "Done" contains "Thank you"
assert not (text of heading "Done" contains "thank you")
assert url matches "https://shop.example/*"
assert title == "Shop"
return n"#,
    );
    assert_eq!(
        run.result.outcome,
        RunOutcome::Completed,
        "{:?}",
        run.result
    );
    assert_eq!(run.result.value, Value::Number(2.0));
}

#[test]
fn a_false_assertion_fails_the_run() {
    let mut world = World::new(vec![]);
    let run = world.run("assert url matches \"https://pay.example/*\"\nnote \"never\"");
    assert_eq!(run.error_code().as_deref(), Some("assert-failed"));
    assert_eq!(
        run.result.error.as_ref().unwrap().message,
        "step 1: the assertion does not hold"
    );
    assert!(world.approver.notes.is_empty());
}

#[test]
fn a_missing_record_field_is_a_type_error() {
    let mut world = World::new(vec![el("table", "R").table(vec![row(&[("name", "a")])])]);
    let run = world.run(
        "let rows = table table \"R\"\nfor each r in rows at most 3 {\n  note \"{r.price}\"\n}",
    );
    assert_eq!(run.error_code().as_deref(), Some("type"));
    assert_eq!(
        run.result.error.as_ref().unwrap().message,
        "step 3: `r` has no field `price`"
    );
}

#[test]
fn return_ends_the_run_with_its_value_and_the_end_gives_null() {
    let mut world = World::new(vec![]);
    let run = world.run("if exists button \"A\" {\n  return \"found\"\n}\nnote \"not found\"");
    assert_eq!(run.result.value, Value::Null);
    assert_eq!(world.approver.notes, ["not found"]);
    let mut world = World::new(vec![el("button", "A")]);
    let run = world.run("if exists button \"A\" {\n  return \"found\"\n}\nnote \"not found\"");
    assert_eq!(run.result.value, text("found"));
    assert!(world.approver.notes.is_empty());
    let mut world = World::new(vec![]);
    let run = world.run("note \"only\"");
    assert_eq!(run.result.outcome, RunOutcome::Completed);
    assert_eq!(run.result.value, Value::Null);
}

// ---- values, interpolation, data flow ----

#[test]
fn navigate_url_encodes_interpolated_values() {
    let mut world = World::new(vec![]);
    let run = world.run_with(
        "param query: text\nnavigate \"https://shop.example/search?q={query}\"",
        &[("query", text("a b&c"))],
    );
    assert_eq!(
        run.result.outcome,
        RunOutcome::Completed,
        "{:?}",
        run.result
    );
    assert_eq!(
        acts(&world),
        [Action::Navigate {
            url: "https://shop.example/search?q=a%20b%26c".into()
        }]
    );
    // The decision saw the destination, not the page's URL.
    assert_eq!(
        world.pep.calls_for(1)[0].url.as_deref(),
        Some("https://shop.example/search?q=a%20b%26c")
    );
}

#[test]
fn a_value_cannot_change_the_destination_origin() {
    let mut world = World::new(vec![]);
    world.run_with(
        "param path: text\nopen tab \"https://shop.example/{path}\"",
        &[("path", text("@evil.example/x?y#z"))],
    );
    assert_eq!(
        acts(&world),
        [Action::OpenTab {
            url: "https://shop.example/%40evil.example%2Fx%3Fy%23z".into()
        }]
    );
}

#[test]
fn params_take_defaults_and_are_type_checked() {
    let body = "param query: text = \"cable\"\nparam n: number = 2\nnote \"{query} x{n}\"";
    let mut world = World::new(vec![]);
    world.run(body);
    assert_eq!(world.approver.notes, ["cable x2"]);

    let checked = checked("param n: number\nnote \"{n}\"");
    let error = Machine::new(&checked, inputs()).unwrap_err();
    assert_eq!(error, RunError::MissingParam { name: "n".into() });
    assert_eq!(error.to_string(), "missing value for param `n`");

    let mut wrong = inputs();
    wrong.params.insert("n".into(), text("2"));
    let error = Machine::new(&checked, wrong).unwrap_err();
    assert_eq!(error.to_string(), "param `n` must be a number, got text");
    assert_eq!(error.code(), "param-type");

    let mut unknown = inputs();
    unknown.params.insert("n".into(), Value::Number(1.0));
    unknown.params.insert("m".into(), Value::Number(1.0));
    let error = Machine::new(&checked, unknown).unwrap_err();
    assert_eq!(error, RunError::UnknownParam { name: "m".into() });

    // run_sync reports the same before doing anything.
    let mut world = World::new(vec![]);
    let mut drivers = Drivers {
        page: &mut world.page,
        approver: &mut world.approver,
        pep: &world.pep,
        audit: &mut world.audit,
        jobs: &mut world.jobs,
    };
    let result = run_sync(&checked, inputs(), &mut drivers);
    assert_eq!(result.outcome, RunOutcome::Failed);
    assert_eq!(
        result.error.unwrap().error,
        RunError::MissingParam { name: "n".into() }
    );
    assert!(world.audit.events.is_empty());
}

#[test]
fn data_read_on_one_origin_and_written_to_another_carries_its_origin() {
    let mut world = World::new(vec![
        el("generic", "code").css("#code").text("X-123").origin(PAY),
        el("textbox", "Coupon"),
    ]);
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Once, ApprovalChoice::Once]);
    let run = world.run(
        r##"let code = text of css "#code" in frame "https://pay.example"
let copy = "{code}!"
fill textbox "Coupon" with copy
navigate "https://shop.example/apply?c={code}"
fill textbox "Coupon" with "plain""##,
    );
    assert_eq!(
        run.result.outcome,
        RunOutcome::Completed,
        "{:?}",
        run.result
    );
    assert_eq!(world.pep.calls_for(3)[0].read_origins, [PAY]);
    assert_eq!(world.pep.calls_for(4)[0].read_origins, [PAY]);
    assert!(world.pep.calls_for(5)[0].read_origins.is_empty());
    // The table PEP asks for the cross-origin fill and navigate (pay → shop), not the rest.
    let asked: Vec<usize> = world.approver.requests.iter().map(|r| r.step).collect();
    assert_eq!(asked, [3, 4]);
    assert_eq!(run.result.steps[2].approval, Some(Approval::Once));
}

#[test]
fn loop_items_and_fields_keep_the_origin_of_their_list() {
    let mut world = World::new(vec![
        el("table", "R")
            .origin(PAY)
            .table(vec![row(&[("code", "A1")])]),
        el("textbox", "Coupon"),
    ]);
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Once]);
    let run = world.run(
        r#"let rows = table table "R" in frame "https://pay.example"
for each r in rows at most 5 {
  fill textbox "Coupon" with r.code
}"#,
    );
    assert_eq!(
        run.result.outcome,
        RunOutcome::Completed,
        "{:?}",
        run.result
    );
    assert_eq!(world.pep.calls_for(3)[0].read_origins, [PAY]);
    assert_eq!(
        acts(&world),
        [Action::Fill {
            value: FillValue::Text { text: "A1".into() }
        }]
    );
}

#[test]
fn never_read_fields_are_denied_wherever_they_are_read() {
    for body in [
        "let p = value of textbox \"Password\"",
        "if value of textbox \"Password\" contains \"a\" {\n  note \"leak\"\n}",
        "fill textbox \"Name\" with value of textbox \"Password\"",
    ] {
        let mut world = World::new(vec![
            el("textbox", "Password")
                .value("hunter2")
                .field_kind("password"),
            el("textbox", "Name"),
        ]);
        let run = world.run(body);
        assert_eq!(run.error_code().as_deref(), Some("denied"), "{body}");
        assert!(
            !world
                .page
                .observed
                .iter()
                .any(|q| matches!(q, Query::Value { .. })),
            "{body}: the field was read"
        );
        assert!(world.page.acts.is_empty());
        let all = serde_json::to_string(&run.effects).unwrap();
        assert!(!all.contains("hunter2"));
    }
}

#[test]
fn secrets_never_appear_in_effects_audit_or_result() {
    const SECRET: &str = "4111-1111-SECRET-0042";
    let mut world = World::new(vec![
        el("textbox", "Card number")
            .origin(PAY)
            .field_kind("card-number"),
        el("button", "Pay").origin(PAY),
    ]);
    world
        .page
        .vault
        .insert("visa-personal".into(), SECRET.into());
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Once, ApprovalChoice::Once]);
    world.pep = TablePep::with(&[("fill", Outcome::Ask)]);
    let checked = checked(
        r#"secret card = "visa-personal"
fill textbox "Card number" in frame "https://pay.example" with card
submit button "Pay" in frame "https://pay.example"
return "paid""#,
    );
    let mut machine = Machine::new(&checked, inputs()).unwrap();
    let mut states = Vec::new();
    let mut run = Run {
        result: empty_result(),
        effects: Vec::new(),
        responses: Vec::new(),
    };
    let mut effect = machine.step(None);
    while !matches!(effect, Effect::Done(_)) {
        run.effects.push(effect.clone());
        let response = world.perform(machine.steps(), &effect);
        run.responses.push(response.clone().unwrap());
        effect = machine.step(response);
        states.push(serde_json::to_string(machine.state()).unwrap());
    }
    run.effects.push(effect.clone());
    let Effect::Done(result) = effect else {
        panic!()
    };
    assert_eq!(result.outcome, RunOutcome::Completed, "{result:?}");
    // The page got it: the actuator fetched it from the vault.
    assert_eq!(world.page.els[0].value, SECRET);
    let everything = [
        serde_json::to_string(&run.effects).unwrap(),
        serde_json::to_string(&run.responses).unwrap(),
        serde_json::to_string(&world.audit.events).unwrap(),
        serde_json::to_string(&*result).unwrap(),
        serde_json::to_string(&world.approver.requests).unwrap(),
        states.join("\n"),
        format!("{machine:?}"),
    ];
    for (i, text) in everything.iter().enumerate() {
        assert!(!text.contains(SECRET), "secret leaked in part {i}");
        assert!(!text.contains("SECRET"), "secret leaked in part {i}");
    }
    // What did travel: the names, and the mask.
    assert!(everything[0].contains("\"entry\":\"visa-personal\""));
    assert_eq!(world.approver.requests[0].values, [SECRET_MASK]);
}

// ---- errors from the page ----

#[test]
fn not_found_and_ambiguous_list_candidates() {
    let mut world = World::new(vec![el("button", "Buy now"), el("link", "Buy")]);
    let run = world.run("click button \"Buy\"");
    assert_eq!(run.error_code().as_deref(), Some("not-found"));
    let error = run.result.error.as_ref().unwrap();
    assert_eq!(
        error.error,
        RunError::NotFound {
            step: 1,
            target: "button \"Buy\"".into(),
            candidates: vec!["button \"Buy now\" #1".into()],
        }
    );
    assert_eq!(error.message, "step 1: no element matches `button \"Buy\"`");
    assert_eq!(
        error.help.as_deref(),
        Some("check the role and name against the candidates, or wait for the element first")
    );
    assert!(world.page.acts.is_empty());

    let mut world = World::new(vec![el("button", "Delete"), el("button", "Delete")]);
    let run = world.run("click button \"Delete\"");
    let error = run.result.error.as_ref().unwrap();
    assert_eq!(
        error.error,
        RunError::Ambiguous {
            step: 1,
            target: "button \"Delete\"".into(),
            candidates: vec!["button \"Delete\" #1".into(), "button \"Delete\" #2".into()],
        }
    );
    assert_eq!(
        error.message,
        "step 1: `button \"Delete\"` matches 2 elements"
    );
    assert!(world.page.acts.is_empty());
    // `nth` picks one.
    let mut world = World::new(vec![el("button", "Delete"), el("button", "Delete")]);
    let run = world.run("click button \"Delete\" nth 2");
    assert_eq!(run.result.outcome, RunOutcome::Completed);
}

#[test]
fn an_action_without_effect_fails_with_no_effect() {
    let mut world = World::new(vec![el("button", "Dead").inert(), el("button", "Next")]);
    let run = world.run("click button \"Dead\"\nclick button \"Next\"");
    assert_eq!(run.error_code().as_deref(), Some("no-effect"));
    assert_eq!(
        run.result.error.as_ref().unwrap().message,
        "step 1 had no effect on the page"
    );
    assert_eq!(world.page.acts.len(), 1);
    // The completion after the act records the failure.
    let trace = run.trace();
    let act = trace.iter().position(|t| t == "act:1:click").unwrap();
    assert_eq!(trace[act + 1], "audit:completed:1");
    let AuditKind::Completed(done) = &world.audit.events[2].kind else {
        panic!()
    };
    assert_eq!(
        done.result.as_ref().unwrap().error.as_deref(),
        Some("no-effect")
    );
}

#[test]
fn an_element_swapped_after_approval_is_not_acted_on() {
    let mut world = World::new(vec![el("button", "Buy")]);
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Once]);
    world.pep = TablePep::with(&[("click", Outcome::Ask)]);
    world.page.swap_before_act = Some("Buy".into());
    let run = world.run("click button \"Buy\"");
    assert_eq!(run.error_code().as_deref(), Some("act-failed"));
    assert_eq!(
        run.result.error.as_ref().unwrap().message,
        "step 1 could not act: the element changed since it was resolved"
    );
    assert!(world.page.acts.is_empty());
}

#[test]
fn filling_the_value_a_field_already_has_has_no_effect() {
    let mut world = World::new(vec![el("textbox", "Name").value("Ada")]);
    let run = world.run("fill textbox \"Name\" with \"Ada\"");
    assert_eq!(run.error_code().as_deref(), Some("no-effect"));
}

#[test]
fn reads_of_attributes_titles_and_urls() {
    let mut world = World::new(vec![
        el("link", "Terms").attr("href", "/terms"),
        el("button", "Go").on_click(OnClick::Navigate(format!("{SHOP}/next"))),
    ]);
    let run = world.run(
        r#"let href = attribute "href" of link "Terms"
let missing = attribute "target" of link "Terms"
click button "Go"
let here = url
let heading = title
return here"#,
    );
    assert_eq!(
        run.result.outcome,
        RunOutcome::Completed,
        "{:?}",
        run.result
    );
    assert_eq!(run.result.value, text("https://shop.example/next"));
    let kinds: Vec<String> = run
        .trace()
        .into_iter()
        .filter(|t| t.starts_with("observe:") && t != "observe:url")
        .collect();
    assert_eq!(
        kinds,
        ["observe:attribute", "observe:attribute", "observe:title"]
    );
    // A read's completion names the element it read and hashes what it saw.
    let AuditKind::Completed(read) = &world.audit.events[2].kind else {
        panic!()
    };
    assert_eq!(read.element.as_ref().unwrap().name, "Terms");
    assert_eq!(read.observation_hash.as_ref().unwrap().len(), 64);
}

#[test]
fn waits_time_out_with_their_own_error() {
    let mut world = World::new(vec![]);
    let run = world.run("wait for button \"Late\" to be visible timeout 2s");
    assert_eq!(run.error_code().as_deref(), Some("wait-timed-out"));
    assert_eq!(
        run.result.error.as_ref().unwrap().message,
        "step 1: the wait timed out after 2000 ms"
    );
    let mut world = World::new(vec![]);
    let run =
        world.run("wait for url matches \"https://shop.example/*\"\nwait for idle\nwait 300ms");
    assert_eq!(run.result.outcome, RunOutcome::Completed);
    assert_eq!(
        world.page.waits,
        [
            (
                WaitFor::Url {
                    glob: "https://shop.example/*".into()
                },
                DEFAULT_WAIT_TIMEOUT_MS
            ),
            (WaitFor::Idle, DEFAULT_WAIT_TIMEOUT_MS),
            (WaitFor::Pause, 300),
        ]
    );
}

// ---- people and jobs ----

#[test]
fn handoff_continues_or_cancels() {
    let mut world = World::new(vec![]);
    world.pep = TablePep::with(&[("handoff", Outcome::Ask)]);
    let run = world.run("handoff \"Please sign in\"\nnote \"back\"");
    assert_eq!(run.result.outcome, RunOutcome::Completed);
    assert_eq!(world.approver.notes, ["Please sign in", "back"]);
    // The handoff is the consent: no separate approval dialog.
    assert!(world.approver.requests.is_empty());
    assert_eq!(run.result.steps[0].approval, Some(Approval::Once));

    let mut world = World::new(vec![]);
    world.approver.handoffs.push_back(HandoffChoice::Abort);
    let run = world.run("handoff \"Please sign in\"\nnote \"never\"");
    assert_eq!(run.result.outcome, RunOutcome::Cancelled);
    assert_eq!(run.error_code().as_deref(), Some("cancelled"));
    assert_eq!(world.approver.notes, ["Please sign in"]);
}

#[test]
fn jobs_get_their_input_and_give_tainted_output() {
    let mut world = World::new(vec![
        el("table", "R")
            .table(vec![row(&[("price", "2")])])
            .origin(PAY),
        el("textbox", "Total"),
    ]);
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Once, ApprovalChoice::Once]);
    let run = world.run(
        "let rows = table table \"R\" in frame \"https://pay.example\"\nlet total = job \"python3\" sandbox microvm timeout 30s memory 256MB input rows <<<\nprint(1)\n>>>\nfill textbox \"Total\" with total",
    );
    assert_eq!(
        run.result.outcome,
        RunOutcome::Completed,
        "{:?}",
        run.result
    );
    let job = &world.jobs.jobs[0];
    assert_eq!(job.runtime, "python3");
    assert_eq!(job.timeout_ms, Some(30_000));
    assert_eq!(job.memory_bytes, Some(256 * 1024 * 1024));
    assert_eq!(job.code, "print(1)");
    assert_eq!(job.input, Some(Value::List(vec![row(&[("price", "2")])])));
    assert_eq!(world.pep.calls_for(2)[0].read_origins, [PAY]);
    assert_eq!(world.pep.calls_for(3)[0].read_origins, [PAY]);
    assert_eq!(
        acts(&world),
        [Action::Fill {
            value: FillValue::Text {
                text: r#"[{"price":"2"}]"#.into()
            }
        }]
    );

    let mut world = World::new(vec![]);
    world.jobs.fail = Some("exit status 1".into());
    let run = world.run("job \"sh\" <<<\nfalse\n>>>");
    assert_eq!(run.error_code().as_deref(), Some("job-failed"));
    assert_eq!(
        run.result.error.as_ref().unwrap().message,
        "step 1: the job failed: exit status 1"
    );
}

// ---- driving the machine by hand ----

#[test]
fn responses_that_do_not_answer_the_pending_effect_are_refused() {
    // A response before anything was asked.
    let mut m = machine("click button \"A\"");
    let effect = m.step(Some(Response::Noted));
    let Effect::Done(result) = effect else {
        panic!("{effect:?}")
    };
    assert_eq!(
        result.error.unwrap().error,
        RunError::BadResponse {
            expected: "no response".into(),
            got: "noted".into()
        }
    );
    // Later calls keep answering done.
    assert!(matches!(m.step(None), Effect::Done(_)));

    // No response while one is pending.
    let mut m = machine("click button \"A\"");
    assert!(matches!(m.step(None), Effect::AuditWrite { .. }));
    let effect = m.step(None);
    let result = finish(&mut m, effect);
    assert_eq!(
        result.error.unwrap().message,
        "bad response: expected audit-written or audit-failed, got no response"
    );

    // A response of the wrong kind: an approval where a decision is due.
    let mut m = machine("click button \"A\"");
    m.step(None);
    m.step(Some(Response::AuditWritten));
    m.step(Some(Response::Value {
        value: Value::Text(format!("{SHOP}/")),
    }));
    let resolved = m.step(Some(Response::Resolved {
        element: bridle_executor::decision::ElementFacts {
            role: "button".into(),
            name: "A".into(),
            frame_origin: SHOP.into(),
            fingerprint: "f".into(),
            field_kind: None,
        },
    }));
    assert!(matches!(resolved, Effect::Decide { .. }), "{resolved:?}");
    let effect = m.step(Some(Response::Approval {
        choice: ApprovalChoice::Once,
    }));
    // The caller cannot be trusted any more: no completion for the step, only the run's end.
    assert!(
        matches!(&effect, Effect::AuditWrite { event } if matches!(event.kind, AuditKind::RunEnded { .. })),
        "{effect:?}"
    );
    let result = finish(&mut m, effect);
    assert_eq!(result.outcome, RunOutcome::Failed);
    assert_eq!(
        result.error.unwrap().message,
        "bad response: expected decision, got approval"
    );
    // The step in flight is recorded as failed; nothing acted.
    assert_eq!(result.steps[0].error.as_deref(), Some("bad-response"));
}

#[test]
fn observations_of_the_wrong_shape_are_refused() {
    let mut world = World::new(vec![el("button", "A")]);
    let mut m = machine("if exists button \"A\" {\n  note \"x\"\n}");
    let mut effect = m.step(None);
    loop {
        match &effect {
            Effect::Observe {
                query: Query::Exists { .. },
                ..
            } => break,
            Effect::Done(r) => panic!("{r:?}"),
            _ => {
                let response = world.perform(m.steps(), &effect);
                effect = m.step(response);
            }
        }
    }
    let effect = m.step(Some(Response::Value { value: text("yes") }));
    let result = finish(&mut m, effect);
    assert_eq!(
        result.error.unwrap().message,
        "bad response: expected a bool, got text"
    );
}

#[test]
fn an_element_outside_the_named_frame_is_refused() {
    let mut world = World::new(vec![el("textbox", "Card").origin(PAY)]);
    world.page.forge_frame = Some("https://evil.example".into());
    let run = world.run("fill textbox \"Card\" in frame \"https://pay.example\" with \"x\"");
    assert_eq!(run.error_code().as_deref(), Some("bad-response"));
    assert_eq!(
        run.result.error.as_ref().unwrap().message,
        "bad response: expected an element in frame `https://pay.example`, got one in `https://evil.example`"
    );
    assert!(world.page.acts.is_empty());
}

#[test]
fn cancel_ends_the_run_and_records_the_step() {
    let mut world = World::new(vec![el("button", "A")]);
    world.pep = TablePep::with(&[("click", Outcome::Ask)]);
    let mut m = machine("click button \"A\"");
    let mut effect = m.step(None);
    while !matches!(effect, Effect::Approve { .. }) {
        let response = world.perform(m.steps(), &effect);
        effect = m.step(response);
    }
    let effect = m.cancel();
    let Effect::AuditWrite { event } = &effect else {
        panic!("{effect:?}")
    };
    let AuditKind::Completed(step) = &event.kind else {
        panic!()
    };
    assert_eq!(
        step.result.as_ref().unwrap().error.as_deref(),
        Some("cancelled")
    );
    let effect = m.step(Some(Response::AuditWritten));
    assert!(
        matches!(&effect, Effect::AuditWrite { event } if matches!(event.kind, AuditKind::RunEnded { .. }))
    );
    let Effect::Done(result) = m.step(Some(Response::AuditWritten)) else {
        panic!()
    };
    assert_eq!(result.outcome, RunOutcome::Cancelled);
    assert!(world.page.acts.is_empty());
}

#[test]
fn cancelling_while_an_act_is_in_flight_says_interrupted() {
    let mut world = World::new(vec![el("button", "A")]);
    let mut m = machine("click button \"A\"");
    let mut effect = m.step(None);
    while !matches!(effect, Effect::Act { .. }) {
        let response = world.perform(m.steps(), &effect);
        effect = m.step(response);
    }
    let effect = m.cancel();
    let result = finish(&mut m, effect);
    assert_eq!(
        result.error.unwrap().message,
        "step 1 was interrupted while it acted; it may or may not have happened"
    );
}

fn navigation_blocked() -> RunError {
    RunError::NavigationBlocked {
        step: None,
        what: "a server redirect".into(),
        origin: "https://evil.example".into(),
        reason: "which is not among the script's origins".into(),
    }
}

#[test]
fn abort_before_an_act_fails_the_started_step_with_the_error_and_acts_on_nothing() {
    let mut world = World::new(vec![el("button", "A")]);
    let mut m = machine("click button \"A\"");
    let mut effect = m.step(None);
    while !matches!(effect, Effect::Act { .. }) {
        let response = world.perform(m.steps(), &effect);
        effect = m.step(response);
    }
    // The act was written ahead but not sent: the step gets a failed result, not `interrupted`.
    let effect = m.abort(navigation_blocked());
    let Effect::AuditWrite { event } = &effect else {
        panic!("{effect:?}")
    };
    let AuditKind::Completed(step) = &event.kind else {
        panic!("{event:?}")
    };
    assert_eq!(
        step.result.as_ref().unwrap().error.as_deref(),
        Some("navigation-blocked")
    );
    let result = finish(&mut m, effect);
    assert_eq!(result.outcome, RunOutcome::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.error.code(), "navigation-blocked");
    assert_eq!(error.error.step(), Some(1));
    assert_eq!(
        error.message,
        "the run was stopped: a server redirect to `https://evil.example`, which is not among the script's origins"
    );
    assert!(world.page.acts.is_empty());
}

#[test]
fn abort_while_the_run_end_is_being_written_keeps_that_write() {
    let mut world = World::new(vec![el("button", "A")]);
    let mut m = machine("click button \"A\"");
    let mut effect = m.step(None);
    while !matches!(&effect, Effect::AuditWrite { event } if matches!(event.kind, AuditKind::RunEnded { .. }))
    {
        let response = world.perform(m.steps(), &effect);
        effect = m.step(response);
    }
    assert_eq!(m.abort(navigation_blocked()), effect);
    let result = finish(&mut m, effect);
    assert_eq!(result.outcome, RunOutcome::Completed);
}

#[test]
fn abort_after_the_run_is_over_changes_nothing() {
    let mut world = World::new(vec![el("button", "A")]);
    let mut m = machine("click button \"A\"");
    let mut effect = m.step(None);
    while !matches!(effect, Effect::Done(_)) {
        let response = world.perform(m.steps(), &effect);
        effect = m.step(response);
    }
    let Effect::Done(result) = m.abort(navigation_blocked()) else {
        panic!()
    };
    assert_eq!(result.outcome, RunOutcome::Completed);
}

// ---- saving and resuming ----

#[test]
fn a_run_resumed_after_an_approval_finishes_like_an_uninterrupted_one() {
    let body = r#"let rows = table table "R"
for each r in rows at most 5 {
  click button "Add"
  note "{r.n}"
}
return "ok""#;
    let els = vec![
        el("table", "R").table(vec![row(&[("n", "1")]), row(&[("n", "2")])]),
        el("button", "Add"),
    ];
    let setup = || {
        let mut world = World::new(els.clone());
        world.pep = TablePep::with(&[("click", Outcome::Ask)]);
        world.approver = ScriptedApprover::answering(&[ApprovalChoice::Script]);
        world
    };
    let mut straight = setup();
    let expected = straight.run(body);

    let checked = checked(body);
    let mut world = setup();
    let mut m = Machine::new(&checked, inputs()).unwrap();
    let mut effect = m.step(None);
    let mut effects = Vec::new();
    // Run until the approval has been answered, then "restart the service worker".
    loop {
        effects.push(effect.clone());
        let approving = matches!(effect, Effect::Approve { .. });
        let response = world.perform(m.steps(), &effect);
        effect = m.step(response);
        if approving {
            break;
        }
    }
    let saved = serde_json::to_string(m.state()).unwrap();
    drop(m);
    let state: MachineState = serde_json::from_str(&saved).unwrap();
    let mut resumed = Machine::resume(&checked, state).unwrap();
    // The effect that was pending when the state was saved is issued again.
    let again = resumed.recover();
    assert_eq!(again, effect);
    let mut run = Run {
        result: empty_result(),
        effects,
        responses: Vec::new(),
    };
    world.drive_from(&mut resumed, again, &mut run);
    assert_eq!(run.result, expected.result);
    assert_eq!(run.effects, expected.effects);
    assert_eq!(world.page.acts, straight.page.acts);
    assert_eq!(world.audit.events, straight.audit.events);
    assert_eq!(world.approver.requests.len(), 1);
}

#[test]
fn resuming_with_an_act_in_flight_ends_with_interrupted() {
    let checked = checked("click button \"A\"\nnote \"never\"");
    let mut world = World::new(vec![el("button", "A")]);
    let mut m = Machine::new(&checked, inputs()).unwrap();
    let mut effect = m.step(None);
    while !matches!(effect, Effect::Act { .. }) {
        let response = world.perform(m.steps(), &effect);
        effect = m.step(response);
    }
    let saved = serde_json::to_value(m.state()).unwrap();
    let mut resumed = Machine::resume(&checked, serde_json::from_value(saved).unwrap()).unwrap();
    let effect = resumed.recover();
    let Effect::AuditWrite { event } = &effect else {
        panic!("{effect:?}")
    };
    let AuditKind::Completed(step) = &event.kind else {
        panic!()
    };
    assert_eq!(
        step.result.as_ref().unwrap().error.as_deref(),
        Some("interrupted")
    );
    let mut run = Run {
        result: empty_result(),
        effects: Vec::new(),
        responses: Vec::new(),
    };
    world.drive_from(&mut resumed, effect, &mut run);
    assert_eq!(run.error_code().as_deref(), Some("interrupted"));
    assert!(world.page.acts.is_empty());
    assert!(world.approver.notes.is_empty());
}

#[test]
fn a_saved_state_only_resumes_its_own_script() {
    let one = checked("note \"one\"");
    let two = checked("note \"two\"");
    let mut m = Machine::new(&one, inputs()).unwrap();
    m.step(None);
    let state = m.state().clone();
    let error = Machine::resume(&two, state.clone()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the saved run cannot be resumed: it belongs to another script"
    );
    let mut json = serde_json::to_value(&state).unwrap();
    json["format"] = json!(99);
    let error = Machine::resume(&one, serde_json::from_value(json).unwrap()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the saved run cannot be resumed: it was saved by another version of the engine"
    );
    let mut json = serde_json::to_value(&state).unwrap();
    json["pending"] = json!(null);
    let error = Machine::resume(&one, serde_json::from_value(json).unwrap()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the saved run cannot be resumed: its pending effect does not match its position"
    );
    let mut json = serde_json::to_value(&state).unwrap();
    json["pc"] = json!(10_000);
    let error = Machine::resume(&one, serde_json::from_value(json).unwrap()).unwrap_err();
    assert_eq!(error.code(), "resume");
}

// ---- limits ----

#[test]
fn the_effect_limit_holds_exactly() {
    assert_eq!(EngineLimits::default().max_effects, MAX_EFFECTS_PER_RUN);
    let body = "let rows = table table \"R\"\nfor each r in rows at most 3 {\n  note \"{r.n}\"\n}";
    let els = vec![el("table", "R").table(vec![row(&[("n", "1")]); 3])];
    let mut world = World::new(els.clone());
    let full = world.run(body);
    assert_eq!(full.result.outcome, RunOutcome::Completed);
    // Every effect but the final `done`, the failure audit and the run end counts.
    let needed = (full.effects.len() - 1) as u64;
    let with_limit = |max: u64| {
        let mut world = World::new(els.clone());
        let mut limited = inputs();
        limited.limits.max_effects = max;
        world.run_checked(&checked(body), limited)
    };
    let at = with_limit(needed);
    assert_eq!(at.result.outcome, RunOutcome::Completed);
    let under = with_limit(needed - 2);
    assert_eq!(under.error_code().as_deref(), Some("limit-exceeded"));
    assert_eq!(
        under.result.error.as_ref().unwrap().message,
        format!("the run exceeded the limit `max_effects` of {}", needed - 2)
    );
}

#[test]
fn the_value_size_limit_holds_exactly() {
    assert_eq!(EngineLimits::default().max_value_bytes, MAX_VALUE_BYTES);
    let body = "let t = text of css \"#t\"\nreturn t";
    let run_with_text = |len: usize, max: usize| {
        let mut world = World::new(vec![el("generic", "t").css("#t").text(&"x".repeat(len))]);
        let mut limited = inputs();
        limited.limits.max_value_bytes = max;
        world.run_checked(&checked(body), limited)
    };
    // A text of n characters is n + 2 bytes of JSON.
    let at = run_with_text(98, 100);
    assert_eq!(at.result.outcome, RunOutcome::Completed);
    let over = run_with_text(99, 100);
    assert_eq!(over.error_code().as_deref(), Some("limit-exceeded"));
    assert_eq!(
        over.result.error.as_ref().unwrap().message,
        "the run exceeded the limit `max_value_bytes` of 100"
    );
}

#[test]
fn interpolation_cannot_grow_a_value_past_the_limit() {
    let body = "let a = text of css \"#t\"\nlet b = \"{a}{a}\"\nreturn b";
    let run_with = |max: usize| {
        let mut world = World::new(vec![el("generic", "t").css("#t").text(&"x".repeat(40))]);
        let mut limited = inputs();
        limited.limits.max_value_bytes = max;
        world.run_checked(&checked(body), limited)
    };
    assert_eq!(run_with(80).result.outcome, RunOutcome::Completed);
    let over = run_with(79);
    assert_eq!(over.error_code().as_deref(), Some("limit-exceeded"));
    assert_eq!(over.result.error.as_ref().unwrap().error.step(), None);
    assert_eq!(
        over.result.steps[1].error.as_deref(),
        Some("limit-exceeded")
    );
}

#[test]
fn the_instruction_budget_between_effects_holds_exactly() {
    assert_eq!(
        EngineLimits::default().max_instructions_per_effect,
        MAX_INSTRUCTIONS_PER_EFFECT
    );
    // An empty loop body runs two instructions per item without an effect: after the loop
    // head's audit write come 2 × 5 + 2 instructions before the next step begins.
    let body = "let rows = table table \"R\"\nfor each r in rows at most 5 {\n}\nnote \"x\"";
    let run_with = |max: u64| {
        let mut world = World::new(vec![el("table", "R").table(vec![row(&[]); 5])]);
        let mut limited = inputs();
        limited.limits.max_instructions_per_effect = max;
        world.run_checked(&checked(body), limited)
    };
    assert_eq!(run_with(13).result.outcome, RunOutcome::Completed);
    let over = run_with(12);
    assert_eq!(over.error_code().as_deref(), Some("limit-exceeded"));
    assert_eq!(
        over.result.error.as_ref().unwrap().message,
        "the run exceeded the limit `max_instructions_per_effect` of 12"
    );
}

// ---- the result's shape ----

#[test]
fn run_result_json_shape() {
    let mut world = World::new(vec![el("button", "Add")]);
    world.pep = TablePep::with(&[("click", Outcome::Ask)]);
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Once]);
    let run = world.run("click button \"Add\"\nclick button \"Gone\"");
    let json = serde_json::to_value(&run.result).unwrap();
    assert_eq!(
        json,
        json!({
            "outcome": "failed",
            "value": null,
            "error": {
                "code": "not-found",
                "step": 2,
                "target": "button \"Gone\"",
                "candidates": ["button \"Add\" #1"],
                "message": "step 2: no element matches `button \"Gone\"`",
                "help": "check the role and name against the candidates, or wait for the element first"
            },
            "steps": [
                {
                    "index": 1, "line": 4, "verb": "click", "decision": "ask",
                    "reasons": ["ask (policy): table says `click` is ask"],
                    "approval": "once", "ok": true, "error": null
                },
                {
                    "index": 2, "line": 5, "verb": "click", "decision": null,
                    "reasons": [], "approval": null, "ok": false, "error": "not-found"
                }
            ],
            "warnings": [],
            "steps_done": 1
        })
    );
    let back: RunResult = serde_json::from_value(json).unwrap();
    assert_eq!(back, run.result);
}

#[test]
fn effects_and_responses_round_trip_through_json() {
    let mut world = World::new(vec![
        el("table", "R").table(vec![row(&[("n", "1")])]),
        el("button", "Add"),
        el("textbox", "Q"),
    ]);
    world.pep = TablePep::with(&[("click", Outcome::Ask)]);
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Once]);
    let run = world.run(
        "let rows = table table \"R\"\nfill textbox \"Q\" with \"x\"\nclick button \"Add\"\nwait 10ms\nnote \"n\"\nreturn rows",
    );
    assert_eq!(
        run.result.outcome,
        RunOutcome::Completed,
        "{:?}",
        run.result
    );
    for effect in &run.effects {
        let json = serde_json::to_string(effect).unwrap();
        let back: Effect = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, effect, "{json}");
    }
    for response in &run.responses {
        let json = serde_json::to_string(response).unwrap();
        let back: Response = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, response, "{json}");
    }
    assert_eq!(
        serde_json::to_value(&run.effects[1]).unwrap(),
        json!({"effect": "observe", "step": 1, "query": {"kind": "url"}})
    );
    assert_eq!(
        serde_json::to_value(&run.result.value).unwrap(),
        json!([{"n": "1"}])
    );
}

// ---- the signed audit log ----

#[test]
fn runs_write_a_signed_log_that_verifies() {
    use bridle_executor::audit::{verify_log, AuditWriter, KeyPin, MemoryAuditStore, Timestamp};
    let signer = bridle_executor::ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let mut writer = AuditWriter::open(
        MemoryAuditStore::new(),
        Timestamp::new(FixedClock.now()).unwrap(),
        &signer,
    )
    .unwrap();
    let els = || {
        vec![
            el("button", "Add"),
            el("generic", "price").css("#price").text("20"),
            el("table", "R").table(vec![row(&[("n", "1")]), row(&[("n", "2")])]),
            el("textbox", "Password").field_kind("password"),
        ]
    };
    // Completed, with approvals for the whole script, reads and notes.
    let mut world = World::new(els());
    world.pep = TablePep::with(&[("click", Outcome::Ask)]);
    world.approver = ScriptedApprover::answering(&[ApprovalChoice::Script]);
    let run = run_into_log(
        &mut world,
        "let rows = table table \"R\"\nfor each r in rows at most 5 {\n  click button \"Add\"\n}\nlet p = text of css \"#price\"\nnote \"{p}\"",
        &mut writer,
        &signer,
    );
    assert_eq!(
        run.result.outcome,
        RunOutcome::Completed,
        "{:?}",
        run.result
    );
    // Denied by the PEP, not approved, not found, never-read: each ends its run cleanly.
    for (body, code, pep, choices) in [
        ("click button \"Add\"", "denied", Outcome::Deny, vec![]),
        (
            "click button \"Add\"",
            "not-approved",
            Outcome::Ask,
            vec![ApprovalChoice::Closed],
        ),
        ("click button \"Gone\"", "not-found", Outcome::Allow, vec![]),
    ] {
        let mut world = World::new(els());
        world.pep = TablePep::with(&[("click", pep)]);
        world.approver = ScriptedApprover::answering(&choices);
        let run = run_into_log(&mut world, body, &mut writer, &signer);
        assert_eq!(run.error_code().as_deref(), Some(code));
    }
    let mut world = World::new(els());
    let run = run_into_log(
        &mut world,
        "let p = value of textbox \"Password\"",
        &mut writer,
        &signer,
    );
    assert_eq!(run.error_code().as_deref(), Some("denied"));

    let log = writer.store().export().unwrap();
    let report = match verify_log(log.as_bytes(), &KeyPin::PublicKey(signer.verifying_key())) {
        Ok(report) => report,
        Err(error) => panic!("{error}\n{log}"),
    };
    assert!(report.open_runs.is_empty());
    assert!(report.open_steps.is_empty());
    assert_eq!(report.tally.runs, 5);
    // The first run: table, for each, 2 clicks, let, note = 6 steps; then two refused
    // clicks and one refused read (the not-found click never reached a decision).
    assert_eq!(report.tally.steps, 9);
    assert_eq!(report.tally.deny, 2);
    assert!(!log.contains("hunter2"));
}
