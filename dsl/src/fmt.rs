//! The canonical formatter: prints any tree back as the one canonical text.
//!
//! Canonical form: one statement per line, blocks always over several lines with two spaces of
//! indentation per level, single spaces between words, target parts in the order base,
//! scopes, frame, `nth`, job options in the order `sandbox`, `timeout`, `memory`, `input`,
//! durations and sizes in the largest unit that divides them exactly, at most one blank line
//! in a row and none at the start or end of a block, trailing comments two spaces after the
//! statement. `parse(format_script(t)) == t` for every tree the parser produces, and
//! formatting is idempotent.

use crate::ast::{
    Block, CompareOp, Cond, Duration, Expr, Job, Line, Matcher, Observation, ParamType,
    SandboxTier, Scope, Script, Size, Stmt, StmtKind, Str, StrPart, Target, TargetBase, VarPath,
    Wait, WaitState,
};

/// The canonical text of a whole script.
pub fn format_script(script: &Script) -> String {
    let mut out = String::new();
    write_lines(&mut out, &script.lines, 0);
    out
}

/// The canonical text of a statement's first line (a block's head without its body).
///
/// Without the trailing comment, the `{` of a block or the `<<<` of a job: this is the text
/// people approve and the audit log records.
pub fn format_stmt_head(stmt: &Stmt) -> String {
    let mut out = String::new();
    write_head(&mut out, &stmt.kind);
    out
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn write_lines(out: &mut String, lines: &[Line], depth: usize) {
    let is_blank = |l: &Line| matches!(l, Line::Blank(_));
    let first = lines
        .iter()
        .position(|l| !is_blank(l))
        .unwrap_or(lines.len());
    let last = lines
        .iter()
        .rposition(|l| !is_blank(l))
        .map_or(first, |i| i + 1);
    let mut prev_blank = false;
    for line in lines.get(first..last).unwrap_or(&[]) {
        match line {
            Line::Blank(_) => {
                if !prev_blank {
                    out.push('\n');
                }
                prev_blank = true;
                continue;
            }
            Line::Comment(text) => {
                indent(out, depth);
                out.push('#');
                out.push_str(&text.node);
                out.push('\n');
            }
            Line::Stmt(stmt) => write_stmt(out, stmt, depth),
        }
        prev_blank = false;
    }
}

fn write_comment(out: &mut String, comment: &Option<String>) {
    if let Some(text) = comment {
        out.push_str("  #");
        out.push_str(text);
    }
}

fn write_stmt(out: &mut String, stmt: &Stmt, depth: usize) {
    indent(out, depth);
    write_head(out, &stmt.kind);
    match &stmt.kind {
        StmtKind::If {
            then, otherwise, ..
        } => {
            write_block(out, then, &stmt.comment, depth);
            if let Some(otherwise) = otherwise {
                out.push_str(" else");
                write_block(out, otherwise, &None, depth);
            }
            out.push('\n');
        }
        StmtKind::Repeat { body, .. } | StmtKind::ForEach { body, .. } => {
            write_block(out, body, &stmt.comment, depth);
            out.push('\n');
        }
        StmtKind::Job(job) => write_code(out, job, &stmt.comment, depth),
        StmtKind::Let {
            value: Expr::Job(job),
            ..
        } => write_code(out, job, &stmt.comment, depth),
        _ => {
            write_comment(out, &stmt.comment);
            out.push('\n');
        }
    }
}

/// ` {`, the comment, the body and the closing `}` (without a line break after it, so that
/// ` else {` can follow).
fn write_block(out: &mut String, block: &Block, comment: &Option<String>, depth: usize) {
    out.push_str(" {");
    write_comment(out, comment);
    out.push('\n');
    write_lines(out, &block.lines, depth + 1);
    indent(out, depth);
    out.push('}');
}

/// ` <<<`, the comment, the code verbatim (never re-indented: it may be Python) and `>>>`.
fn write_code(out: &mut String, job: &Job, comment: &Option<String>, depth: usize) {
    out.push_str(" <<<");
    write_comment(out, comment);
    out.push('\n');
    if !job.code.node.is_empty() {
        out.push_str(&job.code.node);
        out.push('\n');
    }
    indent(out, depth);
    out.push_str(">>>\n");
}

fn write_head(out: &mut String, kind: &StmtKind) {
    match kind {
        StmtKind::Version(n) => {
            out.push_str("bridle ");
            out.push_str(&n.node.to_string());
        }
        StmtKind::Goal(s) => {
            out.push_str("goal ");
            write_str(out, s);
        }
        StmtKind::Origins(origins) => {
            out.push_str("origins ");
            for (i, origin) in origins.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_literal(out, &origin.node);
            }
        }
        StmtKind::Param { name, ty, default } => {
            out.push_str("param ");
            out.push_str(&name.node);
            out.push_str(": ");
            out.push_str(match ty.node {
                ParamType::Text => "text",
                ParamType::Number => "number",
                ParamType::Bool => "bool",
            });
            if let Some(default) = default {
                out.push_str(" = ");
                write_expr(out, default);
            }
        }
        StmtKind::Secret { name, entry } => {
            out.push_str("secret ");
            out.push_str(&name.node);
            out.push_str(" = ");
            write_literal(out, &entry.node);
        }
        StmtKind::Navigate(url) => {
            out.push_str("navigate ");
            write_str(out, url);
        }
        StmtKind::Back => out.push_str("back"),
        StmtKind::Forward => out.push_str("forward"),
        StmtKind::Reload => out.push_str("reload"),
        StmtKind::OpenTab(url) => {
            out.push_str("open tab ");
            write_str(out, url);
        }
        StmtKind::SwitchTab(m) => {
            out.push_str("switch tab ");
            write_matcher(out, m);
        }
        StmtKind::CloseTab => out.push_str("close tab"),
        StmtKind::Click(t) => verb_target(out, "click", t),
        StmtKind::Fill { target, value } => {
            verb_target(out, "fill", target);
            out.push_str(" with ");
            write_expr(out, value);
        }
        StmtKind::Clear(t) => verb_target(out, "clear", t),
        StmtKind::Select { target, option } => {
            verb_target(out, "select", target);
            out.push_str(" option ");
            write_str(out, option);
        }
        StmtKind::Check(t) => verb_target(out, "check", t),
        StmtKind::Uncheck(t) => verb_target(out, "uncheck", t),
        StmtKind::Hover(t) => verb_target(out, "hover", t),
        StmtKind::Press { key, on } => {
            out.push_str("press ");
            write_str(out, key);
            if let Some(on) = on {
                out.push_str(" on ");
                write_target(out, on);
            }
        }
        StmtKind::ScrollTo(t) => verb_target(out, "scroll to", t),
        StmtKind::Submit(t) => verb_target(out, "submit", t),
        StmtKind::Upload(t) => verb_target(out, "upload", t),
        StmtKind::Let { name, value } => {
            out.push_str("let ");
            out.push_str(&name.node);
            out.push_str(" = ");
            write_expr(out, value);
        }
        StmtKind::Wait(wait) => write_wait(out, wait),
        StmtKind::Assert(c) => {
            out.push_str("assert ");
            write_cond(out, c);
        }
        StmtKind::If { cond, .. } => {
            out.push_str("if ");
            write_cond(out, cond);
        }
        StmtKind::Repeat { max, until, .. } => {
            out.push_str("repeat at most ");
            out.push_str(&max.node.to_string());
            out.push_str(" until ");
            write_cond(out, until);
        }
        StmtKind::ForEach {
            item, list, max, ..
        } => {
            out.push_str("for each ");
            out.push_str(&item.node);
            out.push_str(" in ");
            write_expr(out, list);
            out.push_str(" at most ");
            out.push_str(&max.node.to_string());
        }
        StmtKind::Confirm(s) => {
            out.push_str("confirm ");
            write_str(out, s);
        }
        StmtKind::Handoff(s) => {
            out.push_str("handoff ");
            write_str(out, s);
        }
        StmtKind::Note(s) => {
            out.push_str("note ");
            write_str(out, s);
        }
        StmtKind::Job(job) => write_job_head(out, job),
        StmtKind::Return(e) => {
            out.push_str("return ");
            write_expr(out, e);
        }
    }
}

