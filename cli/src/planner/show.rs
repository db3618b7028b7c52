//! Human-readable lines for the planner's events: the step table with decisions, approvals,
//! results with the checker's diagnostics. Shared by `planner serve` and `planner run`.
//!
//! Everything here reads JSON leniently (the instance may add fields, and may send odd values):
//! a missing or odd field prints as `?`, never fails.

use serde_json::Value;

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("?")
}

fn number(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_u64)
        .map_or_else(|| "?".to_owned(), |n| n.to_string())
}

/// Keeps one printed value to a line of sane length; the full value is in `--json` output.
fn clip(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut cut: String = one_line.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

fn reasons(v: &Value) -> String {
    match v.get("reasons").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list
            .iter()
            .map(|r| r.as_str().map_or_else(|| r.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join("; "),
        _ => String::new(),
    }
}

/// The plan as a table: one row per step with its decision, and its reasons below it.
pub fn plan_table(plan: &Value) -> Vec<String> {
    let Some(steps) = plan.as_array() else {
        return vec!["  (no plan)".to_owned()];
    };
    let mut lines = vec![format!(
        "  {:>4}  {:>4}  {:<10}  {:<6}  {:<8}  {}",
        "step", "line", "verb", "risk", "decision", "text"
    )];
    for step in steps {
        lines.push(format!(
            "  {:>4}  {:>4}  {:<10}  {:<6}  {:<8}  {}",
            number(step, "index"),
            number(step, "line"),
            clip(text(step, "verb"), 10),
            clip(text(step, "risk"), 6),
            clip(text(step, "decision"), 8),
            clip(text(step, "text"), 80)
        ));
        let why = reasons(step);
        if !why.is_empty() {
            lines.push(format!(
                "  {:>4}  {:>4}  because: {}",
                "",
                "",
                clip(&why, 200)
            ));
        }
    }
    lines
}

/// One step record: what ran and how it was decided.
fn step_line(record: &Value) -> String {
    let mut line = format!(
        "step {} (line {}) {}: {}",
        number(record, "index"),
        number(record, "line"),
        clip(text(record, "verb"), 12),
        record
            .get("decision")
            .and_then(Value::as_str)
            .unwrap_or("not decided")
    );
    if let Some(approval) = record.get("approval").and_then(Value::as_str) {
        line.push_str(&format!(", approval {approval}"));
    }
    match record.get("ok").and_then(Value::as_bool) {
        Some(true) => line.push_str(", ok"),
        Some(false) => line.push_str(", not ok"),
        None => {}
    }
    if let Some(error) = record.get("error").and_then(Value::as_str) {
        line.push_str(&format!(": {}", clip(error, 200)));
    }
    let why = reasons(record);
    if !why.is_empty() {
        line.push_str(&format!(" (because: {})", clip(&why, 200)));
    }
    line
}

/// The run's result: the outcome, the value or error, and why it was refused if it was.
pub fn result_lines(result: &Value) -> Vec<String> {
    let mut lines = vec![format!("outcome: {}", text(result, "outcome"))];
    if let Some(steps) = result.get("steps_done").and_then(Value::as_u64) {
        lines.push(format!("  steps done: {steps}"));
    }
    if let Some(value) = result.get("value").filter(|v| !v.is_null()) {
        lines.push(format!("  value: {}", clip(&value.to_string(), 400)));
    }
    if let Some(error) = result.get("error").filter(|v| v.is_object()) {
        lines.push(format!(
            "  error: {}: {}",
            text(error, "code"),
            clip(text(error, "message"), 400)
        ));
        if let Some(help) = error.get("help").and_then(Value::as_str) {
            lines.push(format!("    help: {}", clip(help, 400)));
        }
    }
    if let Some(token) = result.get("token").filter(|t| t.is_object()) {
        if token.get("valid").and_then(Value::as_bool) == Some(false) {
            lines.push(format!(
                "  token refused: {}: {}",
                token.get("code").and_then(Value::as_str).unwrap_or("?"),
                clip(
                    token.get("error").and_then(Value::as_str).unwrap_or(""),
                    400
                )
            ));
        }
    }
    if let Some(diagnostics) = result
        .pointer("/script/diagnostics")
        .and_then(Value::as_array)
    {
        for d in diagnostics {
            lines.push(format!(
                "  script line {}:{} {}: {}",
                number(d, "line"),
                number(d, "column"),
                text(d, "code"),
                clip(text(d, "message"), 400)
            ));
            if let Some(help) = d.get("help").and_then(Value::as_str) {
                lines.push(format!("    help: {}", clip(help, 400)));
            }
        }
    }
    if let Some(warnings) = result.get("warnings").and_then(Value::as_array) {
        for w in warnings {
            lines.push(format!(
                "  warning: {}",
                clip(w.as_str().unwrap_or(&w.to_string()), 400)
            ));
        }
    }
    lines
}

/// The lines for one planner event (`docs/planner.md#events`), each prefixed with its run.
pub fn event_lines(event: &Value) -> Vec<String> {
    let run = event.get("run").and_then(Value::as_str);
    let prefix = match (run, event.get("name").and_then(Value::as_str)) {
        (Some(run), Some(name)) => format!("run {run} ({}): ", clip(name, 60)),
        (Some(run), None) => format!("run {run}: "),
        (None, Some(name)) => format!("{}: ", clip(name, 60)),
        (None, None) => String::new(),
    };
    let kind = text(event, "type");
    let mut lines = match kind {
        "listening" => vec![format!("listening on {}", text(event, "listening"))],
        "connected" => vec![format!(
            "instance connected: {} ({}, extension {})",
            text(event, "instance"),
            text(event, "browser"),
            text(event, "extension")
        )],
        "disconnected" => vec![format!(
            "instance disconnected: {}",
            text(event, "instance")
        )],
        "warning" => vec![format!("warning: {}", clip(text(event, "message"), 400))],
        "queued" => vec!["queued".to_owned()],
        "waiting" => vec![clip(text(event, "message"), 400)],
        "sent" => vec![
            format!(
                "sent to {} with token {} (script {}, expires {})",
                text(event, "instance"),
                text(event, "jti"),
                text(event, "script"),
                text(event, "exp")
            ),
            format!(
                "  grants: {}",
                clip(
                    &event
                        .get("grants")
                        .map(Value::to_string)
                        .unwrap_or_default(),
                    400
                )
            ),
        ],
        "progress" => match text(event, "event") {
            "started" => {
                let plan = event.get("plan").unwrap_or(&Value::Null);
                let mut lines = vec![format!(
                    "started: {} steps",
                    plan.as_array().map_or(0, Vec::len)
                )];
                lines.extend(plan_table(plan));
                lines
            }
            "approval-waiting" => vec![format!(
                "waiting for the user to approve step {}: {}",
                number(event, "step"),
                clip(text(event, "text"), 200)
            )],
            "user-waiting" => vec![format!(
                "waiting for the user ({}) at step {}: {}",
                clip(text(event, "what"), 20),
                number(event, "step"),
                clip(text(event, "text"), 200)
            )],
            "step" => vec![step_line(event.get("record").unwrap_or(&Value::Null))],
            other => vec![format!("progress {}", clip(other, 40))],
        },
        "cancelling" => vec!["cancel sent to the instance".to_owned()],
        "result" => result_lines(event.get("result").unwrap_or(&Value::Null)),
        "lost" => vec![format!("lost: {}", clip(text(event, "message"), 400))],
        "error" => vec![format!(
            "error {}: {}",
            text(event, "code"),
            clip(text(event, "message"), 400)
        )],
        other => vec![format!(
            "{}: {}",
            clip(other, 40),
            clip(&event.to_string(), 400)
        )],
    };
    if let Some(first) = lines.first_mut() {
        *first = format!("{prefix}{first}");
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_plan_prints_as_a_table_with_decisions() {
        let event = json!({"type":"progress","run":"r1","event":"started","plan":[
            {"index":0,"line":5,"verb":"navigate","risk":"medium","decision":"allow","reasons":["grant 1 covers `navigate`"],"text":"navigate \"https://shop.example/\""},
            {"index":1,"line":6,"verb":"submit","risk":"high","decision":"ask","reasons":[],"text":"submit button \"Pay\""}
        ]});
        let lines = event_lines(&event);
        assert_eq!(lines[0], "run r1: started: 2 steps");
        assert!(lines[1].contains("decision"));
        assert!(lines[2].contains("navigate") && lines[2].contains("allow"));
        assert!(lines[3].contains("because: grant 1 covers `navigate`"));
        assert!(lines[4].contains("submit") && lines[4].contains("ask"));
    }

    #[test]
    fn refusals_show_their_reasons() {
        let event = json!({"type":"result","run":"r2","result":{
            "outcome":"refused","value":null,"error":null,
            "script":{"ok":false,"diagnostics":[{"line":2,"column":1,"code":"E0101","message":"unknown statement","help":"write a verb"}]},
            "token":{"valid":false,"code":"expired","error":"token expired"},
            "steps_done":0,"warnings":[]}});
        let lines = event_lines(&event).join("\n");
        assert!(lines.starts_with("run r2: outcome: refused"), "{lines}");
        assert!(lines.contains("script line 2:1 E0101: unknown statement"));
        assert!(lines.contains("help: write a verb"));
        assert!(lines.contains("token refused: expired: token expired"));
    }

    #[test]
    fn a_step_waiting_for_the_user_says_what_for() {
        let event = json!({"type":"progress","run":"r3","event":"user-waiting","step":2,
            "what":"handoff","text":"Please sign in"});
        assert_eq!(
            event_lines(&event),
            ["run r3: waiting for the user (handoff) at step 2: Please sign in"]
        );
    }

    #[test]
    fn odd_values_print_without_failing() {
        for odd in [
            json!(null),
            json!([]),
            json!({"type":7}),
            json!({"type":"progress","event":"step","record":"x"}),
        ] {
            assert!(!event_lines(&odd).is_empty());
        }
        assert_eq!(clip("a\nb", 10), "a b");
        assert_eq!(clip("abcdef", 3), "abc…");
    }
}
