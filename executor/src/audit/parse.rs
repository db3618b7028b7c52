//! Reading one log line into an [`AuditEntry`], field by field, with a message a person can act
//! on for each way a line can be wrong. Canonical form is not checked here: the verifier writes
//! the parsed entry back out and compares bytes, which catches every other difference at once.

use super::entry::{AuditEntry, FIELDS};
use super::types::{
    parse_outcome, Approval, ApprovalChoice, ChainHash, Completion, ContentHash, EntryKind, Target,
    Timestamp,
};
use super::MAX_SEQ;
use ed25519_dalek::Signature;
use serde_json::{Map, Value};

/// Why a line is not an entry: lowercase, naming the field in backticks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedEntry(pub String);

impl AuditEntry {
    /// Parses one line (without its newline). Says nothing about canonical form, hash or
    /// signature: that is [`verify_log`](super::verify_log)'s work.
    pub fn parse(line: &str) -> Result<AuditEntry, MalformedEntry> {
        parse_entry(line).map_err(MalformedEntry)
    }
}

fn parse_entry(line: &str) -> Result<AuditEntry, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| {
        if e.is_eof() {
            format!("the entry is cut off at column {}", e.column())
        } else {
            format!("not valid JSON at column {}", e.column())
        }
    })?;
    let Value::Object(map) = value else {
        return Err("an entry must be a JSON object".into());
    };
    let map = &map;
    exact_keys(map, &FIELDS, "")?;
    let kind = get(map, "kind")
        .as_str()
        .and_then(EntryKind::parse)
        .ok_or_else(|| {
            let kinds: Vec<String> = EntryKind::ALL.iter().map(|k| format!("`{k}`")).collect();
            format!("`kind` must be one of {}", kinds.join(", "))
        })?;
    Ok(AuditEntry {
        seq: number(map, "seq")?.ok_or_else(|| not_null("seq"))?,
        time: time(get(map, "time"), "time")?,
        prev: hash(map, "prev")?,
        instance: string(map, "instance")?.ok_or_else(|| not_null("instance"))?,
        kind,
        key: string(map, "key")?,
        run: number(map, "run")?,
        of: number(map, "of")?,
        script: content_hash(get(map, "script"), "script")?,
        jti: string(map, "jti")?,
        step: number(map, "step")?,
        text: string(map, "text")?,
        target: target(get(map, "target"))?,
        decision: match get(map, "decision") {
            Value::Null => None,
            v => Some(v.as_str().and_then(parse_outcome).ok_or_else(|| {
                "`decision` must be `allow`, `ask` or `deny`, or null".to_owned()
            })?),
        },
        reasons: reasons(get(map, "reasons"))?,
        approval: approval(get(map, "approval"))?,
        result: completion(get(map, "result"))?,
        hash: hash(map, "hash")?,
        sig: signature(get(map, "sig"))?,
    })
}

/// A field's value; exact_keys has already checked that every field is there, and a missing
/// one would read as null, which every required field refuses.
fn get<'a>(map: &'a Map<String, Value>, field: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    map.get(field).unwrap_or(&NULL)
}

fn not_null(field: &str) -> String {
    format!("`{field}` cannot be null")
}

/// The object must have exactly `keys`; `prefix` names the enclosing field in messages.
fn exact_keys(map: &Map<String, Value>, keys: &[&str], prefix: &str) -> Result<(), String> {
    if let Some(unknown) = map.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(format!("unknown field `{prefix}{unknown}`"));
    }
    if let Some(missing) = keys.iter().find(|k| !map.contains_key(**k)) {
        return Err(format!("missing field `{prefix}{missing}`"));
    }
    Ok(())
}

fn number(map: &Map<String, Value>, field: &str) -> Result<Option<u64>, String> {
    match get(map, field) {
        Value::Null => Ok(None),
        v => v
            .as_u64()
            .filter(|n| *n <= MAX_SEQ)
            .map(Some)
            .ok_or_else(|| format!("`{field}` must be a whole number from 0 to {MAX_SEQ}")),
    }
}

fn string(map: &Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match get(map, field) {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(format!("`{field}` must be a string")),
    }
}

fn time(value: &Value, field: &str) -> Result<Timestamp, String> {
    value
        .as_str()
        .and_then(|s| Timestamp::parse(s).ok())
        .ok_or_else(|| format!("`{field}` must be an RFC 3339 time"))
}

