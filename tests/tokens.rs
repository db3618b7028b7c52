//! The capability-token suite: the official PASETO v4 vectors on the envelope layer, then a
//! tamper suite on Bridle's layer where every refusal must be its specific error.

use bridle_dsl::Verb;
use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::keys::{instance_id, key_id};
use bridle_executor::replay::MemoryReplayStore;
use bridle_executor::time::{Duration, OffsetDateTime};
use bridle_executor::token::paseto;
use bridle_executor::token::{
    mint, Claims, Grant, MaxAmount, PlannerKey, SandboxTier, ScriptHash, TokenError,
    UnverifiedToken, VerifiedToken, VerifyContext, CLOCK_SKEW, MAX_FOOTER_BYTES, MAX_GRANTS,
    MAX_GRANT_LIST_ITEMS, MAX_JSON_DEPTH, MAX_TOKEN_BYTES,
};
use serde_json::{json, Value};

use fixture::*;

/// Helpers. `#[cfg(test)]` marks them as test code for clippy (integration tests always build
/// with it), so a failed `unwrap` here is a failed test, as in the tests themselves.
#[cfg(test)]
mod fixture {
    use super::*;

    /// A change to a token's claims JSON.
    pub type Edit = Box<dyn Fn(&mut Value)>;

    /// 2025-06-01T12:00:00Z, the fixed "now" of every test.
    pub fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1748779200).unwrap()
    }

    pub const PLANNER: &str = "shop-planner";

    pub const SCRIPT: &[u8] = b"bridle 1\ngoal \"buy\"\nnavigate \"https://shop.example\"\n";

    pub fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // ---------------------------------------------------------------------------------------------
    // The envelope layer against the official vectors (tests/vectors/paseto-v4.json, from
    // paseto-standard/test-vectors, file v4.json, commit d26d2dd8d45d316a581032205cd131ab5c326aa9).
    // Their payloads are not Bridle claims, so only `paseto` is exercised here.

    pub fn vectors() -> Vec<Value> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/paseto-v4.json");
        let text = std::fs::read_to_string(path).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        doc["tests"].as_array().unwrap().clone()
    }

    pub fn field<'a>(case: &'a Value, name: &str) -> &'a str {
        case[name].as_str().unwrap_or_default()
    }

    // ---------------------------------------------------------------------------------------------
    // Bridle's layer.

    pub fn planner_key() -> SigningKey {
        SigningKey::from_bytes(&[0x11; 32])
    }

    pub fn instance_key() -> SigningKey {
        SigningKey::from_bytes(&[0x22; 32])
    }

    pub fn kid() -> String {
        key_id(&planner_key().verifying_key())
    }

    pub fn instance() -> String {
        instance_id(&instance_key().verifying_key())
    }

    pub const MAX_TTL: Duration = Duration::minutes(15);

    pub struct Fixture {
        pub keys: Vec<PlannerKey>,
        pub instance: String,
        pub store: MemoryReplayStore,
    }

    impl Fixture {
        pub fn new() -> Fixture {
            Fixture {
                keys: vec![PlannerKey {
                    kid: kid(),
                    name: PLANNER.into(),
                    public_key: planner_key().verifying_key(),
                    max_ttl: MAX_TTL,
                }],
                instance: instance(),
                store: MemoryReplayStore::new(),
            }
        }

        pub fn verify_at(
            &mut self,
            token: &str,
            now: OffsetDateTime,
            script: Option<&[u8]>,
        ) -> Result<VerifiedToken, TokenError> {
            let token = UnverifiedToken::parse(token)?;
            let mut ctx = VerifyContext {
                keys: &self.keys,
                instance_id: &self.instance,
                now,
                script,
                replay: &mut self.store,
            };
            token.verify(&mut ctx)
        }

        pub fn verify(&mut self, token: &str) -> Result<VerifiedToken, TokenError> {
            self.verify_at(token, now(), Some(SCRIPT))
        }
    }

    pub fn claims() -> Claims {
        Claims {
            v: 1,
            iss: PLANNER.into(),
            aud: instance(),
            iat: now(),
            nbf: now(),
            exp: now() + Duration::minutes(5),
            jti: "jti-0001".into(),
            uses: 1,
            script: Some(ScriptHash::of(SCRIPT)),
            grants: vec![
                Grant {
                    origins: Some(vec![
                        "https://shop.example".into(),
                        "https://*.pay.example".into(),
                    ]),
                    paths: Some(vec!["/checkout/*".into()]),
                    verbs: Some(vec![Verb::Navigate, Verb::Click, Verb::Fill]),
                    max_steps: Some(50),
                    max_amount: Some(MaxAmount {
                        currency: "EUR".into(),
                        value: 20.0,
                    }),
                    secrets: Some(vec!["visa-personal".into()]),
                    ..Grant::default()
                },
                Grant {
                    runtimes: Some(vec!["python3".into()]),
                    sandbox: Some(SandboxTier::Microvm),
                    cpu: Some(1.5),
                    memory: Some("256MB".parse().unwrap()),
                    network: Some(false),
                    ..Grant::default()
                },
            ],
        }
    }

    pub fn token_for(claims: &Claims) -> String {
        mint(claims, &kid(), &planner_key(), &instance()).unwrap()
    }

    /// Signs any payload correctly (right key, kid footer, this instance), bypassing `mint`'s
    /// validation, so the verifier's own checks are what refuse it.
    pub fn sign_raw(payload: &[u8]) -> String {
        let footer = format!("{{\"kid\":\"{}\"}}", kid());
        paseto::sign(
            payload,
            footer.as_bytes(),
            instance().as_bytes(),
            &planner_key(),
        )
    }

    pub fn sign_json(value: &Value) -> String {
        sign_raw(&serde_json::to_vec(value).unwrap())
    }

    pub fn claims_json() -> Value {
        serde_json::to_value(claims()).unwrap()
    }

    // --- signatures -------------------------------------------------------------------------------

    /// Replaces a token's payload, keeping its signature and footer.
    pub fn with_payload(token: &str, payload: Vec<u8>) -> String {
        let mut env = paseto::decode(token).unwrap();
        env.message = payload;
        env.encode()
    }

    /// Every claim, and every key of every grant, changed without re-signing.
    pub fn mutations() -> Vec<(&'static str, Value)> {
        let base = claims_json();
        let mut out = Vec::new();
        let mut set = |name: &'static str, f: &dyn Fn(&mut Value)| {
            let mut v = base.clone();
            f(&mut v);
            assert_ne!(v, base, "{name} must change something");
            out.push((name, v));
        };
        set("v", &|v| v["v"] = json!(2));
        set("iss", &|v| v["iss"] = json!("evil-planner"));
        set("aud", &|v| {
            v["aud"] = json!("bx1_00000000000000000000000000000000")
        });
        set("iat", &|v| v["iat"] = json!("2025-06-01T11:59:00Z"));
        set("nbf", &|v| v["nbf"] = json!("2025-06-01T11:59:00Z"));
        set("exp", &|v| v["exp"] = json!("2025-06-01T12:10:00Z"));
        set("jti", &|v| v["jti"] = json!("jti-0002"));
        set("uses", &|v| v["uses"] = json!(100));
        set("script", &|v| {
            v.as_object_mut()
                .unwrap()
                .remove("script")
                .map(drop)
                .unwrap_or(())
        });
        set("grants", &|v| v["grants"] = json!([{}]));
        set("grants[0].origins", &|v| {
            v["grants"][0]["origins"] = json!(["https://*.example"])
        });
        set("grants[0].paths", &|v| {
            v["grants"][0]["paths"] = json!(["/"])
        });
        set("grants[0].verbs", &|v| {
            v["grants"][0]["verbs"] = json!(["submit"])
        });
        set("grants[0].max_steps", &|v| {
            v["grants"][0]["max_steps"] = json!(1000)
        });
        set("grants[0].max_amount", &|v| {
            v["grants"][0]["max_amount"]["value"] = json!(20000)
        });
        set("grants[0].secrets", &|v| {
            v["grants"][0]["secrets"] = json!(["bank-login"])
        });
        set("grants[1].runtimes", &|v| {
            v["grants"][1]["runtimes"] = json!(["bash"])
        });
        set("grants[1].sandbox", &|v| {
            v["grants"][1]["sandbox"] = json!("container")
        });
        set("grants[1].cpu", &|v| v["grants"][1]["cpu"] = json!(64));
        set("grants[1].memory", &|v| {
            v["grants"][1]["memory"] = json!("64GB")
        });
        set("grants[1].network", &|v| {
            v["grants"][1]["network"] = json!(true)
        });
        out
    }

    // --- values, correctly signed -----------------------------------------------------------------

    pub fn invalid(path: &str, reason: &str) -> TokenError {
        TokenError::InvalidClaim {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub fn malformed_detail(value: &Value) -> String {
        let mut fx = Fixture::new();
        match fx.verify(&sign_json(value)).unwrap_err() {
            TokenError::Malformed { detail } => detail,
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    // --- time -------------------------------------------------------------------------------------

    pub fn at(
        now: OffsetDateTime,
        edit: impl FnOnce(&mut Claims),
    ) -> Result<VerifiedToken, TokenError> {
        let mut c = claims();
        edit(&mut c);
        Fixture::new().verify_at(&token_for(&c), now, Some(SCRIPT))
    }

    pub fn with_footer(footer: &[u8]) -> String {
        let payload = serde_json::to_vec(&claims()).unwrap();
        paseto::sign(&payload, footer, instance().as_bytes(), &planner_key())
    }

    pub fn footer_error(footer: &[u8]) -> TokenError {
        Fixture::new().verify(&with_footer(footer)).unwrap_err()
    }
}

#[test]
fn paseto_v4_public_success_vectors_sign_and_verify_exactly() {
    let cases: Vec<Value> = vectors()
        .into_iter()
        .filter(|c| field(c, "name").starts_with("4-S-"))
        .collect();
    assert_eq!(cases.len(), 3, "the vector file has 4-S-1..3");
    for case in cases {
        let name = field(&case, "name");
        let secret = unhex(field(&case, "secret-key"));
        let public = unhex(field(&case, "public-key"));
        let key = SigningKey::from_bytes(&secret[..32].try_into().unwrap());
        assert_eq!(key.verifying_key().as_bytes()[..], public[..], "{name}");
        assert_eq!(
            secret[32..],
            public[..],
            "{name}: secret key is seed ‖ public key"
        );

        let payload = field(&case, "payload").as_bytes();
        let footer = field(&case, "footer").as_bytes();
        let implicit = field(&case, "implicit-assertion").as_bytes();
        let token = paseto::sign(payload, footer, implicit, &key);
        assert_eq!(
            token,
            field(&case, "token"),
            "{name}: Ed25519 is deterministic"
        );

        let envelope = paseto::decode(&token).unwrap();
        assert_eq!(envelope.message, payload, "{name}");
        assert_eq!(envelope.footer, footer, "{name}");
        envelope.verify(implicit, &key.verifying_key()).unwrap();
        // The implicit assertion is bound: any other one fails.
        assert_eq!(
            envelope.verify(b"another instance", &key.verifying_key()),
            Err(TokenError::BadSignature),
            "{name}"
        );
    }
}

#[test]
fn paseto_v4_failure_vectors_all_fail() {
    let vector_key = {
        let seed = unhex("b4cbfb43df4ce210727d953e4a713307fa19bb7d9f85041438d9e11b942a3774");
        SigningKey::from_bytes(&seed.try_into().unwrap()).verifying_key()
    };
    let cases: Vec<Value> = vectors()
        .into_iter()
        .filter(|c| field(c, "name").starts_with("4-F-"))
        .collect();
    assert_eq!(cases.len(), 4, "the vector file has 4-F-1..4");
    for case in cases {
        let name = field(&case, "name");
        assert_eq!(case["expect-fail"], json!(true), "{name}");
        let token = field(&case, "token");
        let implicit = field(&case, "implicit-assertion").as_bytes();
        let result = paseto::decode(token).and_then(|env| env.verify(implicit, &vector_key));
        let expected = match name {
            // A local token, another version's token, and a local token with a broken tag:
            // none is a v4.public token, so the header alone refuses them.
            "4-F-1" | "4-F-3" | "4-F-4" => TokenError::WrongHeader,
            // A public token whose payload was never signed by this key.
            "4-F-2" => TokenError::BadSignature,
            other => unreachable!("unexpected vector {other}"),
        };
        assert_eq!(result, Err(expected.clone()), "{name}");
        // Bridle's own layer refuses them too (4-F-2 has a kid footer, but no trusted planner
        // has that key id).
        let mut fx = Fixture::new();
        let bridle = fx.verify_at(token, now(), None).unwrap_err();
        let bridle_expected = match name {
            "4-F-2" => TokenError::UnknownKey {
                kid: "zVhMiPBP9fRf2snEcT7gFTioeA9COcNy9DfgL1W60haN".into(),
            },
            _ => expected,
        };
        assert_eq!(bridle, bridle_expected, "{name}");
    }
}

#[test]
fn a_valid_token_verifies_to_its_claims() {
    let mut fx = Fixture::new();
    let token = token_for(&claims());
    let verified = fx.verify(&token).unwrap();
    assert_eq!(verified.claims(), &claims());
    assert_eq!(verified.kid(), kid());
    assert_eq!(verified.issuer(), PLANNER);
    assert_eq!(verified.jti(), "jti-0001");
    assert_eq!(verified.grants().len(), 2);
    assert_eq!(verified.uses_left(), 0);
    // The valid claims nest exactly MAX_JSON_DEPTH deep (claims → grants → grant → list).
    assert_eq!(MAX_JSON_DEPTH, 4);
}

#[test]
fn mint_is_deterministic_and_uses_the_documented_footer() {
    let a = token_for(&claims());
    assert_eq!(a, token_for(&claims()));
    let parsed = UnverifiedToken::parse(&a).unwrap();
    assert_eq!(
        parsed.footer(),
        format!("{{\"kid\":\"{}\"}}", kid()).as_bytes()
    );
    assert_eq!(parsed.kid(), kid());
    assert_eq!(parsed.claims_unverified().unwrap(), claims());
}

#[test]
fn every_claim_changed_without_resigning_is_a_bad_signature() {
    let token = token_for(&claims());
    for (name, value) in mutations() {
        let forged = with_payload(&token, serde_json::to_vec(&value).unwrap());
        let mut fx = Fixture::new();
        assert_eq!(
            fx.verify(&forged).unwrap_err(),
            TokenError::BadSignature,
            "{name}"
        );
    }
}

#[test]
fn every_claim_changed_and_signed_with_another_key_is_a_bad_signature() {
    let attacker = SigningKey::from_bytes(&[0x66; 32]);
    let footer = format!("{{\"kid\":\"{}\"}}", kid());
    for (name, value) in mutations() {
        let payload = serde_json::to_vec(&value).unwrap();
        let forged = paseto::sign(
            &payload,
            footer.as_bytes(),
            instance().as_bytes(),
            &attacker,
        );
        let mut fx = Fixture::new();
        assert_eq!(
            fx.verify(&forged).unwrap_err(),
            TokenError::BadSignature,
            "{name}"
        );
    }
}

#[test]
fn every_signature_byte_flipped_is_a_bad_signature() {
    let token = token_for(&claims());
    let env = paseto::decode(&token).unwrap();
    for i in 0..64 {
        for mask in [0x01u8, 0x80] {
            let mut bad = env.clone();
            bad.signature[i] ^= mask;
            let mut fx = Fixture::new();
            assert_eq!(
                fx.verify(&bad.encode()).unwrap_err(),
                TokenError::BadSignature,
                "byte {i} mask {mask:#x}"
            );
        }
    }
}

#[test]
fn payload_bytes_flipped_fail() {
    // The signature covers every byte alike, and each claim is tampered with one by one above,
    // so every seventh byte (and the last) is enough here; all of them would cost ~10 s in a
    // debug build.
    let token = token_for(&claims());
    let env = paseto::decode(&token).unwrap();
    let last = env.message.len() - 1;
    for i in (0..env.message.len()).step_by(7).chain([last]) {
        let mut bad = env.clone();
        bad.message[i] ^= 0x01;
        let mut fx = Fixture::new();
        let err = fx.verify(&bad.encode()).unwrap_err();
        // Either the pre-parse scan notices a changed bracket, or the signature fails.
        assert!(
            matches!(err, TokenError::BadSignature | TokenError::TooDeep { .. }),
            "byte {i}: {err}"
        );
    }
}

#[test]
fn every_claim_signed_with_a_bad_value_gets_its_specific_error() {
    let cases: Vec<(&str, Edit, TokenError)> = vec![
        ("v", Box::new(|v| v["v"] = json!(2)), TokenError::UnsupportedVersion { found: "2".into() }),
        ("v as text", Box::new(|v| v["v"] = json!("1")), TokenError::UnsupportedVersion { found: "\"1\"".into() }),
        (
            "iss",
            Box::new(|v| v["iss"] = json!("evil-planner")),
            TokenError::WrongIssuer { kid: kid(), expected: PLANNER.into(), found: "evil-planner".into() },
        ),
        ("empty iss", Box::new(|v| v["iss"] = json!("")), invalid("iss", "must not be empty")),
        (
            "aud",
            Box::new(|v| v["aud"] = json!("bx1_other")),
            TokenError::WrongAudience { expected: instance(), found: "bx1_other".into() },
        ),
        (
            "iat",
            Box::new(|v| v["iat"] = json!("2025-06-01T12:01:01Z")),
            TokenError::NotYetValid { claim: "iat", at: "2025-06-01T12:01:01Z".into() },
        ),
        (
            "nbf",
            Box::new(|v| v["nbf"] = json!("2025-06-01T12:01:01Z")),
            TokenError::NotYetValid { claim: "nbf", at: "2025-06-01T12:01:01Z".into() },
        ),
        (
            "exp",
            Box::new(|v| v["exp"] = json!("2025-06-01T11:58:59Z")),
            TokenError::Expired { at: "2025-06-01T11:58:59Z".into() },
        ),
        ("jti", Box::new(|v| v["jti"] = json!("")), invalid("jti", "must not be empty")),
        ("uses", Box::new(|v| v["uses"] = json!(0)), invalid("uses", "must be from 1 to 1000, not 0")),
        (
            "script",
            Box::new(|v| v["script"] = json!(ScriptHash::of(b"other").to_string())),
            TokenError::ScriptMismatch {
                expected: ScriptHash::of(b"other").to_string(),
                found: ScriptHash::of(SCRIPT).to_string(),
            },
        ),
        (
            "grants[0].origins",
            Box::new(|v| v["grants"][0]["origins"] = json!(["https://shop.example/cart"])),
            invalid(
                "grants[0].origins[0]",
                "`https://shop.example/cart` must be an origin like `https://shop.example` or `https://*.example.com` (lowercase, no path)",
            ),
        ),
        (
            "grants[0].paths",
            Box::new(|v| v["grants"][0]["paths"] = json!([])),
            invalid("grants[0].paths", "must not be empty (omit the key to leave it to the local policy)"),
        ),
        (
            "grants[0].max_steps",
            Box::new(|v| v["grants"][0]["max_steps"] = json!(0)),
            invalid("grants[0].max_steps", "must be at least 1"),
        ),
        (
            "grants[0].max_amount",
            Box::new(|v| v["grants"][0]["max_amount"]["currency"] = json!("euro")),
            invalid("grants[0].max_amount.currency", "`euro` is not a currency code like `EUR`"),
        ),
        (
            "grants[0].secrets",
            Box::new(|v| v["grants"][0]["secrets"] = json!([""])),
            invalid("grants[0].secrets[0]", "must not be empty"),
        ),
        (
            "grants[1].runtimes",
            Box::new(|v| v["grants"][1]["runtimes"] = json!([])),
            invalid("grants[1].runtimes", "must not be empty (omit the key to leave it to the local policy)"),
        ),
        (
            "grants[1].cpu",
            Box::new(|v| v["grants"][1]["cpu"] = json!(0)),
            invalid("grants[1].cpu", "must be more than 0 and at most 256 cores, not 0"),
        ),
        (
            "grants[1].memory",
            Box::new(|v| v["grants"][1]["memory"] = json!("0MB")),
            invalid("grants[1].memory", "must be more than 0B and at most 16GB, not `0B`"),
        ),
    ];
    for (name, mutate, expected) in cases {
        let mut value = claims_json();
        mutate(&mut value);
        let mut fx = Fixture::new();
        assert_eq!(
            fx.verify(&sign_json(&value)).unwrap_err(),
            expected,
            "{name}"
        );
    }
}

#[test]
fn values_of_the_wrong_type_are_malformed_with_a_readable_reason() {
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|v| v["uses"] = json!("2")),
            "expected a whole number",
        ),
        (
            Box::new(|v| v["exp"] = json!(1735732800)),
            "expected an RFC 3339 time",
        ),
        (
            Box::new(|v| v["exp"] = json!("2025-06-01 12:05")),
            "`2025-06-01 12:05` is not an RFC 3339 time",
        ),
        (
            Box::new(|v| v["script"] = json!("sha256:ABC")),
            "is not `sha256:` followed by 64 lowercase hex digits",
        ),
        (Box::new(|v| v["grants"] = json!({})), "expected a sequence"),
        (
            Box::new(|v| v["grants"][0]["verbs"] = json!(["teleport"])),
            "unknown verb `teleport` in `verbs`",
        ),
        (
            Box::new(|v| v["grants"][1]["sandbox"] = json!("vm")),
            "expected `container` or `microvm`",
        ),
        (
            Box::new(|v| v["grants"][1]["memory"] = json!(268435456)),
            "expected a memory size string like `256MB`",
        ),
        (
            Box::new(|v| v["grants"][1]["memory"] = json!("lots")),
            "`lots` is not a memory size like `256MB`",
        ),
        (
            Box::new(|v| v["grants"][1]["network"] = json!("yes")),
            "expected a boolean",
        ),
        (
            Box::new(|v| v["grants"][0]["max_amount"] = json!("20EUR")),
            "expected an amount like",
        ),
        (
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("exp");
            }),
            "missing field `exp`",
        ),
    ];
    for (mutate, message) in cases {
        let mut value = claims_json();
        mutate(&mut value);
        let detail = malformed_detail(&value);
        assert!(
            detail.contains(message),
            "`{detail}` should contain `{message}`"
        );
    }
}