fn verb_target(out: &mut String, verb: &str, target: &Target) {
    out.push_str(verb);
    out.push(' ');
    write_target(out, target);
}

fn write_job_head(out: &mut String, job: &Job) {
    out.push_str("job ");
    write_literal(out, &job.runtime.node);
    if let Some(tier) = &job.sandbox {
        out.push_str(match tier.node {
            SandboxTier::Container => " sandbox container",
            SandboxTier::Microvm => " sandbox microvm",
        });
    }
    if let Some(timeout) = &job.timeout {
        out.push_str(" timeout ");
        out.push_str(&format_duration(timeout.node));
    }
    if let Some(memory) = &job.memory {
        out.push_str(" memory ");
        out.push_str(&format_size(memory.node));
    }
    if let Some(input) = &job.input {
        out.push_str(" input ");
        write_expr(out, input);
    }
}

fn write_wait(out: &mut String, wait: &Wait) {
    let timeout = match wait {
        Wait::For {
            target,
            state,
            timeout,
        } => {
            out.push_str("wait for ");
            write_target(out, target);
            out.push_str(match state.node {
                WaitState::Visible => " to be visible",
                WaitState::Enabled => " to be enabled",
                WaitState::Hidden => " to be hidden",
                WaitState::Gone => " to be gone",
            });
            timeout
        }
        Wait::Url { glob, timeout } => {
            out.push_str("wait for url matches ");
            write_str(out, glob);
            timeout
        }
        Wait::Idle { timeout } => {
            out.push_str("wait for idle");
            timeout
        }
        Wait::Pause(d) => {
            out.push_str("wait ");
            out.push_str(&format_duration(d.node));
            &None
        }
    };
    if let Some(t) = timeout {
        out.push_str(" timeout ");
        out.push_str(&format_duration(t.node));
    }
}

