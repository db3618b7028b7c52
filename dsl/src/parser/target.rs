//! Targets, matchers and the small typed literals: strings, whole numbers, durations, sizes,
//! and the `wait` forms built from them.

use super::lexer::TokKind;
use super::stmt::{PResult, Parser};
use super::{shorten, suggest};
use crate::ast::{
    Duration, Matcher, Scope, Size, Span, Spanned, Str, StrPart, Target, TargetBase, Wait,
    WaitState,
};
use crate::diag::{Code, Diagnostic};
use crate::roles::{is_role, ROLES};

const TARGET_HELP: &str =
    "name the element by role and name, e.g. `button \"Add to cart\"`, or use `text \"…\"` or `css \"…\"`";

impl Parser<'_> {
    /// `<role> [matcher] | text <matcher> | css "<selector>"`, then any of `in <role>
    /// [matcher]`, `in frame "<origin>"` (once) and `nth N` (once).
    pub(super) fn target(&mut self, after: &str) -> PResult<Target> {
        let tok = self.peek().clone();
        let base = match tok.kind {
            TokKind::Word("text") => {
                self.bump();
                TargetBase::Text(self.matcher(
                    "expected the text to match after `text`",
                    "write `text \"Free shipping\"` or `text ~\"shipping\"`",
                )?)
            }
            TokKind::Word("css") => {
                self.bump();
                TargetBase::Css(self.literal(
                    "expected a selector after `css`",
                    "write `css \"#price\"`",
                    "a css selector",
                )?)
            }
            TokKind::Word(word) if is_role(word) => {
                self.bump();
                TargetBase::Role {
                    role: Spanned::new(word.to_owned(), tok.span),
                    name: self.opt_matcher()?,
                }
            }
            TokKind::Word(word) => return Err(unknown_role(word, tok.span, &[])),
            TokKind::Str(_) | TokKind::Tilde | TokKind::Regex(_) => {
                return Err(Diagnostic::new(
                    Code::Syntax,
                    tok.span,
                    format!("expected a role before the name {}", self.describe(&tok)),
                )
                .with_help(format!(
                    "write the element's role first, e.g. `{after} button {}`, or `{after} text {}` for any element with that text",
                    self.describe(&tok).trim_matches('`'),
                    self.describe(&tok).trim_matches('`'),
                )))
            }
            _ => {
                return Err(self.unexpected(
                    &format!("expected a target after `{after}`"),
                    format!(
                        "name the element by role and name, e.g. `{after} button \"Add to cart\"`"
                    ),
                ))
            }
        };
        let mut target = Target {
            base,
            scopes: Vec::new(),
            frame: None,
            nth: None,
            span: tok.span,
        };
        loop {
            if let Some(in_span) = self.eat_word("in") {
                let tok = self.peek().clone();
                match tok.kind {
                    TokKind::Word("frame") => {
                        if target.frame.is_some() {
                            return Err(Diagnostic::new(
                                Code::Syntax,
                                in_span.to(tok.span),
                                "a target takes at most one `in frame`",
                            )
                            .with_help("name the one frame the element is in"));
                        }
                        self.bump();
                        target.frame = Some(self.literal(
                            "expected the frame's origin after `in frame`",
                            "write `in frame \"https://pay.example\"`",
                            "a frame origin",
                        )?);
                    }
                    TokKind::Word(word) if is_role(word) => {
                        self.bump();
                        let role = Spanned::new(word.to_owned(), tok.span);
                        let name = self.opt_matcher()?;
                        target.scopes.push(Scope {
                            role,
                            name,
                            span: in_span.to(Span::new(self.last_end, self.last_end)),
                        });
                    }
                    TokKind::Word(word) => return Err(unknown_role(word, tok.span, &["frame"])),
                    _ => {
                        return Err(self.unexpected(
                            "expected a container's role or `frame` after `in`",
                            "write `in dialog \"Terms\"` or `in frame \"https://pay.example\"`",
                        ))
                    }
                }
            } else if let Some(nth_span) = self.eat_word("nth") {
                if target.nth.is_some() {
                    return Err(Diagnostic::new(
                        Code::Syntax,
                        nth_span,
                        "a target takes at most one `nth`",
                    )
                    .with_help("keep one `nth N`"));
                }
                target.nth = Some(self.int(
                    "expected a position after `nth`",
                    "write `nth 2` for the second match (positions start at 1)",
                )?);
            } else {
                break;
            }
        }
        target.span = tok.span.to(Span::new(self.last_end, self.last_end));
        Ok(target)
    }

    /// A name matcher, if the next token starts one.
    fn opt_matcher(&mut self) -> PResult<Option<Matcher>> {
        match self.peek_kind() {
            TokKind::Str(_) | TokKind::Tilde | TokKind::Regex(_) => {
                Ok(Some(self.matcher("expected a name", TARGET_HELP)?))
            }
            _ => Ok(None),
        }
    }

    /// `"exact"`, `~"contains"` or `/regex/flags`.
    pub(super) fn matcher(&mut self, expected: &str, help: &str) -> PResult<Matcher> {
        match self.peek_kind() {
            TokKind::Str(_) => Ok(Matcher::Exact(self.string(expected, help)?)),
            TokKind::Tilde => {
                let tilde = self.bump().span;
                let mut s = self.string(
                    "expected a string after `~`",
                    "write `~\"part of the name\"` to match names containing it",
                )?;
                s.span = tilde.to(s.span);
                Ok(Matcher::Contains(s))
            }
            TokKind::Regex(_) => match self.bump().kind {
                TokKind::Regex(r) => Ok(Matcher::Regex(r)),
                _ => Err(self.unexpected(expected, help)),
            },
            _ => Err(self.unexpected(expected, help)),
        }
    }

    /// A string literal, interpolation allowed.
    pub(super) fn string(&mut self, expected: &str, help: &str) -> PResult<Str> {
        match self.peek_kind() {
            TokKind::Str(_) => match self.bump().kind {
                TokKind::Str(s) => Ok(s),
                _ => Err(self.unexpected(expected, help)),
            },
            _ => Err(self.unexpected(expected, help)),
        }
    }

    /// A string literal that must not interpolate (origins, selectors, vault entries …):
    /// these are fixed by the planner and checked before anything runs.
    pub(super) fn literal(
        &mut self,
        expected: &str,
        help: &str,
        what: &str,
    ) -> PResult<Spanned<String>> {
        let s = self.string(expected, help)?;
        match s.as_literal() {
            Some(text) => Ok(Spanned::new(text, s.span)),
            None => {
                let var_span = s
                    .parts
                    .iter()
                    .find_map(|p| match p {
                        StrPart::Var(v) => Some(v.span()),
                        StrPart::Lit(_) => None,
                    })
                    .unwrap_or(s.span);
                Err(Diagnostic::new(
                    Code::Syntax,
                    Span::new(var_span.start.saturating_sub(1), var_span.end + 1),
                    format!("{what} cannot interpolate variables"),
                )
                .with_help("write it literally; for literal braces write `\\{` and `\\}`"))
            }
        }
    }

    /// A whole number (`bridle 1`, `at most 5`, `nth 2`).
    pub(super) fn int(&mut self, expected: &str, help: &str) -> PResult<Spanned<u64>> {
        let tok = self.peek().clone();
        match tok.kind {
            TokKind::Num { text, unit: None } if text.bytes().all(|b| b.is_ascii_digit()) => {
                self.bump();
                match text.parse::<u64>() {
                    Ok(n) => Ok(Spanned::new(n, tok.span)),
                    Err(_) => Err(too_large(text, tok.span)),
                }
            }
            TokKind::Num { .. } => Err(self
                .unexpected(expected, help)
                .with_label("not a whole number")),
            _ => Err(self.unexpected(expected, help)),
        }
    }

    /// `500ms`, `5s`, `2m`, `1h`.
    pub(super) fn duration(&mut self, after: &str) -> PResult<Spanned<Duration>> {
        let tok = self.peek().clone();
        let help = "add a unit: `500ms`, `5s`, `2m` or `1h`";
        let TokKind::Num { text, unit } = tok.kind else {
            return Err(self.unexpected(&format!("expected a duration {after}"), help));
        };
        let Some(unit) = unit else {
            return Err(self.unexpected(&format!("expected a duration {after}"), help));
        };
        let factor: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            other => {
                let help = suggest(other, ["ms", "s", "m", "h"])
                    .map(|d| format!("{d} the units are `ms`, `s`, `m` and `h`"))
                    .unwrap_or_else(|| "the units are `ms`, `s`, `m` and `h`".to_owned());
                return Err(Diagnostic::new(
                    Code::Syntax,
                    tok.span,
                    format!("unknown duration unit `{}`", shorten(other)),
                )
                .with_help(help));
            }
        };
        let n = whole(
            text,
            tok.span,
            "a duration",
            "write `1500ms` rather than `1.5s`",
        )?;
        self.bump();
        match n.checked_mul(factor) {
            Some(millis) => Ok(Spanned::new(Duration { millis }, tok.span)),
            None => Err(too_large(&format!("{text}{unit}"), tok.span)),
        }
    }

    /// `512KB`, `256MB`, `1GB` (binary multiples; `KiB`, `MiB`, `GiB` mean the same).
    pub(super) fn size(&mut self) -> PResult<Spanned<Size>> {
        let tok = self.peek().clone();
        let help = "write a size such as `256MB` or `1GB`";
        let TokKind::Num {
            text,
            unit: Some(unit),
        } = tok.kind
        else {
            return Err(self.unexpected("expected a size after `memory`", help));
        };
        let factor: u64 = match unit {
            "B" => 1,
            "KB" | "KiB" => 1 << 10,
            "MB" | "MiB" => 1 << 20,
            "GB" | "GiB" => 1 << 30,
            other => {
                return Err(Diagnostic::new(
                    Code::Syntax,
                    tok.span,
                    format!("unknown size unit `{}`", shorten(other)),
                )
                .with_help("the units are `B`, `KB`, `MB` and `GB` (binary: 1 KB = 1024 B)"))
            }
        };
        let n = whole(
            text,
            tok.span,
            "a size",
            "write `1536MB` rather than `1.5GB`",
        )?;
        self.bump();
        match n.checked_mul(factor) {
            Some(bytes) => Ok(Spanned::new(Size { bytes }, tok.span)),
            None => Err(too_large(&format!("{text}{unit}"), tok.span)),
        }
    }

    /// The forms after `wait`.
    pub(super) fn wait(&mut self) -> PResult<Wait> {
        if self.eat_word("for").is_none() {
            if matches!(self.peek_kind(), TokKind::Num { .. }) {
                return Ok(Wait::Pause(self.duration("after `wait`")?));
            }
            return Err(self.unexpected(
                "expected `for` or a duration after `wait`",
                "write `wait for button \"Next\" to be visible`, `wait for idle` or `wait 500ms`",
            ));
        }
        if self.is_word("url") {
            self.bump();
            self.keyword(
                "matches",
                "expected `matches` after `wait for url`",
                "write `wait for url matches \"https://shop.example/checkout*\"`",
            )?;
            let glob = self.string(
                "expected a URL pattern after `matches`",
                "write `wait for url matches \"https://shop.example/checkout*\"`",
            )?;
            return Ok(Wait::Url {
                glob,
                timeout: self.opt_timeout()?,
            });
        }
        if self.eat_word("idle").is_some() {
            return Ok(Wait::Idle {
                timeout: self.opt_timeout()?,
            });
        }
        let target = self.target("wait for")?;
        let help = "write `to be visible`, `to be enabled`, `to be hidden` or `to be gone`";
        self.keyword("to", "expected `to be` after the target", help)?;
        self.keyword("be", "expected `be` after `to`", help)?;
        let tok = self.peek().clone();
        let state = match tok.kind {
            TokKind::Word("visible") => WaitState::Visible,
            TokKind::Word("enabled") => WaitState::Enabled,
            TokKind::Word("hidden") => WaitState::Hidden,
            TokKind::Word("gone") => WaitState::Gone,
            TokKind::Word(other) => {
                let help = suggest(other, ["visible", "enabled", "hidden", "gone"])
                    .unwrap_or_else(|| help.to_owned());
                return Err(Diagnostic::new(
                    Code::Syntax,
                    tok.span,
                    format!("unknown state `{}`", shorten(other)),
                )
                .with_help(help));
            }
            _ => return Err(self.unexpected("expected a state after `to be`", help)),
        };
        self.bump();
        Ok(Wait::For {
            target,
            state: Spanned::new(state, tok.span),
            timeout: self.opt_timeout()?,
        })
    }

    fn opt_timeout(&mut self) -> PResult<Option<Spanned<Duration>>> {
        match self.eat_word("timeout") {
            Some(_) => Ok(Some(self.duration("after `timeout`")?)),
            None => Ok(None),
        }
    }
}

/// The digits of a quantity, which must be a whole number.
fn whole(text: &str, span: Span, what: &str, help: &str) -> PResult<u64> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Diagnostic::new(
            Code::Syntax,
            span,
            format!("{what} is a whole number of units, not `{text}`"),
        )
        .with_help(help));
    }
    text.parse::<u64>().map_err(|_| too_large(text, span))
}

fn too_large(text: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidValue,
        span,
        format!("`{}` is too large", shorten(text)),
    )
    .with_help("use a smaller number")
}

fn unknown_role(word: &str, span: Span, extra: &[&str]) -> Diagnostic {
    let help = suggest(word, ROLES.iter().chain(extra).copied()).unwrap_or_else(|| {
        "use an ARIA role such as `button`, `link` or `textbox`, `element` for any role, or `text \"…\"`".to_owned()
    });
    Diagnostic::new(
        Code::UnknownRole,
        span,
        format!("unknown role `{}`", shorten(word)),
    )
    .with_help(help)
}
