//! Values, strings and conditions: their types, where secrets may go, and taint (whether a
//! value derives from something read on a page).

use super::bounds::MAX_CONDITION_TREE_DEPTH;
use super::state::{Checker, Ty, Val, VarKind};
use crate::ast::{CompareOp, Cond, Expr, Observation, Spanned, Str, StrPart, Target, VarPath};
use crate::diag::Code;
use crate::limits::MAX_STRING_BYTES;

/// Where a value stands, for the secret rules and their messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// The value of `fill`: the one place a whole secret may go.
    Fill,
    Let,
    Return,
    Compare,
    JobInput,
    Loop,
}

impl Use {
    /// Completes "secret `card` cannot be …".
    fn misuse(self) -> &'static str {
        match self {
            Use::Fill => "filled here",
            Use::Let => "copied with `let`",
            Use::Return => "returned",
            Use::Compare => "compared",
            Use::JobInput => "sent to a job",
            Use::Loop => "looped over",
        }
    }
}

const SECRET_HELP: &str = "secrets are filled from the local vault and never leave it: the \
                           planner, the audit log and the page's scripts never see them; the only \
                           use of a secret is `fill <target> with <secret>`";

impl<'a> Checker<'a> {
    /// Checks a string's length and interpolations; true when an interpolated value derives
    /// from an observation.
    pub(crate) fn str_(&mut self, s: &'a Str) -> bool {
        let mut observed = false;
        for part in &s.parts {
            let StrPart::Var(path) = part else { continue };
            let Some(var) = self.lookup(&path.name) else {
                continue;
            };
            if var.kind == VarKind::Secret {
                let name = &path.name.node;
                self.error(
                    Code::SecretInterpolation,
                    path.span(),
                    format!("secret `{name}` cannot be interpolated"),
                    format!(
                        "secrets never leave the vault, so they cannot be part of a text; fill \
                         the secret on its own: `fill <target> with {name}`"
                    ),
                );
                continue;
            }
            observed |= var.observed;
            match self.fields(path, var.ty) {
                Some(Ty::List) => self.error(
                    Code::TypeMismatch,
                    path.span(),
                    format!("cannot interpolate `{}`, which is a list", path_text(path)),
                    format!(
                        "loop over it with `for each row in {} at most N {{ … }}` and \
                         interpolate a field such as `{{row.name}}`",
                        path_text(path)
                    ),
                ),
                Some(Ty::Record) => self.error(
                    Code::TypeMismatch,
                    path.span(),
                    format!(
                        "cannot interpolate `{}`, which is a record",
                        path_text(path)
                    ),
                    format!(
                        "interpolate one of its fields, e.g. `{{{}.name}}`",
                        path_text(path)
                    ),
                ),
                _ => {}
            }
        }
        self.str_len(s);
        observed
    }

    /// The length limit of a string literal (the parser checks it too; a hand-built tree
    /// does not go through the parser).
    pub(crate) fn str_len(&mut self, s: &Str) {
        let len: usize = s
            .parts
            .iter()
            .map(|p| match p {
                StrPart::Lit(text) => text.len(),
                StrPart::Var(_) => 0,
            })
            .sum();
        self.len_limit(len, s.span);
    }

    pub(crate) fn text_len(&mut self, text: &str, span: crate::ast::Span) {
        self.len_limit(text.len(), span);
    }

    fn len_limit(&mut self, len: usize, span: crate::ast::Span) {
        if len > MAX_STRING_BYTES {
            self.error(
                Code::LimitExceeded,
                span,
                format!("string is {len} bytes, more than the limit of {MAX_STRING_BYTES} bytes"),
                "shorten it; long data belongs in a job's input, not in a literal",
            );
        }
    }

    /// Follows `.field` accesses: only records have fields, and a field is text.
    fn fields(&mut self, path: &VarPath, ty: Option<Ty>) -> Option<Ty> {
        let mut ty = ty?;
        for (i, field) in path.fields.iter().enumerate() {
            if ty == Ty::Record {
                ty = Ty::Text;
                continue;
            }
            let mut owner = path.name.node.clone();
            for f in &path.fields[..i] {
                owner.push('.');
                owner.push_str(&f.node);
            }
            let help = if ty == Ty::List {
                format!(
                    "loop over it with `for each row in {owner} at most N {{ … }}` and use \
                     `row.{}`",
                    field.node
                )
            } else {
                "only records (the items of a `for each` over a table) have fields".to_owned()
            };
            self.error(
                Code::TypeMismatch,
                field.span,
                format!(
                    "`{owner}` is {} and has no field `{}`",
                    ty.described(),
                    field.node
                ),
                help,
            );
            return None;
        }
        Some(ty)
    }

