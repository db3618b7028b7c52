//! Unit tests of the writer, the store and the verifier working together. The tamper suite
//! and the property tests are in `tests/audit.rs`.

use super::*;
use crate::decision::Outcome;
use ed25519_dalek::SigningKey;
use sha2::Digest as _;
use time::macros::datetime;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn at(second: u8) -> Timestamp {
    Timestamp::new(datetime!(2025-03-01 12:00:00 UTC) + time::Duration::seconds(second.into()))
        .unwrap()
}

fn step(run: u64, index: u64, decision: Outcome, approval: Option<ApprovalChoice>) -> StepRecord {
    StepRecord {
        run,
        step: index,
        text: format!("click button \"Step {index}\""),
        target: Some(Target {
            role: "button".into(),
            name: format!("Step {index}"),
            fingerprint: format!("fp{index}"),
        }),
        decision,
        reasons: vec![format!("{decision} (policy): rule {index}")],
        approval: approval.map(|choice| Approval { choice, at: at(59) }),
    }
}

fn started() -> (AuditChain, Vec<String>) {
    let (chain, first) = AuditChain::start(at(0), &key());
    (chain, vec![first.to_line()])
}

fn log(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn push(chain: &mut AuditChain, lines: &mut Vec<String>, draft: EntryDraft) -> AuditEntry {
    let entry = chain.append(draft, &key()).unwrap();
    lines.push(entry.to_line());
    entry
}

#[test]
fn a_new_log_begins_with_its_key_and_instance() {
    let (chain, lines) = started();
    let first = AuditEntry::parse(&lines[0]).unwrap();
    assert_eq!(first.kind, EntryKind::LogStart);
    assert_eq!(first.seq, 0);
    assert_eq!(first.prev, ChainHash::GENESIS);
    let public = key().verifying_key();
    assert_eq!(first.instance, crate::keys::instance_id(&public));
    assert_eq!(first.key, Some(crate::keys::encode_public_key(&public)));
    assert_eq!(chain.next_seq(), 1);
    assert_eq!(chain.last_hash(), first.hash);
    assert_eq!(chain.instance(), first.instance);
    assert_eq!(chain.public_key(), public);

    let report = verify_log(log(&lines).as_bytes(), &KeyPin::PublicKey(public)).unwrap();
    assert_eq!(report.entries, 1);
    assert!(report.pinned);
    assert_eq!(report.last_seq, 0);
    assert_eq!(report.last_hash, first.hash);
}

#[test]
fn a_run_writes_ahead_and_completes_and_verifies() {
    let (mut chain, mut lines) = started();
    let script = ContentHash::of(b"script bytes");
    let run = push(
        &mut chain,
        &mut lines,
        EntryDraft::run_start(at(1), script, Some("jti-1".into())),
    );
    let s1 = push(
        &mut chain,
        &mut lines,
        EntryDraft::step(at(2), step(run.seq, 1, Outcome::Allow, None)),
    );
    // The step is open between its entry and its result: a crash here leaves it visible.
    assert_eq!(
        chain.open_steps().map(|s| s.seq).collect::<Vec<_>>(),
        [s1.seq]
    );
    assert_eq!(s1.script, Some(script));
    assert_eq!(s1.jti.as_deref(), Some("jti-1"));
    push(
        &mut chain,
        &mut lines,
        EntryDraft::step_result(at(3), s1.seq, Completion::succeeded(Some(b"page"))),
    );
    assert_eq!(chain.open_steps().count(), 0);
    let s2 = push(
        &mut chain,
        &mut lines,
        EntryDraft::step(
            at(4),
            step(run.seq, 2, Outcome::Ask, Some(ApprovalChoice::Deny)),
        ),
    );
    // A refused step never acts, so it is not open.
    assert_eq!(chain.open_steps().count(), 0);
    let s3 = push(
        &mut chain,
        &mut lines,
        EntryDraft::step(
            at(5),
            step(run.seq, 3, Outcome::Ask, Some(ApprovalChoice::Once)),
        ),
    );
    push(&mut chain, &mut lines, EntryDraft::note(at(6), "restarted"));
    push(
        &mut chain,
        &mut lines,
        EntryDraft::run_end(at(7), run.seq, Completion::failed("interrupted", None)),
    );
    assert_eq!(chain.open_runs().count(), 0);

    let report = verify_log(log(&lines).as_bytes(), &KeyPin::Unpinned).unwrap();
    assert!(!report.pinned);
    assert_eq!(report.entries, 8);
    assert_eq!(
        report.tally,
        Tally {
            runs: 1,
            steps: 3,
            allow: 1,
            ask: 2,
            deny: 0,
            acted: 2,
            failed: 1,
        }
    );
    assert_eq!(
        report.open_steps,
        [OpenStep {
            seq: s3.seq,
            run: run.seq,
            step: 3,
            text: "click button \"Step 3\"".into(),
        }]
    );
    assert!(report.open_runs.is_empty());
    assert_eq!(report.last_seq, 7);
    assert_eq!(report.last_hash, chain.last_hash());
    let _ = s2;
}

#[test]
fn the_writer_refuses_what_the_verifier_would_reject_and_stays_unchanged() {
    let (mut chain, mut lines) = started();
    let run = push(
        &mut chain,
        &mut lines,
        EntryDraft::run_start(at(1), ContentHash::of(b"s"), None),
    );
    let refused = push(
        &mut chain,
        &mut lines,
        EntryDraft::step(at(2), step(run.seq, 1, Outcome::Deny, None)),
    );
    let done = push(
        &mut chain,
        &mut lines,
        EntryDraft::step(at(3), step(run.seq, 2, Outcome::Allow, None)),
    );
    push(
        &mut chain,
        &mut lines,
        EntryDraft::step_result(at(4), done.seq, Completion::succeeded(None)),
    );
    let before = (chain.next_seq(), chain.last_hash());
    let cases: Vec<(EntryDraft, AppendError)> = vec![
        (
            EntryDraft::step(at(5), step(9, 1, Outcome::Allow, None)),
            RuleError::StepOutsideRun { run: 9 }.into(),
        ),
        (
            EntryDraft::step(at(5), step(refused.seq, 1, Outcome::Allow, None)),
            RuleError::StepOutsideRun { run: refused.seq }.into(),
        ),
        (
            EntryDraft::step(at(5), step(run.seq, 0, Outcome::Allow, None)),
            RuleError::Shape(ShapeError::StepZero).into(),
        ),
        (
            EntryDraft::step(at(5), step(run.seq, 3, Outcome::Ask, None)),
            RuleError::Shape(ShapeError::ApprovalMissing).into(),
        ),
        (
            EntryDraft::step(
                at(5),
                step(run.seq, 3, Outcome::Allow, Some(ApprovalChoice::Once)),
            ),
            RuleError::Shape(ShapeError::ApprovalUnexpected {
                decision: Outcome::Allow,
            })
            .into(),
        ),
        (
            EntryDraft::step(
                at(5),
                StepRecord {
                    text: String::new(),
                    ..step(run.seq, 3, Outcome::Allow, None)
                },
            ),
            RuleError::Shape(ShapeError::EmptyText).into(),
        ),
        (
            EntryDraft::step(
                at(5),
                StepRecord {
                    step: MAX_SEQ + 1,
                    ..step(run.seq, 3, Outcome::Allow, None)
                },
            ),
            AppendError::StepIndexTooLarge { step: MAX_SEQ + 1 },
        ),
        // The writer keeps no history, so every bad `of` is simply dangling.
        (
            EntryDraft::step_result(at(5), refused.seq, Completion::succeeded(None)),
            RuleError::DanglingResult {
                of: refused.seq,
                expected: EntryKind::Step,
            }
            .into(),
        ),
        (
            EntryDraft::step_result(at(5), done.seq, Completion::succeeded(None)),
            RuleError::DanglingResult {
                of: done.seq,
                expected: EntryKind::Step,
            }
            .into(),
        ),
        (
            EntryDraft::step_result(at(5), 99, Completion::succeeded(None)),
            RuleError::DanglingResult {
                of: 99,
                expected: EntryKind::Step,
            }
            .into(),
        ),
        (
            EntryDraft::run_end(at(5), done.seq, Completion::succeeded(None)),
            RuleError::DanglingResult {
                of: done.seq,
                expected: EntryKind::RunStart,
            }
            .into(),
        ),
        (
            EntryDraft::run_end(
                at(5),
                run.seq,
                Completion {
                    ok: false,
                    error: None,
                    observation: None,
                },
            ),
            RuleError::Shape(ShapeError::ResultInconsistent).into(),
        ),
    ];
    for (draft, expected) in cases {
        assert_eq!(chain.append(draft, &key()).unwrap_err(), expected);
        assert_eq!((chain.next_seq(), chain.last_hash()), before);
    }
    let other = SigningKey::from_bytes(&[8; 32]);
    let err = chain
        .append(EntryDraft::note(at(5), "x"), &other)
        .unwrap_err();
    assert_eq!(
        err,
        AppendError::WrongKey {
            instance: chain.instance().to_owned()
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the signing key is not the key of instance `{}`, which this log belongs to",
            chain.instance()
        )
    );
    assert_eq!(
        RuleError::DanglingResult {
            of: 99,
            expected: EntryKind::Step
        }
        .to_string(),
        "`of` names seq 99, which is not an earlier `step` entry"
    );
    // Everything that was accepted still verifies.
    verify_log(log(&lines).as_bytes(), &KeyPin::Unpinned).unwrap();
}

#[test]
fn a_prepared_entry_that_is_dropped_changes_nothing() {
    let (mut chain, mut lines) = started();
    let before = (chain.next_seq(), chain.last_hash());
    {
        let pending = chain
            .prepare(EntryDraft::note(at(1), "lost"), &key())
            .unwrap();
        assert_eq!(pending.entry().seq, 1);
        assert_eq!(pending.line(), pending.entry().to_line());
    }
    assert_eq!((chain.next_seq(), chain.last_hash()), before);
    let entry = push(&mut chain, &mut lines, EntryDraft::note(at(2), "kept"));
    assert_eq!(entry.seq, 1);
    assert_eq!(entry.text.as_deref(), Some("kept"));
    verify_log(log(&lines).as_bytes(), &KeyPin::Unpinned).unwrap();
}

/// The line of a note whose text is `n` bytes of `x`.
fn note_line_len(chain: &mut AuditChain, n: usize) -> Result<usize, AppendError> {
    let pending = chain.prepare(EntryDraft::note(at(1), "x".repeat(n)), &key())?;
    Ok(pending.line().len())
}

#[test]
fn the_line_length_limit_is_exact_on_both_sides() {
    let (mut chain, mut lines) = started();
    let overhead = note_line_len(&mut chain, 0).unwrap();
    let fits = MAX_LINE_BYTES - overhead;
    assert_eq!(note_line_len(&mut chain, fits), Ok(MAX_LINE_BYTES));
    let err = note_line_len(&mut chain, fits + 1).unwrap_err();
    assert_eq!(
        err,
        AppendError::TooLong {
            len: MAX_LINE_BYTES + 1
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the entry is {} bytes, more than the limit of {MAX_LINE_BYTES} bytes per line",
            MAX_LINE_BYTES + 1
        )
    );
    // The verifier takes a line at the limit and refuses one byte more, before parsing it.
    push(
        &mut chain,
        &mut lines,
        EntryDraft::note(at(1), "x".repeat(fits)),
    );
    let text = log(&lines);
    let report = verify_log(text.as_bytes(), &KeyPin::Unpinned).unwrap();
    assert_eq!(report.entries, 2);
    let long = format!("{}{}\n", text, "y".repeat(MAX_LINE_BYTES + 1));
    assert_eq!(
        verify_log(long.as_bytes(), &KeyPin::Unpinned).unwrap_err(),
        AuditError::TooLong {
            line: 3,
            len: MAX_LINE_BYTES + 1
        }
    );
}

#[test]
fn the_chain_stops_at_the_largest_seq() {
    let (mut chain, _) = started();
    chain.state_mut().next_seq = MAX_SEQ;
    let last = chain
        .append(EntryDraft::note(at(1), "last"), &key())
        .unwrap();
    assert_eq!(last.seq, MAX_SEQ);
    assert_eq!(AuditEntry::parse(&last.to_line()).unwrap().seq, MAX_SEQ);
    let err = chain
        .append(EntryDraft::note(at(2), "one too many"), &key())
        .unwrap_err();
    assert_eq!(err, AppendError::ChainFull);
    assert_eq!(
        err.to_string(),
        "the log has reached seq 9007199254740991, the largest the format allows"
    );
}

#[test]
fn a_resumed_chain_continues_the_same_log_with_its_open_steps() {
    let (mut chain, mut lines) = started();
    let run = push(
        &mut chain,
        &mut lines,
        EntryDraft::run_start(at(1), ContentHash::of(b"s"), Some("j".into())),
    );
    let open = push(
        &mut chain,
        &mut lines,
        EntryDraft::step(at(2), step(run.seq, 1, Outcome::Allow, None)),
    );
    // A restart: the chain is rebuilt from the stored log alone.
    let mut resumed = AuditChain::resume(log(&lines).as_bytes(), &key()).unwrap();
    assert_eq!(resumed.next_seq(), chain.next_seq());
    assert_eq!(resumed.last_hash(), chain.last_hash());
    assert_eq!(
        resumed.open_steps().map(|s| s.seq).collect::<Vec<_>>(),
        [open.seq]
    );
    assert_eq!(
        resumed.open_runs().map(|r| r.seq).collect::<Vec<_>>(),
        [run.seq]
    );
    push(
        &mut resumed,
        &mut lines,
        EntryDraft::step_result(at(3), open.seq, Completion::failed("interrupted", None)),
    );
    push(
        &mut resumed,
        &mut lines,
        EntryDraft::run_end(at(4), run.seq, Completion::failed("interrupted", None)),
    );
    verify_log(log(&lines).as_bytes(), &KeyPin::Unpinned).unwrap();

    // Another key cannot continue it.
    let other = SigningKey::from_bytes(&[8; 32]);
    let err = AuditChain::resume(log(&lines).as_bytes(), &other).unwrap_err();
    assert_eq!(err.kind(), "key-mismatch");
}

/// A store that fails its writes after `ok` lines.
#[derive(Debug, Default)]
struct FlakyStore {
    inner: MemoryAuditStore,
    ok: usize,
}

impl AuditStore for FlakyStore {
    fn append(&mut self, line: &str) -> Result<(), AuditStoreError> {
        if self.inner.lines()?.len() >= self.ok {
            return Err(AuditStoreError::Write("disk full".into()));
        }
        self.inner.append(line)
    }

    fn lines(&self) -> Result<Vec<String>, AuditStoreError> {
        self.inner.lines()
    }
}

#[test]
fn the_writer_advances_only_when_the_store_has_the_line() {
    let store = FlakyStore {
        ok: 2,
        ..FlakyStore::default()
    };
    let mut writer = AuditWriter::open(store, at(0), &key()).unwrap();
    writer
        .record(EntryDraft::note(at(1), "stored"), &key())
        .unwrap();
    let before = (writer.chain().next_seq(), writer.chain().last_hash());
    let err = writer
        .record(EntryDraft::note(at(2), "not stored"), &key())
        .unwrap_err();
    assert_eq!(
        err,
        WriteError::Store(AuditStoreError::Write("disk full".into()))
    );
    assert_eq!(
        err.to_string(),
        "the audit log could not be written: disk full"
    );
    assert_eq!(
        (writer.chain().next_seq(), writer.chain().last_hash()),
        before
    );
    let text = writer.store().export().unwrap();
    assert_eq!(
        verify_log(text.as_bytes(), &KeyPin::Unpinned)
            .unwrap()
            .entries,
        2
    );
}

#[test]
fn opening_a_store_starts_a_log_or_continues_the_one_it_holds() {
    let mut writer = AuditWriter::open(MemoryAuditStore::new(), at(0), &key()).unwrap();
    writer
        .record(EntryDraft::note(at(1), "one"), &key())
        .unwrap();
    let store = writer.into_store();
    assert_eq!(store.lines().unwrap().len(), 2);
    let mut writer = AuditWriter::open(store, at(2), &key()).unwrap();
    let entry = writer
        .record(EntryDraft::note(at(3), "two"), &key())
        .unwrap();
    assert_eq!(entry.seq, 2);
    let report = verify_log(
        writer.store().export().unwrap().as_bytes(),
        &KeyPin::PublicKey(key().verifying_key()),
    )
    .unwrap();
    assert_eq!(report.entries, 3);

    let other = SigningKey::from_bytes(&[8; 32]);
    let err = AuditWriter::open(writer.into_store(), at(4), &other).unwrap_err();
    assert!(matches!(
        err,
        WriteError::Resume(AuditError::KeyMismatch { .. })
    ));
    assert!(err.to_string().starts_with(
        "the stored audit log cannot be continued: line 1 (seq 0): the log is signed by key `"
    ));
}

#[test]
fn every_error_has_a_distinct_kind_and_a_help() {
    let errors = [
        AuditError::Empty,
        AuditError::TooLong { line: 1, len: 2 },
        AuditError::Truncated { line: 1 },
        AuditError::CarriageReturn { line: 1 },
        AuditError::Malformed {
            line: 1,
            detail: "x".into(),
        },
        AuditError::NonCanonical { line: 1, seq: 0 },
        AuditError::Missing {
            line: 1,
            expected: 0,
            found: 1,
        },
        AuditError::Reordered {
            line: 1,
            expected: 0,
            found: 1,
            expected_line: 2,
        },
        AuditError::Duplicate {
            line: 2,
            seq: 0,
            first_line: 1,
        },
        AuditError::SeqReused {
            line: 2,
            seq: 0,
            first_line: 1,
        },
        AuditError::BrokenLink { line: 1, seq: 0 },
        AuditError::BadHash { line: 1, seq: 0 },
        AuditError::BadSignature { line: 1, seq: 0 },
        AuditError::BadKey { detail: "x".into() },
        AuditError::KeyMismatch {
            pinned: "a".into(),
            found: "b".into(),
        },
        AuditError::InstanceMismatch {
            pinned: "a".into(),
            found: "b".into(),
        },
        AuditError::ForeignEntry {
            line: 2,
            seq: 1,
            found: "a".into(),
            log: "b".into(),
        },
    ];
    let rules = [
        RuleError::FirstNotLogStart {
            kind: EntryKind::Note,
        },
        RuleError::LogStartAgain,
        RuleError::Shape(ShapeError::StepZero),
        RuleError::DanglingResult {
            of: 1,
            expected: EntryKind::Step,
        },
        RuleError::DuplicateResult {
            of: 1,
            kind: EntryKind::StepResult,
        },
        RuleError::ResultForRefusedStep { of: 1 },
        RuleError::StepOutsideRun { run: 1 },
        RuleError::RunMismatch {
            run: 1,
            field: "jti",
        },
    ];
    let all: Vec<AuditError> = errors
        .into_iter()
        .chain(rules.into_iter().map(|rule| AuditError::Rule {
            line: 2,
            seq: 1,
            rule,
        }))
        .collect();
    let mut kinds: Vec<&str> = all.iter().map(AuditError::kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds.len(), all.len());
    for e in &all {
        let message = e.to_string();
        assert!(!message.ends_with('.'), "{message}");
        assert!(!e.help().is_empty());
        assert!(e.help().chars().next().is_some_and(char::is_lowercase));
    }
    assert_eq!(
        AuditError::BrokenLink { line: 7, seq: 6 }.to_string(),
        "line 7 (seq 6): broken link: prev does not match the hash of seq 5"
    );
    assert_eq!(
        AuditError::BrokenLink { line: 1, seq: 0 }.to_string(),
        "line 1 (seq 0): broken link: prev of the first entry must be 64 zeros"
    );
}

const EXAMPLE: [&str; 4] = [
    r#"{"seq":0,"time":"2025-03-01T12:00:00Z","prev":"0000000000000000000000000000000000000000000000000000000000000000","instance":"bx1_ee03b2a00fef2b3508d629b88a685863","kind":"log-start","key":"Hrnbu7wEfAP9cGBOAHHwmH4Wsot1ciXBHwBBXQ4gsaI","run":null,"of":null,"script":null,"jti":null,"step":null,"text":null,"target":null,"decision":null,"reasons":null,"approval":null,"result":null,"hash":"c7e6123c1629f077b7fbda6b239cee141726da69763f4a9210da3eaba9b1f1c0","sig":"Xn9a70sg80Fa7YtO4fRqaDpAOX7W9LxszkoapKUV_RdAONFvCTmfmPEIHAFP00wq1y_6I2tM5SqqZ7S9cbiyDQ"}"#,
    r#"{"seq":1,"time":"2025-03-01T12:00:01Z","prev":"c7e6123c1629f077b7fbda6b239cee141726da69763f4a9210da3eaba9b1f1c0","instance":"bx1_ee03b2a00fef2b3508d629b88a685863","kind":"run-start","key":null,"run":null,"of":null,"script":"sha256:1eab0d5868f281eaf70af9de42d6eeeb7c8c0947636bee844c88e6668f0ce2bc","jti":"tok-1","step":null,"text":null,"target":null,"decision":null,"reasons":null,"approval":null,"result":null,"hash":"9c32e6f700098cef62cbf23107534074217de918565d441ee7889609d6e757b1","sig":"-uYNMWHnKx0YXPzhbXIcLpplLudbQiKOO5UxNX24FIwL4dmKD4rIxWvMWQIj4LQQkvisot3KmKAMFJh1osUVCQ"}"#,
    r#"{"seq":2,"time":"2025-03-01T12:00:09Z","prev":"9c32e6f700098cef62cbf23107534074217de918565d441ee7889609d6e757b1","instance":"bx1_ee03b2a00fef2b3508d629b88a685863","kind":"step","key":null,"run":1,"of":null,"script":"sha256:1eab0d5868f281eaf70af9de42d6eeeb7c8c0947636bee844c88e6668f0ce2bc","jti":"tok-1","step":1,"text":"click button \"Pay\"","target":{"role":"button","name":"Pay","fingerprint":"f1c2"},"decision":"ask","reasons":["ask (script): `click` on `Pay` is high risk"],"approval":{"choice":"once","at":"2025-03-01T12:00:08Z"},"result":null,"hash":"ce346551ee8344182ce623b3ae1e516eb38a8ad8996e04768f7f24d7a8aa1d8a","sig":"E1Fqzn3HAAnTqyIwMewvXX1MT8TahZkYT9HS9CV31dzTGEjVj6kCyZEaNOhukRdYWcjuImsc0QgaMzrefgGtAg"}"#,
    r#"{"seq":3,"time":"2025-03-01T12:00:10Z","prev":"ce346551ee8344182ce623b3ae1e516eb38a8ad8996e04768f7f24d7a8aa1d8a","instance":"bx1_ee03b2a00fef2b3508d629b88a685863","kind":"step-result","key":null,"run":null,"of":2,"script":null,"jti":null,"step":null,"text":null,"target":null,"decision":null,"reasons":null,"approval":null,"result":{"ok":true,"error":null,"observation":"sha256:3442382144d38088c1463363d1aeb229b2e1c5d511f4fad35226dcafc52a2070"},"hash":"fe07f6cd35db16e1943d3854a9401ed496e1beb1388cabbaac6b63034375df15","sig":"XwBj4xVtNhsc-kuJr0s0yj-8py1c8p6fMOLXCmNAqiy6ITELJw8NU8wTodg3R24PO2nnvTYbBIKSTcOlb7XJCQ"}"#,
];

/// The example in `docs/audit.md`, byte for byte: the PASETO v4 test vectors' key pair, so
/// another implementation can reproduce every hash and signature.
#[test]
fn the_worked_example_of_docs_audit_md() {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(
        "b4cbfb43df4ce210727d953e4a713307fa19bb7d9f85041438d9e11b942a3774",
        &mut seed,
    )
    .unwrap();
    let signer = SigningKey::from_bytes(&seed);
    let (mut chain, first) =
        AuditChain::start(Timestamp::parse("2025-03-01T12:00:00Z").unwrap(), &signer);
    let run = chain
        .append(
            EntryDraft::run_start(
                Timestamp::parse("2025-03-01T12:00:01Z").unwrap(),
                ContentHash::of(b"go to \"https://shop.example\"\n"),
                Some("tok-1".into()),
            ),
            &signer,
        )
        .unwrap();
    let step = chain
        .append(
            EntryDraft::step(
                Timestamp::parse("2025-03-01T12:00:09Z").unwrap(),
                StepRecord {
                    run: run.seq,
                    step: 1,
                    text: "click button \"Pay\"".into(),
                    target: Some(Target {
                        role: "button".into(),
                        name: "Pay".into(),
                        fingerprint: "f1c2".into(),
                    }),
                    decision: Outcome::Ask,
                    reasons: vec!["ask (script): `click` on `Pay` is high risk".into()],
                    approval: Some(Approval {
                        choice: ApprovalChoice::Once,
                        at: Timestamp::parse("2025-03-01T12:00:08Z").unwrap(),
                    }),
                },
            ),
            &signer,
        )
        .unwrap();
    let done = chain
        .append(
            EntryDraft::step_result(
                Timestamp::parse("2025-03-01T12:00:10Z").unwrap(),
                step.seq,
                Completion::succeeded(Some(b"Thank you for your order")),
            ),
            &signer,
        )
        .unwrap();
    let got: Vec<String> = [&first, &run, &step, &done]
        .iter()
        .map(|e| e.to_line())
        .collect();
    assert_eq!(got, EXAMPLE);
    let log: String = EXAMPLE.iter().map(|l| format!("{l}\n")).collect();
    let report = verify_log(
        log.as_bytes(),
        &KeyPin::Instance("bx1_ee03b2a00fef2b3508d629b88a685863".into()),
    )
    .unwrap();
    assert_eq!(report.entries, 4);
    assert_eq!(report.open_runs.len(), 1);
    // The hash and the signed message, spelled out as the document does.
    let body = first.body();
    let mut hashed = vec![0u8; 32];
    hashed.extend_from_slice(body.as_bytes());
    assert_eq!(first.hash, ChainHash(sha2::Sha256::digest(&hashed).into()));
    let mut signed = b"bridle-audit-v1".to_vec();
    signed.extend_from_slice(&first.hash.0);
    assert!(signer
        .verifying_key()
        .verify_strict(&signed, &first.sig)
        .is_ok());
}