/// A duration in the largest unit that divides it exactly: `90000` ms is `90s`, `120000` is
/// `2m`; zero is `0ms`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.millis;
    let units: [(u64, &str); 3] = [(3_600_000, "h"), (60_000, "m"), (1_000, "s")];
    if ms != 0 {
        for (factor, unit) in units {
            if ms % factor == 0 {
                return format!("{}{unit}", ms / factor);
            }
        }
    }
    format!("{ms}ms")
}

/// A size in the largest binary unit that divides it exactly: `268435456` is `256MB`.
pub fn format_size(s: Size) -> String {
    let b = s.bytes;
    let units: [(u64, &str); 3] = [(1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")];
    if b != 0 {
        for (factor, unit) in units {
            if b % factor == 0 {
                return format!("{}{unit}", b / factor);
            }
        }
    }
    format!("{b}B")
}

/// The canonical text of a target.
pub fn format_target(target: &Target) -> String {
    let mut out = String::new();
    write_target(&mut out, target);
    out
}

fn write_target(out: &mut String, target: &Target) {
    match &target.base {
        TargetBase::Role { role, name } => write_role(out, &role.node, name),
        TargetBase::Text(m) => {
            out.push_str("text ");
            write_matcher(out, m);
        }
        TargetBase::Css(sel) => {
            out.push_str("css ");
            write_literal(out, &sel.node);
        }
    }
    for Scope { role, name, .. } in &target.scopes {
        out.push_str(" in ");
        write_role(out, &role.node, name);
    }
    if let Some(frame) = &target.frame {
        out.push_str(" in frame ");
        write_literal(out, &frame.node);
    }
    if let Some(nth) = &target.nth {
        out.push_str(" nth ");
        out.push_str(&nth.node.to_string());
    }
}

fn write_role(out: &mut String, role: &str, name: &Option<Matcher>) {
    out.push_str(role);
    if let Some(m) = name {
        out.push(' ');
        write_matcher(out, m);
    }
}

fn write_matcher(out: &mut String, m: &Matcher) {
    match m {
        Matcher::Exact(s) => write_str(out, s),
        Matcher::Contains(s) => {
            out.push('~');
            write_str(out, s);
        }
        Matcher::Regex(r) => {
            out.push('/');
            let mut chars = r.pattern.chars();
            while let Some(c) = chars.next() {
                match c {
                    // An escape pair is kept as written (`\d`, `\.`); only bare `/` needs one.
                    '\\' => {
                        out.push('\\');
                        if let Some(next) = chars.next() {
                            out.push(next);
                        }
                    }
                    '/' => out.push_str("\\/"),
                    other => out.push(other),
                }
            }
            out.push('/');
            out.push_str(&r.flags);
        }
    }
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            other => out.push(other),
        }
    }
}

/// A string literal with no interpolation.
fn write_literal(out: &mut String, text: &str) {
    out.push('"');
    push_escaped(out, text);
    out.push('"');
}

fn write_str(out: &mut String, s: &Str) {
    out.push('"');
    for part in &s.parts {
        match part {
            StrPart::Lit(text) => push_escaped(out, text),
            StrPart::Var(path) => {
                out.push('{');
                write_path(out, path);
                out.push('}');
            }
        }
    }
    out.push('"');
}

fn write_path(out: &mut String, path: &VarPath) {
    out.push_str(&path.name.node);
    for field in &path.fields {
        out.push('.');
        out.push_str(&field.node);
    }
}

