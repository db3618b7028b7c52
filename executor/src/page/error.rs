//! Why a snapshot or an update was refused: each way distinct, typed, with a stable code and a
//! hint. After any of these the service worker asks the content script for a full snapshot.

use super::limits;
use serde::Serialize;
use std::fmt;

/// A bound of [`super::limits`] that a message went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    Nodes,
    Frames,
    Depth,
    Kids,
    Attrs,
    AttrChars,
    TextChars,
    TagChars,
    ValueChars,
    UrlChars,
    CssSelectors,
    SelectorChars,
}

impl Limit {
    /// The bound itself.
    pub fn max(self) -> usize {
        match self {
            Limit::Nodes => limits::MAX_NODES,
            Limit::Frames => limits::MAX_FRAMES,
            Limit::Depth => limits::MAX_DEPTH,
            Limit::Kids => limits::MAX_KIDS,
            Limit::Attrs => limits::MAX_ATTRS,
            Limit::AttrChars => limits::MAX_ATTR_CHARS,
            Limit::TextChars => limits::MAX_TEXT_CHARS,
            Limit::TagChars => limits::MAX_TAG_CHARS,
            Limit::ValueChars => limits::MAX_VALUE_CHARS,
            Limit::UrlChars => limits::MAX_URL_CHARS,
            Limit::CssSelectors => limits::MAX_CSS_SELECTORS,
            Limit::SelectorChars => limits::MAX_SELECTOR_CHARS,
        }
    }

    /// What is counted, in words: "12 nodes, more than the limit of 10".
    pub fn what(self) -> &'static str {
        match self {
            Limit::Nodes => "nodes",
            Limit::Frames => "frames",
            Limit::Depth => "levels of nesting",
            Limit::Kids => "children in one list",
            Limit::Attrs => "attributes on one node",
            Limit::AttrChars => "characters in one attribute",
            Limit::TextChars => "characters in one text run",
            Limit::TagChars => "characters in a tag name",
            Limit::ValueChars => "characters in a value",
            Limit::UrlChars => "characters in a url",
            Limit::CssSelectors => "css selectors in one frame",
            Limit::SelectorChars => "characters in a css selector",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what())
    }
}

/// Where in a snapshot a problem is: a frame, and a node in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct At {
    pub frame: u64,
    pub node: Option<u32>,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.node {
            Some(node) => write!(f, "node `{node}` of frame `{}`", self.frame),
            None => write!(f, "frame `{}`", self.frame),
        }
    }
}

