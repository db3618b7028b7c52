//! Every bound the language enforces, named in one place; each has a test at the limit.

/// Largest script accepted, in bytes. A page of planner output is a few KB; 1 MiB leaves room
/// for generated scripts while keeping a hostile 10 MB input to one cheap length check.
pub const MAX_SCRIPT_BYTES: usize = 1024 * 1024;

/// Most statements in one script, counted over all blocks.
pub const MAX_STATEMENTS: usize = 5_000;

/// Deepest nesting of `if`, `repeat` and `for each` blocks.
pub const MAX_NESTING: usize = 8;

/// Largest `at most N` of a `repeat` or `for each`.
pub const MAX_LOOP_BOUND: u64 = 1_000;

/// Most step executions a script can reach when every loop runs to its bound: loops nest, so
/// their bounds multiply, and this keeps the product from being absurd.
pub const MAX_EXPANDED_STEPS: u64 = 100_000;

/// Longest string literal, in bytes after decoding escapes.
pub const MAX_STRING_BYTES: usize = 4_096;

/// Longest `job` code block, in bytes.
pub const MAX_JOB_CODE_BYTES: usize = 64 * 1024;

/// Most origins in the header.
pub const MAX_ORIGINS: usize = 32;

/// Longest timeout of a `wait` or a `job`, and longest `wait` pause.
pub const MAX_TIMEOUT_MS: u64 = 10 * 60 * 1000;

/// Largest `memory` a job may ask for.
pub const MAX_JOB_MEMORY_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// Largest `nth`.
pub const MAX_NTH: u64 = 1_000;

/// Longest regular expression pattern, in bytes.
pub const MAX_REGEX_BYTES: usize = 1_024;

/// Most diagnostics reported for one script; past this the rest are summarised.
pub const MAX_DIAGNOSTICS: usize = 50;
