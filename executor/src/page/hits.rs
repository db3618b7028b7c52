//! Late hit tests: a snapshot taken without hit tests, completed with the hit tests of the
//! few elements a step acts on (the element and every `<iframe>` it is in).
//!
//! Hit tests (`elementFromPoint` at each visible element's centre) were most of a snapshot's
//! cost on large pages, and a step needs them for one element only. The resolver picks the
//! element on the snapshot without them, the content scripts then test that element's chain,
//! and [`Snapshot::apply_hits`] records the answers before the actionability check runs
//! again (docs/snapshot.md, "Late hit tests"). A probe answered `gone` means the element left
//! its document in between: the step fails rather than acting on what replaced it.

use super::snapshot::{Handle, Snapshot};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The most probes one step asks for: the element and the frames around it.
pub const MAX_PROBES: usize = super::limits::MAX_FRAMES + 1;

/// What a content script found at an element's centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HitState {
    /// The topmost element there is the element or inside it.
    Hit,
    /// Another element covers it (named by the report's `by` when it has a node id).
    Covered,
    /// Not tested: the element has no box or its centre is outside the viewport (the
    /// actuator scrolls it into view and tests again when it acts).
    Untested,
    /// The node id is not an element of the frame's current document.
    Gone,
}

/// One answered probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HitReport {
    pub frame: u64,
    pub node: u32,
    pub state: HitState,
    /// The covering element's node id, for `covered`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<u32>,
}

/// Why late hit tests could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HitError {
    #[error("the element {node} of frame {frame} is no longer on the page")]
    Gone { frame: u64, node: u32 },
    #[error("a hit test answered for an element that was not asked about ({frame}, {node})")]
    NotAsked { frame: u64, node: u32 },
    #[error("the hit test of ({frame}, {node}) was not answered")]
    Missing { frame: u64, node: u32 },
}

impl Snapshot {
    /// The element at `handle` and the `<iframe>` elements holding its frame, innermost
    /// first: what a late hit test must probe. Stops at a frame not joined to its owner.
    pub fn hit_chain(&self, handle: Handle) -> Vec<Handle> {
        let mut chain = vec![handle];
        let mut frame = self.frame(handle.frame);
        while let Some(f) = frame {
            let (Some(parent), Some(owner)) = (f.parent, f.owner) else {
                break;
            };
            if chain.len() >= MAX_PROBES {
                break;
            }
            chain.push(Handle {
                frame: parent,
                node: owner,
            });
            frame = self.frame(parent);
        }
        chain
    }

    /// Records the answers to the probes `asked` (from [`Snapshot::hit_chain`]). Every probe
    /// must be answered once, and nothing else; a `gone` element fails. The derived index is
    /// kept (hit tests change no role, name or order) and updated in place.
    pub fn apply_hits(&mut self, asked: &[Handle], reports: &[HitReport]) -> Result<(), HitError> {
        for r in reports {
            if !asked.contains(&Handle {
                frame: r.frame,
                node: r.node,
            }) {
                return Err(HitError::NotAsked {
                    frame: r.frame,
                    node: r.node,
                });
            }
        }
        for h in asked {
            let report = reports
                .iter()
                .find(|r| r.frame == h.frame && r.node == h.node)
                .ok_or(HitError::Missing {
                    frame: h.frame,
                    node: h.node,
                })?;
            let (hit, hit_by) = match report.state {
                HitState::Hit => (Some(true), None),
                HitState::Covered => (Some(false), report.by),
                HitState::Untested => (None, None),
                HitState::Gone => {
                    return Err(HitError::Gone {
                        frame: h.frame,
                        node: h.node,
                    })
                }
            };
            let set = |node: &mut Arc<super::Node>| {
                let n = Arc::make_mut(node);
                n.hit = hit;
                n.hit_by = hit_by;
            };
            let Some(node) = self
                .frames
                .get_mut(&h.frame)
                .and_then(|f| f.nodes.get_mut(&h.node))
            else {
                return Err(HitError::Gone {
                    frame: h.frame,
                    node: h.node,
                });
            };
            set(node);
            if let Some(ix) = self.index_mut() {
                if let Some(d) = ix.find(*h) {
                    set(&mut ix.entries[d as usize].node);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
