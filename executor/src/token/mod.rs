//! Capability tokens: PASETO v4.public envelopes carrying Bridle's claims, signed by a trusted
//! planner for one executor instance. See docs/tokens.md for the format.
//!
//! Layers, each its own module: [`paseto`] (envelope, PAE, Ed25519; what the official test
//! vectors exercise) → [`UnverifiedToken::parse`] (limits, footer, key id) →
//! [`UnverifiedToken::verify`] (signature, [`claims`], time, script, replay) →
//! [`VerifiedToken`]. [`mint`] is the inverse, for planners.

pub mod claims;
mod error;
mod limits;
mod mint;
pub mod paseto;
mod shape;
mod values;
mod verify;
mod wire;

pub use bridle_dsl::ast::SandboxTier;
pub use claims::{check_origin_pattern, sandbox_word, Claims, Grant, MaxAmount};
pub use error::TokenError;
pub use limits::*;
pub use mint::mint;
pub use values::{Memory, ScriptHash};
pub use verify::{
    PlannerKey, TrustedKeys, TrustedPlanner, UnverifiedToken, VerifiedToken, VerifyContext,
};