fn hash(map: &Map<String, Value>, field: &str) -> Result<ChainHash, String> {
    get(map, field)
        .as_str()
        .and_then(ChainHash::parse_hex)
        .ok_or_else(|| format!("`{field}` must be 64 lowercase hex digits"))
}

fn content_hash(value: &Value, field: &str) -> Result<Option<ContentHash>, String> {
    match value {
        Value::Null => Ok(None),
        v => v
            .as_str()
            .and_then(ContentHash::parse)
            .map(Some)
            .ok_or_else(|| {
                format!("`{field}` must be `sha256:` and 64 lowercase hex digits, or null")
            }),
    }
}

fn signature(value: &Value) -> Result<Signature, String> {
    use base64::Engine as _;
    let bytes = value
        .as_str()
        .and_then(|s| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .ok()
        })
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .ok_or_else(|| "`sig` must be 64 bytes in base64url without padding".to_owned())?;
    Ok(Signature::from_bytes(&bytes))
}

fn target(value: &Value) -> Result<Option<Target>, String> {
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        _ => return Err("`target` must be an object or null".into()),
    };
    exact_keys(map, &["role", "name", "fingerprint"], "target.")?;
    let field = |name: &str| {
        get(map, name)
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("`target.{name}` must be a string"))
    };
    Ok(Some(Target {
        role: field("role")?,
        name: field("name")?,
        fingerprint: field("fingerprint")?,
    }))
}

