//! Variables: one namespace, block scopes, no shadowing, and helpful "undefined" messages.

use super::*;

#[test]
fn an_undefined_variable_suggests_a_close_name() {
    assert_error(
        "let price = text of css \"#price\"\nnote \"{prise}\"\n",
        Code::UndefinedVariable,
        "undefined variable `prise`",
        "prise",
        "did you mean `price`?",
    );
}

#[test]
fn an_undefined_variable_without_a_close_name_says_how_to_define_it() {
    assert_error(
        "return total\n",
        Code::UndefinedVariable,
        "undefined variable `total`",
        "total",
        "define it first, e.g. `let total = …` or `param total: text`",
    );
}

#[test]
fn a_let_cannot_refer_to_itself() {
    assert_error(
        "let a = a\n",
        Code::UndefinedVariable,
        "undefined variable `a`",
        "a",
        "define it first",
    );
}

#[test]
fn a_let_inside_if_is_not_visible_after_it() {
    assert_error(
        "if exists button \"A\" {\n  let label = text of button \"A\"\n}\nnote \"{label}\"\n",
        Code::UndefinedVariable,
        "undefined variable `label`",
        "label",
        "`label` is defined on line 5 inside a block that has ended; define it before the block",
    );
}

#[test]
fn a_loop_item_is_scoped_to_its_body() {
    assert_error(
        "let rows = table table \"R\"\nfor each row in rows at most 3 {\n  note \"{row.name}\"\n}\nnote \"{row.name}\"\n",
        Code::UndefinedVariable,
        "undefined variable `row`",
        "row",
        "inside a block that has ended",
    );
}

#[test]
fn until_cannot_see_names_defined_in_the_body() {
    assert_error(
        "repeat at most 3 until n > 2 {\n  let n = count of row\n}\n",
        Code::UndefinedVariable,
        "undefined variable `n`",
        "n",
        "define it first",
    );
}

#[test]
fn a_name_cannot_be_defined_twice() {
    assert_error(
        "let a = url\nlet a = title\n",
        Code::RedefinedVariable,
        "`a` is already defined",
        "a",
        "`a` is a variable defined on line 4; pick another name (names cannot be redefined or shadowed)",
    );
}

#[test]
fn params_secrets_lets_and_items_share_one_namespace() {
    assert_error(
        "param q: text\nlet q = url\n",
        Code::RedefinedVariable,
        "`q` is already defined",
        "q",
        "`q` is a param defined on line 4",
    );
    assert_error(
        "secret card = \"visa\"\nparam card: text\n",
        Code::RedefinedVariable,
        "`card` is already defined",
        "card",
        "`card` is a secret defined on line 4",
    );
    assert_error(
        "let rows = table table \"R\"\nfor each rows in rows at most 3 { note \"x\" }\n",
        Code::RedefinedVariable,
        "`rows` is already defined",
        "rows",
        "`rows` is a variable defined on line 4",
    );
}

#[test]
fn an_inner_block_cannot_shadow_an_outer_name() {
    assert_error(
        "let a = url\nif exists button \"A\" {\n  let a = title\n}\n",
        Code::RedefinedVariable,
        "`a` is already defined",
        "a",
        "names cannot be redefined or shadowed",
    );
    assert_error(
        "let rows = table table \"R\"\nfor each row in rows at most 3 {\n  let row = url\n}\n",
        Code::RedefinedVariable,
        "`row` is already defined",
        "row",
        "`row` is a loop item defined on line 5",
    );
}

#[test]
fn sibling_blocks_may_reuse_a_name() {
    ok(&script(
        "if exists button \"A\" {\n  let a = url\n} else {\n  let a = title\n}\nlet rows = table table \"R\"\nfor each row in rows at most 2 { note \"{row.x}\" }\nfor each row in rows at most 2 { note \"{row.y}\" }\nlet a = url\n",
    ));
}

#[test]
fn a_let_inside_a_block_is_visible_later_in_that_block() {
    ok(&script(
        "if exists button \"A\" {\n  let a = url\n  if exists button \"B\" {\n    note \"{a}\"\n  }\n  note \"{a}\"\n}\n",
    ));
}
