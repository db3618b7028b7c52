//! Fuzz target: the native host's untrusted boundary — frames read from a byte stream with a
//! size cap, each body parsed into the closed message set, and job messages turned into
//! requests — never panics, never returns a body over the cap, and never reads past the end.
//!
//! The first byte picks the cap (small caps reach the oversize path cheaply); the rest is the
//! stream as a browser would write it to `bridle host`'s stdin.
//!
//! Run with `cargo fuzz run native_frame` from `fuzz/` (nightly).

#![no_main]

use bridle_host::native::{parse_message, read_frame, FrameError, Incoming, MAX_FRAME};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, stream)) = data.split_first() else {
        return;
    };
    let cap = match pick % 4 {
        0 => 16,
        1 => 256,
        2 => 4096,
        _ => MAX_FRAME,
    };
    let mut r = stream;
    loop {
        match read_frame(&mut r, cap) {
            Ok(None) => break,
            Ok(Some(body)) => {
                assert!(body.len() <= cap as usize);
                if let Ok(Incoming::Job(job)) = parse_message(&body) {
                    let _ = job.request();
                }
            }
            Err(FrameError::TooLarge { len, max }) => {
                assert!(len > max);
                break;
            }
            Err(_) => break,
        }
    }
});