/// Why a snapshot or an update was refused. A refused update leaves the snapshot as it was.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "kebab-case")]
pub enum SnapshotError {
    /// The JSON text is larger than [`limits::MAX_MESSAGE_BYTES`].
    #[error("the message is {bytes} bytes, more than the limit of {max} bytes")]
    MessageTooLarge { bytes: usize, max: usize },
    /// Not the documented JSON shape.
    #[error("the message is malformed at `{path}`: {message}")]
    Malformed { path: String, message: String },
    /// A count or a length went past one of the named limits.
    #[error("{} has {count} {limit}, more than the limit of {}", at.map_or_else(|| "the message".to_owned(), |a| a.to_string()), limit.max())]
    LimitExceeded {
        limit: Limit,
        count: usize,
        at: Option<At>,
    },
    /// Two nodes with the same id in one frame.
    #[error("{at} appears twice")]
    DuplicateNode { at: At },
    /// Two frames with the same id in one snapshot.
    #[error("frame `{frame}` appears twice")]
    DuplicateFrame { frame: u64 },
    /// An attribute given twice on one node.
    #[error("{at} has attribute `{name}` twice")]
    DuplicateAttr { at: At, name: String },
    /// An update for a frame the snapshot does not have.
    #[error("there is no frame `{frame}` to update")]
    UnknownFrame { frame: u64 },
    /// An update of a frame based on a snapshot the receiver does not hold (another
    /// document, another number, or no previous snapshot).
    #[error(
        "the update of frame `{frame}` is based on snapshot {base}, which is not the one held"
    )]
    StaleBase { frame: u64, base: u64 },
    /// The frame's root node is not among its nodes.
    #[error("{at} is the frame's root but is not among its nodes")]
    MissingRoot { at: At },
    /// A child id that names no node of the frame.
    #[error("{at} lists child `{child}`, which is not a node of the frame")]
    UnknownChild { at: At, child: u32 },
    /// A node listed as the child of two parents.
    #[error("{at} is a child of both `{first}` and `{second}`")]
    TwoParents { at: At, first: u32, second: u32 },
    /// A node that is its own ancestor, or the root listed as a child.
    #[error("{at} is its own ancestor")]
    Cycle { at: At },
    /// A node that cannot be reached from the frame's root.
    #[error("{at} is not reachable from the frame's root")]
    Unreachable { at: At },
    /// An update that removes the frame's root.
    #[error("{at} is the frame's root and cannot be removed")]
    RootRemoved { at: At },
    /// A tag name that is empty or not lowercase.
    #[error("{at} has tag `{tag}`, which is not a lowercase tag name")]
    BadTag { at: At, tag: String },
    /// A box or a point with a coordinate that is not a number, negative where it must not be,
    /// or beyond [`limits::MAX_COORD`].
    #[error("{at} has a box or point out of range")]
    BadGeometry { at: At },
    /// A node carrying a value together with `value_redacted`.
    #[error("{at} has a value but says it was redacted")]
    RedactedValue { at: At },
    /// Two frames without a parent.
    #[error("frames `{first}` and `{second}` both claim to be the top frame")]
    TwoTopFrames { first: u64, second: u64 },
    /// A frame that is its own ancestor.
    #[error("frame `{frame}` is its own ancestor")]
    FrameCycle { frame: u64 },
    /// A CSS result naming a node the frame does not have.
    #[error("css selector `{selector}` matches {at}, which is not in the snapshot")]
    UnknownCssNode { at: At, selector: String },
}

impl SnapshotError {
    /// The stable code, as in JSON.
    pub fn code(&self) -> &'static str {
        match self {
            SnapshotError::MessageTooLarge { .. } => "message-too-large",
            SnapshotError::Malformed { .. } => "malformed",
            SnapshotError::LimitExceeded { .. } => "limit-exceeded",
            SnapshotError::DuplicateNode { .. } => "duplicate-node",
            SnapshotError::DuplicateFrame { .. } => "duplicate-frame",
            SnapshotError::DuplicateAttr { .. } => "duplicate-attr",
            SnapshotError::UnknownFrame { .. } => "unknown-frame",
            SnapshotError::StaleBase { .. } => "stale-base",
            SnapshotError::MissingRoot { .. } => "missing-root",
            SnapshotError::UnknownChild { .. } => "unknown-child",
            SnapshotError::TwoParents { .. } => "two-parents",
            SnapshotError::Cycle { .. } => "cycle",
            SnapshotError::Unreachable { .. } => "unreachable",
            SnapshotError::RootRemoved { .. } => "root-removed",
            SnapshotError::BadTag { .. } => "bad-tag",
            SnapshotError::BadGeometry { .. } => "bad-geometry",
            SnapshotError::RedactedValue { .. } => "redacted-value",
            SnapshotError::TwoTopFrames { .. } => "two-top-frames",
            SnapshotError::FrameCycle { .. } => "frame-cycle",
            SnapshotError::UnknownCssNode { .. } => "unknown-css-node",
        }
    }

    /// What to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            SnapshotError::MessageTooLarge { .. } | SnapshotError::LimitExceeded { .. } => {
                "the content script must cut the snapshot to the limits and mark the frame `truncated`"
            }
            SnapshotError::UnknownFrame { .. } | SnapshotError::StaleBase { .. } => {
                "send the frame's full snapshot first"
            }
            SnapshotError::RootRemoved { .. } => {
                "a new document needs a full snapshot of the frame, not an update"
            }
            SnapshotError::TwoTopFrames { .. } => {
                "remove the old top frame before adding the new one"
            }
            SnapshotError::RedactedValue { .. } => {
                "the content script must never send the value of a redacted field"
            }
            _ => "the content script sent an inconsistent snapshot; ask it for a full snapshot",
        }
    }
}

