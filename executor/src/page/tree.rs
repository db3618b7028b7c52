//! The derived view of a snapshot that resolution works on: every rendered element of every
//! frame in one document order (the flat tree: shadow roots and slots resolved, iframes'
//! documents inside their owner elements), with roles, accessibility-tree membership, ids per
//! tree scope, label associations and an index by role. Built once per snapshot version;
//! names are computed lazily and cached.

use super::roles::{self, RoleContext};
use super::snapshot::{Handle, Snapshot};
use super::text::TextIndex;
use super::wire::{Child, Node};
use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A tree scope: where an `id` (and so `for` and `aria-labelledby`) is looked up. A frame's
/// document, or the shadow root of the host with this entry index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ScopeId {
    Doc(u32),
    Shadow(u32),
}

/// One entry of an element's children in the flat tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flat {
    /// An element, by entry index.
    Node(u32),
    /// A text run: a byte range in the index's text arena.
    Text(u32, u32),
    /// The root element of an iframe's document, by entry index.
    Frame(u32),
}

/// A frame as the index places it.
#[derive(Debug, Clone)]
pub(crate) struct FrameInfo {
    pub id: u64,
    /// The origin, normalised (`https://a.example`), as `in frame` compares it.
    pub origin: String,
    pub truncated: bool,
    /// Reached from the top frame through the owner elements.
    pub placed: bool,
    /// The entry of the `<iframe>` holding this frame.
    pub owner: Option<u32>,
}

/// One element.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub node: Arc<Node>,
    /// Index into [`Index::frames`].
    pub frame: u32,
    pub parent: Option<u32>,
    /// One past the last entry of this element's subtree: descendants are `self+1..end`.
    pub end: u32,
    /// Range of this element's children in [`Index::flat`].
    pub kids: (u32, u32),
    pub scope: ScopeId,
    pub role: Option<&'static str>,
    /// Out of the accessibility tree: not rendered, `aria-hidden`, `hidden`, `inert`, or
    /// outside an open modal dialog.
    pub excluded: bool,
    /// Laid out (not `display: none`/`visibility: hidden`) in a rendered frame.
    pub rendered: bool,
    pub inert: bool,
    /// `:disabled`, the `disabled` attribute on a form control, or `aria-disabled="true"`
    /// here or above.
    pub disabled: bool,
    ax_hidden: bool,
    frame_rendered: bool,
    aria_disabled: bool,
}

/// The derived view; see the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct Index {
    pub entries: Vec<Entry>,
    pub flat: Vec<Flat>,
    pub arena: String,
    pub frames: Vec<FrameInfo>,
    by_key: BTreeMap<(u64, u32), u32>,
    ids: BTreeMap<(ScopeId, Box<str>), u32>,
    labels: BTreeMap<u32, Vec<u32>>,
    pub by_role: BTreeMap<&'static str, Vec<u32>>,
    pub(crate) names: Vec<OnceCell<Box<str>>>,
    pub(crate) text: OnceCell<TextIndex>,
}

enum Pending {
    Node(u64, u32),
    Text(u32, u32),
    Frame(u64),
}

struct Visit {
    frame: u64,
    id: u32,
    scope: Option<ScopeId>,
    parent: Option<u32>,
    depth: usize,
}

struct Builder<'s> {
    snap: &'s Snapshot,
    owners: BTreeMap<(u64, u32), u64>,
    entries: Vec<Entry>,
    pending: Vec<Vec<Pending>>,
    arena: String,
    frames: Vec<FrameInfo>,
    frame_index: BTreeMap<u64, u32>,
    by_key: BTreeMap<(u64, u32), u32>,
    /// Per shadow host entry: the slot names already filled.
    used_slots: BTreeMap<u32, BTreeSet<String>>,
}

fn attr_is(node: &Node, name: &str, value: &str) -> bool {
    node.attr(name)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
}

