//! The claims a planner signs: who issued the token, for which instance, when it is valid, how
//! often it may be used, which script it is bound to, and the grants (caveats) it carries.
//!
//! Deserialisation checks shape and types (`deny_unknown_fields` everywhere, helpers in
//! [`super::wire`]); [`Claims::validate`] then checks values against the named limits. Both run
//! for `verify` and for `mint`, so Bridle's own minting cannot produce a token Bridle would
//! refuse for its form.

use super::error::TokenError;
use super::limits::{
    MAX_AMOUNT_VALUE, MAX_CPU, MAX_GRANTS, MAX_GRANT_ITEM_BYTES, MAX_GRANT_LIST_ITEMS,
    MAX_JTI_BYTES, MAX_MEMORY_BYTES, MAX_NAME_BYTES, MAX_USES,
};
use super::values::{Memory, ScriptHash};
use super::wire;
use crate::decision::Amount;
use bridle_dsl::ast::SandboxTier;
use bridle_dsl::Verb;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// The claims version this executor understands.
pub const CLAIMS_VERSION: u64 = 1;

/// The top-level claim names, exactly as they appear in the JSON.
pub const CLAIM_FIELDS: &[&str] = &[
    "v", "iss", "aud", "iat", "nbf", "exp", "jti", "uses", "script", "grants",
];

/// The keys a grant may have, exactly as they appear in the JSON.
pub const GRANT_FIELDS: &[&str] = &[
    "origins",
    "paths",
    "verbs",
    "max_steps",
    "max_amount",
    "secrets",
    "runtimes",
    "sandbox",
    "cpu",
    "memory",
    "network",
];

/// The keys of `max_amount`.
pub const AMOUNT_FIELDS: &[&str] = &["currency", "value"];

/// A token's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the claims object")]
pub struct Claims {
    /// The claims version; must be [`CLAIMS_VERSION`].
    #[serde(deserialize_with = "wire::whole_number_u64")]
    pub v: u64,
    /// The planner's name, as the local policy names the owner of the signing key.
    pub iss: String,
    /// The executor instance id the token is for.
    pub aud: String,
    /// When the token was minted.
    #[serde(with = "wire::rfc3339")]
    pub iat: OffsetDateTime,
    /// When the token starts being valid.
    #[serde(with = "wire::rfc3339")]
    pub nbf: OffsetDateTime,
    /// When the token stops being valid.
    #[serde(with = "wire::rfc3339")]
    pub exp: OffsetDateTime,
    /// A unique nonce; the replay store counts uses per `jti`.
    pub jti: String,
    /// How many scripts the token may run (default 1).
    #[serde(default = "one", deserialize_with = "wire::whole_number_u32")]
    pub uses: u32,
    /// The script the token is bound to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<ScriptHash>,
    /// The caveats; a step needs a grant that allows it.
    pub grants: Vec<Grant>,
}

fn one() -> u32 {
    1
}

/// One caveat. Every key is optional; a present key narrows what the grant allows, an absent
/// key leaves that dimension to the local policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a grant object")]
pub struct Grant {
    /// Origins, exact (`https://shop.example`) or with a leading wildcard label
    /// (`https://*.example.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origins: Option<Vec<String>>,
    /// Path prefix globs (`/checkout/*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// The verbs allowed, by the language's words (`click`, `scroll to`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "wire::verb_list"
    )]
    pub verbs: Option<Vec<Verb>>,
    /// The most steps a script may have.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "wire::opt_whole_number_u32"
    )]
    pub max_steps: Option<u32>,
    /// The largest amount a high-risk step may commit to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount: Option<MaxAmount>,
    /// The secrets (by name) the script may fill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<String>>,
    /// Job runtimes allowed (`python3`, `node`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtimes: Option<Vec<String>>,
    /// The minimum sandbox tier for jobs (`container` or `microvm`; the language's tiers).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "wire::sandbox_tier"
    )]
    pub sandbox: Option<SandboxTier>,
    /// The most CPU cores a job may use (may be fractional).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::opt_number"
    )]
    pub cpu: Option<f64>,
    /// The most memory a job may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    /// Whether jobs may use the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<bool>,
}

