//! The walk over statements and blocks: scopes, statement limits (count, nesting, expanded
//! steps), unreachable statements, and one [`Step`] per statement that runs.

use super::assess::assess;
use super::state::{Checker, Ty, Val, Var, VarKind};
use super::values::{first_target_in_cond, first_target_in_expr, Use};
use super::Step;
use crate::ast::{Block, Expr, Line, Span, Stmt, StmtKind, Str, Target, Wait};
use crate::diag::Code;
use crate::limits::{MAX_EXPANDED_STEPS, MAX_NESTING, MAX_STATEMENTS};
use crate::risk::Verb;

/// What checking a statement found out, for its [`Step`] and its risk.
#[derive(Debug)]
pub(crate) struct Facts<'a> {
    pub verb: Verb,
    pub target: Option<&'a Target>,
    pub url_origin: Option<String>,
    pub secret: Option<&'a str>,
    pub writes_observed: bool,
    /// `select`'s option label, which names what is chosen as much as the target does.
    pub option: Option<&'a Str>,
    /// `press`'s key.
    pub key: Option<&'a Str>,
}

impl<'a> Facts<'a> {
    fn new(verb: Verb) -> Self {
        Facts {
            verb,
            target: None,
            url_origin: None,
            secret: None,
            writes_observed: false,
            option: None,
            key: None,
        }
    }

    fn on(verb: Verb, target: &'a Target) -> Self {
        Facts {
            target: Some(target),
            ..Facts::new(verb)
        }
    }
}

/// The first line of a block statement (`if … {`), or the whole statement.
fn head_span(stmt: &Stmt) -> Span {
    let body = match &stmt.kind {
        StmtKind::If { then, .. } => then.span,
        StmtKind::Repeat { body, .. } | StmtKind::ForEach { body, .. } => body.span,
        _ => return stmt.span,
    };
    if body.start > stmt.span.start {
        Span::new(stmt.span.start, body.start + 1)
    } else {
        stmt.span
    }
}

impl<'a> Checker<'a> {
    /// The statements of the top level (`depth` 0) or of a block.
    pub(crate) fn lines_of_block(&mut self, lines: &'a [Line], depth: usize) {
        let mut returned = false;
        let mut reported = false;
        for line in lines {
            let Line::Stmt(stmt) = line else { continue };
            if returned && !reported {
                reported = true;
                self.error(
                    Code::Unreachable,
                    head_span(stmt),
                    "this statement never runs: it comes after `return`",
                    "remove it, or move `return` to the end of its block",
                );
            }
            self.stmt(stmt, depth);
            returned |= matches!(stmt.kind, StmtKind::Return(_));
        }
    }

    /// A block's body, in its own scope; `depth` is the depth of its statements. A block past
    /// the nesting limit is reported at its head and not walked, which also bounds the
    /// recursion over a hostile tree.
    fn block(&mut self, stmt: &'a Stmt, block: &'a Block, depth: usize, item: Option<Item<'a>>) {
        if depth > MAX_NESTING {
            self.error(
                Code::LimitExceeded,
                head_span(stmt),
                format!("blocks nest more than {MAX_NESTING} deep"),
                "flatten the conditions, or split the work into several scripts",
            );
            return;
        }
        self.open_scope();
        if let Some(item) = item {
            self.declare(item.name, item.var);
        }
        self.lines_of_block(&block.lines, depth);
        self.close_scope();
    }

