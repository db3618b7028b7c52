//! Pass two: lines of tokens to statements and blocks.
//!
//! The parser walks the script line by line, keeping the current line's tokens and a cursor.
//! Block statements pull further lines (a multi-line body, its closing `}` line) and jobs pull
//! raw code lines. An error abandons the rest of its line; when the broken line opened a block
//! or a job, the body is skipped too (iteratively, by counting braces) so one typo in a block
//! head does not cascade into errors on every line below it.

use super::lexer::{lex_line, LexedLine, TokKind, Token};
use super::{is_keyword, shorten, suggest, STATEMENT_WORDS};
use crate::ast::{Block, Job, Line, ParamType, SandboxTier, Script, Span, Spanned, Stmt, StmtKind};
use crate::diag::{Code, Diagnostic};
use crate::limits::{MAX_DIAGNOSTICS, MAX_JOB_CODE_BYTES, MAX_NESTING};

pub(super) type PResult<T> = Result<T, Diagnostic>;

pub(super) struct Parser<'a> {
    src: &'a str,
    /// Byte offset of the next unread line; `src.len()` once every line is read.
    next: usize,
    /// Counts lines read, so a statement can tell whether it is still on its first line.
    pub(super) line_no: usize,
    line: LexedLine<'a>,
    pos: usize,
    /// End of the last token consumed, for spans and for "expected …" at the end of a line.
    pub(super) last_end: usize,
    diags: Vec<Diagnostic>,
    /// Set when [`MAX_DIAGNOSTICS`] is reached: parsing stops there.
    stopped: bool,
}

/// `eol` token returned when peeking past the last token of a line.
const EOL: TokKind<'static> = TokKind::Eol;

