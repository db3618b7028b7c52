//! Targets: roles, names (strings and regexes), scopes, frames and `nth`.

use super::bounds::REGEX_NEST_LIMIT;
use super::state::Checker;
use crate::ast::{Matcher, Regex, Span, Spanned, Target, TargetBase};
use crate::diag::{did_you_mean, Code};
use crate::limits::{MAX_NTH, MAX_REGEX_BYTES};
use crate::roles::{is_role, ROLES};

impl<'a> Checker<'a> {
    pub(crate) fn target(&mut self, t: &'a Target) {
        match &t.base {
            TargetBase::Role { role, name } => {
                self.role(role);
                if let Some(name) = name {
                    self.matcher(name);
                }
            }
            TargetBase::Text(m) => self.matcher(m),
            TargetBase::Css(selector) => {
                self.text_len(&selector.node, selector.span);
                if selector.node.trim().is_empty() {
                    self.error(
                        Code::InvalidValue,
                        selector.span,
                        "empty css selector",
                        "name the element by role and name instead, e.g. `button \"Add to cart\"`",
                    );
                }
            }
        }
        for scope in &t.scopes {
            self.role(&scope.role);
            if let Some(name) = &scope.name {
                self.matcher(name);
            }
        }
        if let Some(frame) = &t.frame {
            self.frame(frame);
        }
        if let Some(nth) = &t.nth {
            self.nth(nth);
        }
    }

    /// Roles are checked by the parser too; this is defence in depth for trees that did not
    /// come from it.
    fn role(&mut self, role: &Spanned<String>) {
        if is_role(&role.node) {
            return;
        }
        let help = did_you_mean(&role.node, ROLES.iter().copied()).unwrap_or_else(|| {
            "use an ARIA role such as `button`, `link` or `textbox`, or `element` for any role"
                .to_owned()
        });
        self.error(
            Code::UnknownRole,
            role.span,
            format!("unknown role `{}`", role.node),
            help,
        );
    }

    pub(crate) fn matcher(&mut self, m: &'a Matcher) {
        match m {
            Matcher::Exact(s) | Matcher::Contains(s) => {
                self.str_(s);
            }
            Matcher::Regex(r) => self.regex(r),
        }
    }

    fn nth(&mut self, nth: &Spanned<u64>) {
        if nth.node == 0 {
            self.error(
                Code::InvalidValue,
                nth.span,
                "`nth 0` names no element",
                "`nth` counts from 1: use `nth 1` for the first match",
            );
        } else if nth.node > MAX_NTH {
            self.error(
                Code::LimitExceeded,
                nth.span,
                format!("`nth {}` is more than the limit of {MAX_NTH}", nth.node),
                "narrow the target with a name or `in <container>` instead",
            );
        }
    }

    /// Validates a regex with `regex-syntax` (parse and translation, so every syntax error the
    /// executor's engine would raise is raised here), without compiling it.
    fn regex(&mut self, r: &Regex) {
        if r.pattern.len() > MAX_REGEX_BYTES {
            self.error(
                Code::LimitExceeded,
                r.span,
                format!(
                    "regex is {} bytes, more than the limit of {MAX_REGEX_BYTES} bytes",
                    r.pattern.len()
                ),
                "match a shorter part of the name, or use `~\"…\"` to match a part of it",
            );
            return;
        }
        let (mut m, mut s) = (false, false);
        for flag in r.flags.chars() {
            match flag {
                // Case folding is checked off: it never turns a valid pattern invalid (its
                // only error is for a build without Unicode case tables, which this is not),
                // and it is most of the cost of validating a pattern.
                'i' => {}
                'm' => m = true,
                's' => s = true,
                other => {
                    self.error(
                        Code::InvalidRegex,
                        r.span,
                        format!("unknown regex flag `{other}`"),
                        "the flags are `i` (ignore case), `m` (multi-line) and `s` (`.` matches a \
                         newline)",
                    );
                    return;
                }
            }
        }
        // Translation (pattern to matcher IR) can only fail on Unicode properties (`\p{…}`,
        // `\P{…}`) or on a flag group that turns Unicode off (`(?-u)`); the errors listed for
        // it otherwise need a build without Unicode tables or a custom line terminator. So a
        // pattern without `\p`, `\P` and `(?` is only parsed, which is half the cost.
        let translate =
            r.pattern.contains("\\p") || r.pattern.contains("\\P") || r.pattern.contains("(?");
        let result = if translate {
            // One parser per flag combination, reused: building one allocates.
            let slot = usize::from(m) | usize::from(s) << 1;
            let parser = self.regex_parsers[slot].get_or_insert_with(|| {
                regex_syntax::ParserBuilder::new()
                    .multi_line(m)
                    .dot_matches_new_line(s)
                    .nest_limit(REGEX_NEST_LIMIT)
                    .build()
            });
            parser.parse(&r.pattern).map(drop)
        } else {
            self.regex_ast_parser
                .get_or_insert_with(|| {
                    regex_syntax::ast::parse::ParserBuilder::new()
                        .nest_limit(REGEX_NEST_LIMIT)
                        .build()
                })
                .parse(&r.pattern)
                .map(drop)
                .map_err(regex_syntax::Error::Parse)
        };
        let Err(err) = result else { return };
        let (why, at) = match &err {
            regex_syntax::Error::Parse(e) => (e.kind().to_string(), Some(*e.span())),
            regex_syntax::Error::Translate(e) => (e.kind().to_string(), Some(*e.span())),
            other => (other.to_string(), None),
        };
        let span = at.map_or(r.span, |at| {
            self.regex_span(r, at.start.offset, at.end.offset)
        });
        self.error(
            Code::InvalidRegex,
            span,
            format!("invalid regex: {}", lowercase_first(&why)),
            "regexes follow the Rust `regex` syntax: no look-around and no backreferences; \
             escape `/` as `\\/`",
        );
    }

    /// The source span of the pattern bytes `start..end`. The source writes the pattern
    /// between slashes with each `/` escaped as `\/`, so each `/` before an offset moves it by
    /// one. Falls back to the whole literal when the source does not look like that (a tree
    /// built by hand).
    fn regex_span(&self, r: &Regex, start: usize, end: usize) -> Span {
        let escaped = r.pattern.matches('/').count();
        let body = r.span.start + 1;
        let expected_len = 1 + r.pattern.len() + escaped + 1 + r.flags.len();
        let fits = r.span.len() == expected_len
            && r.span.end <= self.src.len()
            && self.src.as_bytes().get(r.span.start) == Some(&b'/')
            && r.pattern.is_char_boundary(start.min(r.pattern.len()))
            && r.pattern.is_char_boundary(end.min(r.pattern.len()));
        if !fits || start > end || end > r.pattern.len() {
            return r.span;
        }
        let shift = |offset: usize| body + offset + r.pattern[..offset].matches('/').count();
        Span::new(shift(start), shift(end))
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
