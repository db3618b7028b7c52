//! The header (`bridle 1`, `goal`, `origins`) and the declarations (`param`, `secret`): where
//! they may stand and what they may hold.

use super::state::{Checker, Ty, Var, VarKind};
use super::urls::{origin_diagnostic, parse_origin};
use super::{ParamDecl, SecretDecl};
use crate::ast::{Expr, Line, ParamType, Script, Span, Spanned, Stmt, StmtKind, Str};
use crate::diag::Code;
use crate::limits::MAX_ORIGINS;

/// The only language version this checker speaks.
pub const LANGUAGE_VERSION: u64 = 1;

impl<'a> Checker<'a> {
    /// The header pass over the top level. Header lines are found wherever they stand, so
    /// `origins` is known before any URL is checked and a misplaced line is reported once, as
    /// misplaced, not also as missing.
    pub(crate) fn header(&mut self, script: &'a Script) {
        let mut first = true;
        // The first statement that is not a header line: the header ends there.
        let mut closed: Option<Span> = None;
        let mut goal: Option<Span> = None;
        let mut origins: Option<Span> = None;
        let mut end = 0;
        for line in &script.lines {
            let Line::Stmt(stmt) = line else { continue };
            end = stmt.span.end;
            let is_first = std::mem::replace(&mut first, false);
            match &stmt.kind {
                StmtKind::Version(version) => {
                    if is_first {
                        self.version(version);
                    } else {
                        self.error(
                            Code::Header,
                            stmt.span,
                            "`bridle` must be the first line, once",
                            "keep a single `bridle 1`, as the script's first line",
                        );
                    }
                }
                StmtKind::Goal(text) => {
                    if goal.is_some() {
                        self.error(
                            Code::Header,
                            stmt.span,
                            "`goal` appears more than once",
                            "keep one `goal` line",
                        );
                    } else {
                        goal = Some(stmt.span);
                        self.misplaced_header_line(stmt, "goal", closed);
                        self.goal(text);
                    }
                }
                StmtKind::Origins(list) => {
                    if origins.is_some() {
                        self.error(
                            Code::Header,
                            stmt.span,
                            "`origins` appears more than once",
                            "list every origin on one `origins` line",
                        );
                        self.origins_ok = false;
                    } else {
                        origins = Some(stmt.span);
                        self.misplaced_header_line(stmt, "origins", closed);
                        self.origins_ok = self.origins(stmt.span, list);
                    }
                }
                _ => {
                    if closed.is_none() {
                        closed = Some(stmt.span);
                    }
                }
            }
            if is_first && !matches!(stmt.kind, StmtKind::Version(_)) {
                self.error(
                    Code::Header,
                    stmt.span,
                    "a script must start with `bridle 1`",
                    "add `bridle 1` as the first line",
                );
            }
        }
        if first {
            self.error(
                Code::Header,
                Span::new(0, 0),
                "the script is empty",
                "start with `bridle 1`, then `goal \"…\"` and `origins \"https://…\"`",
            );
            return;
        }
        let at = closed.unwrap_or(Span::new(end, end));
        if goal.is_none() {
            self.error(
                Code::Header,
                at,
                "missing `goal`",
                "add `goal \"…\"` after `bridle 1`, saying what the script is for",
            );
        }
        if origins.is_none() {
            self.error(
                Code::Header,
                at,
                "missing `origins`",
                "add `origins \"https://…\"` after `goal`, listing every origin the script acts on",
            );
        }
    }

    fn version(&mut self, version: &Spanned<u64>) {
        if version.node != LANGUAGE_VERSION {
            self.error(
                Code::Header,
                version.span,
                format!("unsupported language version `{}`", version.node),
                format!("this executor speaks `bridle {LANGUAGE_VERSION}`"),
            );
        }
    }

    fn misplaced_header_line(&mut self, stmt: &Stmt, word: &str, closed: Option<Span>) {
        if let Some(other) = closed {
            let line = self.line(other.start);
            self.error(
                Code::Header,
                stmt.span,
                format!("`{word}` must come before any other statement"),
                format!("move it up into the header, above line {line}, right after `bridle 1`"),
            );
        }
    }

    fn goal(&mut self, text: &'a Str) {
        self.str_len(text);
        match text.as_literal() {
            None => self.error(
                Code::Header,
                text.span,
                "`goal` cannot interpolate variables",
                "the goal is shown to the user as written; write it out in full",
            ),
            Some(goal) if goal.trim().is_empty() => self.error(
                Code::Header,
                text.span,
                "`goal` is empty",
                "say what the script is for, e.g. `goal \"Buy a USB-C cable\"`",
            ),
            Some(goal) => self.goal = Some(goal),
        }
    }

