//! The thin wasm binding of Bridle's executor to the browser extension.
//!
//! Empty on purpose until the extension lands (issue 4): the logic lives in `bridle-dsl` and
//! `bridle-executor`, which test natively.
