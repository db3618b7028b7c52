//! Every bound the policy parser enforces, named in one place; each has a test at the limit
//! and one past it.

use time::Duration;

/// Largest policy file accepted, in bytes, checked before any parsing. A generous policy with
/// hundreds of site rules is a few tens of KB; 256 KiB leaves room while keeping a hostile or
/// mistaken multi-megabyte file (pasted into the options page, say) to one length check.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;

/// Most `[[planner]]` tables. A user trusts a handful of planners; every token verification
/// looks one up by `kid`, so the list stays short.
pub const MAX_PLANNERS: usize = 16;

/// Most `[[site]]` tables. Each step's decision walks the matching rules, so the count bounds
/// the work per step.
pub const MAX_SITES: usize = 512;

/// Most `[[dataflow.rule]]` tables.
pub const MAX_FLOW_RULES: usize = 256;

/// Most entries in one list (`allow`, `ask`, `deny`, `blocked_schemes`, `never_read`,
/// `runtimes`, `standing`). The verb lists can hold at most every verb once anyway.
pub const MAX_LIST_ITEMS: usize = 64;

/// Most sensitive words in one list (`[defaults]` or one `[[site]]`). Users collect words
/// over time, so this list is allowed to be longer than the others.
pub const MAX_SENSITIVE_WORDS: usize = 256;

/// Longest sensitive word or phrase, in bytes.
pub const MAX_WORD_BYTES: usize = 64;

/// Longest planner `name`, in bytes; it is shown in approval dialogs and the audit log.
pub const MAX_NAME_BYTES: usize = 64;

/// Longest planner `kid`, in bytes: the token footer's own limit, since a longer id could
/// never be named by a token.
pub const MAX_KID_BYTES: usize = crate::token::MAX_KID_BYTES;

/// Longest planner `endpoint` URL, in bytes.
pub const MAX_ENDPOINT_BYTES: usize = 2048;

/// Longest origin pattern, in bytes (a host name is at most 253 bytes, plus scheme and port).
pub const MAX_ORIGIN_BYTES: usize = 300;

/// Longest job runtime name, in bytes.
pub const MAX_RUNTIME_BYTES: usize = 32;

/// Longest URL scheme in `blocked_schemes`, in bytes.
pub const MAX_SCHEME_BYTES: usize = 32;

/// Longest lifetime a planner's tokens may have (`max_ttl`). Tokens are bearer capabilities;
/// a day bounds how long a leaked one stays useful.
pub const MAX_PLANNER_TTL: Duration = Duration::hours(24);

/// Largest `max_steps`: the language's own bound on the steps a script can reach.
pub const MAX_STEPS_CEILING: u64 = bridle_dsl::limits::MAX_EXPANDED_STEPS;

/// Longest `max_duration` of one script run. An unattended agent running for hours is a
/// mistake more often than a plan.
pub const MAX_RUN_DURATION: Duration = Duration::hours(4);

/// Most CPUs a job may be given (`max_cpu`).
pub const MAX_JOB_CPU: f64 = 64.0;

/// Largest `max_memory` of a job: the language's own bound on a job's `memory`.
pub const MAX_JOB_MEMORY_BYTES: u64 = bridle_dsl::limits::MAX_JOB_MEMORY_BYTES;

/// Longest `max_wall` of a job: the language's own bound on a job's `timeout`.
pub const MAX_JOB_WALL: Duration =
    Duration::milliseconds(bridle_dsl::limits::MAX_TIMEOUT_MS as i64);

/// Largest `max_output` of a job, in bytes. Output is streamed back to the planner, so it is
/// kept well below what a page can hold.
pub const MAX_JOB_OUTPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Largest money value in an amount ceiling (in the currency's main unit). Ceilings are for
/// everyday spending; a larger number is almost certainly a typo.
pub const MAX_AMOUNT_VALUE: f64 = 1_000_000_000.0;

/// Most decimal places in an amount value (three covers every ISO 4217 currency).
pub const MAX_AMOUNT_DECIMALS: u32 = 3;

/// Fewest CPUs a job may be given: a hundredth of one, below which nothing useful runs.
pub const MIN_JOB_CPU: f64 = 0.01;

/// Smallest `max_memory` of a job: below 1 MiB no runtime starts.
pub const MIN_JOB_MEMORY_BYTES: u64 = 1024 * 1024;
