//! The page as the service worker keeps it: validated frames of nodes, replaced whole or
//! changed by incremental updates, with the derived index (roles, names, order) cached per
//! version.

use super::error::{At, Limit, SnapshotError};
use super::limits::MAX_TAG_CHARS;
use super::limits::{MAX_COORD, MAX_DEPTH, MAX_FRAMES, MAX_MESSAGE_BYTES, MAX_NODES};
use super::tree::Index;
use super::wire::{Bounded, Child, CssMatches, FrameMsg, Kids, Node, Point, SnapshotMsg};
use crate::policy::FieldKind;
use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Where an element is: the frame and the content script's node id in it. This is what the
/// actuator receives to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Handle {
    pub frame: u64,
    pub node: u32,
}

/// One validated frame.
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: u64,
    pub parent: Option<u64>,
    pub owner: Option<u32>,
    pub origin: String,
    pub url: String,
    /// The document's title, whitespace collapsed.
    pub title: String,
    pub root: u32,
    pub scroll: Point,
    pub viewport: Point,
    pub truncated: bool,
    pub(crate) nodes: BTreeMap<u32, Arc<Node>>,
    /// Child to parent, derived from the parents' `kids` and `shadow`.
    pub(crate) parents: BTreeMap<u32, u32>,
    pub(crate) css: BTreeMap<String, Vec<u32>>,
    /// The document and snapshot number the content script gave (`FrameMsg::doc`,
    /// `FrameMsg::version`), which an update must name as its base.
    pub doc: Option<String>,
    pub version: Option<u64>,
}

impl Frame {
    pub fn node(&self, id: u32) -> Option<&Node> {
        self.nodes.get(&id).map(|n| &**n)
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn parent_of(&self, id: u32) -> Option<u32> {
        self.parents.get(&id).copied()
    }

    /// The matches of `selector` the content script reported with the current version.
    pub fn css_matches(&self, selector: &str) -> Option<&[u32]> {
        self.css.get(selector).map(Vec::as_slice)
    }

    pub(crate) fn at(&self, node: u32) -> At {
        At {
            frame: self.id,
            node: Some(node),
        }
    }
}

/// A validated snapshot of every frame of a page.
///
/// Invariants (checked on every change): within the limits of [`super::limits`]; in each
/// frame every child id names a node, each node has at most one parent, the root has none and
/// every node is reachable from it; at most one top frame; no frame is its own ancestor.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub(crate) frames: BTreeMap<u64, Frame>,
    version: u64,
    index: OnceCell<Index>,
}

impl Clone for Snapshot {
    fn clone(&self) -> Self {
        Snapshot {
            frames: self.frames.clone(),
            version: self.version,
            index: OnceCell::new(),
        }
    }
}

impl Snapshot {
    /// An empty snapshot (no frames yet).
    pub fn new() -> Self {
        Snapshot::default()
    }

    /// Parses and validates a full snapshot from JSON text.
    pub fn from_json(json: &str) -> Result<Snapshot, SnapshotError> {
        Snapshot::from_msg(parse_json(json)?)
    }

    /// Validates a full snapshot message (an update of a frame is `stale-base` here: there is
    /// nothing to apply it to).
    pub fn from_msg(msg: SnapshotMsg) -> Result<Snapshot, SnapshotError> {
        Snapshot::from_msg_after(msg, None)
    }

    /// The snapshot as a message again (frames in id order, nodes in id order).
    pub fn to_msg(&self) -> SnapshotMsg {
        let frames = self
            .frames
            .values()
            .map(|f| FrameMsg {
                id: f.id,
                parent: f.parent,
                owner: f.owner,
                origin: f.origin.clone(),
                url: f.url.clone(),
                title: f.title.clone(),
                root: f.root,
                scroll: f.scroll,
                viewport: f.viewport,
                truncated: f.truncated,
                nodes: Bounded::new(f.nodes.values().map(|n| (**n).clone()).collect()),
                css: CssMatches::new(
                    f.css
                        .iter()
                        .map(|(s, ids)| (s.clone(), Bounded::new(ids.clone())))
                        .collect(),
                ),
                doc: f.doc.clone(),
                version: f.version,
                base: None,
                removed: Bounded::default(),
            })
            .collect();
        SnapshotMsg {
            frames: Bounded::new(frames),
        }
    }

