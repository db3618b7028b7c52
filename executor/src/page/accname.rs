//! Accessible names, after the essentials of W3C accname 1.2 and HTML-AAM.
//!
//! For the element being named (the root of the computation), in order:
//! 1. `aria-labelledby`: the referenced elements' names, computed even when they are hidden,
//!    joined by spaces; never followed twice (a reference inside a reference is ignored);
//! 2. `aria-label`;
//! 3. the host language: `<label>` elements (by `for`, or wrapping), `alt` of images and
//!    image buttons, the value of `<input type=button|submit|reset>` (or "Submit"/"Reset"),
//!    `<legend>` of a fieldset, `<caption>` of a table, `<figcaption>`, `<title>` of an svg,
//!    `label` of an option or optgroup;
//! 4. name from content, for roles that allow it (button, link, heading, cell, option …):
//!    text runs and the names of child elements in order, block-level children set apart by
//!    spaces, hidden children left out; a text field or select inside contributes its value,
//!    a slider its value text;
//! 5. `title`; then, for text fields, `placeholder`.
//!
//! The result is whitespace-normalised and cut at [`MAX_NAME_CHARS`] characters. Not covered:
//! CSS generated content (`::before`/`::after`), `aria-owns`, and name from content crossing
//! into an iframe's document.

use super::limits::{MAX_DEPTH, MAX_NAME_CHARS, MAX_NODES};
use super::roles;
use super::text::normalize;
use super::tree::{Flat, Index};

/// How the element at hand is reached.
#[derive(Debug, Clone, Copy)]
struct Mode {
    /// The element whose name is asked for (not a descendant or a reference).
    root: bool,
    /// Inside an `aria-labelledby` traversal: references are not followed again.
    in_labelledby: bool,
    /// The traversal started at a hidden element: its hidden content counts.
    include_hidden: bool,
    /// The control whose label is being read: it does not name itself.
    skip: Option<u32>,
}

/// One name computation, with a budget so a hostile page (a label referencing the whole page
/// fifty times) cannot make it expensive.
struct Namer<'a> {
    ix: &'a Index,
    visits: usize,
}

/// Most elements one name computation may visit.
const MAX_VISITS: usize = MAX_NODES;

impl Index {
    /// The accessible name of the element, computed once per snapshot version.
    pub(crate) fn name(&self, d: u32) -> &str {
        self.names
            .get(d as usize)
            .map_or("", |cell| cell.get_or_init(|| compute(self, d).into()))
    }
}

/// Computes the element's accessible name.
pub(crate) fn compute(ix: &Index, d: u32) -> String {
    let mut namer = Namer { ix, visits: 0 };
    let mode = Mode {
        root: true,
        in_labelledby: false,
        include_hidden: false,
        skip: None,
    };
    let name = normalize(&namer.step(d, mode, 0));
    match name.char_indices().nth(MAX_NAME_CHARS) {
        Some((cut, _)) => name[..cut].trim_end().to_owned(),
        None => name,
    }
}

fn nonempty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

