//! Secrets: only ever the whole value of `fill`, never interpolated.

use super::*;

const CARD: &str = "secret card = \"visa-personal\"\n";

#[track_caller]
fn misuse(body: &str, message: &str) {
    misuse_at(body, message, "card");
}

#[track_caller]
fn misuse_at(body: &str, message: &str, spanned: &str) {
    assert_error(
        &format!("{CARD}{body}"),
        Code::SecretMisuse,
        message,
        spanned,
        "secrets are filled from the local vault and never leave it",
    );
}

#[test]
fn a_secret_may_be_the_value_of_fill() {
    let checked = ok(&script(&format!(
        "{CARD}fill textbox \"Card number\" in frame \"https://pay.example\" with card\n"
    )));
    assert_eq!(checked.steps[0].secret.as_deref(), Some("card"));
}

#[test]
fn a_secret_cannot_go_anywhere_else() {
    misuse("return card\n", "secret `card` cannot be returned");
    misuse(
        "let copy = card\n",
        "secret `card` cannot be copied with `let`",
    );
    misuse(
        "if card == \"1234\" { note \"x\" }\n",
        "secret `card` cannot be compared",
    );
    misuse(
        "assert text of heading \"Card\" contains card\n",
        "secret `card` cannot be compared",
    );
    misuse(
        "let out = job \"sh\" input card <<<\ncat\n>>>\n",
        "secret `card` cannot be sent to a job",
    );
    misuse(
        "for each x in card at most 2 { note \"x\" }\n",
        "secret `card` cannot be looped over",
    );
    misuse_at(
        "fill textbox \"A\" with card.number\n",
        "secret `card` has no fields",
        "card.number",
    );
}

#[track_caller]
fn interpolated(body: &str) {
    assert_error(
        &format!("{CARD}{body}"),
        Code::SecretInterpolation,
        "secret `card` cannot be interpolated",
        "card",
        "fill the secret on its own: `fill <target> with card`",
    );
}

#[test]
fn a_secret_cannot_be_interpolated_anywhere() {
    interpolated("note \"card is {card}\"\n");
    interpolated("fill textbox \"Card\" with \"{card}\"\n");
    interpolated("navigate \"https://shop.example/pay?c={card}\"\n");
    interpolated("click button \"{card}\"\n");
    interpolated("confirm \"Use {card}?\"\n");
    interpolated("wait for url matches \"https://shop.example/{card}\"\n");
    interpolated("select combobox \"Card\" option \"{card}\"\n");
    interpolated("press \"{card}\"\n");
}
