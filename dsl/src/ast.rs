//! The typed syntax tree of a Bridle script: what the parser produces and everything else reads.
//!
//! The tree keeps every line of the source, comments included, so that the formatter can print
//! a script back without losing anything. Each node carries the byte [`Span`] it came from, so
//! every later diagnostic can point at the source.

use serde::{Deserialize, Serialize};

/// A byte range `start..end` in the script's source.
///
/// Spans never take part in equality: two trees are equal when they mean the same, wherever
/// their nodes stood in the source. This is what makes `parse(fmt(ast)) == ast` a meaningful
/// round-trip property.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span that covers both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl PartialEq for Span {
    fn eq(&self, _other: &Span) -> bool {
        true
    }
}

/// A node with the span it was parsed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

/// A whole script: every top-level line in source order.
///
/// The header (`bridle 1`, `goal`, `origins`) and the declarations (`param`, `secret`) are
/// lines like any other here; the checker enforces where they may stand and exposes them as
/// typed fields of a checked script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Script {
    pub lines: Vec<Line>,
}

/// One line of a block or of the top level.
#[allow(
    clippy::large_enum_variant,
    reason = "a tree is built once per script; boxing would add an allocation per node and a deref to every match (an allow, not an expect: the lint does not fire on 32-bit wasm)"
)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Line {
    /// A line holding only a comment; the text is what follows `#`, trailing whitespace
    /// dropped so the canonical form is stable.
    Comment(Spanned<String>),
    /// An empty line; runs of them are kept as one so the formatter can keep paragraphs.
    Blank(Span),
    /// A statement, with the comment that ended its line, if any.
    Stmt(Stmt),
}

/// A statement and the comment that trails it on the same line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
    /// Text after `#` on the statement's last line.
    pub comment: Option<String>,
}

/// Every statement form of language version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StmtKind {
    // ---- header and declarations ----
    /// `bridle 1`
    Version(Spanned<u64>),
    /// `goal "…"` (the planner's claim, shown to the user as such)
    Goal(Str),
    /// `origins "https://a.example", "https://b.example"`
    Origins(Vec<Spanned<String>>),
    /// `param name: text = "default"`
    Param {
        name: Ident,
        ty: Spanned<ParamType>,
        default: Option<Expr>,
    },
    /// `secret name = "vault entry"`
    Secret {
        name: Ident,
        entry: Spanned<String>,
    },

    // ---- navigation ----
    /// `navigate "<url>"`
    Navigate(Str),
    Back,
    Forward,
    Reload,
    /// `open tab "<url>"`
    OpenTab(Str),
    /// `switch tab ~"<title or url part>"`
    SwitchTab(Matcher),
    CloseTab,

    // ---- interaction ----
    Click(Target),
    /// `fill <target> with <value>`
    Fill {
        target: Target,
        value: Expr,
    },
    Clear(Target),
    /// `select <target> option "<label>"`
    Select {
        target: Target,
        option: Str,
    },
    Check(Target),
    Uncheck(Target),
    Hover(Target),
    /// `press "<key>" [on <target>]`
    Press {
        key: Str,
        on: Option<Target>,
    },
    /// `scroll to <target>`
    ScrollTo(Target),
    Submit(Target),
    Upload(Target),

    // ---- values, waits and checks ----
    /// `let name = <value>`
    Let {
        name: Ident,
        value: Expr,
    },
    Wait(Wait),
    Assert(Cond),

    // ---- bounded control flow ----
    /// `if <cond> { … } [else { … }]`
    If {
        cond: Cond,
        then: Block,
        otherwise: Option<Block>,
    },
    /// `repeat at most N until <cond> { … }`
    Repeat {
        max: Spanned<u64>,
        until: Cond,
        body: Block,
    },
    /// `for each item in <list> at most N { … }`
    ForEach {
        item: Ident,
        list: Expr,
        max: Spanned<u64>,
        body: Block,
    },

    // ---- people in the loop ----
    Confirm(Str),
    Handoff(Str),
    Note(Str),

    /// A job for the native host, run for its effect (its output discarded).
    Job(Job),
    /// `return <value>`
    Return(Expr),
}

/// A `{ … }` block of lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub lines: Vec<Line>,
    pub span: Span,
}

/// A variable or parameter name.
pub type Ident = Spanned<String>;

/// The declared type of a `param`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamType {
    Text,
    Number,
    Bool,
}

/// A string literal, possibly interpolating variables: `"…{name}…{item.price}…"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Str {
    pub parts: Vec<StrPart>,
    pub span: Span,
}

impl Str {
    /// The literal text when nothing is interpolated.
    pub fn as_literal(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                StrPart::Lit(text) => out.push_str(text),
                StrPart::Var(_) => return None,
            }
        }
        Some(out)
    }
}

/// A piece of a string literal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StrPart {
    /// Literal text, escapes already decoded.
    Lit(String),
    /// `{name}` or `{name.field}`
    Var(VarPath),
}

/// A variable, possibly with record fields: `item.price`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarPath {
    pub name: Ident,
    pub fields: Vec<Ident>,
}

impl VarPath {
    pub fn span(&self) -> Span {
        self.fields
            .last()
            .map_or(self.name.span, |f| self.name.span.to(f.span))
    }
}