fn write_expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Str(s) => write_str(out, s),
        // `Display` for f64 never uses exponents and round-trips exactly, so the text parses
        // back to the same number.
        Expr::Number(n) => out.push_str(&n.node.to_string()),
        Expr::Bool(b) => out.push_str(if b.node { "true" } else { "false" }),
        Expr::Var(path) => write_path(out, path),
        Expr::Observe(obs) => match &obs.node {
            Observation::TextOf(t) => {
                out.push_str("text of ");
                write_target(out, t);
            }
            Observation::ValueOf(t) => {
                out.push_str("value of ");
                write_target(out, t);
            }
            Observation::Attribute { name, target } => {
                out.push_str("attribute ");
                write_str(out, name);
                out.push_str(" of ");
                write_target(out, target);
            }
            Observation::Table(t) => {
                out.push_str("table ");
                write_target(out, t);
            }
            Observation::CountOf(t) => {
                out.push_str("count of ");
                write_target(out, t);
            }
            Observation::Url => out.push_str("url"),
            Observation::Title => out.push_str("title"),
        },
        Expr::Job(job) => write_job_head(out, job),
    }
}

/// Binding strength, loosest first.
#[derive(PartialEq, PartialOrd, Clone, Copy)]
enum Prec {
    Or,
    And,
    Not,
}

fn prec(c: &Cond) -> Prec {
    match c {
        Cond::Or(..) => Prec::Or,
        Cond::And(..) => Prec::And,
        _ => Prec::Not,
    }
}

fn write_cond(out: &mut String, c: &Cond) {
    write_cond_at(out, c, Prec::Or);
}

/// Writes `c` where at least `min` binding is needed. The parser only builds trees that need
/// no extra parentheses (its own groups are [`Cond::Group`]); for hand-built trees this adds
/// them so the printed text keeps the tree's meaning.
fn write_cond_at(out: &mut String, c: &Cond, min: Prec) {
    if prec(c) < min {
        out.push('(');
        write_cond_at(out, c, Prec::Or);
        out.push(')');
        return;
    }
    match c {
        Cond::Exists(t) => {
            out.push_str("exists ");
            write_target(out, t);
        }
        Cond::Visible(t) => {
            out.push_str("visible ");
            write_target(out, t);
        }
        Cond::UrlMatches(glob) => {
            out.push_str("url matches ");
            write_str(out, glob);
        }
        Cond::Compare { left, op, right } => {
            write_expr(out, left);
            out.push_str(match op.node {
                CompareOp::Contains => " contains ",
                CompareOp::Eq => " == ",
                CompareOp::Ne => " != ",
                CompareOp::Lt => " < ",
                CompareOp::Le => " <= ",
                CompareOp::Gt => " > ",
                CompareOp::Ge => " >= ",
            });
            write_expr(out, right);
        }
        Cond::Not(inner) => {
            out.push_str("not ");
            write_cond_at(out, inner, Prec::Not);
        }
        Cond::And(l, r) => {
            write_cond_at(out, l, Prec::And);
            out.push_str(" and ");
            // Right operands bind tighter: `a and (b and c)` is not `a and b and c`.
            write_right(out, r, Prec::And);
        }
        Cond::Or(l, r) => {
            write_cond_at(out, l, Prec::Or);
            out.push_str(" or ");
            write_right(out, r, Prec::Or);
        }
        Cond::Group(inner) => {
            out.push('(');
            write_cond_at(out, inner, Prec::Or);
            out.push(')');
        }
    }
}

