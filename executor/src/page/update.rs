//! Incremental updates: the content script's MutationObserver sends what changed in a frame,
//! and [`Snapshot::apply`] changes only those nodes, all or nothing.
//!
//! Cost is proportional to the update (each touched node, plus a walk up to the root for each
//! upserted one to rule out cycles), not to the page. Every change is journalled, so a refused
//! update is rolled back and the snapshot stays as it was.

use super::error::{At, Limit, SnapshotError};
use super::limits::{MAX_DEPTH, MAX_NODES};
use super::snapshot::{check_css_nodes, validate_css, validate_node, Frame, Snapshot};
use super::wire::{Child, Kids, Node, Update};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Old values of every entry an update touched, to restore on failure.
#[derive(Default)]
struct Journal {
    nodes: Vec<(u32, Option<Arc<Node>>)>,
    parents: Vec<(u32, Option<u32>)>,
}

impl Frame {
    fn put_node(&mut self, j: &mut Journal, id: u32, node: Option<Arc<Node>>) {
        let old = match node {
            Some(node) => self.nodes.insert(id, node),
            None => self.nodes.remove(&id),
        };
        j.nodes.push((id, old));
    }

    fn put_parent(&mut self, j: &mut Journal, child: u32, parent: Option<u32>) {
        let old = match parent {
            Some(parent) => self.parents.insert(child, parent),
            None => self.parents.remove(&child),
        };
        j.parents.push((child, old));
    }

    fn rollback(&mut self, j: Journal) {
        for (id, old) in j.nodes.into_iter().rev() {
            match old {
                Some(node) => self.nodes.insert(id, node),
                None => self.nodes.remove(&id),
            };
        }
        for (child, old) in j.parents.into_iter().rev() {
            match old {
                Some(parent) => self.parents.insert(child, parent),
                None => self.parents.remove(&child),
            };
        }
    }

    /// Removes `id` and everything below it.
    fn remove_subtree(&mut self, j: &mut Journal, id: u32) {
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            if let Some(node) = self.nodes.get(&id).cloned() {
                stack.extend(node.child_ids());
                self.put_node(j, id, None);
                self.put_parent(j, id, None);
            }
        }
    }

    /// Takes `child` out of its parent's lists (the parent is sent again when it changes, but
    /// a bare removal is enough to keep the tree consistent).
    fn detach(&mut self, j: &mut Journal, child: u32) {
        let Some(parent) = self.parents.get(&child).copied() else {
            return;
        };
        if let Some(node) = self.nodes.get(&parent) {
            let mut node = (**node).clone();
            let keep = |c: &Child| *c != Child::Node(child);
            node.kids = Kids::new(node.kids.into_items().into_iter().filter(keep).collect());
            node.shadow = node
                .shadow
                .map(|s| Kids::new(s.into_items().into_iter().filter(keep).collect()));
            self.put_node(j, parent, Some(Arc::new(node)));
        }
        self.put_parent(j, child, None);
    }

    fn apply_nodes(
        &mut self,
        j: &mut Journal,
        removed: &[u32],
        upserted: Vec<Node>,
        others: usize,
    ) -> Result<(), SnapshotError> {
        for &id in removed {
            if id == self.root {
                return Err(SnapshotError::RootRemoved { at: self.at(id) });
            }
            if self.nodes.contains_key(&id) {
                self.detach(j, id);
                self.remove_subtree(j, id);
            }
        }

        let ids: Vec<u32> = upserted.iter().map(|n| n.id).collect();
        let mut dropped = Vec::new();
        let mut moved = Vec::new();
        for node in upserted {
            let id = node.id;
            let old: BTreeSet<u32> = self
                .nodes
                .get(&id)
                .map(|n| n.child_ids().collect())
                .unwrap_or_default();
            let new: BTreeSet<u32> = node.child_ids().collect();
            for &child in old.difference(&new) {
                if self.parents.get(&child) == Some(&id) {
                    self.put_parent(j, child, None);
                    dropped.push(child);
                }
            }
            for &child in &new {
                if child == self.root || child == id {
                    return Err(SnapshotError::Cycle { at: self.at(child) });
                }
                match self.parents.get(&child).copied() {
                    Some(parent) if parent == id => continue,
                    Some(parent) => moved.push((child, parent)),
                    None => {}
                }
                self.put_parent(j, child, Some(id));
            }
            self.put_node(j, id, Some(Arc::new(node)));
        }

        for &id in &ids {
            if let Some(node) = self.nodes.get(&id) {
                if let Some(child) = node.child_ids().find(|c| !self.nodes.contains_key(c)) {
                    return Err(SnapshotError::UnknownChild {
                        at: self.at(id),
                        child,
                    });
                }
            }
        }
        // A node that moved must have left its old parent's list in the same update.
        for (child, first) in moved {
            let still_listed = self
                .nodes
                .get(&first)
                .is_some_and(|n| n.child_ids().any(|c| c == child));
            if still_listed {
                let second = self.parents.get(&child).copied().unwrap_or(first);
                return Err(SnapshotError::TwoParents {
                    at: self.at(child),
                    first,
                    second,
                });
            }
        }
        // Children a parent no longer lists and nobody took left the document.
        for child in dropped {
            if !self.parents.contains_key(&child) && child != self.root {
                self.remove_subtree(j, child);
            }
        }
        for &id in &ids {
            if !self.nodes.contains_key(&id) || id == self.root {
                continue;
            }
            // Walk up to the root: a loop or a dead end means a broken tree.
            let mut up = id;
            let mut depth = 0usize;
            loop {
                match self.parents.get(&up) {
                    Some(&parent) if parent == id => {
                        return Err(SnapshotError::Cycle { at: self.at(id) })
                    }
                    Some(&parent) => up = parent,
                    None if up == self.root => break,
                    None => return Err(SnapshotError::Unreachable { at: self.at(id) }),
                }
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(SnapshotError::LimitExceeded {
                        limit: Limit::Depth,
                        count: depth,
                        at: Some(self.at(id)),
                    });
                }
            }
        }
        if others + self.nodes.len() > MAX_NODES {
            return Err(SnapshotError::LimitExceeded {
                limit: Limit::Nodes,
                count: others + self.nodes.len(),
                at: None,
            });
        }
        Ok(())
    }
}

