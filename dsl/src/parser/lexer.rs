//! Pass one: one physical line of text to tokens, with nom over `nom_locate` input so every
//! token knows its byte span in the whole script.
//!
//! Lines are lexed one at a time and only when the statement pass reaches them, because the
//! code of a `job` (between `<<<` and `>>>`) is raw text that must never be tokenised. A line
//! stops at its first lexical error or after [`MAX_LINE_TOKENS`] tokens, so a hostile 10 MB
//! line costs a bounded amount of memory.

use super::{is_keyword, shorten, MAX_LINE_TOKENS};
use crate::ast::{Ident, Regex, Span, Spanned, Str, StrPart, VarPath};
use crate::diag::{Code, Diagnostic};
use crate::limits::MAX_STRING_BYTES;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while};
use nom::character::complete::{char, digit1, satisfy, space0};
use nom::combinator::{opt, recognize, value};
use nom::multi::many0_count;
use nom::{IResult, Input, Parser};
use nom_locate::LocatedSpan;

/// Lexer input: a line's text; `extra` is the line's byte offset in the script.
type In<'a> = LocatedSpan<&'a str, usize>;

type LexResult<'a, T> = IResult<In<'a>, T, LexError>;

/// A lexer error: `diag` is set for committed failures (a bad escape), unset when a token
/// form simply does not match and the next alternative should be tried.
#[derive(Debug)]
pub(super) struct LexError {
    diag: Option<Diagnostic>,
}

impl<'a> nom::error::ParseError<In<'a>> for LexError {
    fn from_error_kind(_input: In<'a>, _kind: nom::error::ErrorKind) -> Self {
        LexError { diag: None }
    }

    fn append(_input: In<'a>, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

fn failure<T>(diag: Diagnostic) -> Result<T, nom::Err<LexError>> {
    Err(nom::Err::Failure(LexError { diag: Some(diag) }))
}

fn no_match<T>() -> Result<T, nom::Err<LexError>> {
    Err(nom::Err::Error(LexError { diag: None }))
}

/// The absolute byte offset of an input position.
fn at(i: &In<'_>) -> usize {
    i.extra + i.location_offset()
}

/// One token of a line.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TokKind<'a> {
    /// A word or a dotted path (`click`, `item.price`); keywords are words too.
    Word(&'a str),
    Str(Str),
    Regex(Regex),
    /// `-12.5`, `20`, or a quantity with its unit letters attached: `500ms`, `256MB`.
    Num {
        text: &'a str,
        unit: Option<&'a str>,
    },
    Tilde,
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Colon,
    Assign,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    /// `<<<`, which opens a job's code.
    Heredoc,
    /// The text after `#`, trailing whitespace removed; always the last token of a line.
    Comment(&'a str),
    /// Where lexing stopped with an error; the diagnostic is the line's `error`.
    Error,
    /// The end of the line (never stored, returned past the last token).
    Eol,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token<'a> {
    pub kind: TokKind<'a>,
    pub span: Span,
}

/// A lexed line: its tokens, and the error that stopped lexing, if any.
#[derive(Debug, Clone)]
pub(super) struct LexedLine<'a> {
    pub tokens: Vec<Token<'a>>,
    pub error: Option<Diagnostic>,
    /// The line's text without its terminator.
    pub span: Span,
}

impl LexedLine<'_> {
    /// The last token before any comment, to tell block heads (`… {`) and job heads
    /// (`… <<<`) apart when skipping lines after an error.
    pub fn last_code_token(&self) -> Option<&TokKind<'_>> {
        self.tokens
            .iter()
            .rev()
            .map(|t| &t.kind)
            .find(|k| !matches!(k, TokKind::Comment(_)))
    }

    /// How many more `{` than `}` the line holds.
    pub fn open_braces(&self) -> usize {
        let count =
            |want: fn(&TokKind<'_>) -> bool| self.tokens.iter().filter(|t| want(&t.kind)).count();
        count(|k| matches!(k, TokKind::LBrace))
            .saturating_sub(count(|k| matches!(k, TokKind::RBrace)))
    }

    pub fn first(&self) -> Option<&TokKind<'_>> {
        self.tokens.first().map(|t| &t.kind)
    }
}

