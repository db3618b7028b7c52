//! URLs of `navigate` and `open tab`, and `in frame` origins.

use super::*;

#[test]
fn a_listed_literal_origin_passes_and_is_recorded() {
    let checked = ok(&script(
        "param q: text\nnavigate \"HTTPS://Shop.Example/search?q={q}\"\nopen tab \"https://pay.example\"\nnavigate \"https://shop.example?x=1\"\nnavigate \"https://shop.example#top\"\n",
    ));
    let origins: Vec<Option<&str>> = checked
        .steps
        .iter()
        .map(|s| s.url_origin.as_deref())
        .collect();
    assert_eq!(
        origins,
        [
            Some("https://shop.example"),
            Some("https://pay.example"),
            Some("https://shop.example"),
            Some("https://shop.example")
        ]
    );
}

#[test]
fn an_origin_outside_origins_is_refused() {
    assert_error(
        "navigate \"https://evil.example/steal\"\n",
        Code::OriginOutside,
        "URL origin `https://evil.example` is not in `origins`",
        "\"https://evil.example/steal\"",
        "a script acts only on the origins it lists; add `https://evil.example` to `origins`",
    );
    assert_error(
        "open tab \"https://shop.exampel/\"\n",
        Code::OriginOutside,
        "URL origin `https://shop.exampel` is not in `origins`",
        "\"https://shop.exampel/\"",
        "did you mean `https://shop.example`?",
    );
    // The port is part of the origin.
    assert_error(
        "navigate \"https://shop.example:8443/\"\n",
        Code::OriginOutside,
        "URL origin `https://shop.example:8443` is not in `origins`",
        "\"https://shop.example:8443/\"",
        "add `https://shop.example:8443` to `origins`",
    );
}

#[test]
fn the_origin_must_be_written_literally() {
    for url in [
        "{u}",
        "https://{host}/cart",
        "https://shop.example{path}",
        "https://shop.example:{port}/",
        "https://{sub}.shop.example/",
    ] {
        let body = format!(
            "param u: text\nparam host: text\nparam path: text\nparam port: text\nparam sub: text\nnavigate \"{url}\"\n"
        );
        assert_error(
            &body,
            Code::InvalidUrl,
            "the origin of a `navigate` URL must be written literally",
            &format!("\"{url}\""),
            "write `scheme://host` out before any `{…}`",
        );
    }
}

#[test]
fn relative_urls_are_refused_with_the_full_url_as_help() {
    assert_error(
        "navigate \"/cart\"\n",
        Code::InvalidUrl,
        "relative URL `/cart`",
        "\"/cart\"",
        "write the full URL, e.g. `https://shop.example/cart`",
    );
    assert_error(
        "navigate \"/go?to=https://shop.example/\"\n",
        Code::InvalidUrl,
        "relative URL `/go?to=https://shop.example/`",
        "\"/go?to=https://shop.example/\"",
        "e.g. `https://shop.example/go?to=https://shop.example/`",
    );
    assert_error(
        "param q: text\nopen tab \"shop.example/search?q={q}\"\n",
        Code::InvalidUrl,
        "relative URL `shop.example/search?q=…`",
        "\"shop.example/search?q={q}\"",
        "e.g. `https://shop.example/search?q=…`",
    );
}

#[test]
fn other_schemes_are_refused() {
    assert_error(
        "navigate \"javascript:alert(1)\"\n",
        Code::InvalidUrl,
        "`navigate` URL `javascript:alert(1)` uses the scheme `javascript`",
        "\"javascript:alert(1)\"",
        "scripts go only to `https` URLs (or `http` on localhost) within `origins`",
    );
    assert_error(
        "open tab \"data:text/html,hi\"\n",
        Code::InvalidUrl,
        "`open tab` URL `data:text/html,hi` uses the scheme `data`",
        "\"data:text/html,hi\"",
        "scripts go only to `https` URLs",
    );
    assert_error(
        "navigate \"https:shop.example/cart\"\n",
        Code::InvalidUrl,
        "`navigate` URL `https:shop.example/cart` lacks `//` after `https:`",
        "\"https:shop.example/cart\"",
        "write `https://host/…`",
    );
}

#[test]
fn tricks_in_the_authority_are_refused() {
    assert_error(
        "navigate \"http://shop.example/\"\n",
        Code::InvalidUrl,
        "origin `http://shop.example` uses plain `http`",
        "\"http://shop.example/\"",
        "use `https`",
    );
    assert_error(
        "navigate \"https://shop.example@evil.example/\"\n",
        Code::InvalidUrl,
        "origin `https://shop.example@evil.example` contains credentials",
        "\"https://shop.example@evil.example/\"",
        "the user signs in, never the script",
    );
    assert_error(
        "navigate \"https://evil.example\\\\@shop.example/\"\n",
        Code::InvalidUrl,
        "`navigate` URL contains a backslash",
        "\"https://evil.example\\\\@shop.example/\"",
        "browsers read `\\` as `/`",
    );
}

#[test]
fn frames_must_be_valid_listed_origins() {
    let checked = ok(&script(
        "click button \"Pay\" in frame \"https://PAY.example/\"\n",
    ));
    assert_eq!(checked.steps.len(), 1);
    assert_error(
        "click button \"Pay\" in frame \"https://evil.example\"\n",
        Code::OriginOutside,
        "frame origin `https://evil.example` is not in `origins`",
        "\"https://evil.example\"",
        "add `https://evil.example` to `origins`",
    );
    assert_error(
        "click button \"Pay\" in frame \"https://pay.example/checkout\"\n",
        Code::InvalidUrl,
        "origin `https://pay.example/checkout` has a path",
        "\"https://pay.example/checkout\"",
        "an origin is only `scheme://host[:port]`",
    );
}
