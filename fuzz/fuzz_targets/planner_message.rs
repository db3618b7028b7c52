//! Fuzz target: the planner channel's parsers never panic, and what they accept survives a
//! round trip. The first byte picks the parser; the rest is the input text:
//!
//! - 0: `parse_to_instance`, as the extension reads a planner's message: accepted messages
//!   serialise and parse back to themselves, refusals make a valid `error` reply;
//! - 1: `Pairing::decode`, as the options page reads a pasted pairing string: accepted pairings
//!   encode and decode back to themselves, and adding one to a policy is an edit or a typed
//!   error (the same path the options page takes);
//! - 2: `ToPlanner`, read leniently from JSON, as a planner reads an instance's message.
//!
//! Run with `cargo fuzz run planner_message` from `fuzz/` (nightly).

#![no_main]

use bridle_executor::policy::edit::add_planner;
use bridle_executor::protocol::{
    parse_to_instance, Pairing, ToPlanner, MAX_MESSAGE_BYTES, MAX_PAIRING_BYTES,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match mode % 3 {
        0 => match parse_to_instance(text) {
            Ok(message) => {
                let again = serde_json::to_string(&message).unwrap_or_default();
                if again.len() <= MAX_MESSAGE_BYTES {
                    assert_eq!(parse_to_instance(&again), Ok(message));
                }
            }
            Err(refusal) => {
                let reply = serde_json::to_string(&refusal.reply()).unwrap_or_default();
                assert!(reply.starts_with("{\"type\":\"error\""));
            }
        },
        1 => {
            if let Ok(pairing) = Pairing::decode(text) {
                let encoded = pairing.encode();
                if encoded.len() <= MAX_PAIRING_BYTES {
                    assert_eq!(Pairing::decode(&encoded), Ok(pairing.clone()));
                }
                let _ = add_planner("", &pairing);
            }
        }
        _ => {
            if let Ok(message) = serde_json::from_str::<ToPlanner>(text) {
                let _ = serde_json::to_string(&message);
            }
        }
    }
});
