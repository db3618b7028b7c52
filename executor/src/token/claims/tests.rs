//! Unit tests of the claims: their JSON form, value types and validation at every limit.

use super::*;
use time::macros::datetime;

/// The error for `path` (shadows the parent's, which takes a structured location).
fn invalid(path: &str, reason: impl Into<String>) -> TokenError {
    TokenError::InvalidClaim {
        path: path.into(),
        reason: reason.into(),
    }
}

fn claims() -> Claims {
    Claims {
        v: 1,
        iss: "planner".into(),
        aud: "bx1_00".into(),
        iat: datetime!(2025-01-01 12:00 UTC),
        nbf: datetime!(2025-01-01 12:00 UTC),
        exp: datetime!(2025-01-01 12:05 UTC),
        jti: "j1".into(),
        uses: 1,
        script: None,
        grants: vec![Grant {
            origins: Some(vec!["https://shop.example".into()]),
            verbs: Some(vec![Verb::Click, Verb::parse("scroll to").unwrap()]),
            max_amount: Some(MaxAmount {
                currency: "EUR".into(),
                value: 20.0,
            }),
            cpu: Some(0.5),
            memory: Some("256MB".parse().unwrap()),
            sandbox: Some(SandboxTier::Microvm),
            ..Grant::default()
        }],
    }
}

#[test]
fn serialises_to_the_documented_json() {
    let json = serde_json::to_string(&claims()).unwrap();
    assert_eq!(
        json,
        r#"{"v":1,"iss":"planner","aud":"bx1_00","iat":"2025-01-01T12:00:00Z","nbf":"2025-01-01T12:00:00Z","exp":"2025-01-01T12:05:00Z","jti":"j1","uses":1,"grants":[{"origins":["https://shop.example"],"verbs":["click","scroll to"],"max_amount":{"currency":"EUR","value":20},"sandbox":"microvm","cpu":0.5,"memory":"256MB"}]}"#
    );
    let back: Claims = serde_json::from_str(&json).unwrap();
    assert_eq!(back, claims());
}

#[test]
fn field_lists_match_the_structs() {
    let full = Grant {
        origins: Some(vec![]),
        paths: Some(vec![]),
        verbs: Some(vec![]),
        max_steps: Some(1),
        max_amount: Some(MaxAmount {
            currency: "EUR".into(),
            value: 1.0,
        }),
        secrets: Some(vec![]),
        runtimes: Some(vec![]),
        sandbox: Some(SandboxTier::Container),
        cpu: Some(1.0),
        memory: Some(Memory::from_bytes(1)),
        network: Some(true),
    };
    let mut c = claims();
    c.script = Some(ScriptHash([0; 32]));
    c.grants = vec![full];
    let value = serde_json::to_value(&c).unwrap();
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let sorted = |s: &[&str]| {
        let mut v: Vec<String> = s.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(keys(&value), sorted(CLAIM_FIELDS));
    assert_eq!(keys(&value["grants"][0]), sorted(GRANT_FIELDS));
    assert_eq!(
        keys(&value["grants"][0]["max_amount"]),
        sorted(AMOUNT_FIELDS)
    );
}

#[test]
fn uses_defaults_to_one() {
    let mut v = serde_json::to_value(claims()).unwrap();
    v.as_object_mut().unwrap().remove("uses");
    let c: Claims = serde_json::from_value(v).unwrap();
    assert_eq!(c.uses, 1);
}

#[test]
fn memory_sizes() {
    assert_eq!("256MB".parse::<Memory>().unwrap().bytes(), 256 << 20);
    assert_eq!("256MiB".parse::<Memory>().unwrap().bytes(), 256 << 20);
    assert_eq!("1GB".parse::<Memory>().unwrap().to_string(), "1GB");
    assert_eq!("1024MB".parse::<Memory>().unwrap().to_string(), "1GB");
    assert_eq!("1536KiB".parse::<Memory>().unwrap().to_string(), "1536KB");
    assert_eq!("7B".parse::<Memory>().unwrap().to_string(), "7B");
    for bad in [
        "",
        "MB",
        "256",
        "256 MB",
        "256mb",
        "-1MB",
        "1.5GB",
        "1TB",
        "99999999999999999999GB",
    ] {
        assert!(bad.parse::<Memory>().is_err(), "{bad}");
    }
    assert_eq!(
        "18446744073709551615GB".parse::<Memory>(),
        Err("`18446744073709551615GB` is too large".to_owned())
    );
    assert_eq!(
        "256 MB".parse::<Memory>(),
        Err(
            "`256 MB` is not a memory size like `256MB` (units: B, KB, MB, GB, KiB, MiB, GiB)"
                .to_owned()
        )
    );
}

#[test]
fn memory_limit_is_inclusive() {
    let mut c = claims();
    c.grants[0].memory = Some(Memory::from_bytes(MAX_MEMORY_BYTES));
    c.validate().unwrap();
    c.grants[0].memory = Some(Memory::from_bytes(MAX_MEMORY_BYTES + 1));
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "token claim `grants[0].memory` is invalid: must be more than 0B and at most 16GB, not `17179869185B`"
    );
}