/// An amount ceiling: `{"currency": "EUR", "value": 20}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an amount like {\"currency\": \"EUR\", \"value\": 20}"
)]
pub struct MaxAmount {
    /// ISO 4217 code: three uppercase letters.
    pub currency: String,
    /// The ceiling, in the currency's major unit (20 means 20 euros); a JSON number.
    #[serde(serialize_with = "wire::number")]
    pub value: f64,
}

impl MaxAmount {
    /// The ceiling as the decision function's amount type.
    pub fn amount(&self) -> Amount {
        Amount {
            currency: self.currency.clone(),
            value: self.value,
        }
    }
}

/// The word for a sandbox tier in scripts and tokens (`container`, `microvm`).
pub fn sandbox_word(tier: SandboxTier) -> &'static str {
    wire::sandbox_tier::word(tier)
}

/// Where a value sits in the claims (`uses`, `grants[1].paths[0]`). Only formatted when an
/// error needs it, so validating a good token allocates nothing.
#[derive(Debug, Clone, Copy)]
struct At<'a> {
    grant: Option<usize>,
    key: &'a str,
    item: Option<usize>,
}

impl<'a> At<'a> {
    fn claim(key: &'a str) -> At<'a> {
        At {
            grant: None,
            key,
            item: None,
        }
    }

    fn grant(index: usize, key: &'a str) -> At<'a> {
        At {
            grant: Some(index),
            key,
            item: None,
        }
    }

    fn item(self, index: usize) -> At<'a> {
        At {
            item: Some(index),
            ..self
        }
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(grant) = self.grant {
            write!(f, "grants[{grant}].")?;
        }
        f.write_str(self.key)?;
        if let Some(item) = self.item {
            write!(f, "[{item}]")?;
        }
        Ok(())
    }
}

fn invalid(at: At<'_>, reason: impl Into<String>) -> TokenError {
    TokenError::InvalidClaim {
        path: at.to_string(),
        reason: reason.into(),
    }
}

/// A non-empty string of at most `max` bytes without control characters.
fn check_text(at: At<'_>, value: &str, max: usize) -> Result<(), TokenError> {
    if value.is_empty() {
        return Err(invalid(at, "must not be empty"));
    }
    if value.len() > max {
        return Err(invalid(
            at,
            format!("is {} bytes, more than the limit of {max}", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(at, "must not contain control characters"));
    }
    Ok(())
}

/// Checks the length of a grant list, then each item with `item`.
fn check_list<T>(
    at: At<'_>,
    list: &Option<Vec<T>>,
    mut item: impl FnMut(At<'_>, &T) -> Result<(), TokenError>,
) -> Result<(), TokenError> {
    let Some(list) = list else { return Ok(()) };
    if list.is_empty() {
        return Err(invalid(
            at,
            "must not be empty (omit the key to leave it to the local policy)",
        ));
    }
    if list.len() > MAX_GRANT_LIST_ITEMS {
        return Err(TokenError::ListTooLong {
            count: list.len(),
            max: MAX_GRANT_LIST_ITEMS,
        });
    }
    for (i, value) in list.iter().enumerate() {
        item(at.item(i), value)?;
    }
    Ok(())
}

/// `scheme://host[:port]` with scheme `https` or `http`, a lowercase host of letters, digits,
/// `-` and `.`, optionally starting with one wildcard label `*.`; no path, query or user.
pub fn check_origin_pattern(origin: &str) -> Result<(), String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| format!("`{origin}` must start with `https://` or `http://`"))?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    if let Some(port) = port {
        let ok = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
        if !ok {
            return Err(format!("`{origin}` has an invalid port"));
        }
    }
    let bare = host.strip_prefix("*.").unwrap_or(host);
    let labels_ok = !bare.is_empty()
        && bare.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if !labels_ok {
        return Err(format!(
            "`{origin}` must be an origin like `https://shop.example` or `https://*.example.com` (lowercase, no path)"
        ));
    }
    Ok(())
}

impl Claims {
    /// Checks every value against Bridle's rules and limits (not the time window, the issuer
    /// or the audience: those need the verifying context).
    pub fn validate(&self) -> Result<(), TokenError> {
        if self.v != CLAIMS_VERSION {
            return Err(TokenError::UnsupportedVersion {
                found: self.v.to_string(),
            });
        }
        check_text(At::claim("iss"), &self.iss, MAX_NAME_BYTES)?;
        check_text(At::claim("aud"), &self.aud, MAX_NAME_BYTES)?;
        check_text(At::claim("jti"), &self.jti, MAX_JTI_BYTES)?;
        if !self.jti.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                At::claim("jti"),
                "must be printable ASCII without spaces",
            ));
        }
        if self.uses == 0 || self.uses > MAX_USES {
            return Err(invalid(
                At::claim("uses"),
                format!("must be from 1 to {MAX_USES}, not {}", self.uses),
            ));
        }
        if self.grants.len() > MAX_GRANTS {
            return Err(TokenError::TooManyGrants {
                count: self.grants.len(),
                max: MAX_GRANTS,
            });
        }
        for (i, grant) in self.grants.iter().enumerate() {
            grant.validate(i)?;
        }
        Ok(())
    }
}