    /// Checks and normalises the origins; true when all of them are valid.
    fn origins(&mut self, span: Span, list: &[Spanned<String>]) -> bool {
        if list.is_empty() {
            self.error(
                Code::Header,
                span,
                "`origins` lists no origin",
                "list every origin the script acts on, e.g. `origins \"https://shop.example\"`",
            );
            return false;
        }
        let mut ok = true;
        for (i, origin) in list.iter().enumerate() {
            if i == MAX_ORIGINS {
                self.error(
                    Code::LimitExceeded,
                    origin.span,
                    format!("more than {MAX_ORIGINS} origins"),
                    "narrow the script to the origins it needs, or split the work into several \
                     scripts",
                );
                return false;
            }
            match parse_origin(&origin.node) {
                Err(e) => {
                    self.diag(origin_diagnostic(
                        &e,
                        &origin.node,
                        origin.span,
                        Code::Header,
                    ));
                    ok = false;
                }
                Ok(normal) => {
                    if self.origins.contains(&normal) {
                        let help = if normal == origin.node {
                            "list each origin once".to_owned()
                        } else {
                            format!(
                                "`{}` is the origin `{normal}`; list each origin once",
                                origin.node
                            )
                        };
                        self.error(
                            Code::Header,
                            origin.span,
                            format!("duplicate origin `{normal}`"),
                            help,
                        );
                        ok = false;
                    } else {
                        self.origins.push(normal);
                    }
                }
            }
        }
        ok
    }

    /// A `param` or `secret` statement, wherever it stands.
    pub(crate) fn declaration(&mut self, stmt: &'a Stmt, depth: usize) {
        let word = if matches!(stmt.kind, StmtKind::Param { .. }) {
            "param"
        } else {
            "secret"
        };
        if depth > 0 {
            self.error(
                Code::Declaration,
                stmt.span,
                format!("`{word}` can only be declared at the top level"),
                "declare it at the top of the script, after `origins` and before the first step",
            );
        } else if let Some(step) = self.steps.first() {
            let line = step.line;
            self.error(
                Code::Declaration,
                stmt.span,
                format!("`{word}` must come before the first step"),
                format!("move it up, after `origins` and above line {line}"),
            );
        }
        match &stmt.kind {
            StmtKind::Param { name, ty, default } => {
                let var_ty = match ty.node {
                    ParamType::Text => Ty::Text,
                    ParamType::Number => Ty::Number,
                    ParamType::Bool => Ty::Bool,
                };
                if let Some(default) = default {
                    self.param_default(&name.node, ty, default);
                }
                self.declare(
                    name,
                    Var {
                        ty: Some(var_ty),
                        kind: VarKind::Param,
                        span: name.span,
                        observed: false,
                    },
                );
                self.params.push(ParamDecl {
                    name: name.node.clone(),
                    ty: ty.node,
                    default: default.clone(),
                });
            }
            StmtKind::Secret { name, entry } => {
                self.text_len(&entry.node, entry.span);
                if entry.node.trim().is_empty() {
                    self.error(
                        Code::Declaration,
                        entry.span,
                        format!("secret `{}` names no vault entry", name.node),
                        "write the name of the entry in your vault, e.g. \
                         `secret card = \"visa-personal\"`",
                    );
                }
                self.declare(
                    name,
                    Var {
                        ty: Some(Ty::Text),
                        kind: VarKind::Secret,
                        span: name.span,
                        observed: false,
                    },
                );
                self.secrets.push(SecretDecl {
                    name: name.node.clone(),
                    entry: entry.node.clone(),
                });
            }
            _ => {}
        }
    }

    fn param_default(&mut self, name: &str, ty: &Spanned<ParamType>, default: &'a Expr) {
        let found = match default {
            Expr::Str(s) if s.as_literal().is_some() => {
                self.str_len(s);
                ParamType::Text
            }
            Expr::Number(n) => {
                self.number(n);
                ParamType::Number
            }
            Expr::Bool(_) => ParamType::Bool,
            other => {
                self.error(
                    Code::Declaration,
                    other.span(),
                    format!("the default of `{name}` must be a literal"),
                    "write a literal value, e.g. `\"usb-c cable\"`, `3` or `true`",
                );
                return;
            }
        };
        if found != ty.node {
            let (declared, wanted) = match ty.node {
                ParamType::Text => ("text", "\"…\""),
                ParamType::Number => ("a number", "3"),
                ParamType::Bool => ("a bool", "true"),
            };
            let found_word = match found {
                ParamType::Text => "text",
                ParamType::Number => "a number",
                ParamType::Bool => "a bool",
            };
            self.error(
                Code::TypeMismatch,
                default.span(),
                format!("the default of `{name}` is {found_word}, but `{name}` is {declared}"),
                format!(
                    "write a default of that type, e.g. `{wanted}`, or change the param's type"
                ),
            );
        }
    }
}
