//! The audit log's tamper suite: a log of a few runs verifies, and every way of altering it
//! (deleting, moving, copying, editing, re-signing, splicing, truncating, re-encoding) fails
//! with its own error on the right line. Also the properties (whatever the chain appends
//! verifies; any changed byte fails) and `bridle audit verify` end to end.

use bridle_executor::audit::{
    verify_log, Approval, ApprovalChoice, AuditChain, AuditEntry, AuditError, ChainHash,
    Completion, ContentHash, EntryDraft, EntryKind, KeyPin, LogVerifier, OpenStep, RuleError,
    ShapeError, StepRecord, Target, Timestamp, VerifyReport,
};
use bridle_executor::decision::Outcome;
use bridle_executor::ed25519_dalek::{Signature, SigningKey};
use bridle_executor::keys::{encode_public_key, instance_id};
use bridle_executor::time::{Duration, OffsetDateTime};
use std::sync::OnceLock;

use fixture::*;

/// Helpers. `#[cfg(test)]` marks them as test code for clippy (integration tests always build
/// with it), so a failed `unwrap` here is a failed test, as in the tests themselves.
#[cfg(test)]
mod fixture {
    use super::*;

    pub fn key() -> SigningKey {
        SigningKey::from_bytes(&[42; 32])
    }

    pub fn other_key() -> SigningKey {
        SigningKey::from_bytes(&[43; 32])
    }

    pub fn t(seconds: i64) -> Timestamp {
        let start = OffsetDateTime::from_unix_timestamp(1_740_830_400).unwrap();
        Timestamp::new(start + Duration::seconds(seconds)).unwrap()
    }

    pub fn record(
        run: u64,
        step: u64,
        decision: Outcome,
        approval: Option<ApprovalChoice>,
    ) -> StepRecord {
        StepRecord {
            run,
            step,
            text: format!("click button \"Item {step}\""),
            target: Some(Target {
                role: "button".into(),
                name: format!("Item {step}"),
                fingerprint: format!("fp-{run}-{step}"),
            }),
            decision,
            reasons: vec![
                format!("{decision} (policy): site rule `https://shop.example` for `click`"),
                "allow (token): grant 1 allows `click`".into(),
            ],
            approval: approval.map(|choice| Approval { choice, at: t(100) }),
        }
    }

    /// Three runs: one complete (allowed, asked and approved, denied steps), one refused before
    /// its token was read, one cut off by a crash with a step open. Fifteen entries, one per line.
    pub fn fixture(signer: &SigningKey) -> Vec<String> {
        let (mut chain, first) = AuditChain::start(t(0), signer);
        let mut lines = vec![first.to_line()];
        let mut add = |chain: &mut AuditChain, draft: EntryDraft| {
            let entry = chain.append(draft, signer).unwrap();
            lines.push(entry.to_line());
            entry.seq
        };
        let a = add(
            &mut chain,
            EntryDraft::run_start(t(1), ContentHash::of(b"script a"), Some("tok-1".into())),
        );
        let a1 = add(
            &mut chain,
            EntryDraft::step(t(2), record(a, 1, Outcome::Allow, None)),
        );
        add(
            &mut chain,
            EntryDraft::step_result(t(3), a1, Completion::succeeded(Some(b"Item 1 added"))),
        );
        let a2 = add(
            &mut chain,
            EntryDraft::step(t(4), record(a, 2, Outcome::Ask, Some(ApprovalChoice::Once))),
        );
        add(
            &mut chain,
            EntryDraft::step_result(t(5), a2, Completion::failed("element not found", None)),
        );
        add(
            &mut chain,
            EntryDraft::step(t(6), record(a, 3, Outcome::Deny, None)),
        );
        add(
            &mut chain,
            EntryDraft::run_end(t(7), a, Completion::succeeded(None)),
        );
        let b = add(
            &mut chain,
            EntryDraft::run_start(t(8), ContentHash::of(b"script b"), None),
        );
        add(
            &mut chain,
            EntryDraft::run_end(t(9), b, Completion::failed("token expired", None)),
        );
        add(&mut chain, EntryDraft::note(t(10), "policy reloaded"));
        let c = add(
            &mut chain,
            EntryDraft::run_start(t(11), ContentHash::of(b"script c"), Some("tok-2".into())),
        );
        let c1 = add(
            &mut chain,
            EntryDraft::step(
                t(12),
                record(c, 1, Outcome::Ask, Some(ApprovalChoice::Script)),
            ),
        );
        add(
            &mut chain,
            EntryDraft::step_result(t(13), c1, Completion::succeeded(Some(b"Item 1 added"))),
        );
        add(
            &mut chain,
            EntryDraft::step(t(14), record(c, 2, Outcome::Allow, None)),
        );
        lines
    }

    pub fn text(lines: &[String]) -> String {
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// The fixture's text, where each of its lines ends, and a verifier (pinned to [`key`])
    /// positioned after each line.
    pub struct Prefixes {
        pub text: String,
        pub ends: Vec<usize>,
        pub verifiers: Vec<LogVerifier>,
    }

    pub fn prefixes() -> &'static Prefixes {
        static PREFIXES: OnceLock<Prefixes> = OnceLock::new();
        PREFIXES.get_or_init(|| {
            let lines = fixture(&key());
            let mut verifier = LogVerifier::new(KeyPin::PublicKey(key().verifying_key()));
            let mut p = Prefixes {
                text: text(&lines),
                ends: Vec::new(),
                verifiers: vec![verifier.clone()],
            };
            let mut end = 0;
            for line in &lines {
                end += line.len() + 1;
                verifier.feed(format!("{line}\n").as_bytes()).unwrap();
                p.ends.push(end);
                p.verifiers.push(verifier.clone());
            }
            p
        })
    }

