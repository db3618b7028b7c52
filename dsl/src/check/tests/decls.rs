//! Declarations: `param` and `secret`, where they stand and what their defaults hold.

use super::*;
use crate::ast::{Expr, ParamType};

#[test]
fn declarations_are_exposed_in_order() {
    let checked = ok(&script(
        "param query: text = \"usb-c\"\nparam max: number = 20\nparam gift: bool = false\nparam note_text: text\nsecret card = \"visa-personal\"\nnote \"{query} {max} {gift} {note_text}\"\n",
    ));
    let params: Vec<(&str, ParamType)> = checked
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.ty))
        .collect();
    assert_eq!(
        params,
        [
            ("query", ParamType::Text),
            ("max", ParamType::Number),
            ("gift", ParamType::Bool),
            ("note_text", ParamType::Text),
        ]
    );
    assert!(matches!(&checked.params[1].default, Some(Expr::Number(n)) if n.node == 20.0));
    assert_eq!(checked.params[3].default, None);
    assert_eq!(checked.secrets.len(), 1);
    assert_eq!(checked.secrets[0].name, "card");
    assert_eq!(checked.secrets[0].entry, "visa-personal");
    // Declarations are not steps.
    assert_eq!(checked.steps.len(), 1);
}

#[test]
fn a_declaration_after_a_step_is_misplaced() {
    assert_error(
        "note \"hi\"\nparam query: text\n",
        Code::Declaration,
        "`param` must come before the first step",
        "param query: text",
        "move it up, after `origins` and above line 4",
    );
    assert_error(
        "note \"hi\"\nsecret card = \"visa\"\n",
        Code::Declaration,
        "`secret` must come before the first step",
        "secret card = \"visa\"",
        "above line 4",
    );
}

#[test]
fn a_declaration_in_a_block_is_misplaced() {
    assert_error(
        "if exists button \"A\" {\n  secret card = \"visa\"\n}\n",
        Code::Declaration,
        "`secret` can only be declared at the top level",
        "secret card = \"visa\"",
        "declare it at the top of the script",
    );
}

#[test]
fn a_default_must_match_its_type() {
    assert_error(
        "param max: number = \"20\"\n",
        Code::TypeMismatch,
        "the default of `max` is text, but `max` is a number",
        "\"20\"",
        "write a default of that type, e.g. `3`",
    );
    assert_error(
        "param gift: bool = 1\n",
        Code::TypeMismatch,
        "the default of `gift` is a number, but `gift` is a bool",
        "1",
        "e.g. `true`",
    );
    assert_error(
        "param q: text = true\n",
        Code::TypeMismatch,
        "the default of `q` is a bool, but `q` is text",
        "true",
        "e.g. `\"…\"`",
    );
}

#[test]
fn a_default_must_be_a_literal() {
    assert_error(
        "param a: text = \"x\"\nparam b: text = \"{a}\"\n",
        Code::Declaration,
        "the default of `b` must be a literal",
        "\"{a}\"",
        "write a literal value",
    );
    assert_error(
        "param here: text = url\n",
        Code::Declaration,
        "the default of `here` must be a literal",
        "url",
        "write a literal value",
    );
}

#[test]
fn a_secret_must_name_a_vault_entry() {
    assert_error(
        "secret card = \"\"\n",
        Code::Declaration,
        "secret `card` names no vault entry",
        "\"\"",
        "write the name of the entry in your vault",
    );
}