impl<'a> Parser<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        // A byte order mark is not part of the script; skipping it keeps BOM-saved files valid.
        let next = if src.starts_with('\u{feff}') { 3 } else { 0 };
        Parser {
            src,
            next,
            line_no: 0,
            line: empty_line(0),
            pos: 0,
            last_end: 0,
            diags: Vec::new(),
            stopped: false,
        }
    }

    pub(super) fn parse_script(mut self) -> Result<Script, Vec<Diagnostic>> {
        let (lines, _) = self.lines(0);
        if self.diags.is_empty() {
            Ok(Script { lines })
        } else {
            Err(self.diags)
        }
    }

    // ---- diagnostics ----

    fn error(&mut self, diag: Diagnostic) {
        if self.stopped {
            return;
        }
        if self.diags.len() + 1 < MAX_DIAGNOSTICS {
            self.diags.push(diag);
        } else {
            self.diags.push(
                Diagnostic::new(
                    Code::LimitExceeded,
                    diag.span,
                    format!("too many errors; parsing stopped after {MAX_DIAGNOSTICS}"),
                )
                .with_help("fix the errors above and parse again"),
            );
            self.stopped = true;
        }
    }

    /// "`expected`, found …" at the next token, with `help`; or the lexer's own error when the
    /// next token is where lexing failed.
    pub(super) fn unexpected(&self, expected: &str, help: impl Into<String>) -> Diagnostic {
        let tok = self.peek();
        if matches!(tok.kind, TokKind::Error) {
            if let Some(err) = &self.line.error {
                return err.clone();
            }
        }
        let span = match tok.kind {
            TokKind::Eol => Span::new(self.last_end, self.last_end),
            _ => tok.span,
        };
        Diagnostic::new(
            Code::Syntax,
            span,
            format!("{expected}, found {}", self.describe(tok)),
        )
        .with_help(help)
    }

    /// How a token is named in messages: its source text in backticks, shortened.
    pub(super) fn describe(&self, tok: &Token<'_>) -> String {
        match tok.kind {
            TokKind::Eol => "the end of the line".to_owned(),
            TokKind::Comment(_) => "a comment".to_owned(),
            _ => {
                let text = self.src.get(tok.span.start..tok.span.end).unwrap_or("");
                format!("`{}`", shorten(text))
            }
        }
    }

    // ---- cursor over the current line ----

    pub(super) fn peek(&self) -> &Token<'a> {
        static EOL_TOKEN: Token<'static> = Token {
            kind: EOL,
            span: Span { start: 0, end: 0 },
        };
        self.line.tokens.get(self.pos).unwrap_or(&EOL_TOKEN)
    }

    pub(super) fn peek_kind(&self) -> &TokKind<'a> {
        &self.peek().kind
    }

    pub(super) fn peek2_kind(&self) -> &TokKind<'a> {
        self.line.tokens.get(self.pos + 1).map_or(&EOL, |t| &t.kind)
    }

    /// Takes the next token (the end of the line stays put).
    pub(super) fn bump(&mut self) -> Token<'a> {
        match self.line.tokens.get_mut(self.pos) {
            Some(tok) if !matches!(tok.kind, TokKind::Error) => {
                let span = tok.span;
                let tok = std::mem::replace(
                    tok,
                    Token {
                        kind: TokKind::Eol,
                        span,
                    },
                );
                self.pos += 1;
                self.last_end = span.end;
                tok
            }
            _ => Token {
                kind: TokKind::Eol,
                span: Span::new(self.last_end, self.last_end),
            },
        }
    }

    pub(super) fn is_word(&self, word: &str) -> bool {
        matches!(self.peek_kind(), TokKind::Word(w) if *w == word)
    }

    pub(super) fn eat_word(&mut self, word: &str) -> Option<Span> {
        self.is_word(word).then(|| self.bump().span)
    }

    /// Consumes `word` or fails with "`expected`, found …".
    pub(super) fn keyword(&mut self, word: &str, expected: &str, help: &str) -> PResult<Span> {
        match self.eat_word(word) {
            Some(span) => Ok(span),
            None => Err(self.unexpected(expected, help)),
        }
    }

    // ---- lines ----

    /// The next physical line as `start..end`, without its `\n` or `\r\n`.
    fn next_raw_line(&mut self) -> Option<(usize, usize)> {
        let src = self.src;
        if self.next >= src.len() {
            return None;
        }
        let start = self.next;
        let rest = src.get(start..).unwrap_or("");
        let (mut end, next) = match rest.find('\n') {
            Some(k) => (start + k, start + k + 1),
            None => (src.len(), src.len()),
        };
        if src.get(start..end).is_some_and(|l| l.ends_with('\r')) {
            end -= 1;
        }
        self.next = next;
        self.line_no += 1;
        Some((start, end))
    }

    /// Lexes the next line into the cursor; false at the end of the script.
    fn load_line(&mut self) -> bool {
        match self.next_raw_line() {
            Some((start, end)) => {
                self.line = lex_line(self.src, start, end);
                self.pos = 0;
                self.last_end = start;
                true
            }
            None => {
                self.line = empty_line(self.src.len());
                self.pos = 0;
                false
            }
        }
    }

    /// Parses lines until the end of the script or, inside a block (`depth > 0`), a line that
    /// starts with `}`; returns the lines and whether such a `}` line stopped it (the cursor
    /// then stands on that `}`).
    fn lines(&mut self, depth: usize) -> (Vec<Line>, bool) {
        let mut out = Vec::new();
        while !self.stopped && self.load_line() {
            match self.peek_kind() {
                TokKind::Eol => push_blank(&mut out, self.line.span),
                TokKind::Comment(text) => {
                    let comment = Spanned::new((*text).to_owned(), self.peek().span);
                    out.push(Line::Comment(comment));
                }
                TokKind::RBrace if depth > 0 => return (tidy(out), true),
                TokKind::RBrace => {
                    let span = self.peek().span;
                    self.error(
                        Diagnostic::new(Code::Syntax, span, "unexpected `}` with no open block")
                            .with_help("remove it, or check that the block's `{` ends its line"),
                    );
                }
                _ => self.statement_line(depth, &mut out),
            }
        }
        (tidy(out), false)
    }

    /// A line that starts a statement at `depth`.
    fn statement_line(&mut self, depth: usize, out: &mut Vec<Line>) {
        let head = self.line_no;
        let opens = match self.line.last_code_token() {
            Some(TokKind::LBrace) => Opens::Block(self.line.open_braces().max(1)),
            Some(TokKind::Heredoc) => Opens::Job,
            _ => Opens::Nothing,
        };
        match self.statement(depth, false) {
            Ok(mut stmt) => {
                match self.end_of_line("expected the end of the statement") {
                    Ok(Some(comment)) if self.line_no == head => stmt.comment = Some(comment.node),
                    // A comment after a closing `}` stays with the block it closes.
                    Ok(Some(comment)) => {
                        if let Some(block) = last_block_mut(&mut stmt.kind) {
                            block.lines.push(Line::Comment(comment));
                        }
                    }
                    Ok(None) => {}
                    Err(diag) => self.error(diag),
                }
                out.push(Line::Stmt(stmt));
            }
            Err(diag) => {
                self.error(diag);
                if self.line_no == head {
                    match opens {
                        Opens::Block(depth) => self.skip_block(depth),
                        Opens::Job => self.skip_job_code(),
                        Opens::Nothing => {}
                    }
                }
            }
        }
    }

    /// The end of a line: nothing, or a comment.
    fn end_of_line(&mut self, expected: &str) -> PResult<Option<Spanned<String>>> {
        match self.peek_kind() {
            TokKind::Eol => Ok(None),
            TokKind::Comment(text) => {
                let comment = Spanned::new((*text).to_owned(), self.peek().span);
                self.bump();
                Ok(Some(comment))
            }
            _ => Err(self.unexpected(expected, "put each statement on its own line")),
        }
    }

    /// After an error on a block head that left `depth` blocks open: skips the bodies up to
    /// the matching `}` line, counting nested blocks without recursion.
    fn skip_block(&mut self, mut depth: usize) {
        while self.load_line() {
            if matches!(self.line.first(), Some(TokKind::RBrace)) {
                depth -= 1;
            }
            match self.line.last_code_token() {
                Some(TokKind::LBrace) => depth += 1,
                Some(TokKind::Heredoc) => self.skip_job_code(),
                _ => {}
            }
            if depth == 0 {
                return;
            }
        }
    }

    /// After an error on a job head: skips its code up to the `>>>` line.
    fn skip_job_code(&mut self) {
        while let Some((start, end)) = self.next_raw_line() {
            if self.src.get(start..end).is_some_and(|l| l.trim() == ">>>") {
                break;
            }
        }
        self.line = empty_line(self.next);
        self.pos = 0;
    }

    // ---- statements ----

    /// One statement, starting at the cursor. `inline` is set inside a one-line block, where
    /// nested blocks must be one-line too and jobs cannot stand.
    pub(super) fn statement(&mut self, depth: usize, inline: bool) -> PResult<Stmt> {
        let head = self.line_no;
        let first = self.peek().clone();
        let TokKind::Word(verb) = first.kind else {
            return Err(self.not_a_statement(&first));
        };
        self.bump();
        let mut comment = None;
        let kind = match verb {
            "bridle" => StmtKind::Version(self.int(
                "expected the language version after `bridle`",
                "write `bridle 1`",
            )?),
            "goal" => StmtKind::Goal(self.string(
                "expected the goal as a string after `goal`",
                "write `goal \"Buy a USB-C cable\"`",
            )?),
            "origins" => self.origins()?,
            "param" => self.param()?,
            "secret" => self.secret()?,
            "navigate" => StmtKind::Navigate(self.string(
                "expected a URL after `navigate`",
                "write `navigate \"https://shop.example/\"`",
            )?),
            "back" => StmtKind::Back,
            "forward" => StmtKind::Forward,
            "reload" => StmtKind::Reload,
            "open" => {
                self.keyword(
                    "tab",
                    "expected `tab` after `open`",
                    "write `open tab \"<url>\"`",
                )?;
                StmtKind::OpenTab(self.string(
                    "expected a URL after `open tab`",
                    "write `open tab \"https://shop.example/\"`",
                )?)
            }
            "switch" => {
                self.keyword(
                    "tab",
                    "expected `tab` after `switch`",
                    "write `switch tab ~\"<part of the title or URL>\"`",
                )?;
                StmtKind::SwitchTab(self.matcher(
                    "expected the tab's title after `switch tab`",
                    "write `switch tab ~\"Checkout\"`",
                )?)
            }
            "close" => {
                self.keyword("tab", "expected `tab` after `close`", "write `close tab`")?;
                StmtKind::CloseTab
            }
            "click" => StmtKind::Click(self.target("click")?),
            "fill" => {
                let target = self.target("fill")?;
                self.keyword(
                    "with",
                    "expected `with` after the target of `fill`",
                    "write `fill textbox \"Email\" with \"me@example.com\"`",
                )?;
                let value = self.expr(
                    "expected a value after `with`",
                    "fill with a string, a number, a variable or a secret, e.g. `with query`",
                )?;
                StmtKind::Fill { target, value }
            }
            "clear" => StmtKind::Clear(self.target("clear")?),
            "select" => {
                let target = self.target("select")?;
                self.keyword(
                    "option",
                    "expected `option` after the target of `select`",
                    "write `select combobox \"Size\" option \"XL\"`",
                )?;
                let option = self.string(
                    "expected the option's label after `option`",
                    "write `option \"XL\"`",
                )?;
                StmtKind::Select { target, option }
            }
            "check" => StmtKind::Check(self.target("check")?),
            "uncheck" => StmtKind::Uncheck(self.target("uncheck")?),
            "hover" => StmtKind::Hover(self.target("hover")?),
            "press" => {
                let key = self.string(
                    "expected a key after `press`",
                    "write `press \"Enter\"` or `press \"Control+A\" on textbox \"Notes\"`",
                )?;
                let on = match self.eat_word("on") {
                    Some(_) => Some(self.target("on")?),
                    None => None,
                };
                StmtKind::Press { key, on }
            }
            "scroll" => {
                self.keyword(
                    "to",
                    "expected `to` after `scroll`",
                    "write `scroll to css \"footer\"`",
                )?;
                StmtKind::ScrollTo(self.target("scroll to")?)
            }
            "submit" => StmtKind::Submit(self.target("submit")?),
            "upload" => StmtKind::Upload(self.target("upload")?),
            "let" => {
                let name =
                    self.ident("after `let`", "write `let price = text of css \"#price\"`")?;
                if !matches!(self.peek_kind(), TokKind::Assign) {
                    return Err(self.unexpected(
                        "expected `=` after the variable name",
                        format!("write `let {} = …`", shorten(&name.node)),
                    ));
                }
                self.bump();
                let value = if let Some(start) = self.eat_word("job") {
                    let (job, job_comment) = self.job(start, inline)?;
                    comment = job_comment;
                    crate::ast::Expr::Job(Box::new(job))
                } else {
                    self.expr(
                        "expected a value after `=`",
                        "a value is a string, a number, `true`, `false`, a variable or an observation such as `text of heading`",
                    )?
                };
                StmtKind::Let { name, value }
            }
            "wait" => StmtKind::Wait(self.wait()?),
            "assert" => StmtKind::Assert(self.cond("after `assert`")?),
            "if" => {
                let cond = self.cond("after `if`")?;
                let (then, c1) = self.block(depth, inline, head)?;
                let mut otherwise = None;
                let mut c2 = None;
                if self.eat_word("else").is_some() {
                    let (block, c) = self.block(depth, inline, head)?;
                    otherwise = Some(block);
                    c2 = c;
                }
                comment = c1.or(c2);
                StmtKind::If {
                    cond,
                    then,
                    otherwise,
                }
            }
            "repeat" => {
                let help = "write `repeat at most 5 until exists link \"Next\" {`";
                self.keyword("at", "expected `at most` after `repeat`", help)?;
                self.keyword("most", "expected `most` after `repeat at`", help)?;
                let max = self.int("expected the loop bound after `at most`", help)?;
                self.keyword(
                    "until",
                    "expected `until` and a condition after the loop bound",
                    help,
                )?;
                let until = self.cond("after `until`")?;
                let (body, c) = self.block(depth, inline, head)?;
                comment = c;
                StmtKind::Repeat { max, until, body }
            }
            "for" => {
                let help = "write `for each item in rows at most 20 {`";
                self.keyword("each", "expected `each` after `for`", help)?;
                let item = self.ident("after `for each`", help)?;
                self.keyword("in", "expected `in` after the loop variable", help)?;
                let list = self.expr("expected a list after `in`", help)?;
                self.keyword("at", "expected `at most` after the list", help)?;
                self.keyword("most", "expected `most` after `at`", help)?;
                let max = self.int("expected the loop bound after `at most`", help)?;
                let (body, c) = self.block(depth, inline, head)?;
                comment = c;
                StmtKind::ForEach {
                    item,
                    list,
                    max,
                    body,
                }
            }
            "confirm" => StmtKind::Confirm(self.string(
                "expected a question after `confirm`",
                "write `confirm \"Place the order?\"`",
            )?),
            "handoff" => StmtKind::Handoff(self.string(
                "expected a message after `handoff`",
                "write `handoff \"Please sign in, then press Continue\"`",
            )?),
            "note" => StmtKind::Note(self.string(
                "expected a message after `note`",
                "write `note \"Added the cable to the cart\"`",
            )?),
            "job" => {
                let (job, job_comment) = self.job(first.span, inline)?;
                comment = job_comment;
                StmtKind::Job(job)
            }
            "return" => StmtKind::Return(self.expr(
                "expected a value after `return`",
                "write `return price` or `return \"done\"`",
            )?),
            _ => return Err(unknown_verb(verb, first.span)),
        };
        Ok(Stmt {
            kind,
            span: Span::new(first.span.start, self.last_end),
            comment,
        })
    }

    fn not_a_statement(&self, tok: &Token<'_>) -> Diagnostic {
        if matches!(tok.kind, TokKind::Error) {
            if let Some(err) = &self.line.error {
                return err.clone();
            }
        }
        if matches!(tok.kind, TokKind::Gt)
            && self
                .src
                .get(self.line.span.start..self.line.span.end)
                .is_some_and(|l| l.trim() == ">>>")
        {
            return Diagnostic::new(
                Code::Syntax,
                tok.span.to(Span::new(tok.span.start, tok.span.start + 3)),
                "`>>>` closes a job's code, but no job is open",
            )
            .with_help("start the code with `job \"python3\" <<<` on the line before it");
        }
        Diagnostic::new(
            Code::Syntax,
            tok.span,
            format!("expected a statement, found {}", self.describe(tok)),
        )
        .with_help("a statement starts with a verb such as `click`, `fill`, `navigate` or `let`")
    }

    /// `{` and a block: a multi-line body ending at a `}` line, or one statement and `}` on
    /// the same line. Returns the comment after a `{` that ends the statement's first line.
    fn block(
        &mut self,
        depth: usize,
        inline: bool,
        head: usize,
    ) -> PResult<(Block, Option<String>)> {
        if !matches!(self.peek_kind(), TokKind::LBrace) {
            return Err(self.unexpected(
                "expected `{` to open the block",
                "end the line with `{`, or write the one-statement form `{ click button \"OK\" }`",
            ));
        }
        let open = self.peek().span;
        if depth + 1 > MAX_NESTING {
            return Err(Diagnostic::new(
                Code::LimitExceeded,
                open,
                format!("blocks nest more than {MAX_NESTING} deep"),
            )
            .with_help("flatten the logic, or split the work into several scripts"));
        }
        self.bump();
        match self.peek_kind() {
            TokKind::Eol | TokKind::Comment(_) => {
                if inline {
                    return Err(Diagnostic::new(
                        Code::Syntax,
                        open,
                        "a one-line block cannot hold a multi-line block",
                    )
                    .with_help("write the outer block over several lines"));
                }
                let on_head = self.line_no == head;
                let comment = self.end_of_line("expected the end of the line after `{`")?;
                let (mut lines, closed) = self.lines(depth + 1);
                if !closed {
                    return Err(
                        Diagnostic::new(Code::Syntax, open, "this `{` is never closed")
                            .with_label("block opened here")
                            .with_help("close the block with a line that starts with `}`"),
                    );
                }
                let close = self.bump().span;
                let head_comment = match comment {
                    Some(c) if on_head => Some(c.node),
                    Some(c) => {
                        lines.insert(0, Line::Comment(c));
                        None
                    }
                    None => None,
                };
                Ok((
                    Block {
                        lines,
                        span: open.to(close),
                    },
                    head_comment,
                ))
            }
            _ => {
                let stmt = self.statement(depth + 1, true)?;
                if !matches!(self.peek_kind(), TokKind::RBrace) {
                    let help = if matches!(self.peek_kind(), TokKind::Comment(_)) {
                        "a comment runs to the end of the line; put it after the closing `}`"
                    } else {
                        "a one-line block holds exactly one statement, e.g. `{ click button \"OK\" }`"
                    };
                    return Err(self.unexpected("expected `}` to close the one-line block", help));
                }
                let close = self.bump().span;
                Ok((
                    Block {
                        lines: vec![Line::Stmt(stmt)],
                        span: open.to(close),
                    },
                    None,
                ))
            }
        }
    }

    fn origins(&mut self) -> PResult<StmtKind> {
        let help = "write `origins \"https://shop.example\", \"https://pay.example\"`";
        let mut origins =
            vec![self.literal("expected an origin after `origins`", help, "an origin")?];
        while matches!(self.peek_kind(), TokKind::Comma) {
            self.bump();
            origins.push(self.literal("expected an origin after `,`", help, "an origin")?);
        }
        Ok(StmtKind::Origins(origins))
    }

    fn param(&mut self) -> PResult<StmtKind> {
        let help = "write `param query: text = \"usb-c cable\"`; the types are `text`, `number` and `bool`";
        let name = self.ident("after `param`", help)?;
        if !matches!(self.peek_kind(), TokKind::Colon) {
            return Err(self.unexpected("expected `:` and a type after the parameter name", help));
        }
        self.bump();
        let ty = match self.peek_kind() {
            TokKind::Word("text") => ParamType::Text,
            TokKind::Word("number") => ParamType::Number,
            TokKind::Word("bool") => ParamType::Bool,
            TokKind::Word(other) => {
                let msg = format!("unknown type `{}`", shorten(other));
                let help = suggest(other, ["text", "number", "bool"])
                    .unwrap_or_else(|| "the types are `text`, `number` and `bool`".to_owned());
                return Err(Diagnostic::new(Code::Syntax, self.peek().span, msg).with_help(help));
            }
            _ => return Err(self.unexpected("expected a type after `:`", help)),
        };
        let ty = Spanned::new(ty, self.bump().span);
        let default = if matches!(self.peek_kind(), TokKind::Assign) {
            self.bump();
            Some(self.expr("expected a default value after `=`", help)?)
        } else {
            None
        };
        Ok(StmtKind::Param { name, ty, default })
    }

    fn secret(&mut self) -> PResult<StmtKind> {
        let help = "write `secret card = \"visa-personal\"`, naming an entry of your local vault";
        let name = self.ident("after `secret`", help)?;
        if !matches!(self.peek_kind(), TokKind::Assign) {
            return Err(self.unexpected("expected `=` after the secret's name", help));
        }
        self.bump();
        let entry = self.literal(
            "expected the vault entry's name after `=`",
            help,
            "a vault entry",
        )?;
        Ok(StmtKind::Secret { name, entry })
    }

    /// A name being defined: an identifier that is not a reserved word.
    pub(super) fn ident(&mut self, after: &str, help: &str) -> PResult<Spanned<String>> {
        let tok = self.peek().clone();
        match tok.kind {
            TokKind::Word(w) if w.contains('.') => Err(Diagnostic::new(
                Code::Syntax,
                tok.span,
                format!("`{}` is not a plain name", shorten(w)),
            )
            .with_help("a name being defined cannot hold `.`; write e.g. `item_price`")),
            TokKind::Word(w) if is_keyword(w) => Err(super::lexer::reserved_word(w, tok.span)),
            TokKind::Word(w) => {
                self.bump();
                Ok(Spanned::new(w.to_owned(), tok.span))
            }
            _ => Err(self.unexpected(&format!("expected a name {after}"), help)),
        }
    }

    /// `job "<runtime>" [sandbox …] [timeout …] [memory …] [input …] <<<`, the code lines and
    /// `>>>`, after the word `job` at `start`. Returns the job and the comment after `<<<`.
    pub(super) fn job(&mut self, start: Span, inline: bool) -> PResult<(Job, Option<String>)> {
        let help =
            "write `job \"python3\" sandbox microvm timeout 30s <<<`, the code, then a line `>>>`";
        let runtime = self.literal(
            "expected the runtime after `job`, e.g. `\"python3\"`",
            help,
            "a runtime",
        )?;
        let mut job = Job {
            runtime,
            sandbox: None,
            timeout: None,
            memory: None,
            input: None,
            code: Spanned::new(String::new(), Span::default()),
            span: start,
        };
        loop {
            let tok = self.peek().clone();
            let option = match tok.kind {
                TokKind::Word(w @ ("sandbox" | "timeout" | "memory" | "input")) => w,
                TokKind::Heredoc => break,
                _ => {
                    return Err(self.unexpected(
                        "expected `sandbox`, `timeout`, `memory`, `input` or `<<<`",
                        "end the job's line with `<<<` and put the code on the lines below it",
                    ))
                }
            };
            let given = match option {
                "sandbox" => job.sandbox.is_some(),
                "timeout" => job.timeout.is_some(),
                "memory" => job.memory.is_some(),
                _ => job.input.is_some(),
            };
            if given {
                return Err(Diagnostic::new(
                    Code::Syntax,
                    tok.span,
                    format!("`{option}` is given twice"),
                )
                .with_help("give each job option once"));
            }
            self.bump();
            match option {
                "sandbox" => {
                    let tier = match self.peek_kind() {
                        TokKind::Word("container") => SandboxTier::Container,
                        TokKind::Word("microvm") => SandboxTier::Microvm,
                        _ => {
                            return Err(self.unexpected(
                                "expected `container` or `microvm` after `sandbox`",
                                "write `sandbox microvm` (stronger) or `sandbox container`",
                            ))
                        }
                    };
                    job.sandbox = Some(Spanned::new(tier, self.bump().span));
                }
                "timeout" => job.timeout = Some(self.duration("after `timeout`")?),
                "memory" => job.memory = Some(self.size()?),
                _ => {
                    job.input = Some(self.expr(
                        "expected a value after `input`",
                        "write `input rows`; the value reaches the job as JSON on standard input",
                    )?)
                }
            }
        }
        let heredoc = self.peek().span;
        if inline {
            return Err(Diagnostic::new(
                Code::Syntax,
                heredoc,
                "a job cannot stand in a one-line block",
            )
            .with_help("write the block over several lines"));
        }
        self.bump();
        let comment = self
            .end_of_line("expected the end of the line after `<<<`")
            .map_err(|d| d.with_help("the job's code starts on the line after `<<<`"))?;
        job.code = self.job_code(heredoc)?;
        job.span = start.to(Span::new(self.last_end, self.last_end));
        Ok((job, comment.map(|c| c.node)))
    }

    /// The raw lines up to a line that is `>>>` (give or take whitespace), joined with `\n`.
    fn job_code(&mut self, heredoc: Span) -> PResult<Spanned<String>> {
        let mut code = String::new();
        let mut span: Option<Span> = None;
        let mut bytes = 0usize;
        loop {
            let Some((start, end)) = self.next_raw_line() else {
                self.line = empty_line(self.src.len());
                self.pos = 0;
                return Err(Diagnostic::new(
                    Code::Syntax,
                    heredoc,
                    "the job's code is never closed",
                )
                .with_label("code starts here")
                .with_help("end the code with a line holding only `>>>`"));
            };
            let text = self.src.get(start..end).unwrap_or("");
            if text.trim() == ">>>" {
                let close = start + text.find('>').unwrap_or(0) + 3;
                self.line = empty_line(close);
                self.pos = 0;
                self.last_end = close;
                break;
            }
            bytes += text.len() + usize::from(span.is_some());
            // Past the limit the text is no longer kept, but the lines are still read so that
            // parsing resumes after `>>>`.
            if bytes <= MAX_JOB_CODE_BYTES {
                if span.is_some() {
                    code.push('\n');
                }
                code.push_str(text);
            }
            span = Some(span.map_or(Span::new(start, end), |s| s.to(Span::new(start, end))));
        }
        let span = span.unwrap_or(Span::new(heredoc.end, heredoc.end));
        if bytes > MAX_JOB_CODE_BYTES {
            return Err(Diagnostic::new(
                Code::LimitExceeded,
                span,
                format!(
                    "job code is {bytes} bytes, more than the limit of {MAX_JOB_CODE_BYTES} bytes"
                ),
            )
            .with_help("move the work into a smaller program, or split it into several jobs"));
        }
        Ok(Spanned::new(code, span))
    }
}