    /// `verify_log` pinned to [`key`], resumed after the longest run of whole lines the input
    /// shares with the fixture. Same result as verifying from the start (checked below), but a
    /// strict Ed25519 verification costs ~30 ms in an unoptimised build, and the suite runs
    /// thousands of verifications of long-identical logs.
    pub fn verify_bytes(bytes: &[u8]) -> Result<VerifyReport, AuditError> {
        let p = prefixes();
        let common = p
            .ends
            .iter()
            .take_while(|&&end| bytes.get(..end) == p.text.as_bytes().get(..end))
            .count();
        let offset = common.checked_sub(1).map_or(0, |i| p.ends[i]);
        let mut verifier = p.verifiers[common].clone();
        verifier.feed(&bytes[offset..])?;
        verifier.finish()
    }

    pub fn verify(lines: &[String]) -> Result<VerifyReport, AuditError> {
        verify_bytes(text(lines).as_bytes())
    }

    pub fn entry(line: &str) -> AuditEntry {
        AuditEntry::parse(line).unwrap()
    }

    /// Applies `edit` to the entry on line `line` (1-based) without re-hashing.
    pub fn edited(line: usize, edit: impl FnOnce(&mut AuditEntry)) -> Vec<String> {
        let mut lines = fixture(&key());
        let mut e = entry(&lines[line - 1]);
        edit(&mut e);
        lines[line - 1] = e.to_line();
        lines
    }

    /// Appends an entry built by `build` from a blank entry linked to the end of `lines`, sealed
    /// with `signer`: how a writer holding the key could add anything it likes.
    pub fn forged(
        mut lines: Vec<String>,
        signer: &SigningKey,
        build: impl FnOnce(&mut AuditEntry),
    ) -> Vec<String> {
        let last = entry(lines.last().unwrap());
        let mut e = entry(lines.last().unwrap());
        e.seq = last.seq + 1;
        e.prev = last.hash;
        e.time = t(500);
        e.kind = EntryKind::Note;
        e.key = None;
        e.run = None;
        e.of = None;
        e.script = None;
        e.jti = None;
        e.step = None;
        e.text = Some("forged".into());
        e.target = None;
        e.decision = None;
        e.reasons = None;
        e.approval = None;
        e.result = None;
        build(&mut e);
        e.seal(signer);
        lines.push(e.to_line());
        lines
    }

    /// Re-signs a whole log under `signer`: a forger's complete rewrite.
    pub fn resigned(lines: &[String], signer: &SigningKey) -> Vec<String> {
        let public = signer.verifying_key();
        let mut prev = ChainHash::GENESIS;
        lines
            .iter()
            .map(|l| {
                let mut e = entry(l);
                e.instance = instance_id(&public);
                if e.kind == EntryKind::LogStart {
                    e.key = Some(encode_public_key(&public));
                }
                e.prev = prev;
                e.seal(signer);
                prev = e.hash;
                e.to_line()
            })
            .collect()
    }

