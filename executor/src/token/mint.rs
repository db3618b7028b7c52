//! Minting, for planners written in Rust and for `bridle token mint`: the exact inverse of
//! verification's envelope, refusing claims that verification would refuse for their form.

use super::claims::Claims;
use super::error::TokenError;
use super::limits::MAX_TOKEN_BYTES;
use super::paseto;
use crate::keys::is_valid_kid;
use ed25519_dalek::SigningKey;

/// Signs `claims` into a `v4.public` token with footer `{"kid":"<kid>"}` and `instance_id`'s
/// UTF-8 bytes as the implicit assertion. Deterministic: the same inputs give the same token.
///
/// The claims are validated first (version, values, limits); the time window, issuer and
/// audience are not compared with anything, so tests can mint tokens that fail those checks.
pub fn mint(
    claims: &Claims,
    kid: &str,
    signing_key: &SigningKey,
    instance_id: &str,
) -> Result<String, TokenError> {
    claims.validate()?;
    if !is_valid_kid(kid) {
        return Err(TokenError::Mint {
            detail: format!(
                "key id `{}` is not 1 to {} letters, digits, `.`, `_` or `-`",
                kid.escape_debug(),
                super::limits::MAX_KID_BYTES
            ),
        });
    }
    let payload = serde_json::to_vec(claims).map_err(|e| TokenError::Mint {
        detail: e.to_string(),
    })?;
    // The kid's characters need no JSON escaping, so this is the exact footer every planner
    // writes.
    let footer = format!("{{\"kid\":\"{kid}\"}}");
    let token = paseto::sign(
        &payload,
        footer.as_bytes(),
        instance_id.as_bytes(),
        signing_key,
    );
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLong {
            len: token.len(),
            max: MAX_TOKEN_BYTES,
        });
    }
    Ok(token)
}
