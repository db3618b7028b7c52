//! Parse and check of a 1,000-step script, against `serde_json` parsing the same script's tree
//! serialised as JSON (goal: at most 2×).

use crate::timing::{median_per_call, report};
use bridle_dsl::CheckOptions;

/// A realistic 1,000-step script: every common verb, targets of every form, interpolation,
/// observations, waits and bounded loops.
pub fn script_with_steps(steps: usize) -> String {
    let mut s = String::from(
        "bridle 1\ngoal \"Buy cables and read the results\"\norigins \"https://shop.example\", \"https://pay.example\"\nparam query: text = \"usb-c cable\"\nsecret card = \"visa-personal\"\n",
    );
    let mut n = 0;
    let mut i = 0;
    while n < steps {
        let line = match i % 12 {
            0 => format!("navigate \"https://shop.example/search?q={{query}}&page={i}\""),
            1 => format!("click button \"Add item {i}\""),
            2 => format!("fill textbox ~\"Search {i}\" with \"cable {i}\""),
            3 => format!("let price{i} = text of css \"#price-{i}\""),
            4 => format!("wait for button \"Checkout {i}\" to be visible timeout 5s"),
            5 => format!("select combobox \"Size\" option \"{i} m\""),
            6 => format!("check checkbox \"Gift wrap\" in dialog \"Options {i}\""),
            7 => format!("assert text of heading /^Results( {i})?$/i contains \"Results\""),
            8 => format!("hover link ~\"Details {i}\" nth 2"),
            9 => format!("note \"Price seen: {{price{}}}\"", i - 6),
            10 => format!("scroll to row ~\"USB-C {i}\" in table \"Results\""),
            _ => {
                "fill textbox \"Card number\" in frame \"https://pay.example\" with card".to_owned()
            }
        };
        s.push_str(&line);
        s.push('\n');
        n += 1;
        i += 1;
    }
    s
}

pub fn run() -> Result<(), String> {
    let src = script_with_steps(1_000);
    let options = CheckOptions::default();
    let checked = bridle_dsl::check_bytes(src.as_bytes(), &options).map_err(|d| {
        format!(
            "the benchmark script does not check: {:?}",
            d.first().map(|d| &d.message)
        )
    })?;
    if checked.steps.len() != 1_000 {
        return Err(format!("expected 1000 steps, got {}", checked.steps.len()));
    }
    let json = serde_json::to_string(&checked.script).map_err(|e| e.to_string())?;
    println!(
        "dsl: 1,000-step script, {} bytes of source, {} bytes of AST JSON",
        src.len(),
        json.len()
    );
    let ours = median_per_call(15, 40, || bridle_dsl::check_bytes(src.as_bytes(), &options));
    let baseline = median_per_call(15, 40, || {
        serde_json::from_str::<bridle_dsl::Script>(&json).map_err(|e| e.to_string())
    });
    report("parse+check", ours, "serde_json AST", baseline);
    Ok(())
}