    fn stmt(&mut self, stmt: &'a Stmt, depth: usize) {
        self.statements += 1;
        if self.statements == MAX_STATEMENTS + 1 {
            self.error(
                Code::LimitExceeded,
                head_span(stmt),
                format!("the script has more than {MAX_STATEMENTS} statements"),
                "split the work into several scripts",
            );
        }
        use StmtKind as K;
        let facts = match &stmt.kind {
            K::Version(_) | K::Goal(_) | K::Origins(_) => {
                if depth > 0 {
                    let word = match &stmt.kind {
                        K::Version(_) => "bridle",
                        K::Goal(_) => "goal",
                        _ => "origins",
                    };
                    self.error(
                        Code::Header,
                        stmt.span,
                        format!("`{word}` can only appear in the header"),
                        "move it to the top of the script: `bridle 1`, then `goal`, then `origins`",
                    );
                }
                return;
            }
            K::Param { .. } | K::Secret { .. } => {
                self.declaration(stmt, depth);
                return;
            }
            K::Navigate(url) | K::OpenTab(url) => {
                let verb = if matches!(stmt.kind, K::Navigate(_)) {
                    Verb::Navigate
                } else {
                    Verb::OpenTab
                };
                let observed = self.str_(url);
                Facts {
                    url_origin: self.url(url, verb.as_str()),
                    writes_observed: observed,
                    ..Facts::new(verb)
                }
            }
            K::Back => Facts::new(Verb::Back),
            K::Forward => Facts::new(Verb::Forward),
            K::Reload => Facts::new(Verb::Reload),
            K::CloseTab => Facts::new(Verb::CloseTab),
            K::SwitchTab(m) => {
                self.matcher(m);
                Facts::new(Verb::SwitchTab)
            }
            K::Click(t) => self.acting(Verb::Click, t),
            K::Clear(t) => self.acting(Verb::Clear, t),
            K::Check(t) => self.acting(Verb::Check, t),
            K::Uncheck(t) => self.acting(Verb::Uncheck, t),
            K::Hover(t) => self.acting(Verb::Hover, t),
            K::ScrollTo(t) => self.acting(Verb::ScrollTo, t),
            K::Submit(t) => self.acting(Verb::Submit, t),
            K::Upload(t) => self.acting(Verb::Upload, t),
            K::Fill { target, value } => {
                self.target(target);
                let val = self.expr(value, Use::Fill);
                self.fill_value(value, val);
                Facts {
                    secret: val.secret,
                    writes_observed: val.observed,
                    ..Facts::on(Verb::Fill, target)
                }
            }
            K::Select { target, option } => {
                self.target(target);
                let observed = self.str_(option);
                Facts {
                    option: Some(option),
                    writes_observed: observed,
                    ..Facts::on(Verb::Select, target)
                }
            }
            K::Press { key, on } => {
                self.str_(key);
                if let Some(t) = on {
                    self.target(t);
                }
                Facts {
                    key: Some(key),
                    target: on.as_ref(),
                    ..Facts::new(Verb::Press)
                }
            }
            K::Let { name, value } => {
                let (verb, val) = match value {
                    Expr::Job(job) => (Verb::Job, self.job(job)),
                    other => (Verb::Let, self.expr(other, Use::Let)),
                };
                self.declare(
                    name,
                    Var {
                        ty: val.ty,
                        kind: VarKind::Let,
                        span: name.span,
                        observed: val.observed,
                    },
                );
                Facts {
                    target: first_target_in_expr(value),
                    ..Facts::new(verb)
                }
            }
            K::Wait(wait) => self.wait(wait),
            K::Assert(c) => {
                self.cond(c);
                Facts {
                    target: first_target_in_cond(c),
                    ..Facts::new(Verb::Assert)
                }
            }
            K::If {
                cond,
                then,
                otherwise,
            } => {
                self.cond(cond);
                let facts = Facts {
                    target: first_target_in_cond(cond),
                    ..Facts::new(Verb::If)
                };
                self.push_step(stmt, depth, facts);
                self.block(stmt, then, depth + 1, None);
                if let Some(otherwise) = otherwise {
                    self.block(stmt, otherwise, depth + 1, None);
                }
                return;
            }
            K::Repeat { max, until, body } => {
                let bound = self.loop_bound(max);
                // `until` is tested before each pass, in the scope around the loop: names
                // defined in the body are not visible to it.
                self.cond(until);
                let facts = Facts {
                    target: first_target_in_cond(until),
                    ..Facts::new(Verb::Repeat)
                };
                self.push_step(stmt, depth, facts);
                self.looped(bound, |cx| cx.block(stmt, body, depth + 1, None));
                return;
            }
            K::ForEach {
                item,
                list,
                max,
                body,
            } => {
                let val = self.expr(list, Use::Loop);
                if let Some(ty) = val.ty.filter(|ty| *ty != Ty::List) {
                    self.error(
                        Code::TypeMismatch,
                        list.span(),
                        format!("`for each` needs a list, but this is {}", ty.described()),
                        "loop over a table read with `let rows = table table \"…\"`",
                    );
                }
                let bound = self.loop_bound(max);
                let facts = Facts {
                    target: first_target_in_expr(list),
                    ..Facts::new(Verb::ForEach)
                };
                self.push_step(stmt, depth, facts);
                let var = Var {
                    ty: Some(Ty::Record),
                    kind: VarKind::Item,
                    span: item.span,
                    observed: val.observed,
                };
                let item = Item { name: item, var };
                self.looped(bound, |cx| cx.block(stmt, body, depth + 1, Some(item)));
                return;
            }
            K::Confirm(s) | K::Handoff(s) | K::Note(s) => {
                self.str_(s);
                Facts::new(match &stmt.kind {
                    K::Confirm(_) => Verb::Confirm,
                    K::Handoff(_) => Verb::Handoff,
                    _ => Verb::Note,
                })
            }
            K::Job(job) => {
                self.job(job);
                Facts::new(Verb::Job)
            }
            K::Return(value) => {
                self.expr(value, Use::Return);
                Facts {
                    target: first_target_in_expr(value),
                    ..Facts::new(Verb::Return)
                }
            }
        };
        self.push_step(stmt, depth, facts);
    }

