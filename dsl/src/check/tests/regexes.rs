//! Regex names: validated with `regex-syntax`, errors pointed inside the literal.

use super::*;
use crate::check::REGEX_NEST_LIMIT;
use crate::limits::MAX_REGEX_BYTES;

#[test]
fn valid_regexes_with_flags_check() {
    ok(&script(
        "fill textbox /^E-?mail$/i with \"a@b.example\"\nclick link /a.b/s\nclick link /^x$/m\nclick link /^\\p{Greek}+$/ims\nclick link /a\\/b/\nswitch tab /shop|cart/i\nclick button \"Go\" in dialog /^Terms$/\nclick text /Free (shipping|delivery)/\n",
    ));
}

#[test]
fn a_syntax_error_is_underlined_inside_the_literal() {
    assert_error(
        "click button /Pay (now/\n",
        Code::InvalidRegex,
        "invalid regex: unclosed group",
        "(",
        "regexes follow the Rust `regex` syntax",
    );
    // Each `\/` before the error moves it by one byte in the source.
    assert_error(
        "click link /a\\/b\\/c[/\n",
        Code::InvalidRegex,
        "invalid regex: unclosed character class",
        "[",
        "escape `/` as `\\/`",
    );
    assert_error(
        "click link /x{2,1}/\n",
        Code::InvalidRegex,
        "invalid regex: invalid repetition count range, the start must be <= the end",
        "{2,1}",
        "Rust `regex` syntax",
    );
}

#[test]
fn look_around_and_backreferences_are_refused() {
    assert_error(
        "click link /(?=Pay)/\n",
        Code::InvalidRegex,
        "invalid regex: look-around, including look-ahead and look-behind, is not supported",
        "(?=",
        "no look-around and no backreferences",
    );
    assert_error(
        "click link /(a)\\1/\n",
        Code::InvalidRegex,
        "invalid regex: backreferences are not supported",
        "\\1",
        "no look-around and no backreferences",
    );
}

#[test]
fn translation_errors_are_found_too() {
    assert_error(
        "click link /\\p{NotAProperty}/i\n",
        Code::InvalidRegex,
        "invalid regex: unicode property not found",
        "\\p{NotAProperty}",
        "Rust `regex` syntax",
    );
    assert_error(
        "click link /(?-u)\\xFF/\n",
        Code::InvalidRegex,
        "invalid regex: pattern can match invalid UTF-8",
        "\\xFF",
        "Rust `regex` syntax",
    );
}

fn nested(depth: usize) -> String {
    format!("{}a{}", "(".repeat(depth), ")".repeat(depth))
}

#[test]
fn nesting_at_the_limit_passes_and_one_more_fails() {
    // Each group is one level.
    let depth = REGEX_NEST_LIMIT as usize;
    ok(&script(&format!("click link /{}/\n", nested(depth))));
    let src = script(&format!("click link /{}/\n", nested(depth + 1)));
    let got = error(&src);
    assert_eq!(got.code, Code::InvalidRegex);
    assert_eq!(
        got.message,
        format!(
            "invalid regex: exceed the maximum number of nested parentheses/brackets ({REGEX_NEST_LIMIT})"
        )
    );
    assert!(got.spanned.starts_with('('), "{got:?}");
}

#[test]
fn pattern_length_at_the_limit_passes_and_one_more_fails() {
    ok(&script(&format!(
        "click link /{}/\n",
        "a".repeat(MAX_REGEX_BYTES)
    )));
    let pattern = "a".repeat(MAX_REGEX_BYTES + 1);
    assert_error(
        &format!("click link /{pattern}/\n"),
        Code::LimitExceeded,
        "regex is 1025 bytes, more than the limit of 1024 bytes",
        &format!("/{pattern}/"),
        "use `~\"…\"` to match a part of it",
    );
}