    /// Adds a frame, or replaces the frame with the same id (a new document in it).
    pub fn put_frame(&mut self, msg: FrameMsg) -> Result<(), SnapshotError> {
        let frame = validate_frame(msg)?;
        self.insert_frame(frame)
    }

    /// Adds a validated frame, or replaces the frame with the same id, within the limits.
    pub(crate) fn insert_frame(&mut self, frame: Frame) -> Result<(), SnapshotError> {
        let others: usize = self
            .frames
            .values()
            .filter(|f| f.id != frame.id)
            .map(|f| f.nodes.len())
            .sum();
        if others + frame.nodes.len() > MAX_NODES {
            return Err(SnapshotError::LimitExceeded {
                limit: Limit::Nodes,
                count: others + frame.nodes.len(),
                at: None,
            });
        }
        if !self.frames.contains_key(&frame.id) && self.frames.len() >= MAX_FRAMES {
            return Err(SnapshotError::LimitExceeded {
                limit: Limit::Frames,
                count: self.frames.len() + 1,
                at: None,
            });
        }
        if frame.parent.is_none() {
            if let Some(top) = self.frames.values().find(|f| f.parent.is_none()) {
                if top.id != frame.id {
                    return Err(SnapshotError::TwoTopFrames {
                        first: top.id,
                        second: frame.id,
                    });
                }
            }
        }
        // A frame may arrive before its parent; only a loop through known frames is refused.
        let mut up = frame.parent;
        let mut steps = 0;
        while let Some(parent) = up {
            if parent == frame.id || steps > MAX_FRAMES {
                return Err(SnapshotError::FrameCycle { frame: frame.id });
            }
            up = self.frames.get(&parent).and_then(|f| f.parent);
            steps += 1;
        }
        self.frames.insert(frame.id, frame);
        self.changed();
        Ok(())
    }

    /// Removes a frame and every frame inside it; how many frames went.
    pub fn remove_frame(&mut self, id: u64) -> usize {
        let mut gone = BTreeSet::from([id]);
        // Frames are few (at most MAX_FRAMES): repeat until no frame's parent is gone.
        loop {
            let more: Vec<u64> = self
                .frames
                .values()
                .filter(|f| !gone.contains(&f.id) && f.parent.is_some_and(|p| gone.contains(&p)))
                .map(|f| f.id)
                .collect();
            if more.is_empty() {
                break;
            }
            gone.extend(more);
        }
        let before = self.frames.len();
        self.frames.retain(|id, _| !gone.contains(id));
        let removed = before - self.frames.len();
        if removed > 0 {
            self.changed();
        }
        removed
    }

    /// Applies an update given as JSON text.
    pub fn apply_json(&mut self, json: &str) -> Result<(), SnapshotError> {
        let update = parse_json(json)?;
        self.apply(update)
    }

    /// Counts every change, and drops the cached index.
    pub(crate) fn changed(&mut self) {
        self.version += 1;
        self.index = OnceCell::new();
    }

    /// Grows by one on every accepted change; the cached index belongs to one version.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn frame(&self, id: u64) -> Option<&Frame> {
        self.frames.get(&id)
    }

    pub fn frames(&self) -> impl Iterator<Item = &Frame> {
        self.frames.values()
    }

    pub fn node(&self, handle: Handle) -> Option<&Node> {
        self.frames.get(&handle.frame)?.node(handle.node)
    }

    /// Nodes over all frames.
    pub fn node_count(&self) -> usize {
        self.frames.values().map(|f| f.nodes.len()).sum()
    }

    /// Roles, names and document order, computed once per version.
    pub(crate) fn index(&self) -> &Index {
        self.index.get_or_init(|| Index::build(self))
    }

    /// The index when it is built, for changes that keep it valid (late hit tests).
    pub(crate) fn index_mut(&mut self) -> Option<&mut Index> {
        self.index.get_mut()
    }
}

