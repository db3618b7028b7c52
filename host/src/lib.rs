//! Bridle's native messaging host: framing, the job API and the sandboxes.
//!
//! Empty on purpose until the native host lands (issue 6): nothing here pretends to run jobs.
