//! Every way a token can be refused, each a distinct variant with a stable code, a lowercase
//! message and a hint for whoever minted the token.

use thiserror::Error;

/// Why a token was refused. Variants appear in the order `verify` checks them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    /// The token text is longer than [`crate::token::MAX_TOKEN_BYTES`].
    #[error("token is {len} bytes, more than the limit of {max} bytes")]
    TooLong { len: usize, max: usize },

    /// The token does not start with `v4.public.`: another PASETO version or purpose, or not
    /// a PASETO token at all. There is no algorithm choice to negotiate.
    #[error("token does not start with `v4.public.`")]
    WrongHeader,

    /// A part of the token is not canonical unpadded base64url, or there are too many parts.
    #[error("token {part} is not valid base64url without padding")]
    BadEncoding { part: &'static str },

    /// The decoded body is too short to hold a 64-byte Ed25519 signature.
    #[error("token body is {len} bytes, too short to hold a 64-byte signature")]
    TooShort { len: usize },

    /// Bridle tokens always carry a footer naming the key id.
    #[error("token has no footer")]
    MissingFooter,

    /// The decoded footer is longer than [`crate::token::MAX_FOOTER_BYTES`].
    #[error("token footer is {len} bytes, more than the limit of {max} bytes")]
    FooterTooLong { len: usize, max: usize },

    /// The footer is not exactly the JSON object `{"kid":"…"}` with a well-formed key id.
    #[error("token footer is not `{{\"kid\":\"…\"}}`: {detail}")]
    BadFooter { detail: String },

    /// The claims nest deeper than [`crate::token::MAX_JSON_DEPTH`].
    #[error("token claims nest deeper than {max} levels")]
    TooDeep { max: usize },

    /// More grants than [`crate::token::MAX_GRANTS`].
    #[error("token has {count} grants, more than the limit of {max}")]
    TooManyGrants { count: usize, max: usize },

    /// A list inside a grant (or another nested list) is longer than
    /// [`crate::token::MAX_GRANT_LIST_ITEMS`].
    #[error("a list in the token's grants has {count} items, more than the limit of {max}")]
    ListTooLong { count: usize, max: usize },

    /// The footer's key id names no planner the local policy trusts.
    #[error("no trusted planner has key id `{kid}`")]
    UnknownKey { kid: String },

    /// The signature does not verify under the planner's key, this instance's id (the implicit
    /// assertion) and the exact bytes of the token.
    #[error("token signature does not verify")]
    BadSignature,

    /// The claims are not well-formed JSON of the right shape and types.
    #[error("token claims are malformed: {detail}")]
    Malformed { detail: String },

    /// The claims (or a grant, or `max_amount`) contain a field Bridle does not know. A grant
    /// that the executor cannot understand must not be ignored, since it could only have been
    /// meant to narrow.
    #[error("token has unknown field `{path}`")]
    UnknownField { path: String },

    /// `v` is not 1.
    #[error("token claims version is `{found}`, but this executor understands only `1`")]
    UnsupportedVersion { found: String },

    /// A claim has a value outside what Bridle allows (an empty list, `uses` of 0, an origin
    /// pattern with a path, …).
    #[error("token claim `{path}` is invalid: {reason}")]
    InvalidClaim { path: String, reason: String },

    /// `iss` is not the name the local policy gives the planner whose key signed the token.
    #[error("token issuer is `{found}`, but key `{kid}` belongs to planner `{expected}`")]
    WrongIssuer {
        kid: String,
        expected: String,
        found: String,
    },

    /// `aud` is not this executor instance's id.
    #[error("token audience is `{found}`, but this instance is `{expected}`")]
    WrongAudience { expected: String, found: String },

    /// `nbf` or `iat` is later than now plus the clock skew.
    #[error("token is not valid until `{at}` (`{claim}`)")]
    NotYetValid { claim: &'static str, at: String },

    /// `exp` plus the clock skew is earlier than now.
    #[error("token expired at `{at}`")]
    Expired { at: String },

    /// `exp` is not later than `iat`, or `nbf` is later than `exp`: the token is never valid.
    #[error("token lifetime is empty: {detail}")]
    EmptyLifetime { detail: String },

    /// `exp - iat` exceeds the planner's `max_ttl` in the local policy.
    #[error(
        "token lives {ttl_seconds} s, more than planner `{planner}` may grant ({max_seconds} s)"
    )]
    TtlTooLong {
        planner: String,
        ttl_seconds: i64,
        max_seconds: i64,
    },

    /// The token is bound to a script (`script` claim) and no script was given to check.
    #[error("token is bound to script `{expected}`, but no script was given")]
    ScriptRequired { expected: String },

    /// The token is bound to other script bytes than those given.
    #[error("token is bound to script `{expected}`, but the script is `{found}`")]
    ScriptMismatch { expected: String, found: String },

    /// The token's `jti` has already been used `uses` times.
    #[error("token `{jti}` has already been used {uses} time(s)")]
    Replayed { jti: String, uses: u32 },

    /// The replay store is full of unexpired entries and refuses to forget any.
    #[error("replay store is full ({capacity} unexpired tokens)")]
    ReplayStoreFull { capacity: usize },

    /// The replay store could not record the use (an external store's failure).
    #[error("replay store cannot record the token: {detail}")]
    ReplayStoreUnavailable { detail: String },

    /// A key or key id given to `mint` is unusable.
    #[error("cannot mint: {detail}")]
    Mint { detail: String },
}