impl Builder<'_> {
    fn text(&mut self, text: &str) -> Pending {
        let start = self.arena.len();
        self.arena.push_str(text);
        Pending::Text(index_u32(start), index_u32(self.arena.len()))
    }

    fn slot_name(&self, frame: u64, child: &Child) -> String {
        match child {
            Child::Text(_) => String::new(),
            Child::Node(id) => self
                .snap
                .frames
                .get(&frame)
                .and_then(|f| f.node(*id))
                .and_then(|n| n.attr("slot"))
                .unwrap_or("")
                .to_owned(),
        }
    }

    /// Walks one frame's document (and the frames inside it) in document order.
    fn walk(&mut self, frame: u64, owner: Option<u32>, placed: bool) {
        let Some(root) = self.snap.frames.get(&frame).map(|f| f.root) else {
            return;
        };
        let mut stack = vec![(
            Visit {
                frame,
                id: root,
                scope: None,
                parent: owner,
                depth: 0,
            },
            placed,
        )];
        while let Some((visit, placed)) = stack.pop() {
            let mut children = Vec::new();
            if self.visit(&visit, placed, &mut children).is_some() {
                // Reversed, so the first child is visited next: pre-order.
                stack.extend(children.into_iter().rev());
            }
        }
    }

    /// Adds one element; its children to visit go to `out` in document order.
    fn visit(&mut self, v: &Visit, placed: bool, out: &mut Vec<(Visit, bool)>) -> Option<u32> {
        let snap = self.snap;
        let frame = snap.frames.get(&v.frame)?;
        let node = frame.nodes.get(&v.id)?;
        if self.by_key.contains_key(&(v.frame, v.id)) || v.depth > super::limits::MAX_DEPTH {
            return None;
        }
        let d = index_u32(self.entries.len());
        let frame_root = v.scope.is_none();
        let frame_idx = if frame_root {
            let idx = index_u32(self.frames.len());
            self.frames.push(FrameInfo {
                id: frame.id,
                origin: crate::engine::interp::origin_of(&frame.origin)
                    .unwrap_or_else(|| frame.origin.clone()),
                truncated: frame.truncated,
                placed,
                owner: v.parent,
            });
            self.frame_index.insert(frame.id, idx);
            idx
        } else {
            v.parent.map_or(0, |p| self.entries[p as usize].frame)
        };
        let scope = v.scope.unwrap_or(ScopeId::Doc(frame_idx));

        // Inherited state: from the parent, or for a frame's root from its owner element.
        let (ax_in, frame_rendered_in, aria_dis_in, inert_in) = match v.parent {
            Some(p) => {
                let p = &self.entries[p as usize];
                if frame_root {
                    (p.ax_hidden, p.rendered, false, p.inert)
                } else {
                    (p.ax_hidden, p.frame_rendered, p.aria_disabled, p.inert)
                }
            }
            None => (false, true, false, false),
        };
        let inert_attr = node.has_attr("inert");
        let hidden_attr = node
            .attr("hidden")
            .is_some_and(|v| !v.trim().eq_ignore_ascii_case("until-found"));
        let ax_hidden = ax_in || attr_is(node, "aria-hidden", "true") || hidden_attr || inert_attr;
        let rendered = frame_rendered_in && !node.hidden;
        let input_hidden = node.input_type().as_deref() == Some("hidden");
        let aria_disabled = aria_dis_in || attr_is(node, "aria-disabled", "true");
        let inert = inert_in || inert_attr;
        self.entries.push(Entry {
            node: Arc::clone(node),
            frame: frame_idx,
            parent: v.parent,
            end: d + 1,
            kids: (0, 0),
            scope,
            role: None,
            excluded: ax_hidden || !rendered || input_hidden || inert,
            rendered,
            inert,
            disabled: node.disabled
                || (roles::is_form_control(&node.tag) && node.has_attr("disabled"))
                || aria_disabled,
            ax_hidden,
            frame_rendered: frame_rendered_in,
            aria_disabled,
        });
        self.by_key.insert((v.frame, v.id), d);

        // The element's children in the flat tree.
        let mut pending = Vec::new();
        let mut push =
            |b: &mut Self, child: &Child, scope: ScopeId, pending: &mut Vec<Pending>| match child {
                Child::Node(id) => {
                    pending.push(Pending::Node(v.frame, *id));
                    out.push((
                        Visit {
                            frame: v.frame,
                            id: *id,
                            scope: Some(scope),
                            parent: Some(d),
                            depth: v.depth + 1,
                        },
                        placed,
                    ));
                }
                Child::Text(text) => {
                    let t = b.text(text);
                    pending.push(t);
                }
            };
        if let Some(child_frame) = self.owners.get(&(v.frame, v.id)).copied() {
            // An iframe: its document stands in for its (fallback) children.
            pending.push(Pending::Frame(child_frame));
            if let Some(f) = snap.frames.get(&child_frame) {
                out.push((
                    Visit {
                        frame: child_frame,
                        id: f.root,
                        scope: None,
                        parent: Some(d),
                        depth: 0,
                    },
                    placed,
                ));
            }
        } else if let Some(shadow) = &node.shadow {
            self.used_slots.insert(d, BTreeSet::new());
            for child in shadow.items() {
                push(self, child, ScopeId::Shadow(d), &mut pending);
            }
        } else if let (true, ScopeId::Shadow(host)) = (node.tag == "slot", scope) {
            let name = node.attr("name").unwrap_or("").to_owned();
            let first = self
                .used_slots
                .get_mut(&host)
                .is_some_and(|used| used.insert(name.clone()));
            let host_entry = &self.entries[host as usize];
            let host_node = Arc::clone(&host_entry.node);
            let host_scope = host_entry.scope;
            let assigned: Vec<&Child> = if first {
                host_node
                    .kids
                    .items()
                    .iter()
                    .filter(|c| self.slot_name(v.frame, c) == name)
                    .collect()
            } else {
                Vec::new()
            };
            if assigned.is_empty() {
                for child in node.kids.items() {
                    push(self, child, scope, &mut pending);
                }
            } else {
                for child in assigned {
                    push(self, child, host_scope, &mut pending);
                }
            }
        } else {
            for child in node.kids.items() {
                push(self, child, scope, &mut pending);
            }
        }
        self.pending.push(pending);
        Some(d)
    }
}

