//! Numeric bounds: loop bounds, timeouts and pauses, job memory and runtimes, and the
//! checker's own limits (regex nesting, condition depth).

use super::state::{Checker, Val};
use super::values::Use;
use crate::ast::{Duration, Job, Size, Spanned};
use crate::diag::{did_you_mean, Code};
use crate::limits::{MAX_JOB_CODE_BYTES, MAX_JOB_MEMORY_BYTES, MAX_LOOP_BOUND, MAX_TIMEOUT_MS};

/// The runtimes a `job` may name; the policy narrows them further.
pub const JOB_RUNTIMES: &[&str] = &["python3", "sh", "node"];

/// Deepest nesting of groups and repetitions inside one regex. Real name patterns nest two
/// or three deep; the bound keeps a hostile pattern from costing more than a few
/// microseconds to validate, and the executor's engine from recursing deeply.
pub const REGEX_NEST_LIMIT: u32 = 32;

/// Deepest nesting of a condition tree (`not`, `and`, `or`, parentheses; each operator of an
/// `and`/`or` chain is one level, because chains lean left). A backstop for trees that did
/// not come from the parser, which already bounds parentheses and `not` to
/// [`crate::parser::MAX_CONDITION_DEPTH`] levels and a condition to
/// [`crate::parser::MAX_CONDITION_OPERATORS`] operators; this bound sits above anything the
/// parser accepts and keeps the walk over a hostile tree within a small stack.
pub const MAX_CONDITION_TREE_DEPTH: usize = 256;

/// `500ms`, `5s`, `10m`, `1h`: the largest unit that divides the duration exactly.
pub(crate) fn fmt_duration(millis: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(3_600_000, "h"), (60_000, "m"), (1_000, "s")];
    for (size, unit) in UNITS {
        if millis >= size && millis % size == 0 {
            return format!("{}{unit}", millis / size);
        }
    }
    format!("{millis}ms")
}

/// `512KB`, `256MB`, `16GB` (binary multiples), or bytes.
pub(crate) fn fmt_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")];
    for (size, unit) in UNITS {
        if bytes >= size && bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}B")
}

impl<'a> Checker<'a> {
    /// A `timeout` of `wait` or `job`: 1 ms up to [`MAX_TIMEOUT_MS`].
    pub(crate) fn timeout(&mut self, timeout: &Option<Spanned<Duration>>) {
        if let Some(t) = timeout {
            self.duration(t, "timeout");
        }
    }

    /// A duration: 1 ms up to [`MAX_TIMEOUT_MS`]; `what` is "timeout" or "pause".
    pub(crate) fn duration(&mut self, d: &Spanned<Duration>, what: &str) {
        if d.node.millis == 0 {
            let help = if what == "pause" {
                "remove the `wait`, or wait for a condition with `wait for …`"
            } else {
                "give the step time to happen, e.g. `timeout 5s`"
            };
            self.error(
                Code::InvalidValue,
                d.span,
                format!("a {what} must be at least 1ms"),
                help,
            );
        } else if d.node.millis > MAX_TIMEOUT_MS {
            self.error(
                Code::LimitExceeded,
                d.span,
                format!(
                    "{what} `{}` is longer than the limit of {}",
                    fmt_duration(d.node.millis),
                    fmt_duration(MAX_TIMEOUT_MS)
                ),
                "wait in several shorter steps, or hand off to the user with `handoff`",
            );
        }
    }

    /// A loop's `at most N`: 1 up to [`MAX_LOOP_BOUND`]. Returns the bound used to count
    /// expanded steps (an invalid bound counts as the nearest valid one, so the bound's own
    /// diagnostic is not followed by an expanded-steps one).
    pub(crate) fn loop_bound(&mut self, max: &Spanned<u64>) -> u64 {
        if max.node == 0 {
            self.error(
                Code::InvalidValue,
                max.span,
                "a loop bound must be at least 1",
                "write `at most 1` or more; a loop that never runs is a statement to remove",
            );
        } else if max.node > MAX_LOOP_BOUND {
            self.error(
                Code::LimitExceeded,
                max.span,
                format!(
                    "loop bound `{}` is more than the limit of {MAX_LOOP_BOUND}",
                    max.node
                ),
                "loop over fewer items, or split the work into several scripts",
            );
        }
        max.node.clamp(1, MAX_LOOP_BOUND)
    }

    /// A job's settings, input and code. Its output is text read from outside the browser,
    /// so it counts as observed.
    pub(crate) fn job(&mut self, job: &'a Job) -> Val<'a> {
        let runtime = &job.runtime;
        if !JOB_RUNTIMES.contains(&runtime.node.as_str()) {
            let known = "the runtimes are `python3`, `sh` and `node`";
            let help = match did_you_mean(&runtime.node, JOB_RUNTIMES.iter().copied()) {
                Some(hint) => format!("{hint} {known}"),
                None => known.to_owned(),
            };
            self.error(
                Code::InvalidValue,
                runtime.span,
                format!("unknown job runtime `{}`", runtime.node),
                help,
            );
        }
        self.timeout(&job.timeout);
        if let Some(memory) = &job.memory {
            self.memory(memory);
        }
        if let Some(input) = &job.input {
            self.expr(input, Use::JobInput);
        }
        if job.code.node.len() > MAX_JOB_CODE_BYTES {
            self.error(
                Code::LimitExceeded,
                job.code.span,
                format!(
                    "job code is {} bytes, more than the limit of {}",
                    job.code.node.len(),
                    fmt_size(MAX_JOB_CODE_BYTES as u64)
                ),
                "ship less code in the script; pass data through `input`",
            );
        }
        Val::of(super::state::Ty::Text, true)
    }

    fn memory(&mut self, memory: &Spanned<Size>) {
        if memory.node.bytes == 0 {
            self.error(
                Code::InvalidValue,
                memory.span,
                "job memory must be more than 0",
                "ask for what the job needs, e.g. `memory 256MB`",
            );
        } else if memory.node.bytes > MAX_JOB_MEMORY_BYTES {
            self.error(
                Code::LimitExceeded,
                memory.span,
                format!(
                    "job memory `{}` is more than the limit of {}",
                    fmt_size(memory.node.bytes),
                    fmt_size(MAX_JOB_MEMORY_BYTES)
                ),
                "ask for less memory, or process the data in smaller jobs",
            );
        }
    }
}