/// Parses a message from JSON text within [`MAX_MESSAGE_BYTES`], naming the path of a
/// malformed field.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, SnapshotError> {
    if json.len() > MAX_MESSAGE_BYTES {
        return Err(SnapshotError::MessageTooLarge {
            bytes: json.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| SnapshotError::Malformed {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// The kind of never-read field a node is, from its input type and autocomplete tokens.
pub fn field_kind(node: &Node) -> Option<FieldKind> {
    if !matches!(node.tag.as_str(), "input" | "textarea" | "select") {
        return None;
    }
    let ty = node.input_type();
    let tokens: Vec<String> = node
        .attr("autocomplete")
        .map(|a| {
            a.split_ascii_whitespace()
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    FieldKind::ALL.iter().copied().find(|kind| {
        kind.input_type().is_some_and(|t| ty.as_deref() == Some(t))
            || kind
                .autocomplete_tokens()
                .iter()
                .any(|t| tokens.iter().any(|have| have == t))
    })
}

fn chars_over(text: &str, max: usize) -> Option<usize> {
    // Bytes bound chars from above: most strings skip the count.
    if text.len() <= max {
        return None;
    }
    let count = text.chars().count();
    (count > max).then_some(count)
}

fn check_len(text: &str, limit: Limit, at: At) -> Result<(), SnapshotError> {
    match chars_over(text, limit.max()) {
        Some(count) => Err(SnapshotError::LimitExceeded {
            limit,
            count,
            at: Some(at),
        }),
        None => Ok(()),
    }
}

fn finite(v: f64, non_negative: bool) -> bool {
    v.is_finite() && v.abs() <= MAX_COORD && (!non_negative || v >= 0.0)
}

fn check_point(p: &Point, non_negative: bool, at: At) -> Result<(), SnapshotError> {
    if finite(p.x, non_negative) && finite(p.y, non_negative) {
        Ok(())
    } else {
        Err(SnapshotError::BadGeometry { at })
    }
}

fn check_kids(kids: &Kids, at: At) -> Result<(), SnapshotError> {
    if kids.overflowed() {
        return Err(SnapshotError::LimitExceeded {
            limit: Limit::Kids,
            count: kids.count(),
            at: Some(at),
        });
    }
    for child in kids.items() {
        if let Child::Text(text) = child {
            check_len(text, Limit::TextChars, at)?;
        }
    }
    Ok(())
}

/// Checks one node on its own, and drops any value of a field that must never be read (the
/// content script should not have sent it; this is the second line).
pub(crate) fn validate_node(frame: u64, mut node: Node) -> Result<Node, SnapshotError> {
    let at = At {
        frame,
        node: Some(node.id),
    };
    check_len(&node.tag, Limit::TagChars, at)?;
    let tag_ok = !node.tag.is_empty()
        && !node
            .tag
            .chars()
            .any(|c| c.is_ascii_uppercase() || c.is_whitespace() || c.is_control());
    if !tag_ok {
        return Err(SnapshotError::BadTag {
            at,
            tag: node.tag.chars().take(MAX_TAG_CHARS).collect(),
        });
    }
    if node.attrs.overflowed() {
        return Err(SnapshotError::LimitExceeded {
            limit: Limit::Attrs,
            count: node.attrs.count(),
            at: Some(at),
        });
    }
    for (i, (name, value)) in node.attrs.pairs().iter().enumerate() {
        check_len(name, Limit::TagChars, at)?;
        check_len(value, Limit::AttrChars, at)?;
        if node.attrs.pairs()[..i].iter().any(|(n, _)| n == name) {
            return Err(SnapshotError::DuplicateAttr {
                at,
                name: name.clone(),
            });
        }
    }
    check_kids(&node.kids, at)?;
    if let Some(shadow) = &node.shadow {
        check_kids(shadow, at)?;
    }
    if let Some(r) = &node.rect {
        check_point(&Point { x: r.x, y: r.y }, false, at)?;
        check_point(&Point { x: r.w, y: r.h }, true, at)?;
    }
    if let Some(value) = &node.value {
        if node.value_redacted {
            return Err(SnapshotError::RedactedValue { at });
        }
        check_len(value, Limit::ValueChars, at)?;
    }
    if field_kind(&node).is_some_and(|k| FieldKind::ALWAYS.contains(&k)) {
        // The `value` attribute is the field's default value: as secret as the live one.
        if node.value.is_some() || node.has_attr("value") {
            node.value = None;
            node.value_redacted = true;
            let attrs = std::mem::take(&mut node.attrs).into_pairs();
            node.attrs =
                super::wire::Attrs::new(attrs.into_iter().filter(|(n, _)| n != "value").collect());
        }
    }
    Ok(node)
}

/// Checks CSS results on their own (the node ids are checked against the frame later).
pub(crate) fn validate_css(
    frame: u64,
    css: CssMatches,
) -> Result<BTreeMap<String, Vec<u32>>, SnapshotError> {
    let at = At { frame, node: None };
    if css.overflowed() {
        return Err(SnapshotError::LimitExceeded {
            limit: Limit::CssSelectors,
            count: css.count(),
            at: Some(at),
        });
    }
    let mut out = BTreeMap::new();
    for (selector, ids) in css.into_pairs() {
        check_len(&selector, Limit::SelectorChars, at)?;
        if ids.overflowed() {
            return Err(SnapshotError::LimitExceeded {
                limit: Limit::Nodes,
                count: ids.count(),
                at: Some(at),
            });
        }
        out.insert(selector, ids.into_items());
    }
    Ok(out)
}

pub(crate) fn check_css_nodes(frame: &Frame) -> Result<(), SnapshotError> {
    for (selector, ids) in &frame.css {
        if let Some(id) = ids.iter().find(|id| !frame.nodes.contains_key(id)) {
            return Err(SnapshotError::UnknownCssNode {
                at: frame.at(*id),
                selector: selector.clone(),
            });
        }
    }
    Ok(())
}

/// Checks a full frame and builds its parent map.
/// Checks a frame's own fields (not its nodes).
pub(crate) fn check_frame_fields(msg: &FrameMsg) -> Result<(), SnapshotError> {
    let fat = At {
        frame: msg.id,
        node: None,
    };
    check_len(&msg.origin, Limit::UrlChars, fat)?;
    check_len(&msg.url, Limit::UrlChars, fat)?;
    check_len(&msg.title, Limit::TextChars, fat)?;
    if let Some(doc) = &msg.doc {
        check_len(doc, Limit::AttrChars, fat)?;
    }
    check_point(&msg.scroll, false, fat)?;
    check_point(&msg.viewport, true, fat)
}

fn validate_frame(msg: FrameMsg) -> Result<Frame, SnapshotError> {
    let fat = At {
        frame: msg.id,
        node: None,
    };
    // A whole frame: an update needs the snapshot it is based on (`Snapshot::from_msg_after`).
    if let Some(base) = msg.base {
        return Err(SnapshotError::StaleBase {
            frame: msg.id,
            base,
        });
    }
    check_frame_fields(&msg)?;
    if msg.nodes.overflowed() {
        return Err(SnapshotError::LimitExceeded {
            limit: Limit::Nodes,
            count: msg.nodes.count(),
            at: Some(fat),
        });
    }
    let mut frame = Frame {
        id: msg.id,
        parent: msg.parent,
        owner: msg.owner,
        origin: msg.origin,
        url: msg.url,
        title: msg.title,
        root: msg.root,
        scroll: msg.scroll,
        viewport: msg.viewport,
        truncated: msg.truncated,
        nodes: BTreeMap::new(),
        parents: BTreeMap::new(),
        css: validate_css(msg.id, msg.css)?,
        doc: msg.doc,
        version: msg.version,
    };
    for node in msg.nodes.into_items() {
        let node = validate_node(frame.id, node)?;
        let id = node.id;
        if frame.nodes.insert(id, Arc::new(node)).is_some() {
            return Err(SnapshotError::DuplicateNode { at: frame.at(id) });
        }
    }
    if !frame.nodes.contains_key(&frame.root) {
        return Err(SnapshotError::MissingRoot {
            at: frame.at(frame.root),
        });
    }
    for (id, node) in &frame.nodes {
        for child in node.child_ids() {
            if !frame.nodes.contains_key(&child) {
                return Err(SnapshotError::UnknownChild {
                    at: frame.at(*id),
                    child,
                });
            }
            if child == frame.root || child == *id {
                return Err(SnapshotError::Cycle {
                    at: frame.at(child),
                });
            }
            if let Some(first) = frame.parents.insert(child, *id) {
                return Err(SnapshotError::TwoParents {
                    at: frame.at(child),
                    first,
                    second: *id,
                });
            }
        }
    }
    // Every node reachable from the root, none deeper than the limit. With one parent each and
    // a parentless root, a walk from the root visits each node once.
    let mut stack = vec![(frame.root, 0usize)];
    let mut seen = 0usize;
    while let Some((id, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(SnapshotError::LimitExceeded {
                limit: Limit::Depth,
                count: depth,
                at: Some(frame.at(id)),
            });
        }
        seen += 1;
        if let Some(node) = frame.nodes.get(&id) {
            stack.extend(node.child_ids().map(|c| (c, depth + 1)));
        }
    }
    if seen != frame.nodes.len() {
        let mut reachable = BTreeSet::new();
        let mut stack = vec![frame.root];
        while let Some(id) = stack.pop() {
            reachable.insert(id);
            if let Some(node) = frame.nodes.get(&id) {
                stack.extend(node.child_ids());
            }
        }
        if let Some(id) = frame.nodes.keys().find(|id| !reachable.contains(id)) {
            return Err(SnapshotError::Unreachable { at: frame.at(*id) });
        }
    }
    check_css_nodes(&frame)?;
    Ok(frame)
}

/// A text node's or attribute's characters counted as the limits count them.
#[cfg(test)]
pub(crate) fn char_count(text: &str) -> usize {
    text.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::limits::{MAX_ATTR_CHARS, MAX_TEXT_CHARS, MAX_VALUE_CHARS};

    fn frame_json(nodes: &str) -> String {
        format!(
            r#"{{"frames":[{{"id":0,"origin":"https://a.example","url":"https://a.example/","root":1,"nodes":[{nodes}]}}]}}"#
        )
    }

    fn err(json: &str) -> SnapshotError {
        Snapshot::from_json(json).unwrap_err()
    }

    #[test]
    fn a_valid_frame_is_kept_with_its_parents() {
        let snap = Snapshot::from_json(&frame_json(
            r#"{"id":1,"tag":"html","kids":[2]},{"id":2,"tag":"body","kids":["hi",3]},{"id":3,"tag":"b"}"#,
        ))
        .unwrap();
        let frame = snap.frame(0).unwrap();
        assert_eq!(frame.parent_of(3), Some(2));
        assert_eq!(frame.parent_of(1), None);
        assert_eq!(snap.node_count(), 3);
        assert_eq!(snap.version(), 1);
        assert_eq!(
            snap.node(Handle { frame: 0, node: 3 })
                .map(|n| n.tag.as_str()),
            Some("b")
        );
    }

    #[test]
    fn structural_errors_are_distinct() {
        let e = err(&frame_json(r#"{"id":2,"tag":"html"}"#));
        assert_eq!(e.code(), "missing-root");
        assert_eq!(
            e.to_string(),
            "node `1` of frame `0` is the frame's root but is not among its nodes"
        );
        let e = err(&frame_json(r#"{"id":1,"tag":"html","kids":[9]}"#));
        assert_eq!(
            e.to_string(),
            "node `1` of frame `0` lists child `9`, which is not a node of the frame"
        );
        let e = err(&frame_json(
            r#"{"id":1,"tag":"html","kids":[2,3]},{"id":2,"tag":"a","kids":[4]},{"id":3,"tag":"a","kids":[4]},{"id":4,"tag":"b"}"#,
        ));
        assert_eq!(
            e.to_string(),
            "node `4` of frame `0` is a child of both `2` and `3`"
        );
        let e = err(&frame_json(
            r#"{"id":1,"tag":"html"},{"id":2,"tag":"a","kids":[3]},{"id":3,"tag":"a","kids":[2]}"#,
        ));
        assert_eq!(e.code(), "unreachable");
        let e = err(&frame_json(r#"{"id":1,"tag":"html","kids":[1]}"#));
        assert_eq!(e.to_string(), "node `1` of frame `0` is its own ancestor");
        let e = err(&frame_json(
            r#"{"id":1,"tag":"html"},{"id":1,"tag":"body"}"#,
        ));
        assert_eq!(e.to_string(), "node `1` of frame `0` appears twice");
        let e = err(&frame_json(r#"{"id":1,"tag":"HTML"}"#));
        assert_eq!(
            e.to_string(),
            "node `1` of frame `0` has tag `HTML`, which is not a lowercase tag name"
        );
        let e = err(&frame_json(
            r#"{"id":1,"tag":"html","attrs":{"id":"a","id":"b"}}"#,
        ));
        assert_eq!(
            e.to_string(),
            "node `1` of frame `0` has attribute `id` twice"
        );
        let e = err(&frame_json(r#"{"id":1,"tag":"html","box":[0,0,-1,5]}"#));
        assert_eq!(e.code(), "bad-geometry");
        let e = err(&frame_json(
            r#"{"id":1,"tag":"input","value":"x","value_redacted":true}"#,
        ));
        assert_eq!(
            e.to_string(),
            "node `1` of frame `0` has a value but says it was redacted"
        );
        assert_eq!(
            e.help(),
            "the content script must never send the value of a redacted field"
        );
    }

    #[test]
    fn malformed_messages_name_the_path() {
        let e = err(
            r#"{"frames":[{"id":0,"origin":"o","url":"u","root":1,"nodes":[{"id":"x","tag":"a"}]}]}"#,
        );
        assert_eq!(e.code(), "malformed");
        let SnapshotError::Malformed { path, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(path, "frames[0].nodes[0].id");
    }

    #[test]
    fn password_values_are_never_kept() {
        let snap = Snapshot::from_json(&frame_json(
            r#"{"id":1,"tag":"html","kids":[2,3]},{"id":2,"tag":"input","attrs":{"type":"password","value":"default-secret"},"value":"hunter2"},{"id":3,"tag":"input","attrs":{"autocomplete":"cc-number"},"value":"4111"}"#,
        ))
        .unwrap();
        for id in [2, 3] {
            let node = snap.node(Handle { frame: 0, node: id }).unwrap();
            assert_eq!(node.value, None);
            assert_eq!(node.attr("value"), None);
            assert!(node.value_redacted);
        }
    }

    #[test]
    fn field_kinds_come_from_type_and_autocomplete() {
        let mut node = Node::new(1, "input");
        assert_eq!(field_kind(&node), None);
        node.attrs = super::super::wire::Attrs::new(vec![("type".into(), "Password".into())]);
        assert_eq!(field_kind(&node), Some(FieldKind::Password));
        node.attrs = super::super::wire::Attrs::new(vec![(
            "autocomplete".into(),
            "section-pay billing CC-CSC".into(),
        )]);
        assert_eq!(field_kind(&node), Some(FieldKind::CardCvc));
        node.attrs =
            super::super::wire::Attrs::new(vec![("autocomplete".into(), "one-time-code".into())]);
        assert_eq!(field_kind(&node), Some(FieldKind::OneTimeCode));
        let div = Node::new(2, "div");
        assert_eq!(field_kind(&div), None);
    }

    #[test]
    fn frames_must_have_one_top_and_no_loops() {
        let mut snap = Snapshot::from_json(&frame_json(r#"{"id":1,"tag":"html"}"#)).unwrap();
        let other: FrameMsg = serde_json::from_str(
            r#"{"id":5,"origin":"o","url":"u","root":1,"nodes":[{"id":1,"tag":"html"}]}"#,
        )
        .unwrap();
        let e = snap.put_frame(other.clone()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "frames `0` and `5` both claim to be the top frame"
        );
        let mut looped = other.clone();
        looped.parent = Some(5);
        assert_eq!(
            snap.put_frame(looped).unwrap_err().to_string(),
            "frame `5` is its own ancestor"
        );
        let mut child = other;
        child.parent = Some(0);
        snap.put_frame(child).unwrap();
        assert_eq!(snap.frames().count(), 2);
        assert_eq!(snap.remove_frame(0), 2);
        assert_eq!(snap.frames().count(), 0);
    }

    #[test]
    fn css_results_must_name_known_nodes() {
        let e = err(
            r##"{"frames":[{"id":0,"origin":"o","url":"u","root":1,"nodes":[{"id":1,"tag":"html"}],"css":{"#x":[1,7]}}]}"##,
        );
        assert_eq!(
            e.to_string(),
            "css selector `#x` matches node `7` of frame `0`, which is not in the snapshot"
        );
    }

    #[test]
    fn the_message_size_is_checked_before_parsing() {
        let big = " ".repeat(MAX_MESSAGE_BYTES + 1);
        let e = err(&big);
        assert_eq!(
            e,
            SnapshotError::MessageTooLarge {
                bytes: MAX_MESSAGE_BYTES + 1,
                max: MAX_MESSAGE_BYTES
            }
        );
        // At the limit the text is parsed (and is not JSON).
        let at = " ".repeat(MAX_MESSAGE_BYTES);
        assert_eq!(err(&at).code(), "malformed");
    }

    #[test]
    fn the_other_lengths_and_counts_are_bounded() {
        use crate::page::limits::{
            MAX_COORD, MAX_CSS_SELECTORS, MAX_SELECTOR_CHARS, MAX_URL_CHARS,
        };
        let with = |extra: &str, node: &str| {
            format!(
                r#"{{"frames":[{{"id":0,"origin":"o","url":"u","root":1,{extra}"nodes":[{node}]}}]}}"#
            )
        };
        let html = r#"{"id":1,"tag":"html"}"#;
        // css selectors per frame
        let css = |n: usize| {
            let list: Vec<String> = (0..n).map(|i| format!(r##""#s{i}":[1]"##)).collect();
            with(&format!(r#""css":{{{}}},"#, list.join(",")), html)
        };
        Snapshot::from_json(&css(MAX_CSS_SELECTORS)).unwrap();
        let e = err(&css(MAX_CSS_SELECTORS + 1));
        assert_eq!(
            e.to_string(),
            format!(
                "frame `0` has {} css selectors in one frame, more than the limit of {MAX_CSS_SELECTORS}",
                MAX_CSS_SELECTORS + 1
            )
        );
        // selector length
        let sel = |n: usize| with(&format!(r#""css":{{"{}":[]}},"#, "a".repeat(n)), html);
        Snapshot::from_json(&sel(MAX_SELECTOR_CHARS)).unwrap();
        assert!(matches!(
            err(&sel(MAX_SELECTOR_CHARS + 1)),
            SnapshotError::LimitExceeded { limit: Limit::SelectorChars, count, .. } if count == MAX_SELECTOR_CHARS + 1
        ));
        // url length
        let url = |n: usize| {
            format!(
                r#"{{"frames":[{{"id":0,"origin":"o","url":"{}","root":1,"nodes":[{html}]}}]}}"#,
                "u".repeat(n)
            )
        };
        Snapshot::from_json(&url(MAX_URL_CHARS)).unwrap();
        assert!(matches!(
            err(&url(MAX_URL_CHARS + 1)),
            SnapshotError::LimitExceeded {
                limit: Limit::UrlChars,
                ..
            }
        ));
        // tag length
        let tag = |n: usize| {
            with(
                "",
                &format!(r#"{{"id":1,"tag":"x-{}"}}"#, "a".repeat(n - 2)),
            )
        };
        Snapshot::from_json(&tag(MAX_TAG_CHARS)).unwrap();
        assert!(matches!(
            err(&tag(MAX_TAG_CHARS + 1)),
            SnapshotError::LimitExceeded {
                limit: Limit::TagChars,
                ..
            }
        ));
        // value length at the limit (over is tested with the text lengths)
        let value = "v".repeat(MAX_VALUE_CHARS);
        Snapshot::from_json(&with(
            "",
            &format!(r#"{{"id":1,"tag":"input","value":"{value}"}}"#),
        ))
        .unwrap();
        // coordinates
        let coord = |v: f64| with("", &format!(r#"{{"id":1,"tag":"html","box":[{v},0,1,1]}}"#));
        Snapshot::from_json(&coord(MAX_COORD)).unwrap();
        assert_eq!(
            err(&coord(MAX_COORD * 2.0)).to_string(),
            "node `1` of frame `0` has a box or point out of range"
        );
    }

    #[test]
    fn text_and_attribute_lengths_are_bounded() {
        let at_limit = "x".repeat(MAX_TEXT_CHARS);
        Snapshot::from_json(&frame_json(&format!(
            r#"{{"id":1,"tag":"html","kids":["{at_limit}"]}}"#
        )))
        .unwrap();
        let over = "é".repeat(MAX_TEXT_CHARS + 1);
        let e = err(&frame_json(&format!(
            r#"{{"id":1,"tag":"html","kids":["{over}"]}}"#
        )));
        assert_eq!(
            e.to_string(),
            format!(
                "node `1` of frame `0` has {} characters in one text run, more than the limit of {MAX_TEXT_CHARS}",
                char_count(&over)
            )
        );
        assert_eq!(
            e.help(),
            "the content script must cut the snapshot to the limits and mark the frame `truncated`"
        );
        let attr = "a".repeat(MAX_ATTR_CHARS);
        Snapshot::from_json(&frame_json(&format!(
            r#"{{"id":1,"tag":"html","attrs":{{"aria-label":"{attr}"}}}}"#
        )))
        .unwrap();
        let e = err(&frame_json(&format!(
            r#"{{"id":1,"tag":"html","attrs":{{"aria-label":"{attr}a"}}}}"#
        )));
        assert!(matches!(
            e,
            SnapshotError::LimitExceeded {
                limit: Limit::AttrChars,
                count,
                ..
            } if count == MAX_ATTR_CHARS + 1
        ));
        let value = "v".repeat(MAX_VALUE_CHARS + 1);
        let e = err(&frame_json(&format!(
            r#"{{"id":1,"tag":"input","value":"{value}"}}"#
        )));
        assert!(matches!(
            e,
            SnapshotError::LimitExceeded {
                limit: Limit::ValueChars,
                ..
            }
        ));
    }
}