/// How a target's accessible name (or a tab's title) is matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Matcher {
    /// `"Add to cart"`: whitespace-normalised, case-sensitive equality.
    Exact(Str),
    /// `~"USB-C cable"`: case-insensitive containment.
    Contains(Str),
    /// `/^E-?mail$/i`: a regular expression over the name.
    Regex(Regex),
}

impl Matcher {
    pub fn span(&self) -> Span {
        match self {
            Matcher::Exact(s) | Matcher::Contains(s) => s.span,
            Matcher::Regex(r) => r.span,
        }
    }
}

/// A regular-expression literal `/pattern/flags`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regex {
    /// The pattern as written between the slashes, with `\/` already turned into `/`.
    pub pattern: String,
    /// Flags after the closing slash, from `i`, `m` and `s`.
    pub flags: String,
    pub span: Span,
}

/// How a step names an element: a role and name, text, or a CSS selector, optionally scoped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub base: TargetBase,
    /// `in <role> [name]` containers, innermost first.
    pub scopes: Vec<Scope>,
    /// `in frame "<origin>"`
    pub frame: Option<Spanned<String>>,
    /// `nth N` (1-based)
    pub nth: Option<Spanned<u64>>,
    pub span: Span,
}

/// The element a target names before scoping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TargetBase {
    /// `button "Add to cart"`, `row ~"USB-C"`, or a bare role such as `row`.
    Role {
        role: Spanned<String>,
        name: Option<Matcher>,
    },
    /// `text "Free shipping"`: any element whose visible text matches.
    Text(Matcher),
    /// `css "#price"`: a selector, lower trust.
    Css(Spanned<String>),
}

/// A container a target is scoped to: `in dialog "Terms"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    pub role: Spanned<String>,
    pub name: Option<Matcher>,
    pub span: Span,
}

/// A value: a literal, a variable, an observation of the page, or a job's output.
#[allow(
    clippy::large_enum_variant,
    reason = "a tree is built once per script; boxing would add an allocation per node and a deref to every match (an allow, not an expect: the lint does not fire on 32-bit wasm)"
)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    Str(Str),
    Number(Spanned<f64>),
    Bool(Spanned<bool>),
    Var(VarPath),
    Observe(Spanned<Observation>),
    /// `job "python3" … <<< … >>>`; only as the value of `let`.
    Job(Box<Job>),
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Str(s) => s.span,
            Expr::Number(n) => n.span,
            Expr::Bool(b) => b.span,
            Expr::Var(v) => v.span(),
            Expr::Observe(o) => o.span,
            Expr::Job(j) => j.span,
        }
    }
}

/// Something read from the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Observation {
    /// `text of <target>`
    TextOf(Target),
    /// `value of <target>`
    ValueOf(Target),
    /// `attribute "href" of <target>`
    Attribute { name: Str, target: Target },
    /// `table <target>`: a list of records keyed by column header
    Table(Target),
    /// `count of <target>`
    CountOf(Target),
    /// `url`
    Url,
    /// `title`
    Title,
}

/// The forms of `wait`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Wait {
    /// `wait for <target> to be <state> [timeout D]`
    For {
        target: Target,
        state: Spanned<WaitState>,
        timeout: Option<Spanned<Duration>>,
    },
    /// `wait for url matches "<glob>" [timeout D]`
    Url {
        glob: Str,
        timeout: Option<Spanned<Duration>>,
    },
    /// `wait for idle [timeout D]`
    Idle { timeout: Option<Spanned<Duration>> },
    /// `wait 500ms`
    Pause(Spanned<Duration>),
}

/// The element states a `wait for` can wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaitState {
    Visible,
    Enabled,
    Hidden,
    Gone,
}

/// A condition of `if`, `repeat … until` and `assert`.
#[allow(
    clippy::large_enum_variant,
    reason = "a tree is built once per script; boxing would add an allocation per node and a deref to every match (an allow, not an expect: the lint does not fire on 32-bit wasm)"
)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Cond {
    /// `exists <target>`
    Exists(Target),
    /// `visible <target>`
    Visible(Target),
    /// `url matches "<glob>"`
    UrlMatches(Str),
    /// `<value> <op> <value>`
    Compare {
        left: Expr,
        op: Spanned<CompareOp>,
        right: Expr,
    },
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    /// `( … )`, kept so the formatter prints what the author grouped.
    Group(Box<Cond>),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompareOp {
    Contains,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A job for the native host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// `"python3"`, `"sh"`, `"node"`
    pub runtime: Spanned<String>,
    pub sandbox: Option<Spanned<SandboxTier>>,
    pub timeout: Option<Spanned<Duration>>,
    pub memory: Option<Spanned<Size>>,
    /// `input <value>`: passed to the job on standard input as JSON.
    pub input: Option<Expr>,
    /// The lines between `<<<` and `>>>`, joined with `\n`, exactly as written.
    pub code: Spanned<String>,
    pub span: Span,
}

/// Sandbox tiers, weakest first, so `Ord` compares their strength.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SandboxTier {
    Container,
    Microvm,
}

/// A duration in milliseconds, written `500ms`, `5s`, `2m` or `1h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Duration {
    pub millis: u64,
}

/// A size in bytes, written `512KB`, `256MB`, `1GB` (binary multiples: 1 KB = 1024 B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Size {
    pub bytes: u64,
}
