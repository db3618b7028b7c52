//! Bridle's policy enforcement point (PEP): capability tokens, the local policy, per-step
//! decisions, the step engine and the audit chain. No IO of its own: time, storage, the page,
//! the user and the job runner come in through traits, so the same code runs natively and in
//! wasm.