impl Namer<'_> {
    fn step(&mut self, d: u32, mode: Mode, depth: usize) -> String {
        self.visits += 1;
        if depth > MAX_DEPTH || self.visits > MAX_VISITS {
            return String::new();
        }
        let ix = self.ix;
        let e = ix.entry(d);
        let node = &e.node;
        if !mode.root && !mode.include_hidden && e.excluded {
            return String::new();
        }
        if !mode.in_labelledby {
            if let Some(ids) = node.attr("aria-labelledby") {
                let mut parts = Vec::new();
                for id in ids.split_ascii_whitespace() {
                    if let Some(r) = ix.by_id(e.scope, id) {
                        let sub = Mode {
                            root: false,
                            in_labelledby: true,
                            include_hidden: ix.entry(r).excluded,
                            skip: None,
                        };
                        parts.push(normalize(&self.step(r, sub, depth + 1)));
                    }
                }
                let joined = parts
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                if !joined.is_empty() {
                    return joined;
                }
            }
        }
        if !mode.root && roles::is_embedded_control(e.role) {
            return self.embedded_value(d, mode, depth);
        }
        if let Some(label) = nonempty(node.attr("aria-label")) {
            return label.to_owned();
        }
        if let Some(native) = self.native(d, mode, depth) {
            if !native.trim().is_empty() {
                return native;
            }
        }
        if !mode.root || mode.in_labelledby || roles::name_from_content(e.role) {
            let content = self.content(d, mode, depth);
            if !content.trim().is_empty() {
                return content;
            }
        }
        if let Some(title) = nonempty(node.attr("title")) {
            return title.to_owned();
        }
        if mode.root && matches!(node.tag.as_str(), "input" | "textarea") {
            if let Some(p) = nonempty(node.attr("placeholder"))
                .or_else(|| nonempty(node.attr("aria-placeholder")))
            {
                return p.to_owned();
            }
        }
        String::new()
    }

    /// Text runs and child names in order.
    fn content(&mut self, d: u32, mode: Mode, depth: usize) -> String {
        let ix = self.ix;
        let mut out = String::new();
        for item in ix.kids(d) {
            if out.len() > MAX_NAME_CHARS * 4 {
                break;
            }
            match *item {
                Flat::Text(a, b) => out.push_str(ix.text_of(a, b)),
                Flat::Node(c) => {
                    let child = ix.entry(c);
                    if Some(c) == mode.skip || (!mode.include_hidden && child.excluded) {
                        continue;
                    }
                    if child.node.tag == "br" {
                        out.push(' ');
                        continue;
                    }
                    let block = !ix.is_inline(c);
                    if block {
                        out.push(' ');
                    }
                    let sub = Mode {
                        root: false,
                        ..mode
                    };
                    out.push_str(&self.step(c, sub, depth + 1));
                    if block {
                        out.push(' ');
                    }
                }
                Flat::Frame(_) => {}
            }
        }
        out
    }

    /// The host language's own naming: labels, alt, legend, caption …
    fn native(&mut self, d: u32, mode: Mode, depth: usize) -> Option<String> {
        let ix = self.ix;
        let node = &ix.entry(d).node;
        let first_child = |namer: &mut Self, tag: &str| -> Option<String> {
            let c = ix.element_kids(d).find(|c| ix.entry(*c).node.tag == tag)?;
            let sub = Mode {
                root: false,
                ..mode
            };
            Some(namer.content(c, sub, depth + 1))
        };
        match node.tag.as_str() {
            "input" => {
                let ty = node.input_type().unwrap_or_default();
                if let Some(labels) = self.labels(d, mode, depth) {
                    return Some(labels);
                }
                match ty.as_str() {
                    "button" | "submit" | "reset" => {
                        let value = node.attr("value").or(node.value.as_deref());
                        match (value, ty.as_str()) {
                            (Some(v), _) if !v.is_empty() => Some(v.to_owned()),
                            (_, "submit") => Some("Submit".to_owned()),
                            (_, "reset") => Some("Reset".to_owned()),
                            _ => None,
                        }
                    }
                    "image" => nonempty(node.attr("alt"))
                        .or_else(|| nonempty(node.attr("value")))
                        .or_else(|| nonempty(node.attr("title")))
                        .map(str::to_owned)
                        .or_else(|| Some("Submit".to_owned())),
                    _ => None,
                }
            }
            "button" | "textarea" | "select" | "meter" | "output" | "progress" => {
                self.labels(d, mode, depth)
            }
            "img" | "area" => node.attr("alt").map(str::to_owned),
            "fieldset" => first_child(self, "legend"),
            "table" => first_child(self, "caption"),
            "figure" => first_child(self, "figcaption"),
            "svg" => first_child(self, "title"),
            "option" | "optgroup" => node.attr("label").map(str::to_owned),
            _ => None,
        }
    }

    /// The text of the control's `<label>`s. Only for the element being named: a control met
    /// inside another name contributes its value instead, which also keeps two labels that
    /// contain each other's controls from looping.
    fn labels(&mut self, d: u32, mode: Mode, depth: usize) -> Option<String> {
        if !mode.root {
            return None;
        }
        let ix = self.ix;
        let mut parts = Vec::new();
        for &l in ix.labels_of(d) {
            let sub = Mode {
                root: false,
                in_labelledby: mode.in_labelledby,
                include_hidden: ix.entry(l).excluded,
                skip: Some(d),
            };
            let text = normalize(&self.content(l, sub, depth + 1));
            if !text.is_empty() {
                parts.push(text);
            }
        }
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// What a control inside a label or a referenced element stands for: its value.
    fn embedded_value(&mut self, d: u32, mode: Mode, depth: usize) -> String {
        let ix = self.ix;
        let e = ix.entry(d);
        let node = &e.node;
        match e.role {
            Some("textbox" | "searchbox") => node.value.clone().unwrap_or_default(),
            Some("combobox" | "listbox") if node.tag == "select" => {
                let mut chosen = Vec::new();
                let mut stack: Vec<u32> = ix.element_kids(d).collect();
                stack.reverse();
                while let Some(c) = stack.pop() {
                    let ce = ix.entry(c);
                    if ce.node.tag == "optgroup" {
                        let mut kids: Vec<u32> = ix.element_kids(c).collect();
                        kids.reverse();
                        stack.extend(kids);
                    } else if ce.node.tag == "option" && ce.node.selected {
                        let sub = Mode {
                            root: false,
                            ..mode
                        };
                        chosen.push(normalize(&self.content(c, sub, depth + 1)));
                    }
                }
                chosen.join(" ")
            }
            Some("combobox") if node.tag == "input" => node.value.clone().unwrap_or_default(),
            Some("slider" | "spinbutton" | "progressbar" | "scrollbar" | "meter") => {
                nonempty(node.attr("aria-valuetext"))
                    .or_else(|| nonempty(node.attr("aria-valuenow")))
                    .map(str::to_owned)
                    .or_else(|| node.value.clone())
                    .unwrap_or_default()
            }
            _ => {
                let sub = Mode {
                    root: false,
                    ..mode
                };
                self.content(d, sub, depth + 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::page::snapshot::Snapshot;

    /// Names of the nodes with the given ids (frame 0), from a body's node list.
    fn names(nodes: &str, ids: &[u32]) -> Vec<String> {
        let json = format!(
            r#"{{"frames":[{{"id":0,"origin":"o","url":"u","root":1,"nodes":[{nodes}]}}]}}"#
        );
        let snap = Snapshot::from_json(&json).unwrap();
        let ix = snap.index();
        ids.iter()
            .map(|id| {
                let d = ix
                    .find(crate::page::snapshot::Handle {
                        frame: 0,
                        node: *id,
                    })
                    .unwrap();
                ix.name(d).to_owned()
            })
            .collect()
    }

    #[test]
    fn labelledby_joins_references_even_hidden_ones() {
        let got = names(
            r#"{"id":1,"tag":"body","kids":[2,3,4]},
               {"id":2,"tag":"span","attrs":{"id":"a"},"kids":["Billing"]},
               {"id":3,"tag":"span","attrs":{"id":"b"},"hidden":true,"kids":["Address"]},
               {"id":4,"tag":"input","attrs":{"aria-labelledby":"a  b missing","aria-label":"ignored"}}"#,
            &[4],
        );
        assert_eq!(got, vec!["Billing Address"]);
    }

    #[test]
    fn labelledby_is_not_followed_twice() {
        let got = names(
            r#"{"id":1,"tag":"body","kids":[2,3,4]},
               {"id":2,"tag":"span","attrs":{"id":"a"},"kids":["A"]},
               {"id":3,"tag":"span","attrs":{"id":"c","aria-labelledby":"a"},"kids":["Own text"]},
               {"id":4,"tag":"div","attrs":{"role":"button","aria-labelledby":"c"},"kids":["content"]}"#,
            &[4, 3],
        );
        // The button takes the span's own text; the span itself is named by its reference.
        assert_eq!(got, vec!["Own text", "A"]);
    }

    #[test]
    fn host_language_labels() {
        let got = names(
            r#"{"id":1,"tag":"body","kids":[2,3,4,6,7,8,10,12,15,17,18]},
               {"id":2,"tag":"label","attrs":{"for":"email"},"kids":["E-mail ",20]},
               {"id":20,"tag":"abbr","kids":["*"]},
               {"id":3,"tag":"input","attrs":{"id":"email","type":"email"}},
               {"id":4,"tag":"label","kids":["Remember me ",5]},
               {"id":5,"tag":"input","attrs":{"type":"checkbox"}},
               {"id":6,"tag":"img","attrs":{"alt":"Company logo"}},
               {"id":7,"tag":"input","attrs":{"type":"image","alt":"Search"}},
               {"id":8,"tag":"fieldset","kids":[9]},
               {"id":9,"tag":"legend","kids":["Shipping"]},
               {"id":10,"tag":"table","kids":[11]},
               {"id":11,"tag":"caption","kids":["Results"]},
               {"id":12,"tag":"div","kids":[13,14]},
               {"id":13,"tag":"input","attrs":{"type":"submit"}},
               {"id":14,"tag":"input","attrs":{"type":"reset","value":"Clear all"}},
               {"id":15,"tag":"input","attrs":{"title":"Search the shop","placeholder":"Type here"}},
               {"id":17,"tag":"input","attrs":{"placeholder":"Type here"}},
               {"id":18,"tag":"textarea","attrs":{"aria-label":"Comment","placeholder":"p"}}"#,
            &[3, 5, 6, 7, 8, 10, 13, 14, 15, 17, 18],
        );
        assert_eq!(
            got,
            vec![
                "E-mail *",
                "Remember me",
                "Company logo",
                "Search",
                "Shipping",
                "Results",
                "Submit",
                "Clear all",
                "Search the shop",
                "Type here",
                "Comment",
            ]
        );
    }

    #[test]
    fn name_from_content_recurses_and_skips_hidden_parts() {
        let got = names(
            r#"{"id":1,"tag":"body","kids":[2,6,9,12]},
               {"id":2,"tag":"button","kids":["Add ",3," to ",4,5]},
               {"id":3,"tag":"b","kids":["2"]},
               {"id":4,"tag":"span","attrs":{"aria-label":"shopping cart"},"kids":["🛒"]},
               {"id":5,"tag":"span","attrs":{"aria-hidden":"true"},"kids":[" (icon)"]},
               {"id":6,"tag":"a","attrs":{"href":""},"kids":[7,8]},
               {"id":7,"tag":"img","attrs":{"alt":"Home"}},
               {"id":8,"tag":"span","hidden":true,"kids":["page"]},
               {"id":9,"tag":"h2","kids":[10,11]},
               {"id":10,"tag":"div","kids":["Your"]},
               {"id":11,"tag":"div","kids":["order"]},
               {"id":12,"tag":"div","kids":["not a button"]}"#,
            &[2, 6, 9, 12],
        );
        assert_eq!(
            got,
            vec!["Add 2 to shopping cart", "Home", "Your order", ""]
        );
    }

    #[test]
    fn embedded_controls_inside_labels_give_their_value() {
        let got = names(
            r#"{"id":1,"tag":"body","kids":[2,7,8,9]},
               {"id":2,"tag":"label","attrs":{"id":"lab"},"kids":["Flavor ",3," amount ",6]},
               {"id":3,"tag":"select","kids":[4,5]},
               {"id":4,"tag":"option","kids":["vanilla"]},
               {"id":5,"tag":"option","selected":true,"kids":["chocolate"]},
               {"id":6,"tag":"input","attrs":{"type":"range","aria-valuetext":"three scoops"}},
               {"id":7,"tag":"button","attrs":{"aria-labelledby":"lab"}},
               {"id":8,"tag":"span","attrs":{"id":"l"},"kids":["Send ",10," copies"]},
               {"id":10,"tag":"input","attrs":{"type":"number"},"value":"5"},
               {"id":9,"tag":"button","attrs":{"aria-labelledby":"l"}}"#,
            &[3, 7, 9],
        );
        assert_eq!(
            got,
            vec![
                "Flavor amount three scoops",
                "Flavor chocolate amount three scoops",
                "Send 5 copies"
            ]
        );
    }

    #[test]
    fn redacted_values_never_reach_a_name() {
        let got = names(
            r#"{"id":1,"tag":"body","kids":[2,4]},
               {"id":2,"tag":"span","attrs":{"id":"l"},"kids":["PIN ",3]},
               {"id":3,"tag":"input","attrs":{"type":"password"},"value":"1234"},
               {"id":4,"tag":"button","attrs":{"aria-labelledby":"l"}}"#,
            &[4],
        );
        assert_eq!(got, vec!["PIN"]);
    }

    #[test]
    fn names_are_cut_at_the_limit() {
        let long = "word ".repeat(400);
        let got = names(
            &format!(
                r#"{{"id":1,"tag":"body","kids":[2]}},{{"id":2,"tag":"button","kids":["{long}"]}}"#
            ),
            &[2],
        );
        assert!(got[0].chars().count() <= super::MAX_NAME_CHARS);
        assert!(got[0].starts_with("word word"));
        assert!(!got[0].ends_with(' '));
    }

    #[test]
    fn labels_that_hold_each_others_controls_do_not_loop() {
        let got = names(
            r#"{"id":1,"tag":"body","kids":[2,4]},
               {"id":2,"tag":"label","attrs":{"for":"b"},"kids":["A ",3]},
               {"id":3,"tag":"button","attrs":{"id":"a"},"kids":["one"]},
               {"id":4,"tag":"label","attrs":{"for":"a"},"kids":["B ",5]},
               {"id":5,"tag":"button","attrs":{"id":"b"},"kids":["two"]}"#,
            &[3, 5],
        );
        assert_eq!(got, vec!["B two", "A one"]);
    }
}
