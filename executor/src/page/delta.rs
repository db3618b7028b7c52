//! Incremental snapshots of a tab: each frame is sent whole or as the changes since a
//! snapshot of the same document the receiver holds (docs/snapshot.md, "Incremental
//! snapshots").
//!
//! The content script numbers its snapshots per document and remembers what it last sent;
//! asked with the number the receiver holds, it sends only the nodes that are new or changed
//! (each whole) and the ids that left. [`Snapshot::from_msg_after`] rebuilds the tab from
//! those frames and the previous snapshot with [`Snapshot::apply`], so the result is exactly
//! the snapshot a whole message would have given, and checked the same way. An update whose
//! base is not held (another document, another number) is refused with `stale-base`, and the
//! receiver asks for whole frames.

use super::error::SnapshotError;
use super::snapshot::{check_frame_fields, parse_json, Snapshot};
use super::wire::{FrameMsg, SnapshotMsg, Update};
use super::Limit;
use std::collections::BTreeSet;

impl Snapshot {
    /// Parses and validates a tab's snapshot from JSON text, its updated frames applied to
    /// `prev`.
    pub fn from_json_after(json: &str, prev: Option<&Snapshot>) -> Result<Snapshot, SnapshotError> {
        Snapshot::from_msg_after(parse_json(json)?, prev)
    }

    /// A tab's snapshot from whole frames and updates of `prev`'s frames. Frames of `prev`
    /// the message does not name are gone (the tab no longer has them).
    pub fn from_msg_after(
        msg: SnapshotMsg,
        prev: Option<&Snapshot>,
    ) -> Result<Snapshot, SnapshotError> {
        if msg.frames.overflowed() {
            return Err(SnapshotError::LimitExceeded {
                limit: Limit::Frames,
                count: msg.frames.count(),
                at: None,
            });
        }
        let mut seen = BTreeSet::new();
        let mut snapshot = Snapshot::new();
        for frame in msg.frames.into_items() {
            if !seen.insert(frame.id) {
                return Err(SnapshotError::DuplicateFrame { frame: frame.id });
            }
            match frame.base {
                None if !frame.removed.is_empty() => {
                    return Err(SnapshotError::Malformed {
                        path: format!("frames[{}].removed", frame.id),
                        message: "`removed` belongs to an update, which names its `base`".into(),
                    })
                }
                None => snapshot.put_frame(frame)?,
                Some(base) => snapshot.put_updated_frame(frame, base, prev)?,
            }
        }
        Ok(snapshot)
    }

    /// Adds frame `msg`, an update of the frame `prev` holds for the same document as
    /// snapshot number `base`.
    fn put_updated_frame(
        &mut self,
        msg: FrameMsg,
        base: u64,
        prev: Option<&Snapshot>,
    ) -> Result<(), SnapshotError> {
        let stale = SnapshotError::StaleBase {
            frame: msg.id,
            base,
        };
        let held = prev
            .and_then(|p| p.frame(msg.id))
            .filter(|f| f.doc.is_some() && f.doc == msg.doc && f.version == Some(base))
            // A new document element is a new document for the resolver: sent whole.
            .filter(|f| f.root == msg.root)
            .ok_or(stale)?;
        check_frame_fields(&msg)?;
        let mut scratch = Snapshot::new();
        scratch.frames.insert(held.id, held.clone());
        scratch.apply(Update {
            frame: msg.id,
            removed: msg.removed,
            upserted: msg.nodes,
            // The content script evaluates the selectors asked for with every snapshot.
            css: Some(msg.css),
            scroll: Some(msg.scroll),
            viewport: Some(msg.viewport),
            truncated: Some(msg.truncated),
        })?;
        let Some(mut frame) = scratch.frames.remove(&msg.id) else {
            return Err(SnapshotError::UnknownFrame { frame: msg.id });
        };
        frame.parent = msg.parent;
        frame.owner = msg.owner;
        frame.origin = msg.origin;
        frame.url = msg.url;
        frame.title = msg.title;
        frame.doc = msg.doc;
        frame.version = msg.version;
        self.insert_frame(frame)
    }
}

#[cfg(test)]
mod tests;
