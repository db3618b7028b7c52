//! The checker's state while it walks a script: diagnostics, the variables in scope, the
//! counters behind the statement limits, and the steps built so far.

use super::urls::OriginError;
use super::{CheckOptions, ParamDecl, SecretDecl, Step};
use crate::ast::{Ident, Script, Span};
use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::limits::MAX_DIAGNOSTICS;
use std::collections::HashMap;

/// The type of a value. Records only come from `for each` over a table, and their fields are
/// text; lists are always lists of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Text,
    Number,
    Bool,
    List,
    Record,
}

impl Ty {
    /// The type with its article, as messages use it: "is text", "is a number".
    pub(crate) fn described(self) -> &'static str {
        match self {
            Ty::Text => "text",
            Ty::Number => "a number",
            Ty::Bool => "a bool",
            Ty::List => "a list",
            Ty::Record => "a record",
        }
    }
}

/// What kind of declaration introduced a name; all kinds share one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarKind {
    Param,
    Secret,
    Let,
    Item,
}

impl VarKind {
    fn described(self) -> &'static str {
        match self {
            VarKind::Param => "a param",
            VarKind::Secret => "a secret",
            VarKind::Let => "a variable",
            VarKind::Item => "a loop item",
        }
    }
}

/// A name in scope.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Var {
    /// `None` when the declaring statement had an error that hid the type.
    pub ty: Option<Ty>,
    pub kind: VarKind,
    /// Where the name was declared, for "already defined on line N".
    pub span: Span,
    /// The value derives from an observation of a page (or a job's output).
    pub observed: bool,
}

/// What the checker knows about a value after checking it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Val<'a> {
    /// `None` when a diagnostic already explained what is wrong with the value, so no second
    /// diagnostic piles onto the same mistake.
    pub ty: Option<Ty>,
    pub observed: bool,
    /// The secret's name when the value is a whole secret (only allowed for `fill`).
    pub secret: Option<&'a str>,
}

impl<'a> Val<'a> {
    pub(crate) fn of(ty: Ty, observed: bool) -> Self {
        Val {
            ty: Some(ty),
            observed,
            secret: None,
        }
    }

    pub(crate) fn unknown() -> Self {
        Val::default()
    }
}

/// The checker's results when nothing is wrong.
#[derive(Debug)]
pub(crate) struct Parts {
    pub goal: String,
    pub origins: Vec<String>,
    pub params: Vec<ParamDecl>,
    pub secrets: Vec<SecretDecl>,
    pub steps: Vec<Step>,
    pub expanded_steps: u64,
}