/// Lexes `src[start..end]` (one line, without its terminator).
pub(super) fn lex_line(src: &str, start: usize, end: usize) -> LexedLine<'_> {
    let text = src.get(start..end).unwrap_or("");
    let mut input = In::new_extra(text, start);
    let mut tokens = Vec::new();
    let mut error = None;
    loop {
        if let Ok((rest, _)) = space0::<In<'_>, LexError>(input) {
            input = rest;
        }
        if input.fragment().is_empty() {
            break;
        }
        if tokens.len() >= MAX_LINE_TOKENS {
            let here = at(&input);
            error = Some(
                Diagnostic::new(
                    Code::LimitExceeded,
                    Span::new(here, end),
                    format!("line has more than {MAX_LINE_TOKENS} tokens"),
                )
                .with_help("split the statement into several shorter ones"),
            );
            tokens.push(Token {
                kind: TokKind::Error,
                span: Span::new(here, here + 1),
            });
            break;
        }
        match token(input) {
            Ok((rest, tok)) => {
                let is_comment = matches!(tok.kind, TokKind::Comment(_));
                tokens.push(tok);
                input = rest;
                if is_comment {
                    break;
                }
            }
            Err(err) => {
                let diag = match err {
                    nom::Err::Failure(LexError { diag: Some(d) })
                    | nom::Err::Error(LexError { diag: Some(d) }) => d,
                    _ => unexpected_char(&input),
                };
                tokens.push(Token {
                    kind: TokKind::Error,
                    span: diag.span,
                });
                error = Some(diag);
                break;
            }
        }
    }
    LexedLine {
        tokens,
        error,
        span: Span::new(start, end),
    }
}

fn token(i: In<'_>) -> LexResult<'_, Token<'_>> {
    let start = at(&i);
    let (rest, kind) = alt((comment, string_token, regex_token, number, word, punct)).parse(i)?;
    let end = at(&rest);
    Ok((
        rest,
        Token {
            kind,
            span: Span::new(start, end),
        },
    ))
}

fn comment(i: In<'_>) -> LexResult<'_, TokKind<'_>> {
    let (rest, _) = char('#').parse(i)?;
    let text: &str = rest.fragment();
    let (rest, _) = rest.take_split(text.len());
    Ok((rest, TokKind::Comment(text.trim_end())))
}

fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn ident(i: In<'_>) -> LexResult<'_, In<'_>> {
    recognize((satisfy(ident_start), take_while(ident_char))).parse(i)
}

fn word(i: In<'_>) -> LexResult<'_, TokKind<'_>> {
    let (rest, w) = recognize((ident, many0_count((char('.'), ident)))).parse(i)?;
    Ok((rest, TokKind::Word(w.fragment())))
}

fn number(i: In<'_>) -> LexResult<'_, TokKind<'_>> {
    let (rest, text) = recognize((opt(char('-')), digit1, opt((char('.'), digit1)))).parse(i)?;
    let (rest, unit) = take_while(|c: char| c.is_ascii_alphabetic()).parse(rest)?;
    let unit: &str = unit.fragment();
    Ok((
        rest,
        TokKind::Num {
            text: text.fragment(),
            unit: (!unit.is_empty()).then_some(unit),
        },
    ))
}

fn punct(i: In<'_>) -> LexResult<'_, TokKind<'_>> {
    alt((
        value(TokKind::Heredoc, tag("<<<")),
        value(TokKind::EqEq, tag("==")),
        value(TokKind::NotEq, tag("!=")),
        value(TokKind::Le, tag("<=")),
        value(TokKind::Ge, tag(">=")),
        value(TokKind::Lt, tag("<")),
        value(TokKind::Gt, tag(">")),
        value(TokKind::Assign, tag("=")),
        value(TokKind::Tilde, tag("~")),
        value(TokKind::LBrace, tag("{")),
        value(TokKind::RBrace, tag("}")),
        value(TokKind::LParen, tag("(")),
        value(TokKind::RParen, tag(")")),
        value(TokKind::Comma, tag(",")),
        value(TokKind::Colon, tag(":")),
    ))
    .parse(i)
}