impl TokenError {
    /// A stable, machine-readable name for the error (kebab-case), for JSON output and logs.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::TooLong { .. } => "too-long",
            TokenError::WrongHeader => "wrong-header",
            TokenError::BadEncoding { .. } => "bad-encoding",
            TokenError::TooShort { .. } => "too-short",
            TokenError::MissingFooter => "missing-footer",
            TokenError::FooterTooLong { .. } => "footer-too-long",
            TokenError::BadFooter { .. } => "bad-footer",
            TokenError::TooDeep { .. } => "too-deep",
            TokenError::TooManyGrants { .. } => "too-many-grants",
            TokenError::ListTooLong { .. } => "list-too-long",
            TokenError::UnknownKey { .. } => "unknown-key",
            TokenError::BadSignature => "bad-signature",
            TokenError::Malformed { .. } => "malformed",
            TokenError::UnknownField { .. } => "unknown-field",
            TokenError::UnsupportedVersion { .. } => "unsupported-version",
            TokenError::InvalidClaim { .. } => "invalid-claim",
            TokenError::WrongIssuer { .. } => "wrong-issuer",
            TokenError::WrongAudience { .. } => "wrong-audience",
            TokenError::NotYetValid { .. } => "not-yet-valid",
            TokenError::Expired { .. } => "expired",
            TokenError::EmptyLifetime { .. } => "empty-lifetime",
            TokenError::TtlTooLong { .. } => "ttl-too-long",
            TokenError::ScriptRequired { .. } => "script-required",
            TokenError::ScriptMismatch { .. } => "script-mismatch",
            TokenError::Replayed { .. } => "replayed",
            TokenError::ReplayStoreFull { .. } => "replay-store-full",
            TokenError::ReplayStoreUnavailable { .. } => "replay-store-unavailable",
            TokenError::Mint { .. } => "mint",
        }
    }

    /// What to do about it, addressed to the planner (or the user, for key and store errors).
    pub fn help(&self) -> &'static str {
        match self {
            TokenError::TooLong { .. } => "grant less per token, or split the work into several tokens",
            TokenError::WrongHeader => "mint a PASETO v4.public token (Ed25519); local tokens and other versions are not accepted",
            TokenError::BadEncoding { .. } => "encode the body and footer as base64url without `=` padding, joined by `.`",
            TokenError::TooShort { .. } => "the body is the claims followed by the 64-byte signature",
            TokenError::MissingFooter => "add the footer `{\"kid\":\"…\"}` with the planner's key id",
            TokenError::FooterTooLong { .. } | TokenError::BadFooter { .. } => {
                "the footer must be exactly `{\"kid\":\"…\"}`, with a key id of letters, digits, `.`, `_` or `-`"
            }
            TokenError::TooDeep { .. } => "claims nest at most: claims → grants → grant → list",
            TokenError::TooManyGrants { .. } => "merge grants or split the work into several tokens",
            TokenError::ListTooLong { .. } => "shorten the list or use a wildcard origin or a path prefix",
            TokenError::UnknownKey { .. } => "add the planner with this `kid` to the local policy, or mint with a trusted key",
            TokenError::BadSignature => "mint with the planner's secret key, for this instance's id as the implicit assertion, and do not modify the token",
            TokenError::Malformed { .. } => "see docs/tokens.md for the claims and their types",
            TokenError::UnknownField { .. } => "remove the field; every claim and grant key is listed in docs/tokens.md",
            TokenError::UnsupportedVersion { .. } => "set `v` to 1",
            TokenError::InvalidClaim { .. } => "see docs/tokens.md for the allowed values",
            TokenError::WrongIssuer { .. } => "set `iss` to the planner's name in the local policy",
            TokenError::WrongAudience { .. } => "set `aud` to the id of the instance that will run the script",
            TokenError::NotYetValid { .. } => "check the planner's clock, or wait",
            TokenError::Expired { .. } => "mint a fresh token",
            TokenError::EmptyLifetime { .. } => "set `iat` ≤ `nbf` < `exp`",
            TokenError::TtlTooLong { .. } => "mint a shorter-lived token, or raise the planner's `max_ttl` in the local policy",
            TokenError::ScriptRequired { .. } => "pass the script the token was minted for",
            TokenError::ScriptMismatch { .. } => "mint the token for this exact script (`sha256:` of its bytes)",
            TokenError::Replayed { .. } => "mint a fresh token with a new `jti`, or a larger `uses`",
            TokenError::ReplayStoreFull { .. } => "wait for earlier tokens to expire, or mint longer-lived tokens with more `uses`",
            TokenError::ReplayStoreUnavailable { .. } => "retry; the token was not used",
            TokenError::Mint { .. } => "check the key and the key id",
        }
    }
}