#[test]
fn duplicate_claims_are_malformed() {
    let text = serde_json::to_string(&claims_json()).unwrap();
    let dup = text.replacen("\"aud\":", "\"aud\":\"bx1_x\",\"aud\":", 1);
    let mut fx = Fixture::new();
    match fx.verify(&sign_raw(dup.as_bytes())).unwrap_err() {
        TokenError::Malformed { detail } => {
            assert!(detail.contains("duplicate field `aud`"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_fields_anywhere_are_their_own_error() {
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|v| v["admin"] = json!(true)), "admin"),
        (
            Box::new(|v| v["grants"][1]["colour"] = json!("red")),
            "grants[1].colour",
        ),
        (
            Box::new(|v| v["grants"][0]["max_amount"]["note"] = json!("x")),
            "grants[0].max_amount.note",
        ),
    ];
    for (mutate, path) in cases {
        let mut value = claims_json();
        mutate(&mut value);
        let mut fx = Fixture::new();
        let err = fx.verify(&sign_json(&value)).unwrap_err();
        assert_eq!(err, TokenError::UnknownField { path: path.into() });
        assert_eq!(err.to_string(), format!("token has unknown field `{path}`"));
    }
}

#[test]
fn expiry_with_and_past_the_skew() {
    let exp = now() + Duration::minutes(5);
    assert!(at(exp, |_| {}).is_ok(), "at exp");
    assert!(
        at(exp + CLOCK_SKEW, |_| {}).is_ok(),
        "expired within the skew is accepted"
    );
    assert_eq!(
        at(exp + CLOCK_SKEW + Duration::seconds(1), |_| {}).unwrap_err(),
        TokenError::Expired {
            at: "2025-06-01T12:05:00Z".into()
        }
    );
    assert_eq!(
        at(exp + CLOCK_SKEW + Duration::seconds(1), |_| {})
            .unwrap_err()
            .to_string(),
        "token expired at `2025-06-01T12:05:00Z`"
    );
}

#[test]
fn not_before_with_and_past_the_skew() {
    let future = |c: &mut Claims| {
        c.nbf = now() + Duration::seconds(90);
        c.exp = now() + Duration::minutes(5);
    };
    // Now is 30 s before nbf: inside the skew.
    assert!(at(now() + Duration::seconds(60), future).is_ok());
    // Exactly the skew before nbf.
    assert!(at(now() + Duration::seconds(90) - CLOCK_SKEW, future).is_ok());
    assert_eq!(
        at(now() + Duration::seconds(29), future).unwrap_err(),
        TokenError::NotYetValid {
            claim: "nbf",
            at: "2025-06-01T12:01:30Z".into()
        }
    );
    // iat in the future is refused the same way.
    let minted_later = |c: &mut Claims| {
        c.iat = now() + Duration::seconds(61);
    };
    assert_eq!(
        at(now(), minted_later).unwrap_err(),
        TokenError::NotYetValid {
            claim: "iat",
            at: "2025-06-01T12:01:01Z".into()
        }
    );
}

#[test]
fn ttl_at_and_past_the_planners_max() {
    let ttl = |d: Duration| move |c: &mut Claims| c.exp = c.iat + d;
    assert!(at(now(), ttl(MAX_TTL)).is_ok());
    let err = at(now(), ttl(MAX_TTL + Duration::seconds(1))).unwrap_err();
    assert_eq!(
        err,
        TokenError::TtlTooLong {
            planner: PLANNER.into(),
            ttl_seconds: 901,
            max_seconds: 900
        }
    );
    assert_eq!(
        err.to_string(),
        "token lives 901 s, more than planner `shop-planner` may grant (900 s)"
    );
}

#[test]
fn exp_not_after_iat_is_an_empty_lifetime() {
    let err = at(now(), |c| c.exp = c.iat - Duration::seconds(30)).unwrap_err();
    assert_eq!(
        err,
        TokenError::EmptyLifetime {
            detail: "`exp` (2025-06-01T11:59:30Z) is not after `iat` (2025-06-01T12:00:00Z)".into()
        }
    );
    assert!(matches!(
        at(now(), |c| c.exp = c.iat).unwrap_err(),
        TokenError::EmptyLifetime { .. }
    ));
    assert_eq!(
        at(now() + Duration::minutes(5), |c| c.nbf = c.exp).unwrap_err(),
        TokenError::EmptyLifetime {
            detail: "`nbf` (2025-06-01T12:05:00Z) is not before `exp` (2025-06-01T12:05:00Z)"
                .into()
        }
    );
}

// --- audience, keys, issuer -------------------------------------------------------------------

#[test]
fn a_token_for_another_instance_fails_its_signature() {
    // Minted for instance B (aud and implicit assertion both B), presented to A. The implicit
    // assertion is part of the signed bytes and the signature is checked before any claim, so
    // this is a bad signature, not a wrong audience: A never even reads the claims.
    let other = instance_id(&SigningKey::from_bytes(&[0x33; 32]).verifying_key());
    let mut c = claims();
    c.aud = other.clone();
    let token = mint(&c, &kid(), &planner_key(), &other).unwrap();
    let mut fx = Fixture::new();
    assert_eq!(fx.verify(&token).unwrap_err(), TokenError::BadSignature);
    // The same token verifies at B.
    fx.instance = other;
    assert!(fx.verify(&token).is_ok());
}

#[test]
fn wrong_audience_when_only_the_claim_is_wrong() {
    // Signed for this instance (implicit assertion) but naming another in `aud`: a planner
    // bug, caught by the claim check.
    let mut c = claims();
    c.aud = "bx1_ffffffffffffffffffffffffffffffff".into();
    let token = mint(&c, &kid(), &planner_key(), &instance()).unwrap();
    let err = Fixture::new().verify(&token).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "token audience is `bx1_ffffffffffffffffffffffffffffffff`, but this instance is `{}`",
            instance()
        )
    );
}

