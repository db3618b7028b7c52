//! Semantic targeting on page snapshots: the snapshot the content script sends, implicit
//! roles (HTML-AAM), accessible names (accname), and resolution of a step's target to exactly
//! one element with the facts the decision needs.
//!
//! Pure functions over data, so the service worker runs them in wasm and the tests run them
//! natively on stored snapshots. The content script only produces snapshots and executes
//! primitives; every judgement is made here. The format and the rules are documented in
//! `docs/snapshot.md`.
//!
//! - [`wire`]: the JSON messages (full snapshots, incremental updates), with bounded lists;
//! - [`snapshot`]: the validated [`Snapshot`] and [`update`]'s incremental [`Snapshot::apply`];
//! - `tree`: the derived index (flat tree, document order, roles, labels, ids), cached per
//!   snapshot version; [`roles`], [`accname`] and `text` compute its parts;
//! - [`mod@resolve`]: targets to elements, with typed errors ([`error`]);
//! - [`mod@fingerprint`]: what the actuator re-checks before acting;
//! - [`read`]: the title, tables as records, the amount a page shows;
//! - [`limits`]: every bound, named.

pub mod accname;
pub mod delta;
pub mod error;
pub mod fingerprint;
pub mod hits;
pub mod limits;
mod matcher;
pub mod read;
pub mod resolve;
pub mod roles;
pub mod snapshot;
mod text;
mod tree;
pub mod update;
pub mod wire;

pub use error::{At, Candidate, Limit, ResolveError, SnapshotError};
pub use fingerprint::{fingerprint, fingerprint_matches, FingerprintInput};
pub use hits::{HitError, HitReport, HitState};
pub use matcher::TextMatcher;
pub use read::{page_amount, table, title, ReadError, Record};
pub use resolve::{
    css_selector, describe, find_all, recheck, resolve, resolve_target, target_spec, Described,
    Matches, Purpose, Resolved,
};
pub use snapshot::{field_kind, Frame, Handle, Snapshot};
pub use text::normalize;
pub use wire::{Child, FrameMsg, Node, Point, Rect, SnapshotMsg, Update};
