//! Bridle's policy enforcement point (PEP): capability tokens, the local policy, per-step
//! decisions, the step engine and the audit chain. No IO of its own: time, storage, the page,
//! the user and the job runner come in through traits, so the same code runs natively and in
//! wasm.

pub mod audit;
pub mod decide;
pub mod decision;
pub mod engine;
pub mod keys;
pub mod policy;
pub mod preview;
pub mod protocol;
pub mod replay;
pub mod token;
pub mod vectors;

// Re-exported so callers (the CLI, benchmarks, the extension) use the same versions as the
// token code without naming them again.
pub use ed25519_dalek;
pub use policy::{Policy, PolicyError, PolicyErrorKind};
pub use time;

// Semantic targeting on page snapshots (roles, names, resolution).
pub mod page;