#[test]
fn unknown_kid_is_refused_before_the_signature() {
    let token = mint(&claims(), "k1_unknown", &planner_key(), &instance()).unwrap();
    let err = Fixture::new().verify(&token).unwrap_err();
    assert_eq!(
        err,
        TokenError::UnknownKey {
            kid: "k1_unknown".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "no trusted planner has key id `k1_unknown`"
    );
}

#[test]
fn a_trusted_kid_with_another_planners_key_fails() {
    // Two trusted planners: a token signed by planner B but naming planner A's kid.
    let b = SigningKey::from_bytes(&[0x44; 32]);
    let mut fx = Fixture::new();
    fx.keys.push(PlannerKey {
        kid: key_id(&b.verifying_key()),
        name: "other-planner".into(),
        public_key: b.verifying_key(),
        max_ttl: MAX_TTL,
    });
    let forged = mint(&claims(), &kid(), &b, &instance()).unwrap();
    assert_eq!(fx.verify(&forged).unwrap_err(), TokenError::BadSignature);
    // Planner B signing with its own kid but claiming to be planner A: wrong issuer.
    let mut fx = Fixture::new();
    fx.keys.push(PlannerKey {
        kid: key_id(&b.verifying_key()),
        name: "other-planner".into(),
        public_key: b.verifying_key(),
        max_ttl: MAX_TTL,
    });
    let posing = mint(&claims(), &key_id(&b.verifying_key()), &b, &instance()).unwrap();
    assert_eq!(
        fx.verify(&posing).unwrap_err(),
        TokenError::WrongIssuer {
            kid: key_id(&b.verifying_key()),
            expected: "other-planner".into(),
            found: PLANNER.into()
        }
    );
}

// --- replay and script --------------------------------------------------------------------------

#[test]
fn a_token_is_single_use_by_default() {
    let mut fx = Fixture::new();
    let token = token_for(&claims());
    fx.verify(&token).unwrap();
    let err = fx.verify(&token).unwrap_err();
    assert_eq!(
        err,
        TokenError::Replayed {
            jti: "jti-0001".into(),
            uses: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "token `jti-0001` has already been used 1 time(s)"
    );
}

#[test]
fn uses_two_allows_exactly_two() {
    let mut c = claims();
    c.uses = 2;
    let token = token_for(&c);
    let mut fx = Fixture::new();
    assert_eq!(fx.verify(&token).unwrap().uses_left(), 1);
    assert_eq!(fx.verify(&token).unwrap().uses_left(), 0);
    assert_eq!(
        fx.verify(&token).unwrap_err(),
        TokenError::Replayed {
            jti: "jti-0001".into(),
            uses: 2
        }
    );
}

#[test]
fn a_refused_verification_does_not_use_up_the_token() {
    let mut fx = Fixture::new();
    let token = token_for(&claims());
    assert!(matches!(
        fx.verify_at(&token, now(), Some(b"another script"))
            .unwrap_err(),
        TokenError::ScriptMismatch { .. }
    ));
    assert!(fx.verify(&token).is_ok());
}

#[test]
fn a_full_replay_store_refuses_new_tokens() {
    let mut fx = Fixture::new();
    fx.store = MemoryReplayStore::with_capacity(1);
    fx.verify(&token_for(&claims())).unwrap();
    let mut c = claims();
    c.jti = "jti-0002".into();
    assert_eq!(
        fx.verify(&token_for(&c)).unwrap_err(),
        TokenError::ReplayStoreFull { capacity: 1 }
    );
}

#[test]
fn script_changed_by_one_byte_is_a_mismatch() {
    let token = token_for(&claims());
    let mut changed = SCRIPT.to_vec();
    changed[10] ^= 0x20;
    let err = Fixture::new()
        .verify_at(&token, now(), Some(&changed))
        .unwrap_err();
    assert_eq!(
        err,
        TokenError::ScriptMismatch {
            expected: ScriptHash::of(SCRIPT).to_string(),
            found: ScriptHash::of(&changed).to_string()
        }
    );
    // A token bound to a script needs the script.
    assert_eq!(
        Fixture::new().verify_at(&token, now(), None).unwrap_err(),
        TokenError::ScriptRequired {
            expected: ScriptHash::of(SCRIPT).to_string()
        }
    );
    // A token without a `script` claim runs any checked script (the grants still bound it).
    let mut c = claims();
    c.script = None;
    assert!(Fixture::new()
        .verify_at(&token_for(&c), now(), Some(&changed))
        .is_ok());
    assert!(Fixture::new()
        .verify_at(&token_for(&c), now(), None)
        .is_ok());
}

// --- encoding, limits, footer ---------------------------------------------------------------

#[test]
fn every_prefix_of_a_valid_token_fails_without_panicking() {
    let token = token_for(&claims());
    let mut seen = std::collections::BTreeSet::new();
    for len in 0..token.len() {
        let prefix = &token[..len];
        let err = Fixture::new().verify(prefix).unwrap_err();
        seen.insert(err.code());
        assert!(
            matches!(
                err,
                TokenError::WrongHeader
                    | TokenError::BadEncoding { .. }
                    | TokenError::TooShort { .. }
                    | TokenError::MissingFooter
                    | TokenError::BadFooter { .. }
            ),
            "prefix of {len} bytes: {err:?}"
        );
    }
    // Cutting inside the body drops the footer, so the footer check catches it before the
    // signature is even considered; each stage is reached by some prefix.
    let expected: std::collections::BTreeSet<&str> = [
        "wrong-header",
        "bad-encoding",
        "too-short",
        "missing-footer",
        "bad-footer",
    ]
    .into();
    assert_eq!(seen, expected);
}

#[test]
fn the_token_size_limit_holds_at_the_limit() {
    // Grow a secret name until the token is exactly MAX_TOKEN_BYTES long (base64 skips some
    // lengths, so the kid length is varied too).
    let mut found = None;
    'search: for kid_len in 3..10 {
        let kid = format!("k{}", "x".repeat(kid_len));
        for pad in 5000..6200 {
            let mut c = claims();
            c.grants[0].secrets = Some(
                vec!["s".repeat(200); pad / 200]
                    .into_iter()
                    .chain(["s".repeat(pad % 200 + 1)])
                    .collect(),
            );
            match mint(&c, &kid, &planner_key(), &instance()) {
                Ok(t) if t.len() == MAX_TOKEN_BYTES => {
                    found = Some((kid, t, c));
                    break 'search;
                }
                Ok(_) => {}
                Err(TokenError::TooLong { len, max }) => {
                    assert_eq!(max, MAX_TOKEN_BYTES);
                    assert!(len > MAX_TOKEN_BYTES);
                    break;
                }
                Err(other) => panic!("{other:?}"),
            }
        }
    }
    let (kid, token, c) = found.expect("some padding reaches the limit exactly");
    let mut fx = Fixture::new();
    fx.keys[0].kid = kid;
    assert_eq!(fx.verify(&token).unwrap().claims(), &c);
    let over = format!("{token}A");
    assert_eq!(
        Fixture::new().verify(&over).unwrap_err(),
        TokenError::TooLong {
            len: MAX_TOKEN_BYTES + 1,
            max: MAX_TOKEN_BYTES
        }
    );
}

#[test]
fn oversized_tokens_are_refused_by_length_alone() {
    let huge = format!("v4.public.{}", "!".repeat(1 << 20));
    let err = Fixture::new().verify(&huge).unwrap_err();
    assert_eq!(
        err,
        TokenError::TooLong {
            len: huge.len(),
            max: MAX_TOKEN_BYTES
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "token is {} bytes, more than the limit of 8192 bytes",
            huge.len()
        )
    );
}

#[test]
fn deep_json_is_refused_before_parsing() {
    // At the limit: the claims' own depth is 4, and they verify (above). One more level:
    let mut value = claims_json();
    value["grants"][0]["max_amount"]["value"] = json!([20]);
    assert_eq!(
        Fixture::new().verify(&sign_json(&value)).unwrap_err(),
        TokenError::TooDeep {
            max: MAX_JSON_DEPTH
        }
    );
    // A payload that would blow a recursive parser's stack costs one scan.
    let small_bomb = sign_raw("[".repeat(5000).as_bytes());
    assert_eq!(
        Fixture::new().verify(&small_bomb).unwrap_err(),
        TokenError::TooDeep {
            max: MAX_JSON_DEPTH
        }
    );
}

#[test]
fn grant_count_and_list_lengths_are_limited_before_parsing() {
    let mut value = claims_json();
    value["grants"] = json!(vec![json!({}); MAX_GRANTS]);
    value.as_object_mut().unwrap().remove("script");
    assert!(Fixture::new()
        .verify_at(&sign_json(&value), now(), None)
        .is_ok());
    value["grants"] = json!(vec![json!({}); MAX_GRANTS + 1]);
    assert_eq!(
        Fixture::new()
            .verify_at(&sign_json(&value), now(), None)
            .unwrap_err(),
        TokenError::TooManyGrants {
            count: MAX_GRANTS + 1,
            max: MAX_GRANTS
        }
    );

    let mut value = claims_json();
    value["grants"][0]["secrets"] = json!(vec!["s"; MAX_GRANT_LIST_ITEMS]);
    assert!(Fixture::new().verify(&sign_json(&value)).is_ok());
    value["grants"][0]["secrets"] = json!(vec!["s"; MAX_GRANT_LIST_ITEMS + 1]);
    let err = Fixture::new().verify(&sign_json(&value)).unwrap_err();
    assert_eq!(
        err,
        TokenError::ListTooLong {
            count: MAX_GRANT_LIST_ITEMS + 1,
            max: MAX_GRANT_LIST_ITEMS
        }
    );
    assert_eq!(
        err.to_string(),
        "a list in the token's grants has 65 items, more than the limit of 64"
    );
}

#[test]
fn bad_footers_are_refused() {
    assert_eq!(footer_error(b""), TokenError::MissingFooter);
    let bad = |detail: &str| TokenError::BadFooter {
        detail: detail.into(),
    };
    assert_eq!(
        footer_error(b"{\"kid\":\"k1\",\"alg\":\"none\"}"),
        bad("unknown field `alg`, expected `kid` at line 1 column 17")
    );
    assert_eq!(
        footer_error(b"{}"),
        bad("missing field `kid` at line 1 column 2")
    );
    assert_eq!(
        footer_error(b"arbitrary-string-that-isn't-json"),
        bad("expected value at line 1 column 1")
    );
    assert_eq!(
        footer_error(b"{\"kid\":{\"id\":\"k1\"}}"),
        bad("nested deeper than 1 level")
    );
    assert_eq!(
        footer_error(b"{\"kid\":\"k 1\"}"),
        bad("key id `k 1` is not 1 to 64 letters, digits, `.`, `_` or `-`")
    );
    assert_eq!(
        footer_error(b"{\"kid\":\"k1\",\"kid\":\"k2\"}"),
        bad("duplicate field `kid` at line 1 column 17")
    );
    // Whitespace is fine: any PASETO library may write the footer its own way.
    let spaced = format!("{{ \"kid\" : \"{}\" }}", kid());
    assert!(Fixture::new()
        .verify(&with_footer(spaced.as_bytes()))
        .is_ok());
}

#[test]
fn footer_size_limit_holds_at_the_limit() {
    // Exactly MAX_FOOTER_BYTES, padded with JSON whitespace: accepted.
    let compact = format!("{{\"kid\":\"{}\"}}", kid());
    let padded = format!("{compact}{}", " ".repeat(MAX_FOOTER_BYTES - compact.len()));
    assert_eq!(padded.len(), MAX_FOOTER_BYTES);
    assert!(Fixture::new()
        .verify(&with_footer(padded.as_bytes()))
        .is_ok());
    let over = format!("{padded} ");
    assert_eq!(
        footer_error(over.as_bytes()),
        TokenError::FooterTooLong {
            len: MAX_FOOTER_BYTES + 1,
            max: MAX_FOOTER_BYTES
        }
    );
}

#[test]
fn other_paseto_kinds_and_encodings_are_refused() {
    let token = token_for(&claims());
    let cases = [
        (
            token.replacen("v4.public.", "v4.local.", 1),
            TokenError::WrongHeader,
        ),
        (
            token.replacen("v4.public.", "v3.public.", 1),
            TokenError::WrongHeader,
        ),
        (
            token.replacen("v4.public.", "V4.PUBLIC.", 1),
            TokenError::WrongHeader,
        ),
        (
            format!("{token}."),
            TokenError::BadEncoding { part: "structure" },
        ),
        (
            format!("{token}="),
            TokenError::BadEncoding { part: "footer" },
        ),
        (
            token.replacen("v4.public.", "v4.public.+", 1),
            TokenError::BadEncoding { part: "body" },
        ),
    ];
    for (bad, expected) in cases {
        assert_eq!(Fixture::new().verify(&bad).unwrap_err(), expected, "{bad}");
    }
}

#[test]
fn mint_refuses_what_verify_would_refuse_for_its_form() {
    let mut c = claims();
    c.uses = 0;
    assert_eq!(
        mint(&c, &kid(), &planner_key(), &instance()),
        Err(invalid("uses", "must be from 1 to 1000, not 0"))
    );
    assert_eq!(
        mint(&claims(), "bad kid", &planner_key(), &instance())
            .unwrap_err()
            .to_string(),
        "cannot mint: key id `bad kid` is not 1 to 64 letters, digits, `.`, `_` or `-`"
    );
}

#[test]
fn every_error_has_a_distinct_code_and_a_lowercase_message_and_help() {
    let all = vec![
        TokenError::TooLong { len: 1, max: 1 },
        TokenError::WrongHeader,
        TokenError::BadEncoding { part: "body" },
        TokenError::TooShort { len: 1 },
        TokenError::MissingFooter,
        TokenError::FooterTooLong { len: 1, max: 1 },
        TokenError::BadFooter { detail: "x".into() },
        TokenError::TooDeep { max: 1 },
        TokenError::TooManyGrants { count: 1, max: 1 },
        TokenError::ListTooLong { count: 1, max: 1 },
        TokenError::UnknownKey { kid: "k".into() },
        TokenError::BadSignature,
        TokenError::Malformed { detail: "x".into() },
        TokenError::UnknownField { path: "x".into() },
        TokenError::UnsupportedVersion { found: "2".into() },
        invalid("x", "y"),
        TokenError::WrongIssuer {
            kid: "k".into(),
            expected: "a".into(),
            found: "b".into(),
        },
        TokenError::WrongAudience {
            expected: "a".into(),
            found: "b".into(),
        },
        TokenError::NotYetValid {
            claim: "nbf",
            at: "t".into(),
        },
        TokenError::Expired { at: "t".into() },
        TokenError::EmptyLifetime { detail: "x".into() },
        TokenError::TtlTooLong {
            planner: "p".into(),
            ttl_seconds: 2,
            max_seconds: 1,
        },
        TokenError::ScriptRequired {
            expected: "s".into(),
        },
        TokenError::ScriptMismatch {
            expected: "s".into(),
            found: "t".into(),
        },
        TokenError::Replayed {
            jti: "j".into(),
            uses: 1,
        },
        TokenError::ReplayStoreFull { capacity: 1 },
        TokenError::ReplayStoreUnavailable { detail: "x".into() },
        TokenError::Mint { detail: "x".into() },
    ];
    let codes: std::collections::BTreeSet<&str> = all.iter().map(TokenError::code).collect();
    assert_eq!(codes.len(), all.len());
    for e in &all {
        let message = e.to_string();
        assert!(message.starts_with(|c: char| c.is_lowercase()), "{message}");
        assert!(!message.ends_with('.'), "{message}");
        assert!(
            !e.help().is_empty() && !e.help().ends_with('.'),
            "{}",
            e.help()
        );
    }
}
