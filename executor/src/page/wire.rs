//! The snapshot's message format as the content script sends it: nodes, frames and updates,
//! with bounded lists so a hostile page's huge DOM costs a count, not memory.
//!
//! Everything here is plain data; [`super::snapshot::Snapshot`] validates it before keeping
//! it. The JSON shape is documented in `docs/snapshot.md`.

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;

use super::limits::{MAX_ATTRS, MAX_CSS_SELECTORS, MAX_FRAMES, MAX_KIDS, MAX_NODES};

/// A list that keeps at most `MAX` items and only counts the rest.
///
/// Items past the limit are parsed and dropped (serde's `IgnoredAny` allocates nothing), so
/// validation can report the real count as a typed limit error instead of a parse failure,
/// and a hostile list never costs more memory than the limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounded<T, const MAX: usize> {
    items: Vec<T>,
    dropped: usize,
}

impl<T, const MAX: usize> Bounded<T, MAX> {
    /// A list of `items`; more than `MAX` of them count as dropped.
    pub fn new(mut items: Vec<T>) -> Self {
        let dropped = items.len().saturating_sub(MAX);
        items.truncate(MAX);
        Bounded { items, dropped }
    }

    pub fn items(&self) -> &[T] {
        &self.items
    }

    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    /// How many items the message had in all, kept or dropped.
    pub fn count(&self) -> usize {
        self.items.len() + self.dropped
    }

    /// Whether the message had more than `MAX` items.
    pub fn overflowed(&self) -> bool {
        self.dropped > 0
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }
}

impl<T, const MAX: usize> Default for Bounded<T, MAX> {
    fn default() -> Self {
        Bounded {
            items: Vec::new(),
            dropped: 0,
        }
    }
}

impl<T: Serialize, const MAX: usize> Serialize for Bounded<T, MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.items.len()))?;
        for item in &self.items {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for Bounded<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T, const MAX: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const MAX: usize> Visitor<'de> for V<T, MAX> {
            type Value = Bounded<T, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // The size hint comes from the message: never trust it past a small bound.
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while items.len() < MAX {
                    match seq.next_element()? {
                        Some(item) => items.push(item),
                        None => return Ok(Bounded { items, dropped: 0 }),
                    }
                }
                let mut dropped = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    dropped += 1;
                }
                Ok(Bounded { items, dropped })
            }
        }
        deserializer.deserialize_seq(V::<T, MAX>(PhantomData))
    }
}

/// A JSON object kept as ordered pairs, at most `MAX` of them; the rest are only counted.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundedMap<V, const MAX: usize> {
    pairs: Vec<(String, V)>,
    dropped: usize,
}

impl<V, const MAX: usize> BoundedMap<V, MAX> {
    pub fn new(mut pairs: Vec<(String, V)>) -> Self {
        let dropped = pairs.len().saturating_sub(MAX);
        pairs.truncate(MAX);
        BoundedMap { pairs, dropped }
    }

    pub fn pairs(&self) -> &[(String, V)] {
        &self.pairs
    }

    pub fn into_pairs(self) -> Vec<(String, V)> {
        self.pairs
    }

    /// The value of `key`, the first one when the message repeated it.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn count(&self) -> usize {
        self.pairs.len() + self.dropped
    }

    pub fn overflowed(&self) -> bool {
        self.dropped > 0
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }
}

impl<V, const MAX: usize> Default for BoundedMap<V, MAX> {
    fn default() -> Self {
        BoundedMap {
            pairs: Vec::new(),
            dropped: 0,
        }
    }
}

impl<V: Serialize, const MAX: usize> Serialize for BoundedMap<V, MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.pairs.len()))?;
        for (k, v) in &self.pairs {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de, V: Deserialize<'de>, const MAX: usize> Deserialize<'de> for BoundedMap<V, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Vis<V, const MAX: usize>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>, const MAX: usize> Visitor<'de> for Vis<V, MAX> {
            type Value = BoundedMap<V, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while pairs.len() < MAX {
                    match map.next_entry()? {
                        Some(pair) => pairs.push(pair),
                        None => return Ok(BoundedMap { pairs, dropped: 0 }),
                    }
                }
                let mut dropped = 0;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                    dropped += 1;
                }
                Ok(BoundedMap { pairs, dropped })
            }
        }
        deserializer.deserialize_map(Vis::<V, MAX>(PhantomData))
    }
}

/// One entry of a node's children: another node (by id) or a run of text, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Child {
    Node(u32),
    Text(String),
}