enum Opens {
    /// A block head, with how many blocks the line leaves open.
    Block(usize),
    Job,
    Nothing,
}

fn empty_line(at: usize) -> LexedLine<'static> {
    LexedLine {
        tokens: Vec::new(),
        error: None,
        span: Span::new(at, at),
    }
}

/// Adds a blank line, merging it into a blank line just before.
fn push_blank(out: &mut Vec<Line>, span: Span) {
    match out.last_mut() {
        Some(Line::Blank(prev)) => *prev = prev.to(span),
        _ => out.push(Line::Blank(span)),
    }
}

/// Drops blank lines at the start and end of a block or script: they carry no meaning, and
/// the canonical form has none.
fn tidy(mut lines: Vec<Line>) -> Vec<Line> {
    while matches!(lines.last(), Some(Line::Blank(_))) {
        lines.pop();
    }
    let leading = lines
        .iter()
        .take_while(|l| matches!(l, Line::Blank(_)))
        .count();
    lines.drain(..leading);
    lines
}

/// The block a statement's last line closes, for a comment written after that `}`.
fn last_block_mut(kind: &mut StmtKind) -> Option<&mut Block> {
    match kind {
        StmtKind::If {
            then, otherwise, ..
        } => Some(otherwise.as_mut().unwrap_or(then)),
        StmtKind::Repeat { body, .. } | StmtKind::ForEach { body, .. } => Some(body),
        _ => None,
    }
}