fn write_right(out: &mut String, c: &Cond, level: Prec) {
    if prec(c) <= level {
        out.push('(');
        write_cond_at(out, c, Prec::Or);
        out.push(')');
    } else {
        write_cond_at(out, c, prec(c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Span;
    use crate::parser::parse;

    fn first_stmt(src: &str) -> Stmt {
        let script = parse(src).unwrap_or_else(|d| panic!("{d:#?}"));
        script
            .lines
            .into_iter()
            .find_map(|l| match l {
                Line::Stmt(s) => Some(s),
                _ => None,
            })
            .unwrap()
    }

    fn canonical(src: &str) -> String {
        format_script(&parse(src).unwrap_or_else(|d| panic!("{d:#?}")))
    }

    #[test]
    fn stmt_head_omits_body_brace_code_and_comment() {
        let head = |src: &str| format_stmt_head(&first_stmt(src));
        assert_eq!(
            head("if exists button \"X\" {  # why\n  back\n} else { reload }"),
            "if exists button \"X\""
        );
        assert_eq!(
            head("repeat at most 3 until exists link \"Next\" { back }"),
            "repeat at most 3 until exists link \"Next\""
        );
        assert_eq!(
            head("for each r in rows at most 5 {\n}"),
            "for each r in rows at most 5"
        );
        assert_eq!(
            head("let t = job \"sh\" input rows timeout 5000ms <<<  # c\necho\n>>>"),
            "let t = job \"sh\" timeout 5s input rows"
        );
        assert_eq!(head("job \"sh\" <<<\n>>>"), "job \"sh\"");
        assert_eq!(
            head("click   button  ~ \"Pay\"   # x"),
            "click button ~\"Pay\""
        );
    }

    #[test]
    fn canonical_text_of_every_piece() {
        assert_eq!(
            canonical(
                "  click button \"A\" nth 2 in frame \"https://p.example\" in row in table ~\"T\""
            ),
            "click button \"A\" in row in table ~\"T\" in frame \"https://p.example\" nth 2\n"
        );
        assert_eq!(canonical("let x = 007.50"), "let x = 7.5\n");
        assert_eq!(
            canonical("note \"a\\\"b\\\\c\\nd\\te\\{f\\}\""),
            "note \"a\\\"b\\\\c\\nd\\te\\{f\\}\"\n"
        );
        assert_eq!(
            canonical("click link /a\\/b\\d/si"),
            "click link /a\\/b\\d/is\n"
        );
        assert_eq!(canonical("origins \"a\" ,\"b\""), "origins \"a\", \"b\"\n");
        assert_eq!(
            canonical("job \"sh\" memory 1048576KiB input x sandbox container <<<\n  keep  \n>>>"),
            "job \"sh\" sandbox container memory 1GB input x <<<\n  keep  \n>>>\n"
        );
    }

    #[test]
    fn comments_keep_their_text_and_move_with_blocks() {
        assert_eq!(
            canonical("back #tight   \n#   own"),
            "back  #tight\n#   own\n"
        );
        assert_eq!(
            canonical("if a == 1 { back }  # one-line\nif b == 2 {\n  back\n} else {  # else\n  reload\n}  # end"),
            "if a == 1 {  # one-line\n  back\n}\nif b == 2 {\n  back\n} else {\n  # else\n  reload\n  # end\n}\n"
        );
    }

    #[test]
    fn blocks_indent_and_blank_lines_collapse() {
        assert_eq!(
            canonical("\n\nif a == 1 {\n\n    if b == 2 { back }\n\n\n  reload\n\n}\n\n\n"),
            "if a == 1 {\n  if b == 2 {\n    back\n  }\n\n  reload\n}\n"
        );
        let job_in_block = "if a == 1 {\n  let t = job \"python3\" <<<\nif x:\n    y()\n  >>>\n}\n";
        assert_eq!(canonical(job_in_block), job_in_block);
    }

    #[test]
    fn hand_built_conditions_get_the_parentheses_their_meaning_needs() {
        let exists = || {
            Cond::UrlMatches(crate::ast::Str {
                parts: vec![],
                span: Span::default(),
            })
        };
        let and = |a, b| Cond::And(Box::new(a), Box::new(b));
        let or = |a, b| Cond::Or(Box::new(a), Box::new(b));
        let text = |c: &Cond| {
            let mut out = String::new();
            write_cond(&mut out, c);
            out
        };
        let u = "url matches \"\"";
        assert_eq!(
            text(&and(exists(), or(exists(), exists()))),
            format!("{u} and ({u} or {u})")
        );
        assert_eq!(
            text(&and(or(exists(), exists()), exists())),
            format!("({u} or {u}) and {u}")
        );
        assert_eq!(
            text(&or(exists(), or(exists(), exists()))),
            format!("{u} or ({u} or {u})")
        );
        assert_eq!(
            text(&or(exists(), and(exists(), exists()))),
            format!("{u} or {u} and {u}")
        );
        assert_eq!(
            text(&Cond::Not(Box::new(and(exists(), exists())))),
            format!("not ({u} and {u})")
        );
    }

    #[test]
    fn durations_use_the_largest_exact_unit() {
        let d = |millis| format_duration(Duration { millis });
        assert_eq!(d(0), "0ms");
        assert_eq!(d(500), "500ms");
        assert_eq!(d(1_500), "1500ms");
        assert_eq!(d(90_000), "90s");
        assert_eq!(d(120_000), "2m");
        assert_eq!(d(5_400_000), "90m");
        assert_eq!(d(7_200_000), "2h");
    }

    #[test]
    fn sizes_use_the_largest_exact_binary_unit() {
        let s = |bytes| format_size(Size { bytes });
        assert_eq!(s(0), "0B");
        assert_eq!(s(1000), "1000B");
        assert_eq!(s(1536), "1536B");
        assert_eq!(s(2048), "2KB");
        assert_eq!(s(256 << 20), "256MB");
        assert_eq!(s(1536 << 20), "1536MB");
        assert_eq!(s(1 << 30), "1GB");
    }
}