impl Serialize for Child {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Child::Node(id) => serializer.serialize_u32(*id),
            Child::Text(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for Child {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Child;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a node id (a whole number up to 4294967295) or a text string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Child, E> {
                u32::try_from(v)
                    .map(Child::Node)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Child, E> {
                u32::try_from(v)
                    .map(Child::Node)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            // JavaScript numbers arrive as floats through serde-wasm-bindgen.
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Child, E> {
                if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) {
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "checked whole and within u32 just above"
                    )]
                    Ok(Child::Node(v as u32))
                } else {
                    Err(E::invalid_value(de::Unexpected::Float(v), &self))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Child, E> {
                Ok(Child::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Child, E> {
                Ok(Child::Text(v))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A box `[x, y, width, height]` in CSS pixels.
///
/// Coordinates are relative to the frame's document (page coordinates, so scrolling does not
/// change them), except for a node marked `fixed`, whose box is in viewport coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn new(x: f64, y: f64, w: f64, h: f64) -> Self {
        Rect { x, y, w, h }
    }

    pub fn center(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    pub fn is_empty(&self) -> bool {
        self.w <= 0.0 || self.h <= 0.0
    }
}

impl Serialize for Rect {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [self.x, self.y, self.w, self.h].serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Rect {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let [x, y, w, h] = <[f64; 4]>::deserialize(deserializer)?;
        Ok(Rect { x, y, w, h })
    }
}

/// A point or size `[x, y]` in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [self.x, self.y].serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let [x, y] = <[f64; 2]>::deserialize(deserializer)?;
        Ok(Point { x, y })
    }
}

/// Children or shadow-root content of a node.
pub type Kids = Bounded<Child, MAX_KIDS>;

/// A node's attributes, name to value; only the ones roles and names need are sent.
pub type Attrs = BoundedMap<String, MAX_ATTRS>;

/// Results of CSS selectors in one frame: selector to the ids of the matching nodes, in
/// document order.
pub type CssMatches = BoundedMap<Bounded<u32, MAX_NODES>, MAX_CSS_SELECTORS>;

fn is_false(b: &bool) -> bool {
    !*b
}

/// One element as the content script sees it. Every flag defaults to `false` when absent, so
/// a missing flag never makes an element look actionable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// A handle the content script assigns, stable for the element's lifetime in the frame.
    pub id: u32,
    /// The lowercase local name (`button`, `my-widget`).
    pub tag: String,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
    /// Light-DOM children in document order: node ids and text runs.
    #[serde(default, skip_serializing_if = "Kids::is_empty")]
    pub kids: Kids,
    /// The content of the element's open shadow root, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<Kids>,
    /// The border box; absent when the element has no layout box.
    #[serde(default, rename = "box", skip_serializing_if = "Option::is_none")]
    pub rect: Option<Rect>,
    /// Rendered and perceivable: displayed, `visibility: visible`, opacity above 0, a box
    /// larger than zero.
    #[serde(default, skip_serializing_if = "is_false")]
    pub visible: bool,
    /// Not rendered at all (`display: none` here or above, `visibility: hidden`,
    /// `content-visibility: hidden` above): out of the accessibility tree.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hidden: bool,
    /// Whether the topmost element at the box's centre is this element or inside it; absent
    /// when not tested (the centre is outside the viewport).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hit: Option<bool>,
    /// With `hit: false`, the node found at the centre instead (same frame), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hit_by: Option<u32>,
    /// `position: fixed` here or above: the box is in viewport coordinates.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fixed: bool,
    /// Computed display is inline-level; absent means the tag's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<bool>,
    /// The live value of a form control; never sent for password or never-read fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The control has a value the content script did not send.
    #[serde(default, skip_serializing_if = "is_false")]
    pub value_redacted: bool,
    /// Live `checked` state of a checkbox or radio input.
    #[serde(default, skip_serializing_if = "is_false")]
    pub checked: bool,
    /// Live `selected` state of an option.
    #[serde(default, skip_serializing_if = "is_false")]
    pub selected: bool,
    /// Matches `:disabled` (the attribute, or a disabled fieldset around it).
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// A dialog opened with `showModal()`: everything else in its frame is inert.
    #[serde(default, skip_serializing_if = "is_false")]
    pub modal: bool,
}

impl Node {
    /// A bare node, for building snapshots in code.
    pub fn new(id: u32, tag: &str) -> Self {
        Node {
            id,
            tag: tag.to_owned(),
            attrs: Attrs::default(),
            kids: Kids::default(),
            shadow: None,
            rect: None,
            visible: false,
            hidden: false,
            hit: None,
            hit_by: None,
            fixed: false,
            inline: None,
            value: None,
            value_redacted: false,
            checked: false,
            selected: false,
            disabled: false,
            modal: false,
        }
    }

    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }

    pub fn has_attr(&self, name: &str) -> bool {
        self.attrs.get(name).is_some()
    }

    /// Ids of the child nodes in `kids` and `shadow`.
    pub fn child_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.kids
            .items()
            .iter()
            .chain(self.shadow.iter().flat_map(|s| s.items().iter()))
            .filter_map(|c| match c {
                Child::Node(id) => Some(*id),
                Child::Text(_) => None,
            })
    }

    /// The lowercase `type` of an `<input>` (`text` when absent).
    pub fn input_type(&self) -> Option<String> {
        (self.tag == "input").then(|| {
            self.attr("type")
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "text".to_owned())
        })
    }
}