impl Snapshot {
    /// Applies an incremental update to one frame: removals (with their subtrees), then
    /// upserts (each node sent whole), then the frame's scroll, viewport and CSS results.
    ///
    /// All or nothing: on error the snapshot is unchanged. The version grows on success.
    pub fn apply(&mut self, update: Update) -> Result<(), SnapshotError> {
        let frame_id = update.frame;
        let fat = At {
            frame: frame_id,
            node: None,
        };
        if !self.frames.contains_key(&frame_id) {
            return Err(SnapshotError::UnknownFrame { frame: frame_id });
        }
        for list in [update.removed.count(), update.upserted.count()] {
            if list > MAX_NODES {
                return Err(SnapshotError::LimitExceeded {
                    limit: Limit::Nodes,
                    count: list,
                    at: Some(fat),
                });
            }
        }
        let mut upserted = Vec::with_capacity(update.upserted.items().len());
        let mut seen = BTreeSet::new();
        for node in update.upserted.into_items() {
            if !seen.insert(node.id) {
                return Err(SnapshotError::DuplicateNode {
                    at: At {
                        frame: frame_id,
                        node: Some(node.id),
                    },
                });
            }
            upserted.push(validate_node(frame_id, node)?);
        }
        let css = update.css.map(|c| validate_css(frame_id, c)).transpose()?;
        if let Some(p) = &update.scroll {
            check_geometry(p.x, p.y, false, fat)?;
        }
        if let Some(p) = &update.viewport {
            check_geometry(p.x, p.y, true, fat)?;
        }
        let others: usize = self
            .frames
            .values()
            .filter(|f| f.id != frame_id)
            .map(|f| f.nodes.len())
            .sum();
        let Some(frame) = self.frames.get_mut(&frame_id) else {
            return Err(SnapshotError::UnknownFrame { frame: frame_id });
        };
        let touches_nodes = !update.removed.is_empty() || !upserted.is_empty();
        let mut journal = Journal::default();
        let old_css = frame.css.clone();
        let result = frame
            .apply_nodes(&mut journal, update.removed.items(), upserted, others)
            .and_then(|()| {
                match css {
                    Some(css) => frame.css = css,
                    None if touches_nodes => frame.css = BTreeMap::new(),
                    None => {}
                }
                check_css_nodes(frame)
            });
        if let Err(e) = result {
            frame.rollback(journal);
            frame.css = old_css;
            return Err(e);
        }
        if let Some(p) = update.scroll {
            frame.scroll = p;
        }
        if let Some(p) = update.viewport {
            frame.viewport = p;
        }
        if let Some(t) = update.truncated {
            frame.truncated = t;
        }
        self.changed();
        Ok(())
    }
}