/// The error for a character no token starts with, with a hint for the usual slips.
fn unexpected_char(i: &In<'_>) -> Diagnostic {
    let start = at(i);
    let frag: &str = i.fragment();
    let c = frag.chars().next().unwrap_or(' ');
    let span = Span::new(start, start + c.len_utf8());
    let shown = show_char(c);
    let help = match c {
        '\'' => "strings use double quotes: `\"…\"`",
        '“' | '”' | '„' | '«' | '»' => "use straight double quotes `\"` around strings",
        '!' => "write `not` to negate a condition, or `!=` to compare",
        '&' => "write `and` to combine conditions",
        '|' => "write `or` to combine conditions",
        '-' => "a number is written `-12` or `-1.5`, with the digits right after `-`",
        '.' => "a variable path is written `item.price`, with no spaces around `.`",
        '\u{feff}' => "remove the byte order mark; save the script as plain UTF-8",
        _ => "remove it; a statement holds words, strings, numbers and `{ } ( ) , : = ~`",
    };
    Diagnostic::new(
        Code::Syntax,
        span,
        format!("unexpected character `{shown}`"),
    )
    .with_help(help)
}

/// A character as messages show it: itself when visible, `\u{…}` when it is a control or
/// an invisible formatting character.
fn show_char(c: char) -> String {
    let invisible = c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}');
    if invisible {
        c.escape_unicode().collect()
    } else {
        c.to_string()
    }
}

const ESCAPES_HELP: &str = "the escapes are `\\\"`, `\\\\`, `\\n`, `\\t`, `\\{` and `\\}`";

fn string_token(i: In<'_>) -> LexResult<'_, TokKind<'_>> {
    let (rest, s) = string_lit(i)?;
    Ok((rest, TokKind::Str(s)))
}

