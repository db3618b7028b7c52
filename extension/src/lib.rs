//! The thin wasm binding of Bridle's executor to the browser extension's service worker.
//!
//! The logic lives in `bridle-dsl` and `bridle-executor` (the plan preview in
//! `bridle_executor::preview`, the saved replay store in `bridle_executor::replay`); this crate
//! only keeps one instance's state together ([`instance`]), shapes the results JavaScript
//! reads ([`report`]), and, in the wasm build only, converts types at the JavaScript boundary
//! (`bindings`). Everything but the bindings builds and tests natively.

pub mod channel;
pub mod instance;
pub mod page;
pub mod report;
pub mod session;
#[cfg(test)]
mod testkit;
pub mod vault;

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
mod vectors;

pub use instance::{Instance, LoadError, Now, Stored, TimeError};
pub use report::{PolicyReport, RunOutcome, RunResult, ScriptReport};