fn check_geometry(x: f64, y: f64, non_negative: bool, at: At) -> Result<(), SnapshotError> {
    let ok = |v: f64| {
        v.is_finite() && v.abs() <= super::limits::MAX_COORD && (!non_negative || v >= 0.0)
    };
    if ok(x) && ok(y) {
        Ok(())
    } else {
        Err(SnapshotError::BadGeometry { at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::snapshot::Handle;

    fn base() -> Snapshot {
        Snapshot::from_json(
            r#"{"frames":[{"id":0,"origin":"https://a.example","url":"https://a.example/","root":1,"nodes":[
                {"id":1,"tag":"html","kids":[2]},
                {"id":2,"tag":"body","kids":[3,4]},
                {"id":3,"tag":"div","kids":[5]},
                {"id":4,"tag":"div"},
                {"id":5,"tag":"span","kids":["x"]}
            ]}]}"#,
        )
        .unwrap()
    }

    fn update(json: &str) -> Update {
        serde_json::from_str(json).unwrap()
    }

    fn ids(snap: &Snapshot) -> Vec<u32> {
        snap.frame(0).unwrap().nodes.keys().copied().collect()
    }

    #[test]
    fn removal_takes_the_subtree_and_detaches_it() {
        let mut snap = base();
        snap.apply(update(r#"{"frame":0,"removed":[3]}"#)).unwrap();
        assert_eq!(ids(&snap), vec![1, 2, 4]);
        let body = snap.node(Handle { frame: 0, node: 2 }).unwrap();
        assert_eq!(body.kids.items(), &[Child::Node(4)]);
        assert_eq!(snap.version(), 2);
    }

    #[test]
    fn upserts_insert_move_and_drop() {
        let mut snap = base();
        // Move 5 from 3 to 4, add 6 under 4.
        snap.apply(update(
            r#"{"frame":0,"upserted":[{"id":3,"tag":"div"},{"id":4,"tag":"div","kids":[5,6]},{"id":6,"tag":"i"}]}"#,
        ))
        .unwrap();
        let frame = snap.frame(0).unwrap();
        assert_eq!(frame.parent_of(5), Some(4));
        assert_eq!(frame.parent_of(6), Some(4));
        // The parent changes its list without the child: the child leaves the document.
        snap.apply(update(
            r#"{"frame":0,"upserted":[{"id":4,"tag":"div","kids":[6]}]}"#,
        ))
        .unwrap();
        assert_eq!(ids(&snap), vec![1, 2, 3, 4, 6]);
    }

    #[test]
    fn a_move_must_leave_the_old_parent() {
        let mut snap = base();
        let e = snap
            .apply(update(
                r#"{"frame":0,"upserted":[{"id":4,"tag":"div","kids":[5]}]}"#,
            ))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "node `5` of frame `0` is a child of both `3` and `4`"
        );
        // Nothing changed.
        assert_eq!(snap.version(), 1);
        assert_eq!(snap.frame(0).unwrap().parent_of(5), Some(3));
        assert!(snap
            .node(Handle { frame: 0, node: 4 })
            .unwrap()
            .kids
            .is_empty());
    }

    #[test]
    fn refused_updates_roll_back() {
        let mut snap = base();
        let before = snap.to_msg();
        for (json, code) in [
            (
                r#"{"frame":0,"removed":[3],"upserted":[{"id":4,"tag":"div","kids":[9]}]}"#,
                "unknown-child",
            ),
            (
                r#"{"frame":0,"upserted":[{"id":7,"tag":"p"}]}"#,
                "unreachable",
            ),
            (
                r#"{"frame":0,"upserted":[{"id":2,"tag":"body","kids":[4]},{"id":5,"tag":"span","kids":[3]}]}"#,
                "cycle",
            ),
            (
                r#"{"frame":0,"upserted":[{"id":5,"tag":"span","kids":[1]}]}"#,
                "cycle",
            ),
            (r#"{"frame":0,"removed":[1]}"#, "root-removed"),
            (
                r#"{"frame":0,"upserted":[{"id":4,"tag":"div"},{"id":4,"tag":"div"}]}"#,
                "duplicate-node",
            ),
            (r#"{"frame":9,"removed":[1]}"#, "unknown-frame"),
            (
                r##"{"frame":0,"removed":[5],"css":{"#x":[5]}}"##,
                "unknown-css-node",
            ),
            (r#"{"frame":0,"scroll":[1e300,0]}"#, "bad-geometry"),
        ] {
            let e = snap.apply(update(json)).unwrap_err();
            assert_eq!(e.code(), code, "{json}: {e}");
            assert_eq!(snap.to_msg(), before, "{json}");
            assert_eq!(snap.version(), 1);
        }
    }

    #[test]
    fn css_results_live_until_the_nodes_change() {
        let mut snap = base();
        snap.apply(update(r##"{"frame":0,"css":{"#x":[5]}}"##))
            .unwrap();
        assert_eq!(snap.frame(0).unwrap().css_matches("#x"), Some(&[5][..]));
        snap.apply(update(r#"{"frame":0,"scroll":[0,300]}"#))
            .unwrap();
        assert_eq!(snap.frame(0).unwrap().css_matches("#x"), Some(&[5][..]));
        assert_eq!(snap.frame(0).unwrap().scroll.y, 300.0);
        snap.apply(update(r#"{"frame":0,"upserted":[{"id":4,"tag":"div"}]}"#))
            .unwrap();
        assert_eq!(snap.frame(0).unwrap().css_matches("#x"), None);
    }

    #[test]
    fn removing_unknown_ids_is_harmless() {
        let mut snap = base();
        snap.apply(update(r#"{"frame":0,"removed":[42]}"#)).unwrap();
        assert_eq!(ids(&snap), vec![1, 2, 3, 4, 5]);
    }
}
