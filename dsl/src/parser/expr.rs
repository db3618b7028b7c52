//! Values (literals, variables, observations of the page) and conditions.
//!
//! Conditions use precedence climbing by levels, `or` < `and` < `not` < atom. `and`/`or`
//! chains are loops building left-leaning trees; only `(` and `not` recurse, and both count
//! against [`MAX_CONDITION_DEPTH`].

use super::lexer::{split_path, TokKind};
use super::stmt::{PResult, Parser};
use super::{shorten, suggest, MAX_CONDITION_DEPTH, MAX_CONDITION_OPERATORS};
use crate::ast::{CompareOp, Cond, Expr, Observation, Span, Spanned};
use crate::diag::{Code, Diagnostic};
use crate::roles::is_role;

const COND_HELP: &str = "a condition is `exists <target>`, `visible <target>`, `url matches \"…\"` or a comparison such as `count of row > 0`";

/// How much of the condition bounds is used so far.
struct Budget {
    depth: usize,
    operators: usize,
}

impl Parser<'_> {
    /// A value.
    pub(super) fn expr(&mut self, expected: &str, help: &str) -> PResult<Expr> {
        let tok = self.peek().clone();
        let observe = |p: &Self, obs: Observation| {
            Expr::Observe(Spanned::new(
                obs,
                tok.span.to(Span::new(p.last_end, p.last_end)),
            ))
        };
        match tok.kind {
            TokKind::Str(_) => Ok(Expr::Str(self.string(expected, help)?)),
            TokKind::Num { text, unit: None } => {
                self.bump();
                match text.parse::<f64>() {
                    Ok(n) if n.is_finite() => Ok(Expr::Number(Spanned::new(n, tok.span))),
                    _ => Err(
                        Diagnostic::new(Code::InvalidValue, tok.span, "number is too large")
                            .with_help("use a smaller number"),
                    ),
                }
            }
            TokKind::Word("true") => {
                self.bump();
                Ok(Expr::Bool(Spanned::new(true, tok.span)))
            }
            TokKind::Word("false") => {
                self.bump();
                Ok(Expr::Bool(Spanned::new(false, tok.span)))
            }
            TokKind::Word("text") => {
                self.bump();
                self.keyword(
                    "of",
                    "expected `of` after `text`",
                    "write `text of heading`",
                )?;
                let target = self.target("text of")?;
                Ok(observe(self, Observation::TextOf(target)))
            }
            TokKind::Word("value") => {
                self.bump();
                self.keyword(
                    "of",
                    "expected `of` after `value`",
                    "write `value of textbox \"Email\"`",
                )?;
                let target = self.target("value of")?;
                Ok(observe(self, Observation::ValueOf(target)))
            }
            TokKind::Word("count") => {
                self.bump();
                self.keyword(
                    "of",
                    "expected `of` after `count`",
                    "write `count of row in table \"Results\"`",
                )?;
                let target = self.target("count of")?;
                Ok(observe(self, Observation::CountOf(target)))
            }
            TokKind::Word("attribute") => {
                self.bump();
                let help = "write `attribute \"href\" of link \"Terms\"`";
                let name = self.string("expected the attribute's name after `attribute`", help)?;
                self.keyword("of", "expected `of` after the attribute's name", help)?;
                let target = self.target("of")?;
                Ok(observe(self, Observation::Attribute { name, target }))
            }
            TokKind::Word("table") => {
                self.bump();
                let target = self.target("table")?;
                Ok(observe(self, Observation::Table(target)))
            }
            TokKind::Word("url") => {
                self.bump();
                Ok(observe(self, Observation::Url))
            }
            TokKind::Word("title") => {
                self.bump();
                Ok(observe(self, Observation::Title))
            }
            TokKind::Word("job") => Err(Diagnostic::new(
                Code::Syntax,
                tok.span,
                "a job can only be the value of `let`",
            )
            .with_help("write `let result = job …` on its own line, then use `result`")),
            TokKind::Word(word) => {
                let path = split_path(word, tok.span.start)?;
                self.bump();
                Ok(Expr::Var(path))
            }
            TokKind::Num { .. } => Err(self
                .unexpected(expected, help)
                .with_help("a number here has no unit; write `5` rather than `5s`")),
            _ => Err(self.unexpected(expected, help)),
        }
    }

    /// A condition; `after` names what it follows, for messages (`after `if``).
    pub(super) fn cond(&mut self, after: &str) -> PResult<Cond> {
        if matches!(
            self.peek_kind(),
            TokKind::Eol | TokKind::Comment(_) | TokKind::LBrace
        ) {
            return Err(self.unexpected(&format!("expected a condition {after}"), COND_HELP));
        }
        let mut budget = Budget {
            depth: 0,
            operators: 0,
        };
        self.cond_or(&mut budget)
    }

    fn cond_or(&mut self, budget: &mut Budget) -> PResult<Cond> {
        let mut left = self.cond_and(budget)?;
        while let Some(span) = self.eat_word("or") {
            count_operator(budget, span)?;
            let right = self.cond_and(budget)?;
            left = Cond::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn cond_and(&mut self, budget: &mut Budget) -> PResult<Cond> {
        let mut left = self.cond_not(budget)?;
        while let Some(span) = self.eat_word("and") {
            count_operator(budget, span)?;
            let right = self.cond_not(budget)?;
            left = Cond::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn cond_not(&mut self, budget: &mut Budget) -> PResult<Cond> {
        match self.eat_word("not") {
            Some(span) => {
                enter(budget, span)?;
                let inner = self.cond_not(budget);
                budget.depth -= 1;
                Ok(Cond::Not(Box::new(inner?)))
            }
            None => self.cond_atom(budget),
        }
    }

    fn cond_atom(&mut self, budget: &mut Budget) -> PResult<Cond> {
        let tok = self.peek().clone();
        match tok.kind {
            TokKind::LParen => {
                enter(budget, tok.span)?;
                self.bump();
                let inner = self.cond_or(budget);
                budget.depth -= 1;
                let inner = inner?;
                if !matches!(self.peek_kind(), TokKind::RParen) {
                    return Err(self
                        .unexpected(
                            "expected `)` to close `(`",
                            "close every `(` on the same line",
                        )
                        .with_label("`(` is still open"));
                }
                self.bump();
                Ok(Cond::Group(Box::new(inner)))
            }
            TokKind::Word("exists") => {
                self.bump();
                Ok(Cond::Exists(self.target("exists")?))
            }
            TokKind::Word("visible") => {
                self.bump();
                Ok(Cond::Visible(self.target("visible")?))
            }
            TokKind::Word("url") if matches!(self.peek2_kind(), TokKind::Word("matches")) => {
                self.bump();
                self.bump();
                Ok(Cond::UrlMatches(self.string(
                    "expected a URL pattern after `url matches`",
                    "write `url matches \"https://shop.example/cart*\"`",
                )?))
            }
            _ => {
                let left = self.expr("expected a condition", COND_HELP)?;
                let op = match self.peek_kind() {
                    TokKind::Word("contains") => CompareOp::Contains,
                    TokKind::EqEq => CompareOp::Eq,
                    TokKind::NotEq => CompareOp::Ne,
                    TokKind::Lt => CompareOp::Lt,
                    TokKind::Le => CompareOp::Le,
                    TokKind::Gt => CompareOp::Gt,
                    TokKind::Ge => CompareOp::Ge,
                    other => {
                        // `if exsts button "A"`: a misspelt `exists` or `visible` reads as a
                        // variable followed by a target; say so rather than "expected a comparison".
                        if let Expr::Var(v) = &left {
                            let target_follows = match other {
                                TokKind::Word(w) => is_role(w) || *w == "text" || *w == "css",
                                TokKind::Str(_) | TokKind::Tilde | TokKind::Regex(_) => true,
                                _ => false,
                            };
                            if v.fields.is_empty() && target_follows {
                                let help = suggest(&v.name.node, ["exists", "visible", "not"])
                                    .unwrap_or_else(|| COND_HELP.to_owned());
                                return Err(Diagnostic::new(
                                    Code::Syntax,
                                    v.name.span,
                                    format!(
                                        "expected a condition, found `{}`",
                                        shorten(&v.name.node)
                                    ),
                                )
                                .with_help(help));
                            }
                        }
                        let help = match (&left, other) {
                            (_, TokKind::Assign) => "use `==` to compare".to_owned(),
                            (_, TokKind::Word("matches")) => {
                                "only `url` takes `matches`; compare text with `contains` or `==`"
                                    .to_owned()
                            }
                            (Expr::Var(v), _) if v.fields.is_empty() && is_role(&v.name.node) => {
                                format!(
                                    "to test an element, write `exists {0} …` or `visible {0} …`",
                                    shorten(&v.name.node)
                                )
                            }
                            _ => "compare with `contains`, `==`, `!=`, `<`, `<=`, `>` or `>=`"
                                .to_owned(),
                        };
                        return Err(self.unexpected("expected a comparison", help));
                    }
                };
                let op = Spanned::new(op, self.bump().span);
                let right = self.expr(
                    "expected a value after the comparison",
                    "compare with a string, a number, a variable or an observation",
                )?;
                Ok(Cond::Compare { left, op, right })
            }
        }
    }
}

fn enter(budget: &mut Budget, span: Span) -> PResult<()> {
    if budget.depth >= MAX_CONDITION_DEPTH {
        return Err(Diagnostic::new(
            Code::LimitExceeded,
            span,
            format!("condition nests more than {MAX_CONDITION_DEPTH} deep"),
        )
        .with_help("simplify the condition, or split it over several `if` blocks"));
    }
    budget.depth += 1;
    Ok(())
}

fn count_operator(budget: &mut Budget, span: Span) -> PResult<()> {
    budget.operators += 1;
    if budget.operators > MAX_CONDITION_OPERATORS {
        return Err(Diagnostic::new(
            Code::LimitExceeded,
            span,
            format!("condition has more than {MAX_CONDITION_OPERATORS} `and`/`or` operators"),
        )
        .with_help("simplify the condition, or split it over several `if` blocks"));
    }
    Ok(())
}
