//! Fuzz target: any bytes given to the audit log verifier yield a report or a typed error, never
//! a panic, and verifying in one piece or line by line agrees. The first byte picks the layer:
//!
//! - even: the rest is a whole log file, verified as it comes (lines, limits, JSON, canonical
//!   form, seqs, links, hashes, keys);
//! - odd: the rest is read as lines of entries which, where they parse, are re-linked and
//!   sealed with the log's own key after a valid log-start, so the per-kind shape rules and
//!   the rules between entries see hostile input signed by the right key.
//!
//! Run with `cargo fuzz run audit_verify` from `fuzz/` (nightly).

#![no_main]

use bridle_executor::audit::{
    verify_log, AuditChain, AuditEntry, AuditError, KeyPin, LogVerifier, Timestamp, VerifyReport,
};
use bridle_executor::ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;

fn check(log: &[u8], pin: &KeyPin) {
    let whole: Result<VerifyReport, AuditError> = verify_log(log, pin);
    // Line by line: the same answer (Reordered needs look-ahead, so compare kinds of success).
    let mut verifier = LogVerifier::new(pin.clone());
    let mut rest = log;
    let mut fed = Ok(());
    while !rest.is_empty() && fed.is_ok() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        fed = verifier.feed(&rest[..end]);
        rest = &rest[end..];
    }
    let piecewise = fed.and_then(|()| verifier.finish());
    assert_eq!(whole.is_ok(), piecewise.is_ok());
    if let (Ok(a), Ok(b)) = (&whole, &piecewise) {
        assert_eq!(a, b);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let signer = SigningKey::from_bytes(&[0x33; 32]);
    let pin = KeyPin::PublicKey(signer.verifying_key());
    if mode % 2 == 0 {
        check(rest, &KeyPin::Unpinned);
        check(rest, &pin);
        return;
    }
    let Ok(time) = Timestamp::parse("2025-03-01T12:00:00Z") else {
        return;
    };
    let (_, first) = AuditChain::start(time, &signer);
    let mut prev = first.hash;
    let mut log = format!("{}\n", first.to_line());
    let mut seq = 0;
    let text = String::from_utf8_lossy(rest);
    for line in text.lines() {
        let Ok(mut entry) = AuditEntry::parse(line) else {
            continue;
        };
        seq += 1;
        entry.seq = seq;
        entry.prev = prev;
        entry.instance = first.instance.clone();
        entry.seal(&signer);
        prev = entry.hash;
        log.push_str(&entry.to_line());
        log.push('\n');
    }
    check(log.as_bytes(), &pin);
});
