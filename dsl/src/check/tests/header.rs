//! The header: `bridle 1`, `goal` and `origins`, their order, and what origins may be.

use super::*;
use crate::limits::MAX_ORIGINS;

#[test]
fn a_full_header_checks_and_is_exposed() {
    let checked = ok(&script("note \"hi\"\n"));
    assert_eq!(checked.goal, "Test the checker");
    assert_eq!(
        checked.origins,
        ["https://shop.example", "https://pay.example"]
    );
}

#[test]
fn goal_and_origins_may_come_in_either_order() {
    let checked = ok("bridle 1\norigins \"https://shop.example\"\ngoal \"Shop\"\nnote \"hi\"\n");
    assert_eq!(checked.goal, "Shop");
}

#[test]
fn comments_and_blank_lines_may_stand_anywhere_in_the_header() {
    ok("# a planner's script\n\nbridle 1\n# why\ngoal \"Shop\"\n\norigins \"https://shop.example\"\n");
}

#[test]
fn the_first_statement_must_be_bridle() {
    let src = "goal \"Shop\"\norigins \"https://shop.example\"\n";
    let got = error(src);
    assert_found(
        &got,
        Code::Header,
        "a script must start with `bridle 1`",
        "goal \"Shop\"",
        "add `bridle 1` as the first line",
    );
}

#[test]
fn another_version_is_unsupported() {
    let src = "bridle 2\ngoal \"Shop\"\norigins \"https://shop.example\"\n";
    assert_found(
        &error(src),
        Code::Header,
        "unsupported language version `2`",
        "2",
        "this executor speaks `bridle 1`",
    );
}

#[test]
fn bridle_cannot_repeat() {
    let src = "bridle 1\ngoal \"Shop\"\norigins \"https://shop.example\"\nbridle 1\n";
    assert_found(
        &error(src),
        Code::Header,
        "`bridle` must be the first line, once",
        "bridle 1",
        "keep a single `bridle 1`",
    );
}

#[test]
fn an_empty_script_is_explained() {
    for src in ["", "# only a comment\n\n"] {
        assert_found(
            &error(src),
            Code::Header,
            "the script is empty",
            "",
            "start with `bridle 1`",
        );
    }
}

#[test]
fn a_missing_goal_is_reported_where_the_header_ends() {
    let src = "bridle 1\norigins \"https://shop.example\"\nnote \"hi\"\n";
    assert_found(
        &error(src),
        Code::Header,
        "missing `goal`",
        "note \"hi\"",
        "add `goal \"…\"` after `bridle 1`",
    );
}

#[test]
fn missing_origins_at_the_end_of_a_header_only_script() {
    let src = "bridle 1\ngoal \"Shop\"";
    let got = error(src);
    assert_found(
        &got,
        Code::Header,
        "missing `origins`",
        "",
        "listing every origin the script acts on",
    );
}

#[test]
fn goal_cannot_repeat() {
    let src = script("goal \"Again\"\n");
    assert_found(
        &error(&src),
        Code::Header,
        "`goal` appears more than once",
        "goal \"Again\"",
        "keep one `goal` line",
    );
}

#[test]
fn origins_cannot_repeat() {
    let src = script("origins \"https://other.example\"\n");
    assert_found(
        &error(&src),
        Code::Header,
        "`origins` appears more than once",
        "origins \"https://other.example\"",
        "list every origin on one `origins` line",
    );
}

#[test]
fn a_goal_after_a_step_is_misplaced_not_missing() {
    let src = "bridle 1\norigins \"https://shop.example\"\nnote \"hi\"\ngoal \"Shop\"\n";
    assert_found(
        &error(src),
        Code::Header,
        "`goal` must come before any other statement",
        "goal \"Shop\"",
        "above line 3",
    );
}

#[test]
fn origins_after_a_declaration_is_misplaced() {
    let src = "bridle 1\ngoal \"Shop\"\nparam q: text\norigins \"https://shop.example\"\n";
    assert_found(
        &error(src),
        Code::Header,
        "`origins` must come before any other statement",
        "origins \"https://shop.example\"",
        "move it up into the header",
    );
}

#[test]
fn header_lines_cannot_stand_in_a_block() {
    let got = errors(&script(
        "if exists button \"A\" {\n  goal \"Other\"\n  bridle 1\n}\n",
    ));
    assert_eq!(got.len(), 2, "{got:#?}");
    // The header pass sees only the top level; the block's lines are reported by the walk.
    assert_found(
        &got[0],
        Code::Header,
        "`goal` can only appear in the header",
        "goal \"Other\"",
        "move it to the top of the script",
    );
    assert_found(
        &got[1],
        Code::Header,
        "`bridle` can only appear in the header",
        "bridle 1",
        "move it to the top of the script",
    );
}

#[test]
fn goal_must_be_literal_and_not_empty() {
    let src = "bridle 1\ngoal \"Buy {thing}\"\norigins \"https://shop.example\"\n";
    assert_found(
        &error(src),
        Code::Header,
        "`goal` cannot interpolate variables",
        "\"Buy {thing}\"",
        "write it out in full",
    );
    let src = "bridle 1\ngoal \"  \"\norigins \"https://shop.example\"\n";
    assert_found(
        &error(src),
        Code::Header,
        "`goal` is empty",
        "\"  \"",
        "say what the script is for",
    );
}

