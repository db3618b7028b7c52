//! Named limits on capability tokens, checked before any other work so that a hostile token
//! costs at most one bounded linear pass over its bytes.
//!
//! Every limit has a test at the limit (`tests/tokens.rs` and the unit tests next to the code).

use time::Duration;

/// The longest token accepted, in bytes of its text form.
///
/// A token carrying 16 grants, each with a few origins, paths and verbs, is about 2–3 KiB once
/// base64url-encoded; 8 KiB leaves room for that and bounds every later step (base64 decoding,
/// the depth scan, JSON parsing) to a few microseconds. It also fits comfortably in one
/// extension message and in an HTTP header, where planners often carry tokens.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The largest decoded footer, in bytes. The footer is only `{"kid":"…"}` with a kid of at
/// most [`MAX_KID_BYTES`], so 256 bytes leaves room for whitespace and nothing else.
pub const MAX_FOOTER_BYTES: usize = 256;

/// The longest key id, in bytes. Bridle's own ids (`k1_` + 32 hex digits) are 35 bytes;
/// PASERK ids (`k4.pid.` + 44 characters) are 51.
pub const MAX_KID_BYTES: usize = 64;

/// The deepest JSON nesting accepted in the claims. Valid claims nest exactly this deep:
/// the claims object (1) → `grants` (2) → a grant (3) → a grant's list or `max_amount` (4).
/// Anything deeper cannot be valid, so the scan refuses it before a JSON parser recurses.
pub const MAX_JSON_DEPTH: usize = 4;

/// The deepest JSON nesting accepted in the footer: one object of strings.
pub const MAX_FOOTER_DEPTH: usize = 1;

/// The most grants one token may carry. Grants are alternatives; a planner that needs more
/// than 16 distinct ones should split the work into several tokens.
pub const MAX_GRANTS: usize = 16;

/// The most items in one list inside a grant (`origins`, `paths`, `verbs`, `secrets`,
/// `runtimes`). The language has fewer than 40 verbs; 64 bounds the rest alike.
pub const MAX_GRANT_LIST_ITEMS: usize = 64;

/// The longest single string inside a grant list (an origin, a path, a secret's name).
pub const MAX_GRANT_ITEM_BYTES: usize = 256;

/// The longest `iss` (planner name) and `aud` (instance id).
pub const MAX_NAME_BYTES: usize = 128;

/// The longest `jti`. The replay store keeps every `jti` until its token expires, so this
/// bounds its memory per entry.
pub const MAX_JTI_BYTES: usize = 128;

/// The largest `uses`: how many scripts one token may run.
pub const MAX_USES: u32 = 1_000;

/// The largest `cpu` a grant may name, in cores.
pub const MAX_CPU: f64 = 256.0;

/// The largest `memory` a grant may name: the most a job may ask for in the language (16GB).
pub const MAX_MEMORY_BYTES: u64 = bridle_dsl::limits::MAX_JOB_MEMORY_BYTES;

/// The largest `max_amount` value: well past any real purchase, small enough to be exact as a
/// double for whole cents.
pub const MAX_AMOUNT_VALUE: f64 = 1e12;

/// The clock skew tolerated between the planner and the executor, both ways.
pub const CLOCK_SKEW: Duration = Duration::seconds(60);