/// `"…"` with escapes and `{var.path}` interpolation, decoded into parts.
fn string_lit(i: In<'_>) -> LexResult<'_, Str> {
    let frag: &str = i.fragment();
    if !frag.starts_with('"') {
        return no_match();
    }
    let base = at(&i);
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut decoded_len = 0usize;
    let mut chars = frag.char_indices().skip(1).peekable();
    let unterminated = || {
        Diagnostic::new(
            Code::Syntax,
            Span::new(base, base + frag.len()),
            "unterminated string",
        )
        .with_label("this string is never closed")
        .with_help("close it with `\"` on the same line; strings cannot span lines (write `\\n` for a line break)")
    };
    while let Some((idx, c)) = chars.next() {
        match c {
            '"' => {
                if !lit.is_empty() {
                    parts.push(StrPart::Lit(std::mem::take(&mut lit)));
                }
                let end = idx + 1;
                if decoded_len > MAX_STRING_BYTES {
                    return failure(
                        Diagnostic::new(
                            Code::LimitExceeded,
                            Span::new(base, base + end),
                            format!(
                                "string is {decoded_len} bytes, more than the limit of {MAX_STRING_BYTES} bytes"
                            ),
                        )
                        .with_help("shorten the text"),
                    );
                }
                let (rest, _) = i.take_split(end);
                return Ok((
                    rest,
                    Str {
                        parts,
                        span: Span::new(base, base + end),
                    },
                ));
            }
            '\\' => {
                let Some((_, e)) = chars.next() else {
                    return failure(unterminated());
                };
                let decoded = match e {
                    '"' => '"',
                    '\\' => '\\',
                    'n' => '\n',
                    't' => '\t',
                    '{' => '{',
                    '}' => '}',
                    other => {
                        let shown = show_char(other);
                        return failure(
                            Diagnostic::new(
                                Code::Syntax,
                                Span::new(base + idx, base + idx + 1 + other.len_utf8()),
                                format!("unknown escape `\\{shown}` in string"),
                            )
                            .with_help(ESCAPES_HELP),
                        );
                    }
                };
                lit.push(decoded);
                decoded_len += decoded.len_utf8();
            }
            '{' => {
                let close = frag[idx + 1..].find(['}', '"']).map(|k| idx + 1 + k);
                let Some(close) = close.filter(|&k| frag[k..].starts_with('}')) else {
                    return failure(
                        Diagnostic::new(
                            Code::Syntax,
                            Span::new(base + idx, base + idx + 1),
                            "unclosed `{` in string",
                        )
                        .with_help(
                            "close the variable with `}`, or write `\\{` for a literal brace",
                        ),
                    );
                };
                let inner = &frag[idx + 1..close];
                let path = var_path_in_string(inner, base + idx + 1)?;
                if !lit.is_empty() {
                    parts.push(StrPart::Lit(std::mem::take(&mut lit)));
                }
                decoded_len += inner.len() + 2;
                parts.push(StrPart::Var(path));
                while chars.peek().is_some_and(|(k, _)| *k <= close) {
                    chars.next();
                }
            }
            '}' => {
                return failure(
                    Diagnostic::new(
                        Code::Syntax,
                        Span::new(base + idx, base + idx + 1),
                        "unmatched `}` in string",
                    )
                    .with_help("write `\\}` for a literal brace"),
                );
            }
            other => {
                lit.push(other);
                decoded_len += other.len_utf8();
            }
        }
    }
    failure(unterminated())
}

/// The `name.field` between `{` and `}` of an interpolation; `start` is its byte offset.
fn var_path_in_string(inner: &str, start: usize) -> Result<VarPath, nom::Err<LexError>> {
    let span = Span::new(start - 1, start + inner.len() + 1);
    if inner.is_empty() {
        return failure(
            Diagnostic::new(Code::Syntax, span, "empty `{}` in string")
                .with_help("name a variable inside the braces, e.g. `{query}`, or write `\\{\\}` for literal braces"),
        );
    }
    match split_path(inner, start) {
        Ok(path) => Ok(path),
        Err(diag) => failure(diag),
    }
}

/// Splits `a.b.c` (already known to sit at byte `start`) into a variable path, checking that
/// each segment is an identifier and the first is not a reserved word.
pub(super) fn split_path(text: &str, start: usize) -> Result<VarPath, Diagnostic> {
    let mut segments: Vec<Ident> = Vec::new();
    let mut offset = start;
    for seg in text.split('.') {
        let valid = seg.chars().next().is_some_and(ident_start) && seg.chars().all(ident_char);
        if !valid {
            let shown = shorten(&text.escape_debug().to_string());
            return Err(Diagnostic::new(
                Code::Syntax,
                Span::new(start, start + text.len()),
                format!("`{shown}` is not a variable name"),
            )
            .with_help(
                "a variable is a name such as `price` or `item.price`, letters, digits and `_`",
            ));
        }
        segments.push(Spanned::new(
            seg.to_owned(),
            Span::new(offset, offset + seg.len()),
        ));
        offset += seg.len() + 1;
    }
    let mut segments = segments.into_iter();
    let Some(name) = segments.next() else {
        return Err(Diagnostic::new(
            Code::Syntax,
            Span::new(start, start + text.len()),
            "expected a variable name",
        ));
    };
    if is_keyword(&name.node) {
        return Err(reserved_word(&name.node, name.span));
    }
    Ok(VarPath {
        name,
        fields: segments.collect(),
    })
}

/// The diagnostic for a reserved word used as a name.
pub(super) fn reserved_word(word: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        span,
        format!("`{word}` is a reserved word, not a variable name"),
    )
    .with_help(format!("choose another name, e.g. `{word}_value`"))
}

