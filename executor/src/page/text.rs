//! Visible text of every element, for `text "…"` targets, and the whitespace rules names and
//! texts share.
//!
//! An element's visible text is all the rendered text inside it, in order, with block-level
//! elements separated by a space and whitespace collapsed. Instead of building a string per
//! element (quadratic in the depth), the whole document is written once into one collapsed
//! string, and each element keeps the byte range its text occupies: the trimmed range is its
//! normalised text. A lowercase copy with its own ranges serves case-insensitive matching.

use super::tree::{Flat, Index};

/// Collapses every run of whitespace (Unicode's, so no-break spaces too) to one space and
/// trims both ends.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The collapsed document text and each element's range in it.
#[derive(Debug, Clone, Default)]
pub(crate) struct TextIndex {
    text: String,
    lower: String,
    ranges: Vec<[u32; 4]>,
}

struct Writer {
    text: String,
    lower: String,
    pending_space: bool,
}

impl Writer {
    fn space(&mut self) {
        self.pending_space = true;
    }

    fn push(&mut self, s: &str) {
        for ch in s.chars() {
            if ch.is_whitespace() {
                self.pending_space = true;
                continue;
            }
            if self.pending_space && !self.text.is_empty() {
                self.text.push(' ');
                self.lower.push(' ');
            }
            self.pending_space = false;
            self.text.push(ch);
            self.lower.extend(ch.to_lowercase());
        }
    }

    fn at(&self) -> [u32; 2] {
        [to_u32(self.text.len()), to_u32(self.lower.len())]
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl TextIndex {
    /// Writes every frame's rendered text. Frames are separate documents: an iframe's text is
    /// not part of its owner's.
    pub(crate) fn build(ix: &Index) -> TextIndex {
        let n = ix.len();
        let mut w = Writer {
            text: String::new(),
            lower: String::new(),
            pending_space: false,
        };
        let mut ranges = vec![[0u32; 4]; n];
        for root in 0..to_u32(n) {
            let e = ix.entry(root);
            let is_root = e.parent.is_none_or(|p| ix.entry(p).frame != e.frame);
            if !is_root || !e.rendered {
                continue;
            }
            // Separate documents from each other.
            w.space();
            let mut stack: Vec<(u32, usize)> = vec![(root, 0)];
            let [s, sl] = w.at();
            ranges[root as usize][0] = s;
            ranges[root as usize][2] = sl;
            while let Some(top) = stack.last_mut() {
                let (d, pos) = *top;
                let kids = ix.kids(d);
                if let Some(item) = kids.get(pos) {
                    top.1 += 1;
                    match *item {
                        Flat::Text(a, b) => w.push(ix.text_of(a, b)),
                        Flat::Node(c) if ix.entry(c).rendered => {
                            if !ix.is_inline(c) {
                                w.space();
                            }
                            let [s, sl] = w.at();
                            ranges[c as usize][0] = s;
                            ranges[c as usize][2] = sl;
                            stack.push((c, 0));
                        }
                        Flat::Node(c) if ix.entry(c).node.tag == "br" => w.space(),
                        Flat::Node(_) | Flat::Frame(_) => {}
                    }
                } else {
                    let [e, el] = w.at();
                    ranges[d as usize][1] = e;
                    ranges[d as usize][3] = el;
                    if !ix.is_inline(d) {
                        w.space();
                    }
                    stack.pop();
                }
            }
        }
        TextIndex {
            text: w.text,
            lower: w.lower,
            ranges,
        }
    }

    /// The element's normalised visible text.
    pub(crate) fn text(&self, d: u32) -> &str {
        let [s, e, _, _] = self.ranges.get(d as usize).copied().unwrap_or_default();
        self.text.get(s as usize..e as usize).unwrap_or("").trim()
    }

    /// The same, lowercased.
    pub(crate) fn lower(&self, d: u32) -> &str {
        let [_, _, s, e] = self.ranges.get(d as usize).copied().unwrap_or_default();
        self.lower.get(s as usize..e as usize).unwrap_or("").trim()
    }
}

impl Index {
    /// The visible-text index, built on first use.
    pub(crate) fn texts(&self) -> &TextIndex {
        self.text.get_or_init(|| TextIndex::build(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::snapshot::Snapshot;

    #[test]
    fn normalize_collapses_and_trims() {
        assert_eq!(normalize("  Add\n\t to\u{a0}cart  "), "Add to cart");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \n "), "");
    }

    #[test]
    fn every_element_knows_its_visible_text() {
        let snap = Snapshot::from_json(
            r#"{"frames":[{"id":0,"origin":"o","url":"u","root":1,"nodes":[
                {"id":1,"tag":"body","kids":[2,5,6,8]},
                {"id":2,"tag":"p","kids":["Free ",3," shipping",4]},
                {"id":3,"tag":"b","kids":["ÉXPRESS"]},
                {"id":4,"tag":"span","hidden":true,"kids":["secret"]},
                {"id":5,"tag":"div","kids":["Block"]},
                {"id":6,"tag":"div","kids":["a",7,"b"]},
                {"id":7,"tag":"br"},
                {"id":8,"tag":"span","kids":["tail"]}
            ]}]}"#,
        )
        .unwrap();
        let ix = snap.index();
        let t = ix.texts();
        assert_eq!(t.text(1), "Free ÉXPRESS shipping");
        assert_eq!(t.lower(1), "free éxpress shipping");
        assert_eq!(t.text(2), "ÉXPRESS");
        assert_eq!(t.text(3), "");
        assert_eq!(t.text(5), "a b");
        assert_eq!(t.text(0), "Free ÉXPRESS shipping Block a b tail");
    }
}