    pub type Edit = (&'static str, fn(&mut AuditEntry));

    /// A valid new value for every field a step entry (line 5, seq 4) carries or could carry.
    pub const STEP_EDITS: &[Edit] = &[
        ("time", |e| e.time = t(999)),
        ("instance", |e| {
            e.instance = "bx1_00000000000000000000000000000000".into()
        }),
        ("kind", |e| e.kind = EntryKind::Note),
        ("key", |e| e.key = Some("AAAA".into())),
        ("run", |e| e.run = Some(8)),
        ("of", |e| e.of = Some(2)),
        ("script", |e| {
            e.script = Some(ContentHash::of(b"another script"))
        }),
        ("jti", |e| e.jti = Some("tok-9".into())),
        ("jti null", |e| e.jti = None),
        ("step", |e| e.step = Some(9)),
        ("text", |e| {
            e.text = Some("click button \"Pay 1000 EUR\"".into())
        }),
        ("target.role", |e| {
            e.target.as_mut().unwrap().role = "link".into()
        }),
        ("target.name", |e| {
            e.target.as_mut().unwrap().name = "Pay".into()
        }),
        ("target.fingerprint", |e| {
            e.target.as_mut().unwrap().fingerprint = "fp-x".into()
        }),
        ("target null", |e| e.target = None),
        ("decision", |e| e.decision = Some(Outcome::Allow)),
        ("reasons added", |e| {
            e.reasons
                .as_mut()
                .unwrap()
                .push("allow (policy): forged".into())
        }),
        ("reasons edited", |e| {
            e.reasons.as_mut().unwrap()[0] = "allow (policy): nothing to see".into()
        }),
        ("reasons emptied", |e| e.reasons = Some(Vec::new())),
        ("approval.choice", |e| {
            e.approval.as_mut().unwrap().choice = ApprovalChoice::Script
        }),
        ("approval.at", |e| e.approval.as_mut().unwrap().at = t(101)),
        ("approval null", |e| e.approval = None),
        ("result", |e| e.result = Some(Completion::succeeded(None))),
    ];

    /// The same for a step-result (line 6, seq 5).
    pub const RESULT_EDITS: &[Edit] = &[
        ("of", |e| e.of = Some(2)),
        ("result.ok", |e| {
            let r = e.result.as_mut().unwrap();
            r.ok = true;
            r.error = None;
        }),
        ("result.error", |e| {
            e.result.as_mut().unwrap().error = Some("timed out".into())
        }),
        ("result.observation", |e| {
            e.result.as_mut().unwrap().observation = Some(ContentHash::of(b"forged page"))
        }),
    ];

    pub fn each_edit(mut check: impl FnMut(&str, usize, u64, Vec<String>)) {
        for (line, edits) in [(5, STEP_EDITS), (6, RESULT_EDITS)] {
            for (name, edit) in edits {
                let lines = edited(line, edit);
                check(name, line, line as u64 - 1, lines);
            }
        }
    }
}

#[test]
fn the_fixture_verifies_and_reports_runs_steps_and_open_steps() {
    let lines = fixture(&key());
    assert_eq!(lines.len(), 15);
    let report = verify(&lines).unwrap();
    assert_eq!(report.entries, 15);
    assert_eq!(report.tally.runs, 3);
    assert_eq!(report.tally.steps, 5);
    assert_eq!(
        (report.tally.allow, report.tally.ask, report.tally.deny),
        (2, 2, 1)
    );
    assert_eq!(report.tally.acted, 4);
    assert_eq!(report.tally.failed, 2);
    // The crash left run c's second step announced and never completed.
    assert_eq!(
        report.open_steps,
        [OpenStep {
            seq: 14,
            run: 11,
            step: 2,
            text: "click button \"Item 2\"".into(),
        }]
    );
    assert_eq!(
        report.open_runs.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [11]
    );
    assert!(report.pinned);
    assert_eq!(report.instance, instance_id(&key().verifying_key()));
    assert_eq!(report.last_seq, 14);
    assert_eq!(report.last_hash, entry(&lines[14]).hash);
    // No observation is stored, only its hash.
    assert!(!text(&lines).contains("Item 1 added"));
    assert!(text(&lines).contains(&ContentHash::of(b"Item 1 added").to_string()));
}

#[test]
fn resuming_from_a_prefix_gives_the_same_answers_as_verifying_from_the_start() {
    let pin = KeyPin::PublicKey(key().verifying_key());
    let good = fixture(&key());
    let mut moved = fixture(&key());
    moved.swap(9, 10);
    let mut copied = fixture(&key());
    copied.push(copied[11].clone());
    for lines in [good.clone(), moved, copied, good[..7].to_vec()] {
        assert_eq!(verify(&lines), verify_log(text(&lines).as_bytes(), &pin));
    }
    // Fed in pieces of whole lines, the verifier reaches the same report.
    let mut verifier = LogVerifier::new(pin.clone());
    for chunk in good.chunks(4) {
        verifier.feed(text(chunk).as_bytes()).unwrap();
    }
    assert_eq!(verifier.finish(), verify_log(text(&good).as_bytes(), &pin));
    // After a failure it keeps answering with that failure.
    let mut verifier = LogVerifier::new(pin);
    let err = verifier.feed(b"garbage\n").unwrap_err();
    assert_eq!(verifier.feed(text(&good).as_bytes()), Err(err.clone()));
    assert_eq!(verifier.finish(), Err(err));
}

#[test]
fn pinning_by_instance_and_leaving_it_unpinned_both_verify_the_real_log() {
    let log = text(&fixture(&key()));
    let by_id = KeyPin::Instance(instance_id(&key().verifying_key()));
    assert!(verify_log(log.as_bytes(), &by_id).unwrap().pinned);
    assert!(
        !verify_log(log.as_bytes(), &KeyPin::Unpinned)
            .unwrap()
            .pinned
    );
}

#[test]
fn deleting_the_first_entry_is_a_missing_seq_on_line_1() {
    let mut lines = fixture(&key());
    lines.remove(0);
    assert_eq!(
        verify(&lines).unwrap_err(),
        AuditError::Missing {
            line: 1,
            expected: 0,
            found: 1
        }
    );
}

#[test]
fn deleting_any_middle_entry_is_a_missing_seq_where_it_was() {
    for gone in 1..14 {
        let mut lines = fixture(&key());
        lines.remove(gone);
        let err = verify(&lines).unwrap_err();
        assert_eq!(
            err,
            AuditError::Missing {
                line: gone + 1,
                expected: gone as u64,
                found: gone as u64 + 1
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "line {}: missing entries: expected seq {gone}, found seq {}",
                gone + 1,
                gone + 1
            )
        );
    }
}

#[test]
fn deleting_the_last_entries_cannot_be_seen_in_the_chain_only_against_an_anchor() {
    // A shorter chain is still a valid chain. What changes is the count and the final hash,
    // so an anchor kept elsewhere (the last hash the extension showed, a copy on a server)
    // detects it; the chain alone cannot.
    let full = verify(&fixture(&key())).unwrap();
    let mut lines = fixture(&key());
    lines.pop();
    let cut = verify(&lines).unwrap();
    assert_eq!(cut.entries, full.entries - 1);
    assert_eq!(cut.last_seq, full.last_seq - 1);
    assert_ne!(cut.last_hash, full.last_hash);
    // The open step vanished with it: truncation can hide an action.
    assert!(cut.open_steps.is_empty());
}

#[test]
fn swapping_two_entries_is_reordered_and_names_where_the_expected_one_went() {
    let mut lines = fixture(&key());
    lines.swap(3, 4);
    let err = verify(&lines).unwrap_err();
    assert_eq!(
        err,
        AuditError::Reordered {
            line: 4,
            expected: 3,
            found: 4,
            expected_line: 5
        }
    );
    assert_eq!(
        err.to_string(),
        "line 4: out of order: expected seq 3, found seq 4; seq 3 is on line 5"
    );
    let mut lines = fixture(&key());
    let moved = lines.remove(2);
    lines.push(moved);
    assert_eq!(
        verify(&lines).unwrap_err(),
        AuditError::Reordered {
            line: 3,
            expected: 2,
            found: 3,
            expected_line: 15
        }
    );
}

#[test]
fn copying_an_entry_is_a_duplicate_wherever_the_copy_goes() {
    let mut lines = fixture(&key());
    lines.insert(5, lines[4].clone());
    let err = verify(&lines).unwrap_err();
    assert_eq!(
        err,
        AuditError::Duplicate {
            line: 6,
            seq: 4,
            first_line: 5
        }
    );
    assert_eq!(err.to_string(), "line 6 (seq 4): duplicate of line 5");
    let mut lines = fixture(&key());
    lines.push(lines[2].clone());
    assert_eq!(
        verify(&lines).unwrap_err(),
        AuditError::Duplicate {
            line: 16,
            seq: 2,
            first_line: 3
        }
    );
}

#[test]
fn editing_any_field_without_rehashing_is_a_bad_hash() {
    each_edit(|name, line, seq, lines| {
        let err = verify(&lines).unwrap_err();
        assert_eq!(err, AuditError::BadHash { line, seq }, "{name}");
        assert_eq!(
            err.to_string(),
            format!(
                "line {line} (seq {seq}): bad hash: the entry's content does not match its `hash`"
            )
        );
    });
}

#[test]
fn editing_any_field_and_rehashing_without_the_key_is_a_bad_signature() {
    each_edit(|name, line, seq, mut lines| {
        let mut e = entry(&lines[line - 1]);
        e.hash = e.compute_hash();
        lines[line - 1] = e.to_line();
        let err = verify(&lines).unwrap_err();
        if name == "instance" {
            // The instance is checked before the signature.
            assert_eq!(err.kind(), "foreign-entry", "{name}");
        } else {
            assert_eq!(err, AuditError::BadSignature { line, seq }, "{name}");
        }
    });
}

#[test]
fn editing_any_field_and_signing_with_another_key_is_a_bad_signature() {
    each_edit(|name, line, seq, mut lines| {
        let mut e = entry(&lines[line - 1]);
        e.seal(&other_key());
        lines[line - 1] = e.to_line();
        let err = verify(&lines).unwrap_err();
        if name == "instance" {
            assert_eq!(
                err,
                AuditError::ForeignEntry {
                    line,
                    seq,
                    found: "bx1_00000000000000000000000000000000".into(),
                    log: instance_id(&key().verifying_key()),
                }
            );
        } else {
            assert_eq!(err, AuditError::BadSignature { line, seq }, "{name}");
        }
    });
}

#[test]
fn editing_with_the_key_breaks_the_next_link() {
    // Whoever holds the key can re-sign one entry, but then the next entry's `prev` no
    // longer matches: to hide an edit they must rewrite the rest of the log.
    let mut lines = edited(5, |e| e.decision = Some(Outcome::Deny));
    let mut e = entry(&lines[4]);
    e.approval = None;
    e.seal(&key());
    lines[4] = e.to_line();
    assert_eq!(
        verify(&lines).unwrap_err(),
        AuditError::BrokenLink { line: 6, seq: 5 }
    );
}

#[test]
fn editing_seq_prev_hash_or_sig_gives_their_own_errors() {
    let lines = edited(5, |e| e.seq = 5);
    assert_eq!(
        verify(&lines).unwrap_err(),
        AuditError::Missing {
            line: 5,
            expected: 4,
            found: 5
        }
    );
    let lines = edited(5, |e| e.seq = 2);
    let err = verify(&lines).unwrap_err();
    assert_eq!(
        err,
        AuditError::SeqReused {
            line: 5,
            seq: 2,
            first_line: 3
        }
    );
    assert_eq!(
        err.to_string(),
        "line 5 (seq 2): seq 2 was already used by line 3 for a different entry"
    );
    let lines = edited(5, |e| e.prev = ChainHash([1; 32]));
    let err = verify(&lines).unwrap_err();
    assert_eq!(err, AuditError::BrokenLink { line: 5, seq: 4 });
    assert_eq!(
        err.to_string(),
        "line 5 (seq 4): broken link: prev does not match the hash of seq 3"
    );
    let lines = edited(1, |e| e.prev = ChainHash([1; 32]));
    assert_eq!(
        verify(&lines).unwrap_err().to_string(),
        "line 1 (seq 0): broken link: prev of the first entry must be 64 zeros"
    );
    let lines = edited(5, |e| e.hash = ChainHash([1; 32]));
    assert_eq!(
        verify(&lines).unwrap_err(),
        AuditError::BadHash { line: 5, seq: 4 }
    );
    let lines = edited(5, |e| e.sig = Signature::from_bytes(&[0; 64]));
    assert_eq!(
        verify(&lines).unwrap_err(),
        AuditError::BadSignature { line: 5, seq: 4 }
    );
}

#[test]
fn flipping_any_bit_of_any_signature_byte_is_a_bad_signature() {
    for line in [1, 8, 15] {
        for byte in 0..64 {
            let lines = edited(line, |e| {
                let mut sig = e.sig.to_bytes();
                sig[byte] ^= 1 << (byte % 8);
                e.sig = Signature::from_bytes(&sig);
            });
            assert_eq!(
                verify(&lines).unwrap_err(),
                AuditError::BadSignature {
                    line,
                    seq: line as u64 - 1
                },
                "line {line} byte {byte}"
            );
        }
    }
}

#[test]
fn swapping_the_public_key_is_caught_and_a_full_rewrite_is_caught_by_the_pin() {
    let forger = other_key();
    let forger_key = encode_public_key(&forger.verifying_key());
    // Only the key changed: the log-start's hash no longer matches.
    let swapped = edited(1, |e| e.key = Some(forger_key.clone()));
    assert_eq!(
        verify(&swapped).unwrap_err(),
        AuditError::BadHash { line: 1, seq: 0 }
    );
    // Key swapped and the log-start re-signed, instance kept: the id is not the key's.
    let mut lines = swapped.clone();
    let mut e = entry(&lines[0]);
    e.seal(&forger);
    lines[0] = e.to_line();
    let err = verify(&lines).unwrap_err();
    assert_eq!(
        err,
        AuditError::BadKey {
            detail: format!(
                "instance `{}` is not derived from `key` (which gives `{}`)",
                instance_id(&key().verifying_key()),
                instance_id(&forger.verifying_key())
            )
        }
    );
    // Key and instance swapped, log-start re-signed: the next entry is of another instance.
    let mut e = entry(&lines[0]);
    e.instance = instance_id(&forger.verifying_key());
    e.seal(&forger);
    lines[0] = e.to_line();
    assert_eq!(
        verify_log(text(&lines).as_bytes(), &KeyPin::Unpinned).unwrap_err(),
        AuditError::BrokenLink { line: 2, seq: 1 }
    );

    // The whole log rewritten under the forger's key verifies on its own terms...
    let rewritten = text(&resigned(&fixture(&key()), &forger));
    let unpinned = verify_log(rewritten.as_bytes(), &KeyPin::Unpinned).unwrap();
    assert!(!unpinned.pinned);
    assert_eq!(unpinned.instance, instance_id(&forger.verifying_key()));
    // ...and only a pin tells it apart.
    let err = verify_log(
        rewritten.as_bytes(),
        &KeyPin::PublicKey(key().verifying_key()),
    )
    .unwrap_err();
    assert_eq!(
        err,
        AuditError::KeyMismatch {
            pinned: encode_public_key(&key().verifying_key()),
            found: forger_key.clone(),
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "line 1 (seq 0): the log is signed by key `{forger_key}`, not by the pinned key `{}`",
            encode_public_key(&key().verifying_key())
        )
    );
    let err = verify_log(
        rewritten.as_bytes(),
        &KeyPin::Instance(instance_id(&key().verifying_key())),
    )
    .unwrap_err();
    assert_eq!(err.kind(), "instance-mismatch");
    assert_eq!(err.line(), Some(1));
}

#[test]
fn unusable_keys_in_the_log_start_are_bad_keys() {
    let cases = [
        ("AAAA", "`key`: public key is 3 bytes, but must be 32"),
        (
            "not base64!",
            "`key`: public key is not base64url without padding",
        ),
        // The identity point: small order, refused before any signature is checked.
        (
            "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "`key`: public key is a weak (small-order) ed25519 key",
        ),
    ];
    for (bad, detail) in cases {
        let mut lines = fixture(&key());
        let mut e = entry(&lines[0]);
        e.key = Some(bad.into());
        e.seal(&key());
        lines[0] = e.to_line();
        let err = verify(&lines).unwrap_err();
        assert_eq!(
            err,
            AuditError::BadKey {
                detail: detail.into()
            },
            "{bad}"
        );
        assert_eq!(
            err.to_string(),
            format!("line 1 (seq 0): bad key: {detail}")
        );
    }
}

#[test]
fn an_entry_from_another_log_is_caught_in_place_inserted_or_relinked() {
    let theirs = fixture(&other_key());
    // In place of ours: its prev is their chain's.
    let mut lines = fixture(&key());
    lines[6] = theirs[6].clone();
    assert_eq!(
        verify(&lines).unwrap_err(),
        AuditError::BrokenLink { line: 7, seq: 6 }
    );
    // Inserted: its seq is already taken.
    let mut lines = fixture(&key());
    lines.insert(7, theirs[3].clone());
    assert_eq!(
        verify(&lines).unwrap_err(),
        AuditError::SeqReused {
            line: 8,
            seq: 3,
            first_line: 4
        }
    );
    // Re-linked and re-hashed to fit: it still names the other instance.
    let mut lines = fixture(&key());
    let mut e = entry(&theirs[6]);
    e.prev = entry(&lines[5]).hash;
    e.hash = e.compute_hash();
    lines[6] = e.to_line();
    let err = verify(&lines).unwrap_err();
    assert_eq!(err.kind(), "foreign-entry");
    assert_eq!((err.line(), err.seq()), (Some(7), Some(6)));
    // From an older log of the same instance, re-linked: the signature covers the old hash.
    let mut old = fixture(&key());
    let mut first_run = entry(&old[1]);
    first_run.jti = Some("tok-0".into());
    old[1] = first_run.to_line();
    let old = resigned(&old, &key());
    let mut lines = fixture(&key());
    let mut e = entry(&old[10]);
    e.prev = entry(&lines[9]).hash;
    e.hash = e.compute_hash();
    lines[10] = e.to_line();
    assert_eq!(
        verify(&lines).unwrap_err(),
        AuditError::BadSignature { line: 11, seq: 10 }
    );
}

#[test]
fn a_cut_last_line_is_truncated() {
    let log = text(&fixture(&key()));
    for cut in [1, 2, 100] {
        let err = verify_bytes(&log.as_bytes()[..log.len() - cut]).unwrap_err();
        assert_eq!(err, AuditError::Truncated { line: 15 }, "cut {cut}");
        assert_eq!(
            err.to_string(),
            "line 15: incomplete line: the log does not end with a newline"
        );
    }
}

#[test]
fn trailing_garbage_blank_lines_and_bad_bytes_are_malformed() {
    let log = text(&fixture(&key()));
    let cases: Vec<(Vec<u8>, usize, &str)> = vec![
        (
            format!("{log}garbage\n").into_bytes(),
            16,
            "not valid JSON at column 1",
        ),
        (format!("{log}\n").into_bytes(), 16, "the line is empty"),
        (
            log.replacen('\n', "\n\n", 1).into_bytes(),
            2,
            "the line is empty",
        ),
        (
            {
                let mut b = log.clone().into_bytes();
                b[20] = 0xff;
                b
            },
            1,
            "not valid UTF-8 at byte 20",
        ),
        (
            format!("{log}[]\n").into_bytes(),
            16,
            "an entry must be a JSON object",
        ),
    ];
    for (bytes, line, detail) in cases {
        let err = verify_bytes(&bytes).unwrap_err();
        assert_eq!(
            err,
            AuditError::Malformed {
                line,
                detail: detail.into()
            }
        );
    }
    // Garbage without a newline is first of all an incomplete last line.
    assert_eq!(
        verify_bytes(format!("{log}garbage").as_bytes()).unwrap_err(),
        AuditError::Truncated { line: 16 }
    );
}

#[test]
fn an_empty_file_is_an_error_because_every_log_has_its_log_start() {
    let err = verify_log(b"", &KeyPin::Unpinned).unwrap_err();
    assert_eq!(err, AuditError::Empty);
    assert_eq!(err.to_string(), "the log is empty");
    assert_eq!((err.line(), err.seq()), (None, None));
}

#[test]
fn crlf_line_endings_are_named() {
    let log = text(&fixture(&key())).replace('\n', "\r\n");
    let err = verify_log(log.as_bytes(), &KeyPin::Unpinned).unwrap_err();
    assert_eq!(err, AuditError::CarriageReturn { line: 1 });
    assert!(err.help().contains("dos2unix"));
}

#[test]
fn lines_that_parse_but_are_not_canonical_are_refused() {
    let lines = fixture(&key());
    let canonical = &lines[4];
    let variants = [
        canonical.replacen("\"seq\":4", "\"seq\": 4", 1),
        canonical.replacen("{\"seq\":4,", "{ \"seq\":4,", 1),
        canonical.replacen("Item 2", "Item \\u0032", 1),
        canonical.replacen("\"seq\":4,", "\"seq\":4,\"seq\":4,", 1),
        canonical.replacen(
            "\"seq\":4,\"time\":\"2025-03-01T12:00:04Z\"",
            "\"time\":\"2025-03-01T12:00:04Z\",\"seq\":4",
            1,
        ),
        format!("{canonical} "),
    ];
    for variant in variants {
        assert_ne!(&variant, canonical);
        let mut lines = lines.clone();
        lines[4] = variant.clone();
        assert_eq!(
            verify(&lines).unwrap_err(),
            AuditError::NonCanonical { line: 5, seq: 4 },
            "{variant}"
        );
    }
}

#[test]
fn unknown_fields_are_malformed() {
    let mut lines = fixture(&key());
    lines[4] = lines[4].replacen("\"seq\":4,", "\"seq\":4,\"admin\":true,", 1);
    assert_eq!(
        verify(&lines).unwrap_err(),
        AuditError::Malformed {
            line: 5,
            detail: "unknown field `admin`".into()
        }
    );
}

/// Rules a writer holding the key can still break; each is named on its line.
#[test]
fn a_writer_with_the_key_cannot_break_the_rules_unnoticed() {
    let base = fixture(&key());
    let rule = |lines: Vec<String>| match verify(&lines).unwrap_err() {
        AuditError::Rule { line, seq, rule } => {
            assert_eq!((line, seq), (16, 15));
            rule
        }
        other => panic!("expected a rule error, got {other}"),
    };
    type Case = (fn(&mut AuditEntry), RuleError, &'static str);
    let cases: Vec<Case> = vec![
        (
            |e| {
                e.kind = EntryKind::LogStart;
                e.text = None;
                e.key = Some(encode_public_key(&key().verifying_key()));
            },
            RuleError::LogStartAgain,
            "a `log-start` entry may only begin the log",
        ),
        (
            |e| {
                e.kind = EntryKind::StepResult;
                e.text = None;
                e.of = Some(6);
                e.result = Some(Completion::succeeded(None));
            },
            RuleError::ResultForRefusedStep { of: 6 },
            "seq 6 is a step that was refused, so it never acted and cannot have a result",
        ),
        (
            |e| {
                e.kind = EntryKind::StepResult;
                e.text = None;
                e.of = Some(2);
                e.result = Some(Completion::succeeded(None));
            },
            RuleError::DuplicateResult {
                of: 2,
                kind: EntryKind::StepResult,
            },
            "seq 2 already has its `step-result`",
        ),
        (
            |e| {
                e.kind = EntryKind::StepResult;
                e.text = None;
                e.of = Some(10);
                e.result = Some(Completion::succeeded(None));
            },
            RuleError::DanglingResult {
                of: 10,
                expected: EntryKind::Step,
            },
            "`of` names seq 10, which is not an earlier `step` entry",
        ),
        (
            |e| {
                e.kind = EntryKind::StepResult;
                e.text = None;
                e.of = Some(20);
                e.result = Some(Completion::succeeded(None));
            },
            RuleError::DanglingResult {
                of: 20,
                expected: EntryKind::Step,
            },
            "`of` names seq 20, which is not an earlier `step` entry",
        ),
        (
            |e| {
                e.kind = EntryKind::RunEnd;
                e.text = None;
                e.of = Some(8);
                e.result = Some(Completion::succeeded(None));
            },
            RuleError::DuplicateResult {
                of: 8,
                kind: EntryKind::RunEnd,
            },
            "seq 8 already has its `run-end`",
        ),
        (
            |e| {
                e.kind = EntryKind::RunEnd;
                e.text = None;
                e.of = Some(13);
                e.result = Some(Completion::succeeded(None));
            },
            RuleError::DanglingResult {
                of: 13,
                expected: EntryKind::RunStart,
            },
            "`of` names seq 13, which is not an earlier `run-start` entry",
        ),
        (
            |e| {
                e.kind = EntryKind::Step;
                e.run = Some(1);
                e.script = Some(ContentHash::of(b"script a"));
                e.jti = Some("tok-1".into());
                e.step = Some(4);
                e.decision = Some(Outcome::Allow);
                e.reasons = Some(vec![]);
            },
            RuleError::StepOutsideRun { run: 1 },
            "`run` names seq 1, which is not an open run",
        ),
        (
            |e| {
                e.kind = EntryKind::Step;
                e.run = Some(11);
                e.script = Some(ContentHash::of(b"script a"));
                e.jti = Some("tok-2".into());
                e.step = Some(3);
                e.decision = Some(Outcome::Allow);
                e.reasons = Some(vec![]);
            },
            RuleError::RunMismatch {
                run: 11,
                field: "script",
            },
            "`script` differs from its run's (seq 11)",
        ),
        (
            |e| {
                e.kind = EntryKind::Step;
                e.run = Some(11);
                e.script = Some(ContentHash::of(b"script c"));
                e.jti = Some("tok-1".into());
                e.step = Some(3);
                e.decision = Some(Outcome::Allow);
                e.reasons = Some(vec![]);
            },
            RuleError::RunMismatch {
                run: 11,
                field: "jti",
            },
            "`jti` differs from its run's (seq 11)",
        ),
        (
            |e| {
                e.kind = EntryKind::Step;
                e.run = Some(11);
                e.script = Some(ContentHash::of(b"script c"));
                e.jti = Some("tok-2".into());
                e.step = Some(3);
                e.decision = Some(Outcome::Ask);
                e.reasons = Some(vec![]);
            },
            RuleError::Shape(ShapeError::ApprovalMissing),
            "a step decided `ask` needs the user's `approval`",
        ),
        (
            |e| e.key = Some("x".into()),
            RuleError::Shape(ShapeError::ForbiddenField {
                kind: EntryKind::Note,
                field: "key",
            }),
            "a `note` entry cannot have `key`",
        ),
        (
            |e| e.text = None,
            RuleError::Shape(ShapeError::MissingField {
                kind: EntryKind::Note,
                field: "text",
            }),
            "a `note` entry needs `text`",
        ),
    ];
    for (build, expected, message) in cases {
        let got = rule(forged(base.clone(), &key(), build));
        assert_eq!(got, expected);
        assert_eq!(got.to_string(), message);
        let err = verify(&forged(base.clone(), &key(), build)).unwrap_err();
        assert_eq!(err.to_string(), format!("line 16 (seq 15): {message}"));
    }
}

#[test]
fn a_log_must_begin_with_its_log_start() {
    let mut first = entry(&fixture(&key())[10]);
    first.seq = 0;
    first.prev = ChainHash::GENESIS;
    first.seal(&key());
    let err = verify(&[first.to_line()]).unwrap_err();
    assert_eq!(
        err,
        AuditError::Rule {
            line: 1,
            seq: 0,
            rule: RuleError::FirstNotLogStart {
                kind: EntryKind::Note
            }
        }
    );
    assert_eq!(
        err.to_string(),
        "line 1 (seq 0): the log must begin with a `log-start` entry, not `note`"
    );
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        RunStart(bool),
        Step {
            run: usize,
            decision: u8,
            choice: u8,
        },
        StepResult {
            pick: usize,
            ok: bool,
        },
        RunEnd(usize),
        Note(String),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            any::<bool>().prop_map(Op::RunStart),
            (0usize..8, 0u8..3, 0u8..5).prop_map(|(run, decision, choice)| Op::Step {
                run,
                decision,
                choice
            }),
            (0usize..24, any::<bool>()).prop_map(|(pick, ok)| Op::StepResult { pick, ok }),
            (0usize..24).prop_map(Op::RunEnd),
            "[ -~\\n\\t\"\\\\é]{0,20}".prop_map(Op::Note),
        ]
    }