fn index_u32(i: usize) -> u32 {
    // Bounded by MAX_NODES and the message size, far below u32::MAX.
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl Index {
    pub(crate) fn build(snap: &Snapshot) -> Index {
        let mut owners = BTreeMap::new();
        for f in snap.frames.values() {
            if let (Some(parent), Some(owner)) = (f.parent, f.owner) {
                if snap.frames.contains_key(&parent) {
                    owners.entry((parent, owner)).or_insert(f.id);
                }
            }
        }
        let mut b = Builder {
            snap,
            owners,
            entries: Vec::new(),
            pending: Vec::new(),
            arena: String::new(),
            frames: Vec::new(),
            frame_index: BTreeMap::new(),
            by_key: BTreeMap::new(),
            used_slots: BTreeMap::new(),
        };
        if let Some(top) = snap.frames.values().find(|f| f.parent.is_none()) {
            b.walk(top.id, None, true);
        }
        let unplaced: Vec<u64> = snap
            .frames
            .keys()
            .filter(|id| !b.frame_index.contains_key(id))
            .copied()
            .collect();
        for id in unplaced {
            if !b.frame_index.contains_key(&id) {
                b.walk(id, None, false);
            }
        }
        let Builder {
            mut entries,
            pending,
            arena,
            frames,
            frame_index,
            by_key,
            ..
        } = b;

        // Subtree ends: pre-order keeps each subtree contiguous.
        let n = entries.len();
        let mut size = vec![1u32; n];
        for d in (0..n).rev() {
            if let Some(p) = entries[d].parent {
                size[p as usize] += size[d];
            }
        }
        for (d, e) in entries.iter_mut().enumerate() {
            e.end = index_u32(d) + size[d];
        }

        // Children lists, keeping only children visited from this parent.
        let mut flat = Vec::new();
        for (d, list) in pending.into_iter().enumerate() {
            let start = index_u32(flat.len());
            for p in list {
                let item = match p {
                    Pending::Text(a, b) => Some(Flat::Text(a, b)),
                    Pending::Node(f, id) => by_key
                        .get(&(f, id))
                        .filter(|c| entries[**c as usize].parent == Some(index_u32(d)))
                        .map(|c| Flat::Node(*c)),
                    Pending::Frame(f) => frame_index
                        .get(&f)
                        .and_then(|fi| {
                            entries
                                .iter()
                                .position(|e| e.frame == *fi && e.parent == Some(index_u32(d)))
                        })
                        .map(|c| Flat::Frame(index_u32(c))),
                };
                flat.extend(item);
            }
            entries[d].kids = (start, index_u32(flat.len()));
        }

        let mut index = Index {
            entries,
            flat,
            arena,
            frames,
            by_key,
            ids: BTreeMap::new(),
            labels: BTreeMap::new(),
            by_role: BTreeMap::new(),
            names: Vec::new(),
            text: OnceCell::new(),
        };
        index.apply_modal();
        index.collect_ids();
        index.compute_roles();
        index.collect_labels();
        index.names = vec![OnceCell::new(); n];
        index
    }

    /// An open modal dialog makes the rest of its frame inert.
    fn apply_modal(&mut self) {
        for f in 0..index_u32(self.frames.len()) {
            let modal = self
                .entries
                .iter()
                .enumerate()
                .rev()
                .find(|(_, e)| e.frame == f && e.node.modal && !e.excluded)
                .map(|(d, e)| (index_u32(d), e.end));
            let Some((start, end)) = modal else { continue };
            let Some(root) = self
                .entries
                .iter()
                .position(|e| e.frame == f)
                .map(index_u32)
            else {
                continue;
            };
            let root_end = self.entries[root as usize].end;
            for d in root..root_end {
                if d < start || d >= end {
                    let e = &mut self.entries[d as usize];
                    e.inert = true;
                    e.excluded = true;
                }
            }
        }
    }

    fn collect_ids(&mut self) {
        for (d, e) in self.entries.iter().enumerate() {
            if let Some(id) = e.node.attr("id").filter(|id| !id.is_empty()) {
                self.ids.entry((e.scope, id.into())).or_insert(index_u32(d));
            }
        }
    }

    fn compute_roles(&mut self) {
        let n = self.entries.len();
        let mut in_section = vec![false; n];
        let mut table_role: Vec<Option<&'static str>> = vec![None; n];
        let mut in_thead = vec![false; n];
        for d in 0..n {
            let e = &self.entries[d];
            let parent = e
                .parent
                .filter(|p| self.entries[*p as usize].frame == e.frame)
                .map(|p| p as usize);
            let mut ctx = RoleContext::default();
            if let Some(p) = parent {
                let pe = &self.entries[p];
                let (ptag, prole) = (pe.node.tag.as_str(), pe.role);
                let tabular = matches!(prole, Some("table" | "grid" | "treegrid"));
                in_section[d] = in_section[p] || roles::is_sectioning(ptag, prole);
                table_role[d] = if tabular { prole } else { table_role[p] };
                in_thead[d] = !tabular && (in_thead[p] || ptag == "thead");
                ctx.parent_tag = Some(ptag);
                ctx.parent_role = prole;
                ctx.in_sectioning = in_section[d];
                ctx.table_role = table_role[d];
                ctx.in_thead = in_thead[d];
                if e.node.tag == "th" {
                    ctx.row_has_data_cell = self
                        .element_kids(index_u32(p))
                        .any(|c| self.entries[c as usize].node.tag == "td");
                }
                if e.node.tag == "summary" && ptag == "details" {
                    ctx.is_details_summary = self
                        .element_kids(index_u32(p))
                        .find(|c| self.entries[*c as usize].node.tag == "summary")
                        == Some(index_u32(d));
                }
            }
            ctx.has_author_name = self.has_author_name(index_u32(d));
            let node = &e.node;
            let role = roles::role_of(&node.tag, &|name| node.attr(name), &ctx);
            self.entries[d].role = role;
        }
        for (d, e) in self.entries.iter().enumerate() {
            if let (Some(role), false) = (e.role, e.excluded) {
                self.by_role.entry(role).or_default().push(index_u32(d));
            }
        }
    }

    fn collect_labels(&mut self) {
        for d in 0..self.entries.len() {
            let e = &self.entries[d];
            if e.node.tag != "label" {
                continue;
            }
            let target = match e.node.attr("for") {
                Some(id) => self.by_id(e.scope, id),
                None => (index_u32(d) + 1..e.end).find(|c| {
                    let c = &self.entries[*c as usize];
                    c.frame == e.frame && c.scope == e.scope && self.labelable(c)
                }),
            };
            if let Some(t) = target.filter(|t| self.labelable(&self.entries[*t as usize])) {
                self.labels.entry(t).or_default().push(index_u32(d));
            }
        }
    }

    fn labelable(&self, e: &Entry) -> bool {
        roles::is_labelable(&e.node.tag, e.node.input_type().as_deref())
    }

    /// A name from `aria-label`, `aria-labelledby` or `title`, without computing it.
    fn has_author_name(&self, d: u32) -> bool {
        let e = &self.entries[d as usize];
        let nonempty = |name: &str| e.node.attr(name).is_some_and(|v| !v.trim().is_empty());
        nonempty("aria-label")
            || nonempty("title")
            || e.node.attr("aria-labelledby").is_some_and(|ids| {
                ids.split_ascii_whitespace()
                    .any(|id| self.by_id(e.scope, id).is_some())
            })
    }

    // ---- queries ----

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn entry(&self, d: u32) -> &Entry {
        &self.entries[d as usize]
    }

    pub fn frame_of(&self, d: u32) -> &FrameInfo {
        &self.frames[self.entry(d).frame as usize]
    }

    pub fn handle(&self, d: u32) -> Handle {
        Handle {
            frame: self.frame_of(d).id,
            node: self.entry(d).node.id,
        }
    }

    /// The entry of the element a handle names, when it is in the flat tree.
    pub fn find(&self, handle: Handle) -> Option<u32> {
        self.by_key.get(&(handle.frame, handle.node)).copied()
    }

    pub fn kids(&self, d: u32) -> &[Flat] {
        let (a, b) = self.entry(d).kids;
        &self.flat[a as usize..b as usize]
    }

    /// Element children in the same frame.
    pub fn element_kids(&self, d: u32) -> impl Iterator<Item = u32> + '_ {
        self.kids(d).iter().filter_map(|k| match k {
            Flat::Node(c) => Some(*c),
            _ => None,
        })
    }

    pub fn text_of(&self, start: u32, end: u32) -> &str {
        self.arena.get(start as usize..end as usize).unwrap_or("")
    }

    /// `getElementById` in a tree scope: the first element with that id in document order.
    pub fn by_id(&self, scope: ScopeId, id: &str) -> Option<u32> {
        self.ids.get(&(scope, id.into())).copied()
    }

    /// The `<label>` elements of a control, in document order.
    pub fn labels_of(&self, d: u32) -> &[u32] {
        self.labels.get(&d).map_or(&[], Vec::as_slice)
    }

    /// Whether `d` is strictly inside `ancestor` (through shadow roots and frames).
    pub fn is_inside(&self, ancestor: u32, d: u32) -> bool {
        ancestor < d && d < self.entry(ancestor).end
    }

    /// Laid out inline (by CSS as the content script reported, else by the tag's default).
    pub fn is_inline(&self, d: u32) -> bool {
        let node = &self.entry(d).node;
        node.inline
            .unwrap_or_else(|| roles::inline_by_default(&node.tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(json: &str) -> (Snapshot, Vec<(u32, &'static str)>) {
        let snap = Snapshot::from_json(json).unwrap();
        let roles = {
            let ix = snap.index();
            (0..ix.len())
                .map(|d| {
                    let e = ix.entry(index_u32(d));
                    (e.node.id, e.role.unwrap_or("-"))
                })
                .collect()
        };
        (snap, roles)
    }

    #[test]
    fn document_order_goes_through_shadow_roots_slots_and_frames() {
        let (snap, roles) = index(
            r#"{"frames":[
              {"id":0,"origin":"https://a.example","url":"https://a.example/","root":1,"nodes":[
                {"id":1,"tag":"body","kids":[2,5,6]},
                {"id":2,"tag":"x-card","kids":[3,4],"shadow":[10,11]},
                {"id":3,"tag":"span","attrs":{"slot":"title"},"kids":["Title"]},
                {"id":4,"tag":"p","kids":["Body"]},
                {"id":10,"tag":"slot","attrs":{"name":"title"}},
                {"id":11,"tag":"slot","kids":["fallback"]},
                {"id":5,"tag":"iframe"},
                {"id":6,"tag":"button"}
              ]},
              {"id":7,"parent":0,"owner":5,"origin":"https://b.example","url":"https://b.example/x","root":1,"nodes":[
                {"id":1,"tag":"body","kids":[2]},
                {"id":2,"tag":"a","attrs":{"href":""}}
              ]},
              {"id":8,"parent":99,"origin":"https://c.example","url":"https://c.example/","root":1,"nodes":[
                {"id":1,"tag":"body"}
              ]}
            ]}"#,
        );
        assert_eq!(
            roles,
            vec![
                (1, "generic"),
                (2, "-"),
                (10, "-"),
                (3, "generic"),
                (11, "-"),
                (4, "paragraph"),
                (5, "-"),
                (1, "generic"),
                (2, "link"),
                (6, "button"),
                (1, "generic"),
            ]
        );
        let ix = snap.index();
        assert_eq!(ix.frames.len(), 3);
        assert!(ix.frames[1].placed);
        assert_eq!(ix.frames[1].owner, Some(6));
        assert_eq!(ix.frames[1].origin, "https://b.example");
        assert!(!ix.frames[2].placed);
        // The link inside the iframe is inside the body of the top frame.
        assert!(ix.is_inside(0, 8));
        assert!(!ix.is_inside(9, 8));
        // The default slot got the unslotted paragraph, not its fallback text.
        assert_eq!(ix.kids(4), &[Flat::Node(5)]);
    }

    #[test]
    fn hidden_subtrees_leave_the_accessibility_tree() {
        let (snap, _) = index(
            r#"{"frames":[{"id":0,"origin":"o","url":"u","root":1,"nodes":[
                {"id":1,"tag":"body","kids":[2,3,4,5,8]},
                {"id":2,"tag":"div","attrs":{"aria-hidden":"true"},"kids":[6]},
                {"id":3,"tag":"div","hidden":true},
                {"id":4,"tag":"div","attrs":{"inert":""},"kids":[7]},
                {"id":5,"tag":"input","attrs":{"type":"hidden"}},
                {"id":6,"tag":"button"},
                {"id":7,"tag":"button"},
                {"id":8,"tag":"button","attrs":{"aria-hidden":"false"}}
            ]}]}"#,
        );
        let ix = snap.index();
        let excluded: Vec<u32> = (0..ix.len())
            .map(index_u32)
            .filter(|d| ix.entry(*d).excluded)
            .map(|d| ix.entry(d).node.id)
            .collect();
        assert_eq!(excluded, vec![2, 6, 3, 4, 7, 5]);
        assert_eq!(ix.by_role.get("button").map(Vec::len), Some(1));
    }

    #[test]
    fn a_modal_dialog_makes_the_rest_inert() {
        let (snap, _) = index(
            r#"{"frames":[{"id":0,"origin":"o","url":"u","root":1,"nodes":[
                {"id":1,"tag":"body","kids":[2,3]},
                {"id":2,"tag":"button"},
                {"id":3,"tag":"dialog","modal":true,"kids":[4]},
                {"id":4,"tag":"button"}
            ]}]}"#,
        );
        let ix = snap.index();
        let buttons = ix.by_role.get("button").cloned().unwrap_or_default();
        assert_eq!(buttons.len(), 1);
        assert_eq!(ix.entry(buttons[0]).node.id, 4);
        assert!(ix.entry(1).inert);
    }

    #[test]
    fn labels_and_ids_stay_in_their_tree_scope() {
        let (snap, _) = index(
            r#"{"frames":[{"id":0,"origin":"o","url":"u","root":1,"nodes":[
                {"id":1,"tag":"body","kids":[2,3,4]},
                {"id":2,"tag":"label","attrs":{"for":"q"},"kids":["Query"]},
                {"id":3,"tag":"input","attrs":{"id":"q"}},
                {"id":4,"tag":"x-field","shadow":[5,6]},
                {"id":5,"tag":"label","attrs":{"for":"q"},"kids":["Inner"]},
                {"id":6,"tag":"input","attrs":{"id":"q"}}
            ]}]}"#,
        );
        let ix = snap.index();
        assert_eq!(ix.labels_of(2), &[1]);
        assert_eq!(ix.labels_of(5), &[4]);
        assert_eq!(ix.by_id(ScopeId::Doc(0), "q"), Some(2));
        assert_eq!(ix.by_id(ScopeId::Shadow(3), "q"), Some(5));
    }
}