/// One frame's full snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameMsg {
    /// The browser's frame id (`0` for the top frame in Chromium).
    pub id: u64,
    /// The parent frame's id; absent for the top frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
    /// The `<iframe>` (or `<frame>`, `<object>`) node in the parent frame that holds this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<u32>,
    /// The frame's origin (`https://pay.example`), set by the service worker from what the
    /// browser says about the sender, never from the page.
    pub origin: String,
    pub url: String,
    /// The document's title (`document.title`, whitespace collapsed); empty when it has none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// The document element's node id.
    pub root: u32,
    /// The document's scroll offset.
    #[serde(default)]
    pub scroll: Point,
    /// The viewport's size.
    #[serde(default)]
    pub viewport: Point,
    /// The content script stopped at a limit: elements are missing.
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
    pub nodes: Bounded<Node, MAX_NODES>,
    /// Results of the CSS selectors the service worker asked for with this snapshot.
    #[serde(default, skip_serializing_if = "CssMatches::is_empty")]
    pub css: CssMatches,
    /// The content script's id for the frame's document (its random hello token): an update
    /// is applied only to a snapshot of the same document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// This snapshot's number in its document's sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// When present, this frame is an update (docs/snapshot.md, "Incremental snapshots"):
    /// `nodes` holds only the nodes new or changed since the document's snapshot number
    /// `base`, which the receiver must hold, and `removed` the nodes that left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<u64>,
    #[serde(default, skip_serializing_if = "Bounded::is_empty")]
    pub removed: Bounded<u32, MAX_NODES>,
}

/// A whole page: every frame of the tab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotMsg {
    pub frames: Bounded<FrameMsg, MAX_FRAMES>,
}

/// An incremental change to one frame: removals first, then insertions and replacements.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    pub frame: u64,
    /// Nodes that left the document; their descendants go with them.
    #[serde(default, skip_serializing_if = "Bounded::is_empty")]
    pub removed: Bounded<u32, MAX_NODES>,
    /// New nodes and nodes whose data changed, each sent whole. A parent whose children
    /// changed is sent again with its new `kids`.
    #[serde(default, skip_serializing_if = "Bounded::is_empty")]
    pub upserted: Bounded<Node, MAX_NODES>,
    /// Fresh CSS results; when absent, an update that changes nodes drops the old ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub css: Option<CssMatches>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scroll: Option<Point>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewport: Option<Point>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_lists_count_what_they_drop() {
        let list: Bounded<u32, 3> = serde_json::from_str("[1,2,3,4,5]").unwrap();
        assert_eq!(list.items(), &[1, 2, 3]);
        assert_eq!(list.count(), 5);
        assert!(list.overflowed());
        let list: Bounded<u32, 3> = serde_json::from_str("[1,2,3]").unwrap();
        assert!(!list.overflowed());
        assert_eq!(serde_json::to_string(&list).unwrap(), "[1,2,3]");
    }

    #[test]
    fn bounded_maps_count_what_they_drop() {
        let map: BoundedMap<String, 2> =
            serde_json::from_str(r#"{"a":"1","b":"2","c":"3"}"#).unwrap();
        assert_eq!(map.count(), 3);
        assert_eq!(map.get("b").map(String::as_str), Some("2"));
        assert_eq!(map.get("c"), None);
    }

    #[test]
    fn children_are_ids_or_text() {
        let kids: Vec<Child> = serde_json::from_str(r#"[3, "Buy ", 4]"#).unwrap();
        assert_eq!(
            kids,
            vec![Child::Node(3), Child::Text("Buy ".into()), Child::Node(4)]
        );
        let err = serde_json::from_str::<Vec<Child>>("[-1]").unwrap_err();
        assert!(err.to_string().contains("a node id"), "{err}");
        let err = serde_json::from_str::<Vec<Child>>("[4294967296]").unwrap_err();
        assert!(err.to_string().contains("a node id"), "{err}");
        let err = serde_json::from_str::<Vec<Child>>("[1.5]").unwrap_err();
        assert!(err.to_string().contains("a node id"), "{err}");
    }

    #[test]
    fn unknown_node_fields_are_refused() {
        let err = serde_json::from_str::<Node>(r#"{"id":1,"tag":"a","onclick":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `onclick`"), "{err}");
    }

    #[test]
    fn boxes_are_arrays_of_four_numbers() {
        let node: Node =
            serde_json::from_str(r#"{"id":1,"tag":"a","box":[1,2,3,4],"visible":true}"#).unwrap();
        assert_eq!(node.rect, Some(Rect::new(1.0, 2.0, 3.0, 4.0)));
        assert_eq!(
            serde_json::to_string(&node).unwrap(),
            r#"{"id":1,"tag":"a","box":[1.0,2.0,3.0,4.0],"visible":true}"#
        );
    }
}
