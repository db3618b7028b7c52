//! Parse, don't trust: [`UnverifiedToken`] holds a decoded envelope and nothing else, and only
//! [`UnverifiedToken::verify`] turns it into a [`VerifiedToken`], the only form the decision
//! function accepts.

use super::claims::{Claims, AMOUNT_FIELDS, CLAIM_FIELDS, GRANT_FIELDS};
use super::error::TokenError;
use super::limits::{
    CLOCK_SKEW, MAX_FOOTER_BYTES, MAX_FOOTER_DEPTH, MAX_GRANTS, MAX_GRANT_LIST_ITEMS,
    MAX_JSON_DEPTH,
};
use super::paseto::{self, Envelope};
use super::shape;
use super::values::ScriptHash;
use crate::keys::is_valid_kid;
use crate::replay::{ReplayError, ReplayStore};
use ed25519_dalek::VerifyingKey;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// What the local policy says about one trusted planner key.
#[derive(Debug, Clone, Copy)]
pub struct TrustedPlanner<'a> {
    /// The planner's name; a token's `iss` must equal it.
    pub name: &'a str,
    /// The key that must have signed the token (decoded once, when the policy is loaded).
    pub public_key: &'a VerifyingKey,
    /// The longest `exp - iat` the planner may grant.
    pub max_ttl: Duration,
}

/// Looks up trusted planners by key id. The local policy implements this; so does a plain
/// slice of [`PlannerKey`].
pub trait TrustedKeys {
    fn planner(&self, kid: &str) -> Option<TrustedPlanner<'_>>;
}

/// One trusted planner key, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannerKey {
    pub kid: String,
    pub name: String,
    pub public_key: VerifyingKey,
    pub max_ttl: Duration,
}

impl TrustedKeys for [PlannerKey] {
    /// The first entry with this `kid` (a policy should not list a `kid` twice).
    fn planner(&self, kid: &str) -> Option<TrustedPlanner<'_>> {
        self.iter().find(|p| p.kid == kid).map(|p| TrustedPlanner {
            name: &p.name,
            public_key: &p.public_key,
            max_ttl: p.max_ttl,
        })
    }
}

impl TrustedKeys for Vec<PlannerKey> {
    fn planner(&self, kid: &str) -> Option<TrustedPlanner<'_>> {
        self.as_slice().planner(kid)
    }
}

/// Everything verification needs from outside: no clock reads, no storage of its own.
pub struct VerifyContext<'a> {
    /// The planners the local policy trusts.
    pub keys: &'a dyn TrustedKeys,
    /// This executor instance's id: the implicit assertion and the expected `aud`.
    pub instance_id: &'a str,
    /// The current time, from the caller's clock.
    pub now: OffsetDateTime,
    /// The exact script bytes to run, when there is a script.
    pub script: Option<&'a [u8]>,
    /// Where uses of each `jti` are counted.
    pub replay: &'a mut dyn ReplayStore,
}

impl std::fmt::Debug for VerifyContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyContext")
            .field("instance_id", &self.instance_id)
            .field("now", &self.now)
            .field("script_len", &self.script.map(<[u8]>::len))
            .finish_non_exhaustive()
    }
}

/// The footer: exactly one key, `kid`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object with only `kid`")]
struct Footer {
    kid: String,
}

/// A token whose envelope and footer have been decoded and whose size limits hold, but whose
/// signature has not been checked: nothing in it is trusted yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedToken {
    envelope: Envelope,
    kid: String,
}

/// A token whose signature, claims, time window, script binding and use count all checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    claims: Claims,
    kid: String,
    uses_left: u32,
}

impl UnverifiedToken {
    /// Decodes a token, checking in order: length, header, base64url of each part, the
    /// signature's room, the footer's size, depth and shape, the key id, then the claims'
    /// depth, grant count and list lengths (a scan of the bytes; the claims are not parsed).
    pub fn parse(token: &str) -> Result<UnverifiedToken, TokenError> {
        let envelope = paseto::decode(token)?;
        if envelope.footer.is_empty() {
            return Err(TokenError::MissingFooter);
        }
        if envelope.footer.len() > MAX_FOOTER_BYTES {
            return Err(TokenError::FooterTooLong {
                len: envelope.footer.len(),
                max: MAX_FOOTER_BYTES,
            });
        }
        if shape::scan(&envelope.footer, MAX_FOOTER_DEPTH).is_err() {
            return Err(TokenError::BadFooter {
                detail: format!("nested deeper than {MAX_FOOTER_DEPTH} level"),
            });
        }
        let footer: Footer =
            serde_json::from_slice(&envelope.footer).map_err(|e| TokenError::BadFooter {
                detail: e.to_string(),
            })?;
        if !is_valid_kid(&footer.kid) {
            return Err(TokenError::BadFooter {
                detail: format!(
                    "key id `{}` is not 1 to {} letters, digits, `.`, `_` or `-`",
                    footer.kid.escape_debug(),
                    super::limits::MAX_KID_BYTES
                ),
            });
        }
        check_claims_shape(&envelope.message)?;
        Ok(UnverifiedToken {
            envelope,
            kid: footer.kid,
        })
    }