#[test]
fn script_hash_is_canonical_only() {
    let h = ScriptHash::of(b"");
    assert_eq!(
        h.to_string(),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(h.to_string().parse::<ScriptHash>(), Ok(h));
    let upper = h.to_string().to_uppercase().replace("SHA256", "sha256");
    assert!(upper.parse::<ScriptHash>().is_err());
    assert!("sha256:abc".parse::<ScriptHash>().is_err());
    assert!("sha512:e3b0".parse::<ScriptHash>().is_err());
}

#[test]
fn origin_patterns() {
    for ok in [
        "https://shop.example",
        "https://*.example.com",
        "http://localhost:8080",
        "https://xn--bcher-kva.example",
    ] {
        assert_eq!(check_origin_pattern(ok), Ok(()), "{ok}");
    }
    for bad in [
        "shop.example",
        "https://shop.example/",
        "https://Shop.example",
        "https://a.*.example",
        "https://*",
        "https://shop.example:0",
        "https://shop.example:99999",
        "https://user@shop.example",
        "javascript://x",
        "https://",
    ] {
        assert!(check_origin_pattern(bad).is_err(), "{bad}");
    }
}

#[test]
fn validate_limits_at_and_past_the_limit() {
    let mut c = claims();
    c.uses = MAX_USES;
    c.validate().unwrap();
    c.uses = MAX_USES + 1;
    assert_eq!(
        c.validate(),
        Err(invalid("uses", "must be from 1 to 1000, not 1001"))
    );
    c.uses = 0;
    assert_eq!(
        c.validate(),
        Err(invalid("uses", "must be from 1 to 1000, not 0"))
    );

    let mut c = claims();
    c.grants = vec![Grant::default(); MAX_GRANTS];
    c.validate().unwrap();
    c.grants.push(Grant::default());
    assert_eq!(
        c.validate(),
        Err(TokenError::TooManyGrants {
            count: 17,
            max: MAX_GRANTS
        })
    );

    let mut c = claims();
    c.grants[0].secrets = Some(vec!["s".into(); MAX_GRANT_LIST_ITEMS]);
    c.validate().unwrap();
    c.grants[0].secrets = Some(vec!["s".into(); MAX_GRANT_LIST_ITEMS + 1]);
    assert_eq!(
        c.validate(),
        Err(TokenError::ListTooLong {
            count: 65,
            max: MAX_GRANT_LIST_ITEMS
        })
    );

    let mut c = claims();
    c.jti = "j".repeat(MAX_JTI_BYTES);
    c.validate().unwrap();
    c.jti.push('j');
    assert_eq!(
        c.validate(),
        Err(invalid("jti", "is 129 bytes, more than the limit of 128"))
    );

    let mut c = claims();
    c.grants[0].cpu = Some(MAX_CPU);
    c.validate().unwrap();
    c.grants[0].cpu = Some(MAX_CPU + 0.5);
    assert_eq!(
        c.validate(),
        Err(invalid(
            "grants[0].cpu",
            "must be more than 0 and at most 256 cores, not 256.5"
        ))
    );

    let mut c = claims();
    c.grants[0].max_amount = Some(MaxAmount {
        currency: "EUR".into(),
        value: MAX_AMOUNT_VALUE,
    });
    c.validate().unwrap();
    c.grants[0].max_amount = Some(MaxAmount {
        currency: "EUR".into(),
        value: -1.0,
    });
    assert_eq!(
        c.validate(),
        Err(invalid(
            "grants[0].max_amount.value",
            "must be from 0 to 1000000000000, not -1"
        ))
    );
}

#[test]
fn validate_refuses_bad_values_with_their_path() {
    type Case = (fn(&mut Claims), TokenError);
    let cases: Vec<Case> = vec![
        (|c| c.iss.clear(), invalid("iss", "must not be empty")),
        (
            |c| c.jti = "a b".into(),
            invalid("jti", "must be printable ASCII without spaces"),
        ),
        (
            |c| c.grants[0].origins = Some(vec![]),
            invalid(
                "grants[0].origins",
                "must not be empty (omit the key to leave it to the local policy)",
            ),
        ),
        (
            |c| c.grants[0].paths = Some(vec!["checkout".into()]),
            invalid(
                "grants[0].paths[0]",
                "`checkout` must start with `/` and contain no spaces",
            ),
        ),
        (
            |c| c.grants[0].max_steps = Some(0),
            invalid("grants[0].max_steps", "must be at least 1"),
        ),
        (
            |c| c.grants[0].max_amount.as_mut().unwrap().currency = "eur".into(),
            invalid(
                "grants[0].max_amount.currency",
                "`eur` is not a currency code like `EUR`",
            ),
        ),
        (
            |c| c.grants[0].secrets = Some(vec!["a\u{7}".into()]),
            invalid(
                "grants[0].secrets[0]",
                "must not contain control characters",
            ),
        ),
        (
            |c| c.v = 2,
            TokenError::UnsupportedVersion { found: "2".into() },
        ),
    ];
    for (mutate, expected) in cases {
        let mut c = claims();
        mutate(&mut c);
        assert_eq!(c.validate(), Err(expected));
    }
}

#[test]
fn deserialisation_messages_name_no_rust_types() {
    let base = serde_json::to_value(claims()).unwrap();
    let cases = [
        ("uses", serde_json::json!("2"), "expected a whole number"),
        ("uses", serde_json::json!(-1), "`-1` is negative"),
        (
            "uses",
            serde_json::json!(5_000_000_000u64),
            "`5000000000` is too large",
        ),
        (
            "exp",
            serde_json::json!("tomorrow"),
            "`tomorrow` is not an RFC 3339 time",
        ),
        (
            "script",
            serde_json::json!("md5:00"),
            "`md5:00` is not `sha256:` followed by 64 lowercase hex digits",
        ),
        (
            "grants",
            serde_json::json!([{"verbs": ["fly"]}]),
            "unknown verb `fly` in `verbs`",
        ),
        (
            "grants",
            serde_json::json!([{"sandbox": "vm"}]),
            "unknown sandbox tier `vm`, expected `container` or `microvm`",
        ),
        ("grants", serde_json::json!([1]), "expected a grant object"),
    ];
    for (key, value, message) in cases {
        let mut v = base.clone();
        v[key] = value;
        let err = serde_json::from_value::<Claims>(v).unwrap_err().to_string();
        assert!(err.contains(message), "{key}: {err}");
    }
}