    pub(crate) fn number(&mut self, n: &Spanned<f64>) {
        if !n.node.is_finite() {
            self.error(
                Code::InvalidValue,
                n.span,
                "number is not finite",
                "write a finite number such as `20` or `19.99`",
            );
        }
    }

    /// Checks a value standing at `use_`.
    pub(crate) fn expr(&mut self, e: &'a Expr, use_: Use) -> Val<'a> {
        match e {
            Expr::Str(s) => Val::of(Ty::Text, self.str_(s)),
            Expr::Number(n) => {
                self.number(n);
                Val::of(Ty::Number, false)
            }
            Expr::Bool(_) => Val::of(Ty::Bool, false),
            Expr::Var(path) => {
                let Some(var) = self.lookup(&path.name) else {
                    return Val::unknown();
                };
                if var.kind == VarKind::Secret {
                    if use_ == Use::Fill && path.fields.is_empty() {
                        return Val {
                            ty: Some(Ty::Text),
                            observed: false,
                            secret: Some(path.name.node.as_str()),
                        };
                    }
                    let name = &path.name.node;
                    let message = if use_ == Use::Fill {
                        format!("secret `{name}` has no fields")
                    } else {
                        format!("secret `{name}` cannot be {}", use_.misuse())
                    };
                    self.error(Code::SecretMisuse, path.span(), message, SECRET_HELP);
                    return Val::unknown();
                }
                Val {
                    ty: self.fields(path, var.ty),
                    observed: var.observed,
                    secret: None,
                }
            }
            Expr::Observe(o) => Val::of(self.observation(&o.node), true),
            Expr::Job(job) => {
                self.error(
                    Code::Syntax,
                    job.span,
                    "a job can only be the value of `let`",
                    "run it first with `let output = job …`, then use `output`",
                );
                self.job(job);
                Val::unknown()
            }
        }
    }

    /// Checks an observation and returns the type of what it reads.
    pub(crate) fn observation(&mut self, o: &'a Observation) -> Ty {
        match o {
            Observation::TextOf(t) | Observation::ValueOf(t) => {
                self.target(t);
                Ty::Text
            }
            Observation::Attribute { name, target } => {
                self.str_(name);
                self.target(target);
                Ty::Text
            }
            Observation::Table(t) => {
                self.target(t);
                Ty::List
            }
            Observation::CountOf(t) => {
                self.target(t);
                Ty::Number
            }
            Observation::Url | Observation::Title => Ty::Text,
        }
    }

    /// Checks a condition of `if`, `repeat … until` or `assert`.
    pub(crate) fn cond(&mut self, c: &'a Cond) {
        if self.cond_depth >= MAX_CONDITION_TREE_DEPTH {
            if !self.cond_depth_reported {
                self.cond_depth_reported = true;
                self.error(
                    Code::LimitExceeded,
                    cond_span(c),
                    format!("condition nests more than {MAX_CONDITION_TREE_DEPTH} deep"),
                    "split it into several `if`s or `assert`s",
                );
            }
            return;
        }
        self.cond_depth += 1;
        match c {
            Cond::Exists(t) | Cond::Visible(t) => self.target(t),
            Cond::UrlMatches(glob) => {
                self.str_(glob);
            }
            Cond::Compare { left, op, right } => self.compare(left, op.node, right),
            Cond::Not(inner) | Cond::Group(inner) => self.cond(inner),
            Cond::And(a, b) | Cond::Or(a, b) => {
                self.cond(a);
                self.cond(b);
            }
        }
        self.cond_depth -= 1;
    }

    fn compare(&mut self, left: &'a Expr, op: CompareOp, right: &'a Expr) {
        let l = self.expr(left, Use::Compare);
        let r = self.expr(right, Use::Compare);
        let (Some(lt), Some(rt)) = (l.ty, r.ty) else {
            return;
        };
        match op {
            CompareOp::Contains => {
                for (ty, side, e) in [(lt, "left", left), (rt, "right", right)] {
                    if ty != Ty::Text {
                        let help = match ty {
                            Ty::List => "loop over the list with `for each` and test each item's \
                                         fields"
                                .to_owned(),
                            Ty::Record => {
                                "test one of its fields, e.g. `item.name contains \"…\"`".to_owned()
                            }
                            _ => "`contains` tests whether one text contains another; write \
                                  numbers as text with `\"{…}\"`"
                                .to_owned(),
                        };
                        self.error(
                            Code::TypeMismatch,
                            e.span(),
                            format!(
                                "`contains` needs text on both sides, but the {side} side is {}",
                                ty.described()
                            ),
                            help,
                        );
                    }
                }
            }
            CompareOp::Eq | CompareOp::Ne => {
                let word = if op == CompareOp::Eq { "==" } else { "!=" };
                if let Some((ty, e)) = [(lt, left), (rt, right)]
                    .into_iter()
                    .find(|(ty, _)| matches!(ty, Ty::List | Ty::Record))
                {
                    self.error(
                        Code::TypeMismatch,
                        e.span(),
                        format!("`{word}` cannot compare {}", ty.described()),
                        "only text, numbers and bools can be compared; compare a field instead",
                    );
                } else if lt != rt {
                    self.error(
                        Code::TypeMismatch,
                        left.span().to(right.span()),
                        format!(
                            "`{word}` compares {} with {}",
                            lt.described(),
                            rt.described()
                        ),
                        "both sides must have the same type; text read from a page stays text \
                         (there is no conversion in `bridle 1`)",
                    );
                }
            }
            CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge => {
                let word = match op {
                    CompareOp::Lt => "<",
                    CompareOp::Le => "<=",
                    CompareOp::Gt => ">",
                    _ => ">=",
                };
                for (ty, side, e) in [(lt, "left", left), (rt, "right", right)] {
                    if ty != Ty::Number {
                        self.error(
                            Code::TypeMismatch,
                            e.span(),
                            format!(
                                "`{word}` needs numbers on both sides, but the {side} side is {}",
                                ty.described()
                            ),
                            "numbers come from number literals, number params and `count of`; \
                             text read from a page stays text (there is no conversion in \
                             `bridle 1`)",
                        );
                    }
                }
            }
        }
    }
}

/// `item.price` as written.
pub(crate) fn path_text(path: &VarPath) -> String {
    let mut out = path.name.node.clone();
    for f in &path.fields {
        out.push('.');
        out.push_str(&f.node);
    }
    out
}

/// The span of a condition's leftmost leaf, found without recursion: this runs on
/// conditions that nest too deeply to walk.
fn cond_span(mut c: &Cond) -> crate::ast::Span {
    loop {
        match c {
            Cond::Exists(t) | Cond::Visible(t) => return t.span,
            Cond::UrlMatches(s) => return s.span,
            Cond::Compare { left, right, .. } => return left.span().to(right.span()),
            Cond::Not(inner) | Cond::Group(inner) => c = inner,
            Cond::And(a, _) | Cond::Or(a, _) => c = a,
        }
    }
}

/// The first target a value reads, if any.
pub(crate) fn first_target_in_expr(e: &Expr) -> Option<&Target> {
    match e {
        Expr::Observe(o) => match &o.node {
            Observation::TextOf(t)
            | Observation::ValueOf(t)
            | Observation::Table(t)
            | Observation::CountOf(t)
            | Observation::Attribute { target: t, .. } => Some(t),
            Observation::Url | Observation::Title => None,
        },
        _ => None,
    }
}

/// The first target a condition reads, left to right, if any (looking no deeper than the
/// condition depth limit).
pub(crate) fn first_target_in_cond(c: &Cond) -> Option<&Target> {
    fn walk(c: &Cond, depth: usize) -> Option<&Target> {
        if depth > MAX_CONDITION_TREE_DEPTH {
            return None;
        }
        match c {
            Cond::Exists(t) | Cond::Visible(t) => Some(t),
            Cond::UrlMatches(_) => None,
            Cond::Compare { left, right, .. } => {
                first_target_in_expr(left).or_else(|| first_target_in_expr(right))
            }
            Cond::Not(inner) | Cond::Group(inner) => walk(inner, depth + 1),
            Cond::And(a, b) | Cond::Or(a, b) => walk(a, depth + 1).or_else(|| walk(b, depth + 1)),
        }
    }
    walk(c, 0)
}