impl Grant {
    /// Checks the grant's values; `index` names it in errors (`grants[0]`).
    pub fn validate(&self, index: usize) -> Result<(), TokenError> {
        let at = |key| At::grant(index, key);
        check_list(at("origins"), &self.origins, |at, o: &String| {
            check_text(at, o, MAX_GRANT_ITEM_BYTES)?;
            check_origin_pattern(o).map_err(|reason| invalid(at, reason))
        })?;
        check_list(at("paths"), &self.paths, |at, s: &String| {
            check_text(at, s, MAX_GRANT_ITEM_BYTES)?;
            if !s.starts_with('/') || s.chars().any(char::is_whitespace) {
                return Err(invalid(
                    at,
                    format!("`{s}` must start with `/` and contain no spaces"),
                ));
            }
            Ok(())
        })?;
        check_list(at("verbs"), &self.verbs, |_, _| Ok(()))?;
        check_list(at("secrets"), &self.secrets, |at, s: &String| {
            check_text(at, s, MAX_GRANT_ITEM_BYTES)
        })?;
        check_list(at("runtimes"), &self.runtimes, |at, s: &String| {
            check_text(at, s, MAX_GRANT_ITEM_BYTES)
        })?;
        if self.max_steps == Some(0) {
            return Err(invalid(at("max_steps"), "must be at least 1"));
        }
        if let Some(amount) = &self.max_amount {
            let c = &amount.currency;
            if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(invalid(
                    at("max_amount.currency"),
                    format!("`{c}` is not a currency code like `EUR`"),
                ));
            }
            let v = amount.value;
            if !v.is_finite() || !(0.0..=MAX_AMOUNT_VALUE).contains(&v) {
                return Err(invalid(
                    at("max_amount.value"),
                    format!("must be from 0 to {MAX_AMOUNT_VALUE}, not {v}"),
                ));
            }
        }
        if let Some(cpu) = self.cpu {
            if !cpu.is_finite() || cpu <= 0.0 || cpu > MAX_CPU {
                return Err(invalid(
                    at("cpu"),
                    format!("must be more than 0 and at most {MAX_CPU} cores, not {cpu}"),
                ));
            }
        }
        if let Some(memory) = self.memory {
            if memory.bytes() == 0 || memory.bytes() > MAX_MEMORY_BYTES {
                return Err(invalid(
                    at("memory"),
                    format!(
                        "must be more than 0B and at most {}, not `{memory}`",
                        Memory::from_bytes(MAX_MEMORY_BYTES)
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