    /// Turns random ops into drafts: picks mostly name open runs and steps, sometimes
    /// anything (so some drafts are refused).
    fn draft(chain: &AuditChain, op: &Op, i: i64) -> EntryDraft {
        let runs: Vec<u64> = chain.open_runs().map(|r| r.seq).collect();
        let steps: Vec<u64> = chain.open_steps().map(|s| s.seq).collect();
        let pick = |list: &[u64], n: usize| {
            if n < list.len() {
                list[n]
            } else {
                n as u64
            }
        };
        match op {
            Op::RunStart(with_token) => EntryDraft::run_start(
                t(i),
                ContentHash::of(&i.to_le_bytes()),
                with_token.then(|| format!("tok-{i}")),
            ),
            Op::Step {
                run,
                decision,
                choice,
            } => {
                let decision = [Outcome::Allow, Outcome::Ask, Outcome::Deny][*decision as usize];
                let approval =
                    (decision == Outcome::Ask).then(|| ApprovalChoice::ALL[*choice as usize]);
                EntryDraft::step(
                    t(i),
                    record(pick(&runs, *run), i as u64 + 1, decision, approval),
                )
            }
            Op::StepResult { pick: n, ok } => EntryDraft::step_result(
                t(i),
                pick(&steps, *n),
                if *ok {
                    Completion::succeeded(Some(b"seen"))
                } else {
                    Completion::failed("failed", None)
                },
            ),
            Op::RunEnd(n) => {
                EntryDraft::run_end(t(i), pick(&runs, *n), Completion::succeeded(None))
            }
            Op::Note(text) => EntryDraft::note(t(i), text.clone()),
        }
    }

