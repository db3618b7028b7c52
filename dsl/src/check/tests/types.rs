//! Types: what observations produce, where lists and records may go, comparisons and `fill`.

use super::*;

const ROWS: &str = "let rows = table table \"Results\"\n";

#[test]
fn well_typed_values_check() {
    ok(&script(&format!(
        "param max: number = 3\n{ROWS}let n = count of row in table \"Results\"\nlet t = text of heading \"Total\"\nif n > max and n <= 10 and not (t == \"0\") and t contains \"EUR\" {{ note \"{{n}} {{t}}\" }}\nfor each item in rows at most 5 {{\n  fill textbox \"Name\" with item.name\n  assert item.price != \"\"\n}}\nfill textbox \"Qty\" with 2\nfill textbox \"Max\" with max\nif true == false {{ note \"never\" }}\nreturn rows\n"
    )));
}

#[test]
fn for_each_needs_a_list() {
    assert_error(
        "let t = title\nfor each x in t at most 3 { note \"x\" }\n",
        Code::TypeMismatch,
        "`for each` needs a list, but this is text",
        "t",
        "loop over a table read with `let rows = table table \"…\"`",
    );
    assert_error(
        "for each x in count of row at most 3 { note \"x\" }\n",
        Code::TypeMismatch,
        "`for each` needs a list, but this is a number",
        "count of row",
        "loop over a table",
    );
}

#[test]
fn fields_exist_only_on_records() {
    assert_error(
        "let t = title\nnote \"{t.x}\"\n",
        Code::TypeMismatch,
        "`t` is text and has no field `x`",
        "x",
        "only records (the items of a `for each` over a table) have fields",
    );
    assert_error(
        &format!("{ROWS}note \"{{rows.price}}\"\n"),
        Code::TypeMismatch,
        "`rows` is a list and has no field `price`",
        "price",
        "loop over it with `for each row in rows at most N { … }` and use `row.price`",
    );
    assert_error(
        &format!("{ROWS}for each item in rows at most 2 {{ note \"{{item.a.b}}\" }}\n"),
        Code::TypeMismatch,
        "`item.a` is text and has no field `b`",
        "b",
        "only records",
    );
    assert_error(
        "param n: number\nreturn n.value\n",
        Code::TypeMismatch,
        "`n` is a number and has no field `value`",
        "value",
        "only records",
    );
}

#[test]
fn lists_and_records_cannot_be_interpolated() {
    assert_error(
        &format!("{ROWS}note \"{{rows}}\"\n"),
        Code::TypeMismatch,
        "cannot interpolate `rows`, which is a list",
        "rows",
        "interpolate a field such as `{row.name}`",
    );
    assert_error(
        &format!("{ROWS}for each item in rows at most 2 {{ note \"{{item}}\" }}\n"),
        Code::TypeMismatch,
        "cannot interpolate `item`, which is a record",
        "item",
        "interpolate one of its fields, e.g. `{item.name}`",
    );
}

#[test]
fn ordering_needs_numbers() {
    assert_error(
        "if title < 5 { note \"x\" }\n",
        Code::TypeMismatch,
        "`<` needs numbers on both sides, but the left side is text",
        "title",
        "there is no conversion in `bridle 1`",
    );
    assert_error(
        "assert count of row >= \"3\"\n",
        Code::TypeMismatch,
        "`>=` needs numbers on both sides, but the right side is text",
        "\"3\"",
        "numbers come from number literals, number params and `count of`",
    );
}

#[test]
fn equality_needs_the_same_type() {
    assert_error(
        "if url == 3 { note \"x\" }\n",
        Code::TypeMismatch,
        "`==` compares text with a number",
        "url == 3",
        "both sides must have the same type",
    );
    assert_error(
        &format!("{ROWS}assert rows != rows\n"),
        Code::TypeMismatch,
        "`!=` cannot compare a list",
        "rows",
        "only text, numbers and bools can be compared",
    );
}

#[test]
fn contains_needs_text_on_both_sides() {
    assert_error(
        "assert text of heading \"Total\" contains 20\n",
        Code::TypeMismatch,
        "`contains` needs text on both sides, but the right side is a number",
        "20",
        "write numbers as text",
    );
    assert_error(
        &format!("{ROWS}assert rows contains \"USB\"\n"),
        Code::TypeMismatch,
        "`contains` needs text on both sides, but the left side is a list",
        "rows",
        "loop over the list with `for each`",
    );
}

#[test]
fn fill_takes_text_numbers_and_secrets_only() {
    assert_error(
        "fill textbox \"Gift\" with true\n",
        Code::TypeMismatch,
        "cannot fill a bool",
        "true",
        "use `check` or `uncheck` for a checkbox",
    );
    assert_error(
        &format!("{ROWS}fill textbox \"Name\" with rows\n"),
        Code::TypeMismatch,
        "cannot fill a list",
        "rows",
        "loop over it with `for each`",
    );
    assert_error(
        &format!("{ROWS}for each item in rows at most 2 {{ fill textbox \"Name\" with item }}\n"),
        Code::TypeMismatch,
        "cannot fill a record",
        "item",
        "fill one of its fields, e.g. `item.name`",
    );
}

#[test]
fn a_job_produces_text_and_takes_any_input() {
    ok(&script(&format!(
        "{ROWS}let out = job \"python3\" input rows <<<\nprint(1)\n>>>\nassert out contains \"1\"\nlet two = job \"sh\" input 2 <<<\ncat\n>>>\nreturn two\n"
    )));
    assert_error(
        "let out = job \"sh\" <<<\necho 1\n>>>\nif out > 0 { note \"x\" }\n",
        Code::TypeMismatch,
        "`>` needs numbers on both sides, but the left side is text",
        "out",
        "no conversion",
    );
}

#[test]
fn one_mistake_gives_one_diagnostic() {
    // `x` is undefined; what is built from it is not reported again.
    let got = errors(&script(
        "let a = x\nfor each i in a at most 2 { note \"{i.y}\" }\nif a < 3 { note \"z\" }\n",
    ));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].message, "undefined variable `x`");
}