    fn acting(&mut self, verb: Verb, target: &'a Target) -> Facts<'a> {
        self.target(target);
        Facts::on(verb, target)
    }

    fn wait(&mut self, wait: &'a Wait) -> Facts<'a> {
        match wait {
            Wait::For {
                target, timeout, ..
            } => {
                self.target(target);
                self.timeout(timeout);
                Facts::on(Verb::Wait, target)
            }
            Wait::Url { glob, timeout } => {
                self.str_(glob);
                self.timeout(timeout);
                Facts::new(Verb::Wait)
            }
            Wait::Idle { timeout } => {
                self.timeout(timeout);
                Facts::new(Verb::Wait)
            }
            Wait::Pause(d) => {
                self.duration(d, "pause");
                Facts::new(Verb::Wait)
            }
        }
    }

    /// `fill` takes text, a number (typed as its decimal text) or a whole secret.
    fn fill_value(&mut self, expr: &Expr, value: Val<'a>) {
        let (ty, help) = match value.ty {
            Some(Ty::Text | Ty::Number) | None => return,
            Some(ty @ Ty::Bool) => (
                ty,
                "use `check` or `uncheck` for a checkbox, or fill the text `\"true\"`",
            ),
            Some(ty @ Ty::Record) => (ty, "fill one of its fields, e.g. `item.name`"),
            Some(ty @ Ty::List) => (
                ty,
                "loop over it with `for each` and fill a field of each item",
            ),
        };
        self.error(
            Code::TypeMismatch,
            expr.span(),
            format!("cannot fill {}", ty.described()),
            help,
        );
    }

    /// Runs `body` with the loop's bound multiplied into the expanded-steps count.
    fn looped(&mut self, bound: u64, body: impl FnOnce(&mut Self)) {
        let outer = self.multiplier;
        self.multiplier = outer.saturating_mul(bound);
        body(self);
        self.multiplier = outer;
    }

    fn push_step(&mut self, stmt: &'a Stmt, depth: usize, facts: Facts<'a>) {
        self.expanded = self.expanded.saturating_add(self.multiplier);
        if self.expanded > MAX_EXPANDED_STEPS && !self.expanded_reported {
            self.expanded_reported = true;
            self.error(
                Code::LimitExceeded,
                head_span(stmt),
                format!(
                    "with every loop at its bound, the script runs more than \
                     {MAX_EXPANDED_STEPS} expanded steps by here"
                ),
                "lower the loop bounds (`at most N`), or split the work into several scripts",
            );
        }
        let (risk, risk_reasons) = assess(&facts, &self.options.risk);
        let step = Step {
            index: self.steps.len() + 1,
            line: self.line(stmt.span.start),
            span: stmt.span,
            verb: facts.verb,
            risk,
            risk_reasons,
            text: crate::fmt::format_stmt_head(stmt),
            target: facts.target.cloned(),
            url_origin: facts.url_origin,
            secret: facts.secret.map(str::to_owned),
            writes_observed: facts.writes_observed,
            depth,
        };
        self.steps.push(step);
    }
}

/// A `for each` item, declared inside the loop's body scope.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a> {
    name: &'a crate::ast::Ident,
    var: Var,
}