    proptest! {
        // Each case verifies every signature of a fresh log (~30 ms each unoptimised), so the
        // case count stays small.
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn whatever_the_chain_accepts_verifies(ops in prop::collection::vec(op(), 0..24)) {
            let (mut chain, first) = AuditChain::start(t(0), &key());
            let mut lines = vec![first.to_line()];
            for (i, op) in ops.iter().enumerate() {
                let i = i as i64 + 1;
                match chain.append(draft(&chain, op, i), &key()) {
                    Ok(entry) => lines.push(entry.to_line()),
                    // Refusals are rule errors only, and leave the chain as it was.
                    Err(e) => prop_assert!(
                        matches!(e, bridle_executor::audit::AppendError::Rule(_)),
                        "{e}"
                    ),
                }
            }
            let report = verify(&lines).unwrap();
            prop_assert_eq!(report.entries, lines.len() as u64);
            prop_assert_eq!(report.last_hash, chain.last_hash());
            let open: Vec<u64> = chain.open_steps().map(|s| s.seq).collect();
            prop_assert_eq!(report.open_steps.iter().map(|s| s.seq).collect::<Vec<_>>(), open);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn changing_any_byte_fails_on_the_line_of_that_byte(
            at in 0usize..1_000_000,
            to in any::<u8>(),
        ) {
            let mut bytes = prefixes().text.clone().into_bytes();
            let at = at % bytes.len();
            prop_assume!(bytes[at] != to);
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            bytes[at] = to;
            let err = verify_bytes(&bytes).expect_err("a changed byte verified");
            prop_assert_eq!(err.line(), Some(line), "{}", err);
        }
    }

    #[test]
    fn changing_each_byte_of_an_entry_fails_on_its_line() {
        // Exhaustive over line 5 (an asked step: numbers, strings, a target, reasons, an
        // approval, nulls): every byte changed to a neighbour, a space and a newline.
        let log = &prefixes().text;
        let start = prefixes().ends[3];
        let end = prefixes().ends[4];
        for at in start..end {
            for to in [log.as_bytes()[at] ^ 1, b' ', b'\n'] {
                let mut bytes = log.clone().into_bytes();
                if bytes[at] == to {
                    continue;
                }
                bytes[at] = to;
                let err = verify_bytes(&bytes).unwrap_err();
                assert_eq!(err.line(), Some(5), "byte {at} to {to}: {err}");
            }
        }
    }
}

#[cfg(test)]
mod cli {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};
    use std::sync::OnceLock;