fn reasons(value: &Value) -> Result<Option<Vec<String>>, String> {
    let list = match value {
        Value::Null => return Ok(None),
        Value::Array(list) => list,
        _ => return Err("`reasons` must be a list of strings or null".into()),
    };
    list.iter()
        .map(|r| {
            r.as_str()
                .map(str::to_owned)
                .ok_or_else(|| "`reasons` must be a list of strings or null".to_owned())
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn approval(value: &Value) -> Result<Option<Approval>, String> {
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        _ => return Err("`approval` must be an object or null".into()),
    };
    exact_keys(map, &["choice", "at"], "approval.")?;
    let choice = get(map, "choice")
        .as_str()
        .and_then(ApprovalChoice::parse)
        .ok_or_else(|| {
            "`approval.choice` must be `once`, `script`, `deny`, `timeout` or `closed`".to_owned()
        })?;
    Ok(Some(Approval {
        choice,
        at: time(get(map, "at"), "approval.at")?,
    }))
}

fn completion(value: &Value) -> Result<Option<Completion>, String> {
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        _ => return Err("`result` must be an object or null".into()),
    };
    exact_keys(map, &["ok", "error", "observation"], "result.")?;
    let ok = get(map, "ok")
        .as_bool()
        .ok_or_else(|| "`result.ok` must be true or false".to_owned())?;
    let error = match get(map, "error") {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        _ => return Err("`result.error` must be a string or null".into()),
    };
    Ok(Some(Completion {
        ok,
        error,
        observation: content_hash(get(map, "observation"), "result.observation")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Outcome;
    use ed25519_dalek::SigningKey;

    fn line() -> String {
        let mut e = AuditEntry::blank(
            2,
            Timestamp::parse("2025-03-01T12:00:00Z").unwrap(),
            ChainHash([9; 32]),
            "bx1_x".into(),
            EntryKind::Step,
        );
        e.run = Some(1);
        e.script = Some(ContentHash::of(b"s"));
        e.step = Some(1);
        e.text = Some("go to \"https://a.example\"".into());
        e.target = Some(Target {
            role: "link".into(),
            name: "A".into(),
            fingerprint: "f".into(),
        });
        e.decision = Some(Outcome::Ask);
        e.reasons = Some(vec!["r1".into(), "r2".into()]);
        e.approval = Some(Approval {
            choice: ApprovalChoice::Script,
            at: Timestamp::parse("2025-03-01T12:00:01Z").unwrap(),
        });
        e.seal(&SigningKey::from_bytes(&[3; 32]));
        e.to_line()
    }

    #[test]
    fn a_canonical_line_parses_back_to_the_same_bytes() {
        let l = line();
        let e = AuditEntry::parse(&l).unwrap();
        assert_eq!(e.to_line(), l);
        let mut r = e.clone();
        r.kind = EntryKind::StepResult;
        r.result = Some(Completion::failed("x", Some(b"obs")));
        assert_eq!(AuditEntry::parse(&r.to_line()).unwrap(), r);
    }

    fn err_after(from: &str, to: &str) -> String {
        let l = line();
        assert!(l.contains(from), "{from} not in {l}");
        AuditEntry::parse(&l.replacen(from, to, 1)).unwrap_err().0
    }

    #[test]
    fn each_wrong_field_is_named() {
        let cases = [
            ("\"seq\":2", "\"seq\":-2", "`seq` must be a whole number from 0 to 9007199254740991"),
            ("\"seq\":2", "\"seq\":2.0", "`seq` must be a whole number from 0 to 9007199254740991"),
            ("\"seq\":2", "\"seq\":9007199254740992", "`seq` must be a whole number from 0 to 9007199254740991"),
            ("\"seq\":2", "\"seq\":null", "`seq` cannot be null"),
            ("\"time\":\"2025-03-01T12:00:00Z\"", "\"time\":\"noon\"", "`time` must be an RFC 3339 time"),
            ("\"prev\":\"09", "\"prev\":\"0X", "`prev` must be 64 lowercase hex digits"),
            ("\"instance\":\"bx1_x\"", "\"instance\":7", "`instance` must be a string"),
            ("\"kind\":\"step\"", "\"kind\":\"STEP\"", "`kind` must be one of `log-start`, `run-start`, `step`, `step-result`, `run-end`, `note`"),
            ("\"key\":null", "\"key\":[]", "`key` must be a string"),
            ("\"run\":1", "\"run\":\"1\"", "`run` must be a whole number from 0 to 9007199254740991"),
            ("\"script\":\"sha256:", "\"script\":\"md5:", "`script` must be `sha256:` and 64 lowercase hex digits, or null"),
            ("{\"role\":\"link\",\"name\":\"A\",\"fingerprint\":\"f\"}", "\"link\"", "`target` must be an object or null"),
            ("\"role\":\"link\"", "\"role\":null", "`target.role` must be a string"),
            ("\"role\":\"link\"", "\"rôle\":\"link\"", "unknown field `target.rôle`"),
            ("\"decision\":\"ask\"", "\"decision\":\"maybe\"", "`decision` must be `allow`, `ask` or `deny`, or null"),
            ("\"reasons\":[\"r1\"", "\"reasons\":[1", "`reasons` must be a list of strings or null"),
            ("\"choice\":\"script\"", "\"choice\":\"always\"", "`approval.choice` must be `once`, `script`, `deny`, `timeout` or `closed`"),
            ("\"at\":\"2025-03-01T12:00:01Z\"", "\"at\":\"\"", "`approval.at` must be an RFC 3339 time"),
            (",\"at\":\"2025-03-01T12:00:01Z\"", "", "missing field `approval.at`"),
            ("\"result\":null", "\"result\":true", "`result` must be an object or null"),
            ("\"result\":null", "\"result\":{\"ok\":1,\"error\":null,\"observation\":null}", "`result.ok` must be true or false"),
            ("\"result\":null", "\"result\":{\"ok\":false,\"error\":5,\"observation\":null}", "`result.error` must be a string or null"),
            ("\"result\":null", "\"result\":{\"ok\":true,\"error\":null}", "missing field `result.observation`"),
            ("\"hash\":\"", "\"hash\":\"f", "`hash` must be 64 lowercase hex digits"),
            ("\"sig\":\"", "\"sig\":\"=", "`sig` must be 64 bytes in base64url without padding"),
            ("\"sig\":\"", "\"sig\":\"AAAA", "`sig` must be 64 bytes in base64url without padding"),
            ("\"seq\":2,", "", "missing field `seq`"),
            ("\"seq\":2,", "\"seq\":2,\"extra\":1,", "unknown field `extra`"),
        ];
        for (from, to, msg) in cases {
            assert_eq!(err_after(from, to), msg, "{from} -> {to}");
        }
    }

    #[test]
    fn lines_that_are_not_objects_say_so() {
        assert_eq!(
            AuditEntry::parse("").unwrap_err().0,
            "the entry is cut off at column 0"
        );
        assert_eq!(
            AuditEntry::parse("[1]").unwrap_err().0,
            "an entry must be a JSON object"
        );
        assert_eq!(
            AuditEntry::parse("garbage").unwrap_err().0,
            "not valid JSON at column 1"
        );
        let l = line();
        assert_eq!(
            AuditEntry::parse(&l[..40]).unwrap_err().0,
            "the entry is cut off at column 40"
        );
        assert_eq!(
            AuditEntry::parse(&format!("{l}x")).unwrap_err().0,
            format!("not valid JSON at column {}", l.len() + 1)
        );
    }
}