#[derive(Debug)]
pub(crate) struct Checker<'a> {
    pub src: &'a str,
    /// The last offset whose line was asked for, and that line: steps come in source order,
    /// so counting newlines from there makes all line numbers cost one pass over the source.
    line_at: (usize, usize),
    pub options: &'a CheckOptions,
    diags: Vec<Diagnostic>,

    // ---- header and declarations ----
    pub goal: Option<String>,
    /// Normalised origins of the header.
    pub origins: Vec<String>,
    /// Every origin of the header is valid and the header has exactly one `origins` line, so
    /// a URL missing from `origins` is the URL's fault (otherwise the header's diagnostic is
    /// enough).
    pub origins_ok: bool,
    pub params: Vec<ParamDecl>,
    pub secrets: Vec<SecretDecl>,
    /// Regex parsers by flags (`m` is bit 0, `s` bit 1), built when first needed.
    pub regex_parsers: [Option<regex_syntax::Parser>; 4],
    /// The syntax-only regex parser, for patterns that translation cannot reject.
    pub regex_ast_parser: Option<regex_syntax::ast::parse::Parser>,
    /// Recently parsed origin texts and their answers (see `urls.rs`).
    pub origin_cache: Vec<(String, Result<String, OriginError>)>,

    // ---- scopes ----
    /// Every name in scope. Names never shadow, so one map serves all nested blocks.
    vars: HashMap<&'a str, Var>,
    /// The names each open block declared, innermost last; the top level is the first.
    scopes: Vec<Vec<&'a str>>,
    /// Names whose block has ended, for a better "undefined variable" help.
    ended: HashMap<&'a str, Span>,

    // ---- limits ----
    pub statements: usize,
    /// Step executions so far with every loop at its bound.
    pub expanded: u64,
    pub expanded_reported: bool,
    /// The product of the bounds of the loops around the current statement.
    pub multiplier: u64,
    /// Nesting of conditions (`not`, `and`, `or`, parentheses) around the current one.
    pub cond_depth: usize,
    pub cond_depth_reported: bool,

    // ---- steps ----
    pub steps: Vec<Step>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(src: &'a str, options: &'a CheckOptions) -> Self {
        Checker {
            src,
            line_at: (0, 1),
            options,
            diags: Vec::new(),
            goal: None,
            origins: Vec::new(),
            origins_ok: false,
            params: Vec::new(),
            secrets: Vec::new(),
            regex_parsers: Default::default(),
            regex_ast_parser: None,
            origin_cache: Vec::new(),
            vars: HashMap::new(),
            scopes: vec![Vec::new()],
            ended: HashMap::new(),
            statements: 0,
            expanded: 0,
            expanded_reported: false,
            multiplier: 1,
            cond_depth: 0,
            cond_depth_reported: false,
            steps: Vec::new(),
        }
    }

    /// Checks the whole script: the header first (it may stand anywhere, and later passes
    /// need `origins`), then every statement in order.
    pub(crate) fn run(&mut self, script: &'a Script) {
        // Nearly every top-level line is a step; blocks add a few more.
        self.steps.reserve(script.lines.len());
        self.header(script);
        self.lines_of_block(&script.lines, 0);
    }

    /// The diagnostics in source order, capped at [`MAX_DIAGNOSTICS`], or the results.
    pub(crate) fn finish(mut self) -> Result<Parts, Vec<Diagnostic>> {
        if self.diags.is_empty() {
            return Ok(Parts {
                goal: self.goal.unwrap_or_default(),
                origins: self.origins,
                params: self.params,
                secrets: self.secrets,
                steps: self.steps,
                expanded_steps: self.expanded,
            });
        }
        // Stable: diagnostics at the same offset keep the order they were found in.
        self.diags.sort_by_key(|d| d.span.start);
        if self.diags.len() > MAX_DIAGNOSTICS {
            let hidden = self.diags.len() - (MAX_DIAGNOSTICS - 1);
            let at = self.diags[MAX_DIAGNOSTICS - 1].span;
            self.diags.truncate(MAX_DIAGNOSTICS - 1);
            self.diags.push(
                Diagnostic::new(
                    Code::LimitExceeded,
                    at,
                    format!("{hidden} more errors not shown"),
                )
                .with_help("fix the errors above and check again"),
            );
        }
        Err(self.diags)
    }

    // ---- diagnostics ----

    pub(crate) fn error(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::new(code, span, message).with_help(help));
    }

    pub(crate) fn diag(&mut self, diag: Diagnostic) {
        self.diags.push(diag);
    }

    /// The 1-based line of a byte offset.
    pub(crate) fn line(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.src.len());
        let (from, line) = if offset >= self.line_at.0 {
            self.line_at
        } else {
            (0, 1)
        };
        let newlines = self.src.as_bytes()[from..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.line_at = (offset, line + newlines);
        line + newlines
    }

    // ---- scopes ----

    pub(crate) fn open_scope(&mut self) {
        self.scopes.push(Vec::new());
    }

    pub(crate) fn close_scope(&mut self) {
        if let Some(names) = self.scopes.pop() {
            for name in names {
                if let Some(var) = self.vars.remove(name) {
                    self.ended.insert(name, var.span);
                }
            }
        }
    }

    /// Declares a name in the innermost scope; a name already in scope (declared here or in
    /// any enclosing block) is an error, because names never shadow.
    pub(crate) fn declare(&mut self, name: &'a Ident, var: Var) {
        let word = name.node.as_str();
        if let Some(prev) = self.vars.get(word).copied() {
            let line = self.line(prev.span.start);
            self.error(
                Code::RedefinedVariable,
                name.span,
                format!("`{word}` is already defined"),
                format!(
                    "`{word}` is {} defined on line {line}; pick another name (names cannot be \
                     redefined or shadowed)",
                    prev.kind.described()
                ),
            );
            return;
        }
        self.vars.insert(word, var);
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(word);
        }
    }

    /// The variable a name refers to, or an "undefined variable" diagnostic.
    pub(crate) fn lookup(&mut self, name: &Ident) -> Option<Var> {
        let word = name.node.as_str();
        if let Some(var) = self.vars.get(word) {
            return Some(*var);
        }
        let help = if let Some(span) = self.ended.get(word).copied() {
            format!(
                "`{word}` is defined on line {} inside a block that has ended; define it before \
                 the block to use it here",
                self.line(span.start)
            )
        } else {
            let mut names: Vec<&str> = self.vars.keys().copied().collect();
            names.sort_unstable();
            did_you_mean(word, names).unwrap_or_else(|| {
                format!("define it first, e.g. `let {word} = …` or `param {word}: text`")
            })
        };
        self.error(
            Code::UndefinedVariable,
            name.span,
            format!("undefined variable `{word}`"),
            help,
        );
        None
    }
}