fn origin_error(origin: &str) -> Found {
    let src = format!("bridle 1\ngoal \"Shop\"\norigins \"{origin}\"\n");
    error(&src)
}

#[test]
fn origins_are_normalised() {
    let checked = ok(
        "bridle 1\ngoal \"Shop\"\norigins \"HTTPS://Shop.Example:443/\", \"https://shop.example:8443\", \"https://bücher.example\"\n",
    );
    assert_eq!(
        checked.origins,
        [
            "https://shop.example",
            "https://shop.example:8443",
            "https://xn--bcher-kva.example"
        ]
    );
}

#[test]
fn plain_http_is_only_for_localhost() {
    let checked = ok(
        "bridle 1\ngoal \"Dev\"\norigins \"http://localhost:8080\", \"http://127.0.0.1\", \"http://[::1]:3000\"\n",
    );
    assert_eq!(
        checked.origins,
        [
            "http://localhost:8080",
            "http://127.0.0.1",
            "http://[::1]:3000"
        ]
    );
    assert_found(
        &origin_error("http://shop.example"),
        Code::Header,
        "origin `http://shop.example` uses plain `http`",
        "\"http://shop.example\"",
        "plain `http` is allowed only for localhost, 127.0.0.1 and [::1]",
    );
    assert_eq!(
        origin_error("http://127.0.0.2").message,
        "origin `http://127.0.0.2` uses plain `http`"
    );
}

#[test]
fn each_kind_of_bad_origin_has_its_message() {
    let cases = [
        ("shop.example", "origin `shop.example` has no scheme", "`https://shop.example`"),
        ("localhost:8080", "origin `localhost:8080` has no scheme", "`https://localhost:8080`"),
        ("ftp://shop.example", "origin `ftp://shop.example` uses the scheme `ftp`", "origins use `https`"),
        ("javascript:alert(1)", "origin `javascript:alert(1)` uses the scheme `javascript`", "origins use `https`"),
        ("https:shop.example", "origin `https:shop.example` is not a valid URL: expected `//` after the scheme", "`https://host[:port]`"),
        ("https://shop.example/cart", "origin `https://shop.example/cart` has a path", "put paths in the URLs of `navigate`"),
        ("https://shop.example?q=1", "origin `https://shop.example?q=1` has a query", "only `scheme://host[:port]`"),
        ("https://shop.example#top", "origin `https://shop.example#top` has a fragment", "only `scheme://host[:port]`"),
        ("https://me:pw@shop.example", "origin `https://me:pw@shop.example` contains credentials", "the user signs in"),
        ("https://*.shop.example", "origin `https://*.shop.example` contains a wildcard", "wildcards belong in a token's grants"),
        ("https://shop.example:99999", "origin `https://shop.example:99999` is not a valid URL: invalid port number", "`https://host[:port]`"),
        ("https://", "origin `https://` is not a valid URL: empty host", "`https://host[:port]`"),
        ("https://shop .example", "origin `https://shop .example` contains a space, a control character or a backslash", "`https://host[:port]`"),
        ("https://shop.example\\\\", "origin `https://shop.example\\\\` contains a space, a control character or a backslash", "`https://host[:port]`"),
    ];
    for (origin, message, help) in cases {
        let got = origin_error(origin);
        assert_found(&got, Code::Header, message, &format!("\"{origin}\""), help);
    }
}

#[test]
fn duplicate_origins_are_found_after_normalising() {
    let src = "bridle 1\ngoal \"Shop\"\norigins \"https://shop.example\", \"HTTPS://shop.example:443/\"\n";
    assert_found(
        &error(src),
        Code::Header,
        "duplicate origin `https://shop.example`",
        "\"HTTPS://shop.example:443/\"",
        "`HTTPS://shop.example:443/` is the origin `https://shop.example`; list each origin once",
    );
}

fn origins_line(n: usize) -> String {
    let list: Vec<String> = (0..n)
        .map(|i| format!("\"https://s{i}.example\""))
        .collect();
    format!("bridle 1\ngoal \"Many\"\norigins {}\n", list.join(", "))
}

#[test]
fn origins_at_the_limit_pass_and_one_more_fails() {
    assert_eq!(ok(&origins_line(MAX_ORIGINS)).origins.len(), MAX_ORIGINS);
    let src = origins_line(MAX_ORIGINS + 1);
    assert_found(
        &error(&src),
        Code::LimitExceeded,
        "more than 32 origins",
        &format!("\"https://s{MAX_ORIGINS}.example\""),
        "split the work into several scripts",
    );
}

#[test]
fn a_bad_header_origin_does_not_also_reject_every_url() {
    // The origin's own diagnostic is enough; URLs are not checked against a broken list.
    let src =
        "bridle 1\ngoal \"Shop\"\norigins \"shop.example\"\nnavigate \"https://shop.example/\"\n";
    let got = error(src);
    assert_eq!(got.message, "origin `shop.example` has no scheme");
}
