//! Fuzz target: a tab's snapshot as a run reads it — a previous snapshot, then the next one
//! made of whole frames and updates of the previous one's frames (`Snapshot::from_json_after`,
//! `executor/src/page/delta.rs`) — never panics, and whatever it accepts is a snapshot that a
//! whole message gives again: its message parses back to itself. Then every element is
//! described (roles, names, the index) and the first one's late hit tests are applied.
//!
//! Input: the previous snapshot's JSON, a NUL byte, the next one's. Run with
//! `cargo fuzz run snapshot_update` from `fuzz/` (nightly).

#![no_main]

use bridle_executor::page::{describe, HitReport, HitState, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (prev_text, next_text) = text.split_once('\0').unwrap_or(("", text));
    let prev = Snapshot::from_json(prev_text).ok();
    let Ok(next) = Snapshot::from_json_after(next_text, prev.as_ref()) else {
        return;
    };
    let msg = next.to_msg();
    let again = Snapshot::from_msg(msg.clone()).expect("an accepted snapshot is a valid whole one");
    assert_eq!(again.to_msg(), msg);
    let all = describe(&next);
    if let Some(first) = all.first() {
        let mut probed = next.clone();
        let chain = probed.hit_chain(first.handle);
        let reports: Vec<HitReport> = chain
            .iter()
            .map(|h| HitReport {
                frame: h.frame,
                node: h.node,
                state: HitState::Covered,
                by: Some(h.node),
            })
            .collect();
        probed
            .apply_hits(&chain, &reports)
            .expect("every probe answered once applies");
        let _ = describe(&probed);
    }
});