    /// The `bridle` binary, built once. It sits next to this test's `deps` directory.
    fn bridle() -> &'static Path {
        static BIN: OnceLock<PathBuf> = OnceLock::new();
        BIN.get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-q", "-p", "bridle-cli"])
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
                .status()
                .unwrap();
            assert!(status.success(), "building bridle failed");
            let exe = std::env::current_exe().unwrap();
            let dir = exe.parent().unwrap().parent().unwrap();
            dir.join(format!("bridle{}", std::env::consts::EXE_SUFFIX))
        })
    }

    fn write_log(name: &str, content: &str) -> PathBuf {
        // Cargo's folder for integration tests' files (under target/), not the system's
        // temporary folder, which these logs used to litter run after run.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("bridle-audit-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn run(args: &[&str]) -> (i32, String, String) {
        let Output {
            status,
            stdout,
            stderr,
        } = Command::new(bridle()).args(args).output().unwrap();
        (
            status.code().unwrap(),
            String::from_utf8(stdout).unwrap(),
            String::from_utf8(stderr).unwrap(),
        )
    }

    #[test]
    fn verify_reports_a_good_log_and_warns_when_the_key_is_not_pinned() {
        let path = write_log("good.jsonl", &text(&fixture(&key())));
        let path = path.to_str().unwrap();
        let (code, out, err) = run(&["audit", "verify", path]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.starts_with("ok: 15 entries, 3 runs, 5 steps (1 open)\n"),
            "{out}"
        );
        assert!(out.contains(
            "open step: line 15 (seq 14): step 2 of run seq 11 started and has no result: click button \"Item 2\""
        ));
        assert!(out.contains("open run: line 12 (seq 11): no run-end"));
        assert!(out.contains(&format!(
            "last entry: seq 14, hash {}",
            verify(&fixture(&key())).unwrap().last_hash
        )));
        assert!(err.starts_with("warning: key not pinned"), "{err}");

        let public = encode_public_key(&key().verifying_key());
        let (code, _, err) = run(&["audit", "verify", path, "--public-key", &public]);
        assert_eq!((code, err.as_str()), (0, ""));
        let id = instance_id(&key().verifying_key());
        let (code, _, err) = run(&["audit", "verify", "--instance", &id, path]);
        assert_eq!((code, err.as_str()), (0, ""));
    }

    #[test]
    fn verify_prints_the_first_fault_and_exits_1() {
        let mut lines = fixture(&key());
        let mut e = entry(&lines[6]);
        e.text = Some("click button \"Something else\"".into());
        e.seal(&key());
        lines[6] = e.to_line();
        let path = write_log("broken.jsonl", &text(&lines));
        let (code, out, err) = run(&["audit", "verify", path.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "error: line 8 (seq 7): broken link: prev does not match the hash of seq 6\n\
             help: the entry before this one was replaced, or this one was moved or rewritten\n"
        );
        let other = encode_public_key(&other_key().verifying_key());
        let good = write_log("good-for-pin.jsonl", &text(&fixture(&key())));
        let (code, _, err) = run(&[
            "audit",
            "verify",
            good.to_str().unwrap(),
            "--public-key",
            &other,
        ]);
        assert_eq!(code, 1);
        assert!(
            err.starts_with("error: line 1 (seq 0): the log is signed by key `"),
            "{err}"
        );
    }

    #[test]
    fn verify_json_has_the_counts_or_the_error() {
        let path = write_log("json-good.jsonl", &text(&fixture(&key())));
        let (code, out, _) = run(&["audit", "verify", "--json", path.to_str().unwrap()]);
        assert_eq!(code, 0);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["ok"], true);
        assert_eq!(v["entries"], 15);
        assert_eq!(v["runs"], 3);
        assert_eq!(v["steps"], 5);
        assert_eq!(v["open_steps"][0]["seq"], 14);
        assert_eq!(v["open_steps"][0]["line"], 15);
        assert_eq!(v["open_steps"][0]["step"], 2);
        assert_eq!(v["decisions"]["deny"], 1);
        assert_eq!(v["pinned"], false);
        assert_eq!(v["error"], serde_json::Value::Null);

        let mut lines = fixture(&key());
        lines.swap(2, 3);
        let path = write_log("json-bad.jsonl", &text(&lines));
        let (code, out, _) = run(&["audit", "verify", "--json", path.to_str().unwrap()]);
        assert_eq!(code, 1);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(
            v["error"],
            serde_json::json!({
                "line": 3,
                "seq": 3,
                "kind": "reordered",
                "message": "line 3: out of order: expected seq 2, found seq 3; seq 2 is on line 4",
                "help": "entries were moved; the log must list them in seq order",
            })
        );
    }

    #[test]
    fn usage_errors_exit_2() {
        let path = write_log("usage.jsonl", &text(&fixture(&key())));
        let path = path.to_str().unwrap();
        let (code, _, err) = run(&["audit", "verify", "/nonexistent/bridle/log.jsonl"]);
        assert_eq!(code, 2);
        assert!(
            err.starts_with("error: cannot read `/nonexistent/bridle/log.jsonl`: "),
            "{err}"
        );
        let (code, _, err) = run(&["audit", "verify", path, "--public-key", "AAAA"]);
        assert_eq!(code, 2);
        assert!(
            err.contains("public key is 3 bytes, but must be 32"),
            "{err}"
        );
        let public = encode_public_key(&key().verifying_key());
        let (code, _, err) = run(&[
            "audit",
            "verify",
            path,
            "--public-key",
            &public,
            "--instance",
            "bx1_x",
        ]);
        assert_eq!(code, 2);
        assert!(err.contains("cannot be used with"), "{err}");
    }
}