    /// The key id from the footer (unverified until `verify` succeeds).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The raw footer bytes.
    pub fn footer(&self) -> &[u8] {
        &self.envelope.footer
    }

    /// The raw, unverified claims bytes.
    pub fn payload(&self) -> &[u8] {
        &self.envelope.message
    }

    /// The exact bytes the signature must cover for `instance_id`; for tools and benchmarks.
    pub fn signed_bytes(&self, instance_id: &str) -> Vec<u8> {
        paseto::signed_bytes(
            &self.envelope.message,
            &self.envelope.footer,
            instance_id.as_bytes(),
        )
    }

    /// The raw 64 signature bytes.
    pub fn signature(&self) -> &[u8; 64] {
        &self.envelope.signature
    }

    /// Decodes and validates the claims WITHOUT checking the signature, for `bridle token
    /// inspect` and debugging only. Never act on the result.
    pub fn claims_unverified(&self) -> Result<Claims, TokenError> {
        let claims = decode_claims(&self.envelope.message)?;
        claims.validate()?;
        Ok(claims)
    }

    /// Verifies the token for this instance, now, for this script. Checks, in order: the key
    /// id is trusted, the signature (with the instance id as implicit assertion), the claims'
    /// form and values, `v`, `iss`, `aud`, `nbf`/`iat`/`exp` with [`CLOCK_SKEW`], the
    /// lifetime against the planner's `max_ttl`, the script binding, and last the replay
    /// store, so a token refused for any other reason does not use up a use.
    pub fn verify(&self, ctx: &mut VerifyContext<'_>) -> Result<VerifiedToken, TokenError> {
        let planner = ctx
            .keys
            .planner(&self.kid)
            .ok_or_else(|| TokenError::UnknownKey {
                kid: self.kid.clone(),
            })?;
        self.envelope
            .verify(ctx.instance_id.as_bytes(), planner.public_key)?;

        let claims = decode_claims(&self.envelope.message)?;
        claims.validate()?;
        if claims.iss != planner.name {
            return Err(TokenError::WrongIssuer {
                kid: self.kid.clone(),
                expected: planner.name.to_owned(),
                found: claims.iss,
            });
        }
        if claims.aud != ctx.instance_id {
            return Err(TokenError::WrongAudience {
                expected: ctx.instance_id.to_owned(),
                found: claims.aud,
            });
        }
        check_times(&claims, ctx.now, planner)?;
        if let Some(expected) = claims.script {
            let Some(script) = ctx.script else {
                return Err(TokenError::ScriptRequired {
                    expected: expected.to_string(),
                });
            };
            let found = ScriptHash::of(script);
            if found != expected {
                return Err(TokenError::ScriptMismatch {
                    expected: expected.to_string(),
                    found: found.to_string(),
                });
            }
        }
        // Remember the jti for as long as the token could still be accepted.
        let keep_until = claims.exp.checked_add(CLOCK_SKEW).unwrap_or(claims.exp);
        let uses_left = ctx
            .replay
            .record_use(&claims.jti, claims.uses, keep_until, ctx.now)
            .map_err(|e| match e {
                ReplayError::Exhausted { jti, uses } => TokenError::Replayed { jti, uses },
                ReplayError::Full { capacity } => TokenError::ReplayStoreFull { capacity },
                ReplayError::Unavailable { detail } => {
                    TokenError::ReplayStoreUnavailable { detail }
                }
            })?;
        Ok(VerifiedToken {
            claims,
            kid: self.kid.clone(),
            uses_left,
        })
    }
}

impl VerifiedToken {
    /// The verified claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The key id that signed the token.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The planner's name (equal to the policy's name for `kid`).
    pub fn issuer(&self) -> &str {
        &self.claims.iss
    }

    pub fn jti(&self) -> &str {
        &self.claims.jti
    }

    pub fn grants(&self) -> &[super::Grant] {
        &self.claims.grants
    }