/// An element as an error message lists it: role, name and where it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub role: String,
    /// The accessible name (or, when it has none, its visible text), cut to
    /// [`limits::MAX_CANDIDATE_NAME_CHARS`] characters: it comes from the page.
    pub name: String,
    pub frame_origin: String,
    /// In the top frame (an element in an iframe names its frame in messages).
    pub top_frame: bool,
    #[serde(rename = "box")]
    pub rect: Option<super::wire::Rect>,
    pub handle: super::snapshot::Handle,
    /// Why a near miss did not match (`"a link, not a button"`, `"outside dialog \"Terms\""`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.role, self.name)?;
        if let Some(r) = &self.rect {
            write!(f, " at ({:.0}, {:.0})", r.x, r.y)?;
        }
        if !self.top_frame {
            write!(f, " in frame {}", self.frame_origin)?;
        }
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

fn list(candidates: &[Candidate]) -> String {
    candidates
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn covered_by(by: &Option<Box<Candidate>>) -> String {
    match by {
        Some(c) => format!("{c}"),
        None => "another element".to_owned(),
    }
}

/// Why a target did not resolve to exactly one usable element. The executor never guesses:
/// each of these stops the step.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "kebab-case")]
pub enum ResolveError {
    /// No element matches; `near` lists near misses.
    #[error("no element matches `{target}`{}", if near.is_empty() { String::new() } else { format!("; near misses: {}", list(near)) })]
    NotFound {
        target: String,
        near: Vec<Candidate>,
    },
    /// Several elements match and the target has no `nth`.
    #[error("`{target}` matches {count} elements: {}{}", list(candidates), if *count > candidates.len() { " …" } else { "" })]
    Ambiguous {
        target: String,
        count: usize,
        candidates: Vec<Candidate>,
    },
    /// `nth N` with fewer than N matches.
    #[error("`{target}` matches {count} elements, so there is no number {nth}")]
    NthOutOfRange {
        target: String,
        nth: u64,
        count: usize,
        candidates: Vec<Candidate>,
    },
    /// The one match is not visible (no box, transparent, `visibility: hidden`, in a hidden
    /// frame), so it cannot be acted on.
    #[error("`{target}` is not visible: {candidate}")]
    Hidden {
        target: String,
        candidate: Box<Candidate>,
    },
    /// The one match is disabled.
    #[error("`{target}` is disabled: {candidate}")]
    Disabled {
        target: String,
        candidate: Box<Candidate>,
    },
    /// The one match is inert (under `inert`, or outside an open modal dialog).
    #[error("`{target}` is inert: {candidate}")]
    Inert {
        target: String,
        candidate: Box<Candidate>,
    },
    /// Something else is on top of the match at its click point.
    #[error("`{target}` is covered by {}: {candidate}", covered_by(by))]
    Covered {
        target: String,
        candidate: Box<Candidate>,
        by: Option<Box<Candidate>>,
    },
    /// The match is in a frame whose place in the page (its `<iframe>`) is unknown, so its
    /// visibility cannot be checked.
    #[error("`{target}` is in frame `{}`, whose place in the page is unknown", candidate.frame_origin)]
    Unplaced {
        target: String,
        candidate: Box<Candidate>,
    },
    /// A frame the target could match in was cut at the snapshot's limits, so a single match
    /// cannot be shown to be the only one.
    #[error("the page in frame `{origin}` is larger than the snapshot limit, so `{target}` cannot be shown to match exactly one element")]
    Truncated { target: String, origin: String },
    /// A `css` target whose selector the content script did not evaluate.
    #[error("css selector `{selector}` was not evaluated in frame `{origin}`")]
    CssNotQueried { selector: String, origin: String },
    /// A name matcher's regular expression that does not compile within the limits.
    #[error("invalid regular expression `/{pattern}/{flags}`: {message}")]
    BadRegex {
        pattern: String,
        flags: String,
        message: String,
    },
    /// A role word that is not an ARIA role.
    #[error("unknown role `{role}`")]
    UnknownRole { role: String },
    /// A name interpolates a variable that has no value.
    #[error("`{{{name}}}` has no value")]
    UnknownVariable { name: String },
    /// The element decided on is no longer in the page.
    #[error("the element decided on (node `{}` of frame `{}`) is gone", handle.node, handle.frame)]
    Gone { handle: super::snapshot::Handle },
    /// The element decided on changed role, name, frame or place since the decision.
    #[error("the element decided on changed since the decision: now {now}")]
    Changed { now: Box<Candidate> },
}

impl ResolveError {
    /// The stable code, as in JSON.
    pub fn code(&self) -> &'static str {
        match self {
            ResolveError::NotFound { .. } => "not-found",
            ResolveError::Ambiguous { .. } => "ambiguous",
            ResolveError::NthOutOfRange { .. } => "nth-out-of-range",
            ResolveError::Hidden { .. } => "hidden",
            ResolveError::Disabled { .. } => "disabled",
            ResolveError::Inert { .. } => "inert",
            ResolveError::Covered { .. } => "covered",
            ResolveError::Unplaced { .. } => "unplaced",
            ResolveError::Truncated { .. } => "truncated",
            ResolveError::CssNotQueried { .. } => "css-not-queried",
            ResolveError::BadRegex { .. } => "bad-regex",
            ResolveError::UnknownRole { .. } => "unknown-role",
            ResolveError::UnknownVariable { .. } => "unknown-variable",
            ResolveError::Gone { .. } => "gone",
            ResolveError::Changed { .. } => "changed",
        }
    }

    /// What to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            ResolveError::NotFound { .. } => {
                "check the role and name against the near misses, or wait for the element first"
            }
            ResolveError::Ambiguous { .. } => {
                "narrow the target with `in <container>` or pick one with `nth N`"
            }
            ResolveError::NthOutOfRange { .. } => "pick a number within the count of matches",
            ResolveError::Hidden { .. } => {
                "wait for the element to be visible, or scroll or open what hides it"
            }
            ResolveError::Disabled { .. } => "wait for the element to be enabled",
            ResolveError::Inert { .. } => "close the dialog in front of it first",
            ResolveError::Covered { .. } => {
                "close or dismiss what covers the element, then try again"
            }
            ResolveError::Unplaced { .. } => {
                "the service worker must report the frame's owner element in the snapshot"
            }
            ResolveError::Truncated { .. } => "narrow the target with `in frame` or a container",
            ResolveError::CssNotQueried { .. } => {
                "ask the content script for the selector's matches with the snapshot"
            }
            ResolveError::BadRegex { .. } => "simplify the regular expression",
            ResolveError::UnknownRole { .. } => "use an ARIA role such as `button` or `link`",
            ResolveError::UnknownVariable { .. } => "set the variable before this step",
            ResolveError::Gone { .. } | ResolveError::Changed { .. } => {
                "the page changed after the decision; resolve and decide again"
            }
        }
    }

    /// The candidates as lines, for the engine's `not-found`/`ambiguous` responses.
    pub fn candidate_lines(&self) -> Vec<String> {
        let list: &[Candidate] = match self {
            ResolveError::NotFound { near, .. } => near,
            ResolveError::Ambiguous { candidates, .. }
            | ResolveError::NthOutOfRange { candidates, .. } => candidates,
            ResolveError::Hidden { candidate, .. }
            | ResolveError::Disabled { candidate, .. }
            | ResolveError::Inert { candidate, .. }
            | ResolveError::Covered { candidate, .. }
            | ResolveError::Unplaced { candidate, .. }
            | ResolveError::Changed { now: candidate } => std::slice::from_ref(&**candidate),
            _ => &[],
        };
        list.iter().map(ToString::to_string).collect()
    }
}