/// Words people (and models) reach for that are not verbs, and the verb they mean.
const SYNONYMS: &[(&str, &str)] = &[
    ("ask", "confirm"),
    ("echo", "note"),
    ("elif", "if"),
    ("expect", "assert"),
    ("foreach", "for each"),
    ("go", "navigate"),
    ("goto", "navigate"),
    ("input", "fill"),
    ("log", "note"),
    ("loop", "repeat"),
    ("open_url", "navigate"),
    ("pause", "wait"),
    ("print", "note"),
    ("refresh", "reload"),
    ("set", "let"),
    ("sleep", "wait"),
    ("tap", "click"),
    ("type", "fill"),
    ("var", "let"),
    ("verify", "assert"),
    ("visit", "navigate"),
    ("while", "repeat"),
];

fn unknown_verb(word: &str, span: Span) -> Diagnostic {
    if word == "else" {
        return Diagnostic::new(
            Code::Syntax,
            span,
            "`else` must follow the `}` that closes an `if` block",
        )
        .with_help("write `} else {` on one line");
    }
    let help = SYNONYMS
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, verb)| format!("did you mean `{verb}`?"))
        .or_else(|| suggest(word, STATEMENT_WORDS.iter().copied()))
        .unwrap_or_else(|| {
            "a statement starts with a verb such as `click`, `fill`, `navigate` or `let`".to_owned()
        });
    Diagnostic::new(
        Code::UnknownVerb,
        span,
        format!("unknown verb `{}`", shorten(word)),
    )
    .with_help(help)
}