    /// How many more scripts this token's `jti` may run after this one.
    pub fn uses_left(&self) -> u32 {
        self.uses_left
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// The time window, with the skew applied in the token's favour, then the lifetime's form.
fn check_times(
    claims: &Claims,
    now: OffsetDateTime,
    planner: TrustedPlanner<'_>,
) -> Result<(), TokenError> {
    // Differences rather than `now + skew`, which could overflow at the ends of time.
    for (claim, at) in [("nbf", claims.nbf), ("iat", claims.iat)] {
        if at - now > CLOCK_SKEW {
            return Err(TokenError::NotYetValid {
                claim,
                at: rfc3339(at),
            });
        }
    }
    if now - claims.exp > CLOCK_SKEW {
        return Err(TokenError::Expired {
            at: rfc3339(claims.exp),
        });
    }
    if claims.exp <= claims.iat {
        return Err(TokenError::EmptyLifetime {
            detail: format!(
                "`exp` ({}) is not after `iat` ({})",
                rfc3339(claims.exp),
                rfc3339(claims.iat)
            ),
        });
    }
    if claims.nbf >= claims.exp {
        return Err(TokenError::EmptyLifetime {
            detail: format!(
                "`nbf` ({}) is not before `exp` ({})",
                rfc3339(claims.nbf),
                rfc3339(claims.exp)
            ),
        });
    }
    let ttl = claims.exp - claims.iat;
    if ttl > planner.max_ttl {
        return Err(TokenError::TtlTooLong {
            planner: planner.name.to_owned(),
            ttl_seconds: ttl.whole_seconds(),
            max_seconds: planner.max_ttl.whole_seconds(),
        });
    }
    Ok(())
}

/// The claims' limits, measured on the bytes before any JSON parser sees them.
fn check_claims_shape(payload: &[u8]) -> Result<(), TokenError> {
    let shape = shape::scan(payload, MAX_JSON_DEPTH).map_err(|_| TokenError::TooDeep {
        max: MAX_JSON_DEPTH,
    })?;
    // In well-formed claims the only list at depth 2 is `grants`; lists deeper down are a
    // grant's lists.
    if shape.longest[2] > MAX_GRANTS {
        return Err(TokenError::TooManyGrants {
            count: shape.longest[2],
            max: MAX_GRANTS,
        });
    }
    if let Some(count) = shape.longest[3..]
        .iter()
        .copied()
        .find(|&n| n > MAX_GRANT_LIST_ITEMS)
    {
        return Err(TokenError::ListTooLong {
            count,
            max: MAX_GRANT_LIST_ITEMS,
        });
    }
    Ok(())
}

/// Parses the claims JSON. On failure, the error says which field is unknown (with its path)
/// when there is one, which `v` was found when it is not 1, and serde's account otherwise.
pub(crate) fn decode_claims(payload: &[u8]) -> Result<Claims, TokenError> {
    let err = match serde_json::from_slice::<Claims>(payload) {
        Ok(claims) => return Ok(claims),
        Err(err) => err,
    };
    // Only on the failure path: look again, as plain JSON, for the most useful explanation.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(payload) {
        if let Some(v) = value.get("v") {
            if v.as_u64() != Some(super::claims::CLAIMS_VERSION) {
                return Err(TokenError::UnsupportedVersion {
                    found: v.to_string(),
                });
            }
        }
        if let Some(path) = unknown_field(&value) {
            return Err(TokenError::UnknownField { path });
        }
    }
    Err(TokenError::Malformed {
        detail: err.to_string(),
    })
}

/// The first key that is not part of the claims' schema, as a path like `grants[1].colour`.
fn unknown_field(value: &serde_json::Value) -> Option<String> {
    let claims = value.as_object()?;
    if let Some(key) = claims.keys().find(|k| !CLAIM_FIELDS.contains(&k.as_str())) {
        return Some(key.clone());
    }
    let grants = claims.get("grants").and_then(|g| g.as_array())?;
    for (i, grant) in grants.iter().enumerate() {
        let Some(grant) = grant.as_object() else {
            continue;
        };
        if let Some(key) = grant.keys().find(|k| !GRANT_FIELDS.contains(&k.as_str())) {
            return Some(format!("grants[{i}].{key}"));
        }
        if let Some(amount) = grant.get("max_amount").and_then(|a| a.as_object()) {
            if let Some(key) = amount.keys().find(|k| !AMOUNT_FIELDS.contains(&k.as_str())) {
                return Some(format!("grants[{i}].max_amount.{key}"));
            }
        }
    }
    None
}