/// `/pattern/flags`; `\/` in the pattern stands for `/`, other escapes are kept as written.
fn regex_token(i: In<'_>) -> LexResult<'_, TokKind<'_>> {
    let frag: &str = i.fragment();
    if !frag.starts_with('/') {
        return no_match();
    }
    let base = at(&i);
    let mut pattern = String::new();
    let mut chars = frag.char_indices().skip(1);
    let mut close = None;
    while let Some((idx, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, '/')) => pattern.push('/'),
                Some((_, other)) => {
                    pattern.push('\\');
                    pattern.push(other);
                }
                None => break,
            },
            '/' => {
                close = Some(idx);
                break;
            }
            other => pattern.push(other),
        }
    }
    let Some(close) = close else {
        return failure(
            Diagnostic::new(
                Code::Syntax,
                Span::new(base, base + frag.len()),
                "unterminated regular expression",
            )
            .with_help("close it with `/` on the same line; write `\\/` for a slash inside it"),
        );
    };
    if pattern.is_empty() {
        return failure(
            Diagnostic::new(
                Code::Syntax,
                Span::new(base, base + close + 1),
                "empty regular expression",
            )
            .with_help("write a pattern between the slashes, e.g. `/^E-?mail$/i`"),
        );
    }
    let after = &frag[close + 1..];
    let flag_len = after
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(after.len());
    let flag_text = &after[..flag_len];
    let mut seen = [false; 3];
    for (k, f) in flag_text.char_indices() {
        let fspan = Span::new(base + close + 1 + k, base + close + 2 + k);
        let slot = match f {
            'i' => 0,
            'm' => 1,
            's' => 2,
            other => {
                return failure(
                    Diagnostic::new(
                        Code::Syntax,
                        fspan,
                        format!("unknown regular expression flag `{other}`"),
                    )
                    .with_help("the flags are `i` (ignore case), `m` (multi-line) and `s` (`.` matches a line break)"),
                );
            }
        };
        if seen[slot] {
            return failure(
                Diagnostic::new(Code::Syntax, fspan, format!("flag `{f}` is given twice"))
                    .with_help("write each flag once"),
            );
        }
        seen[slot] = true;
    }
    // Flags are kept in one order so that `/x/si` and `/x/is` are the same tree.
    let flags: String = ['i', 'm', 's']
        .iter()
        .zip(seen)
        .filter(|(_, on)| *on)
        .map(|(f, _)| *f)
        .collect();
    let end = close + 1 + flag_len;
    let (rest, _) = i.take_split(end);
    Ok((
        rest,
        TokKind::Regex(Regex {
            pattern,
            flags,
            span: Span::new(base, base + end),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokKind<'_>> {
        lex_line(src, 0, src.len())
            .tokens
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn lexes_words_numbers_and_punctuation() {
        assert_eq!(
            kinds("let n = -1.5 <<< 500ms item.price"),
            vec![
                TokKind::Word("let"),
                TokKind::Word("n"),
                TokKind::Assign,
                TokKind::Num {
                    text: "-1.5",
                    unit: None
                },
                TokKind::Heredoc,
                TokKind::Num {
                    text: "500",
                    unit: Some("ms")
                },
                TokKind::Word("item.price"),
            ]
        );
        assert_eq!(
            kinds("<= < >= > == != ~ { } ( ) , :"),
            vec![
                TokKind::Le,
                TokKind::Lt,
                TokKind::Ge,
                TokKind::Gt,
                TokKind::EqEq,
                TokKind::NotEq,
                TokKind::Tilde,
                TokKind::LBrace,
                TokKind::RBrace,
                TokKind::LParen,
                TokKind::RParen,
                TokKind::Comma,
                TokKind::Colon,
            ]
        );
    }

    #[test]
    fn comment_ends_the_line_and_keeps_leading_space() {
        assert_eq!(
            kinds("back  # go \"back\"   "),
            vec![TokKind::Word("back"), TokKind::Comment(" go \"back\"")]
        );
    }

    #[test]
    fn strings_decode_escapes_and_interpolation() {
        let src = r#""a\"b\\ \{x\} {item.price}!""#;
        let line = lex_line(src, 0, src.len());
        let TokKind::Str(s) = &line.tokens[0].kind else {
            panic!("{line:?}")
        };
        assert_eq!(s.parts.len(), 3);
        assert_eq!(s.parts[0], StrPart::Lit("a\"b\\ {x} ".into()));
        let StrPart::Var(v) = &s.parts[1] else {
            panic!("{s:?}")
        };
        assert_eq!(v.name.node, "item");
        assert_eq!(v.name.span, Span::new(15, 19));
        assert_eq!(v.fields[0].node, "price");
        assert_eq!(v.fields[0].span.start, 20);
        assert_eq!(s.parts[2], StrPart::Lit("!".into()));
    }

    #[test]
    fn string_errors_have_spans_and_help() {
        let line = lex_line("note \"a\\qb\"", 0, 11);
        let d = line.error.unwrap();
        assert_eq!(d.message, "unknown escape `\\q` in string");
        assert_eq!(d.span, Span::new(7, 9));
        assert_eq!(d.help.as_deref(), Some(ESCAPES_HELP));

        let d = lex_line("note \"abc", 0, 9).error.unwrap();
        assert_eq!(d.message, "unterminated string");
        assert_eq!(d.span, Span::new(5, 9));

        let d = lex_line("note \"a{}\"", 0, 10).error.unwrap();
        assert_eq!(d.message, "empty `{}` in string");
        assert_eq!(d.span, Span::new(7, 9));

        let d = lex_line("note \"a{url}\"", 0, 13).error.unwrap();
        assert_eq!(d.message, "`url` is a reserved word, not a variable name");

        let d = lex_line("note \"a}\"", 0, 9).error.unwrap();
        assert_eq!(d.message, "unmatched `}` in string");
        let d = lex_line("note \"a{b\"", 0, 10).error.unwrap();
        assert_eq!(d.message, "unclosed `{` in string");
    }

    #[test]
    fn string_length_limit_is_on_decoded_bytes() {
        let at_limit = format!("\"{}\"", "a".repeat(MAX_STRING_BYTES));
        assert!(lex_line(&at_limit, 0, at_limit.len()).error.is_none());
        let over = format!("\"{}\"", "a".repeat(MAX_STRING_BYTES + 1));
        let d = lex_line(&over, 0, over.len()).error.unwrap();
        assert_eq!(d.code, Code::LimitExceeded);
        assert_eq!(
            d.message,
            "string is 4097 bytes, more than the limit of 4096 bytes"
        );
        // Escapes count once decoded: 4096 `\n` escapes are 8192 bytes of source but fit.
        let escaped = format!("\"{}\"", "\\n".repeat(MAX_STRING_BYTES));
        assert!(lex_line(&escaped, 0, escaped.len()).error.is_none());
    }

    #[test]
    fn regex_unescapes_slashes_and_orders_flags() {
        let src = r"/a\/b\d/si";
        let TokKind::Regex(r) = &kinds(src)[0] else {
            panic!()
        };
        assert_eq!(r.pattern, r"a/b\d");
        assert_eq!(r.flags, "is");
        assert_eq!(r.span, Span::new(0, src.len()));
        let d = lex_line("/a/ix", 0, 5).error.unwrap();
        assert_eq!(d.message, "unknown regular expression flag `x`");
        assert_eq!(d.span, Span::new(4, 5));
        let d = lex_line("/a/ii", 0, 5).error.unwrap();
        assert_eq!(d.message, "flag `i` is given twice");
        let d = lex_line("/a", 0, 2).error.unwrap();
        assert_eq!(d.message, "unterminated regular expression");
        let d = lex_line("//", 0, 2).error.unwrap();
        assert_eq!(d.message, "empty regular expression");
    }

    #[test]
    fn unexpected_characters_get_a_hint() {
        let d = lex_line("fill x with 'a'", 0, 15).error.unwrap();
        assert_eq!(d.message, "unexpected character `'`");
        assert_eq!(d.span, Span::new(12, 13));
        assert_eq!(
            d.help.as_deref(),
            Some("strings use double quotes: `\"…\"`")
        );
        let d = lex_line("a\0", 0, 2).error.unwrap();
        assert_eq!(d.message, "unexpected character `\\u{0}`");
    }

    #[test]
    fn token_count_per_line_is_bounded() {
        let at_limit = "( ".repeat(MAX_LINE_TOKENS);
        let line = lex_line(&at_limit, 0, at_limit.len());
        assert!(line.error.is_none());
        assert_eq!(line.tokens.len(), MAX_LINE_TOKENS);
        let over = "(".repeat(MAX_LINE_TOKENS + 1);
        let line = lex_line(&over, 0, over.len());
        let d = line.error.unwrap();
        assert_eq!(d.code, Code::LimitExceeded);
        assert_eq!(
            d.message,
            format!("line has more than {MAX_LINE_TOKENS} tokens")
        );
    }

    #[test]
    fn offsets_are_absolute() {
        let src = "xx\nclick button";
        let line = lex_line(src, 3, src.len());
        assert_eq!(line.tokens[1].span, Span::new(9, 15));
    }
}
