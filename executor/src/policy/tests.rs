//! Unit tests of the policy parser: one per validation error (message, line, key path and
//! help) and the accessors the decision function uses. Limits, the shipped files and
//! widening attempts are in `tests/policy.rs`.

use super::*;
use base64::Engine as _;

fn err(src: &str) -> PolicyError {
    match Policy::from_toml(src) {
        Ok(_) => panic!("expected an error for:\n{src}"),
        Err(e) => e,
    }
}

fn ok(src: &str) -> Policy {
    match Policy::from_toml(src) {
        Ok(p) => p,
        Err(e) => panic!("{}", e.render("test.toml", src)),
    }
}

/// Asserts message, line, key path and help of the first error of `src`.
#[track_caller]
fn expect(src: &str, message: &str, line: usize, path: &str, help: &str) {
    let e = err(src);
    assert_eq!(e.to_string(), message, "message of\n{src}");
    assert_eq!(e.line, line, "line of `{message}`");
    assert_eq!(e.path, path, "path of `{message}`");
    assert_eq!(e.help.as_deref(), Some(help), "help of `{message}`");
}

fn key(seed: u8) -> String {
    let signing = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    b64(&signing.verifying_key().to_bytes())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn planner(name: &str, kid: &str, public_key: &str, extra: &str) -> String {
    format!(
        "[[planner]]\nname = \"{name}\"\nkid = \"{kid}\"\npublic_key = \"{public_key}\"\nmax_ttl = \"15m\"\n{extra}"
    )
}

#[test]
fn default_file_parses_and_equals_the_built_in_defaults() {
    assert_eq!(
        Policy::from_toml(DEFAULT_POLICY_TOML),
        Ok(Policy::default())
    );
    assert_eq!(Policy::default_policy(), Policy::default());
}

#[test]
fn an_empty_file_is_the_built_in_defaults() {
    assert_eq!(ok(""), Policy::default());
}

// --- TOML and shape errors ---------------------------------------------------------------

#[test]
fn unknown_key_suggests_the_closest() {
    expect(
        "[defaults]\naprroval = \"high\"\n",
        "unknown key `aprroval` in `defaults`",
        2,
        "defaults.aprroval",
        "did you mean `approval`?",
    );
    expect(
        "[[site]]\norigin = \"https://a.example\"\nmax_amount = { currency = \"EUR\", valeu = 3 }\n",
        "unknown key `valeu` in `site[0].max_amount`",
        3,
        "site[0].max_amount.valeu",
        "did you mean `value`?",
    );
    expect(
        "[jobs]\nzzz = 1\n",
        "unknown key `zzz` in `jobs`",
        2,
        "jobs.zzz",
        "expected one of `runtimes`, `min_tier`, `max_cpu`, `max_memory`, `max_wall`, `max_output` or `network`",
    );
}

#[test]
fn unknown_top_level_key_or_table() {
    expect(
        "[default]\napproval = \"high\"\n",
        "unknown top-level key `default`",
        1,
        "default",
        "did you mean `defaults`?",
    );
    expect(
        "[[sites]]\norigin = \"https://a.example\"\n",
        "unknown top-level key `sites`",
        1,
        "sites",
        "did you mean `site`?",
    );
}

#[test]
fn missing_required_key() {
    let src = format!(
        "[[planner]]\nname = \"p\"\npublic_key = \"{}\"\nmax_ttl = \"15m\"\n",
        key(1)
    );
    expect(
        &src,
        "missing key `kid` in `planner[0]`",
        1,
        "planner[0].kid",
        "add `kid = …` to this table: a string",
    );
    expect(
        "[[site]]\nallow = [\"click\"]\n",
        "missing key `origin` in `site[0]`",
        1,
        "site[0].origin",
        "add `origin = …` to this table: a string (an origin like `https://shop.example`)",
    );
}

#[test]
fn wrong_types_name_what_is_expected_without_type_names() {
    expect(
        "[defaults]\napproval = 5\n",
        "`defaults.approval` must be a string (`low`, `medium` or `high`), found the integer `5`",
        2,
        "defaults.approval",
        "write a string (`low`, `medium` or `high`) here",
    );
    expect(
        "[defaults]\nmax_steps = \"100\"\n",
        "`defaults.max_steps` must be an integer, found the string `100`",
        2,
        "defaults.max_steps",
        "write an integer here",
    );
    expect(
        "[jobs]\nnetwork = \"no\"\n",
        "`jobs.network` must be a boolean (`true` or `false`), found the string `no`",
        2,
        "jobs.network",
        "write a boolean (`true` or `false`) here",
    );
    expect(
        "[[site]]\norigin = \"https://a.example\"\ndeny = [\"click\", 3]\n",
        "`site[0].deny[1]` must be a string (a verb like `click`), found the integer `3`",
        3,
        "site[0].deny[1]",
        "write a string (a verb like `click`) here",
    );
    expect(
        "[[site]]\norigin = \"https://a.example\"\nallow = \"click\"\n",
        "`site[0].allow` must be an array of verbs, found the string `click`",
        3,
        "site[0].allow",
        "write an array of verbs here",
    );
    expect(
        "[jobs]\nmax_cpu = \"2\"\n",
        "`jobs.max_cpu` must be a number, found the string `2`",
        2,
        "jobs.max_cpu",
        "write a number here",
    );
    expect(
        "defaults = 3\n",
        "`defaults` must be a table, found the integer `3`",
        1,
        "defaults",
        "write a table here",
    );
}

#[test]
fn toml_syntax_errors_keep_their_place() {
    let e = err("[defaults]\napproval = high\n");
    assert!(
        matches!(&*e.kind, PolicyErrorKind::Syntax { detail } if detail == "invalid string; expected `\"`, `'`"),
        "{e:?}"
    );
    assert_eq!((e.line, e.column), (2, 12));
    assert_eq!(
        e.help.as_deref(),
        Some("put text in double quotes, as in `approval = \"high\"`")
    );
    let e = err("[defaults\n");
    assert_eq!(e.line, 1);
    assert!(
        e.to_string()
            .starts_with("invalid TOML: invalid table header"),
        "{e}"
    );
    assert_eq!(
        e.help.as_deref(),
        Some("the policy is TOML: `key = value` lines under `[table]` headers, strings in double quotes")
    );
}

#[test]
fn duplicate_keys_are_reported() {
    expect(
        "[defaults]\napproval = \"high\"\napproval = \"low\"\n",
        "duplicate key `approval` in `defaults`",
        3,
        "",
        "remove one of the two; a key can appear once per table",
    );
}

// --- Planners ----------------------------------------------------------------------------

#[test]
fn a_valid_planner_is_typed() {
    let src = planner(
        "acme",
        "acme-1",
        &key(1),
        "endpoint = \"wss://planner.example/b\"\n",
    );
    let policy = ok(&src);
    let p = policy.planner_by_kid("acme-1").unwrap();
    assert_eq!(p.name, "acme");
    assert_eq!(p.max_ttl, time::Duration::minutes(15));
    assert_eq!(p.endpoint.as_deref(), Some("wss://planner.example/b"));
    assert_eq!(b64(&p.public_key_bytes()), key(1));
    assert_eq!(p.line, 2);
    assert!(policy.planner_by_kid("other").is_none());
}

#[test]
fn token_verification_finds_planners_through_the_policy() {
    use crate::token::TrustedKeys;
    let policy = ok(&planner("acme", "acme-1", &key(3), ""));
    let trusted = policy.planner("acme-1").unwrap();
    assert_eq!(trusted.name, "acme");
    assert_eq!(crate::keys::encode_public_key(trusted.public_key), key(3));
    assert_eq!(trusted.max_ttl, time::Duration::minutes(15));
    assert!(policy.planner("acme-2").is_none());
}

#[test]
fn public_key_errors() {
    expect(
        &planner("p", "k", "not+base64/", ""),
        "public key `not+base64/` is not unpadded base64url",
        4,
        "planner[0].public_key",
        "paste the public key as `bridle keys new` prints it: 43 characters of base64url, without `=` padding",
    );
    let padded = format!("{}=", key(1));
    let e = err(&planner("p", "k", &padded, ""));
    assert!(
        matches!(*e.kind, PolicyErrorKind::PublicKeyEncoding { .. }),
        "{e:?}"
    );
    let e = err(&planner("p", "k", &b64(&[7; 31]), ""));
    assert_eq!(e.to_string(), "public key decodes to 31 bytes, not 32");
    assert_eq!(e.line, 4);
    let e = err(&planner("p", "k", &b64(&[7; 33]), ""));
    assert_eq!(e.to_string(), "public key decodes to 33 bytes, not 32");
    let mut off_curve = [0u8; 32];
    off_curve[0] = 2;
    let e = err(&planner("p", "k", &b64(&off_curve), ""));
    assert_eq!(e.to_string(), "public key is not a valid Ed25519 key");
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let e = err(&planner("p", "k", &b64(&identity), ""));
    assert_eq!(e.to_string(), "public key is a weak Ed25519 key");
    assert_eq!(
        e.help.as_deref(),
        Some("a weak key lets anyone forge signatures; generate a new pair with `bridle keys new`")
    );
}

#[test]
fn kid_and_name_errors() {
    expect(
        &planner("p", "", &key(1), ""),
        "`planner[0].kid` is empty",
        3,
        "planner[0].kid",
        "copy the key id that `bridle keys new` printed",
    );
    expect(
        &planner("p", "a b", &key(1), ""),
        "key id `a b` has characters other than letters, digits, `.`, `_` and `-`",
        3,
        "planner[0].kid",
        "copy the key id that `bridle keys new` printed",
    );
    let two = format!(
        "{}{}",
        planner("a", "k", &key(1), ""),
        planner("b", "k", &key(2), "")
    );
    expect(
        &two,
        "key id `k` is used by two planners",
        8,
        "planner[1].kid",
        "a key id must pick exactly one planner; the first is on line 3",
    );
    let two = format!(
        "{}{}",
        planner("a", "k1", &key(1), ""),
        planner("a", "k2", &key(2), "")
    );
    expect(
        &two,
        "planner name `a` is used twice",
        7,
        "planner[1].name",
        "give each planner its own name; the first is on line 2",
    );
    expect(
        &planner(" ", "k", &key(1), ""),
        "`planner[0].name` is empty",
        2,
        "planner[0].name",
        "name the planner as its tokens' `iss` claim does",
    );
    expect(
        &planner("a\\tb", "k", &key(1), ""),
        "planner name `a\tb` has control characters",
        2,
        "planner[0].name",
        "remove tabs, line breaks and other control characters",
    );
}

#[test]
fn max_ttl_errors() {
    let src = planner("p", "k", &key(1), "").replace("\"15m\"", "\"15 minutes\"");
    expect(
        &src,
        "`max_ttl` has an invalid duration `15 minutes`",
        5,
        "planner[0].max_ttl",
        "write a whole number and a unit, as in `500ms`, `30s`, `15m` or `1h`",
    );
    let src = planner("p", "k", &key(1), "").replace("\"15m\"", "\"25h\"");
    expect(
        &src,
        "`max_ttl` is `25h`, outside the allowed range 1ms to 24h",
        5,
        "planner[0].max_ttl",
        "write a duration from `1ms` to `24h`",
    );
    let src = planner("p", "k", &key(1), "").replace("\"15m\"", "\"0s\"");
    assert_eq!(
        err(&src).to_string(),
        "`max_ttl` is `0s`, outside the allowed range 1ms to 24h"
    );
    let src = planner("p", "k", &key(1), "").replace("\"15m\"", "\"24h\"");
    assert_eq!(ok(&src).planners[0].max_ttl, time::Duration::hours(24));
}

#[test]
fn endpoint_rules() {
    let with = |e: &str| planner("p", "k", &key(1), &format!("endpoint = \"{e}\"\n"));
    for good in [
        "wss://planner.example",
        "ws://127.0.0.1:8787/bridle",
        "ws://localhost:9000",
        "ws://[::1]:9000",
    ] {
        ok(&with(good));
    }
    expect(
        &with("ws://planner.example"),
        "endpoint `ws://planner.example` uses unencrypted `ws://` to a host that is not loopback",
        6,
        "planner[0].endpoint",
        "use `wss://host/path`, or `ws://` only to `127.0.0.1`, `[::1]` or `localhost`",
    );
    assert_eq!(
        err(&with("https://planner.example")).to_string(),
        "endpoint `https://planner.example` must use `wss://`"
    );
    assert_eq!(
        err(&with("planner.example")).to_string(),
        "endpoint `planner.example` is not a URL"
    );
    assert_eq!(
        err(&with("wss://u:p@planner.example")).to_string(),
        "endpoint `wss://u:p@planner.example` has a user name, password or fragment"
    );
}

// --- Defaults ----------------------------------------------------------------------------

#[test]
fn approval_never_does_not_exist() {
    expect(
        "[defaults]\napproval = \"never\"\n",
        "unknown approval threshold `never`",
        2,
        "defaults.approval",
        "the threshold can be `low`, `medium` or `high`: steps of that risk or higher ask you, and high-risk steps always ask unless a standing grant covers them",
    );
    expect(
        "[defaults]\napproval = \"hihg\"\n",
        "unknown approval threshold `hihg`",
        2,
        "defaults.approval",
        "did you mean `high`?",
    );
    assert_eq!(
        ok("[defaults]\napproval = \"low\"\n").defaults.approval,
        Risk::Low
    );
}

#[test]
fn blocked_schemes_only_add() {
    let policy = ok("[defaults]\nblocked_schemes = [\"FTP\", \"mailto\"]\n");
    for scheme in ALWAYS_BLOCKED_SCHEMES {
        assert!(
            policy.defaults.blocked_schemes.iter().any(|s| s == scheme),
            "{scheme}"
        );
    }
    assert!(policy.is_blocked_scheme("ftp://files.example/a"));
    assert!(policy.is_blocked_scheme("mailto:a@b.example"));
    // An empty list does not unblock the built-in schemes.
    let policy = ok("[defaults]\nblocked_schemes = []\n");
    assert!(policy.is_blocked_scheme("javascript:alert(1)"));
    expect(
        "[defaults]\nblocked_schemes = [\"file:\"]\n",
        "`file:` is not a URL scheme",
        2,
        "defaults.blocked_schemes[0]",
        "write the scheme without `:`, as `file`",
    );
    expect(
        "[defaults]\nblocked_schemes = [\"ftp\", \"FTP\"]\n",
        "`FTP` is listed twice in `defaults.blocked_schemes`",
        2,
        "defaults.blocked_schemes[1]",
        "remove it; the first is on line 2",
    );
}

#[test]
fn blocked_scheme_checks_read_urls_as_a_browser_does() {
    let policy = Policy::default();
    for url in [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "  javascript:alert(1)",
        "java\nscript:alert(1)",
        "data:text/html,<b>x</b>",
        "file:///etc/passwd",
        "chrome://settings",
        "about:blank",
        "view-source:https://a.example",
        "chrome-extension://abc/page.html",
        "blob:https://a.example/uuid",
        "relative/path",
        "",
    ] {
        assert!(policy.is_blocked_scheme(url), "{url:?} should be blocked");
    }
    for url in ["https://a.example", "http://localhost:3000/x"] {
        assert!(
            !policy.is_blocked_scheme(url),
            "{url:?} should not be blocked"
        );
    }
}

#[test]
fn never_read_only_adds_and_names_kinds() {
    let policy = ok("[defaults]\nnever_read = [\"email\"]\n");
    assert!(policy.never_reads(FieldKind::Email));
    assert!(policy.never_reads(FieldKind::Password));
    let policy = ok("[defaults]\nnever_read = []\n");
    for kind in FieldKind::ALWAYS {
        assert!(policy.never_reads(*kind), "{kind}");
    }
    assert!(!policy.never_reads(FieldKind::Email));
    expect(
        "[defaults]\nnever_read = [\"passwrd\"]\n",
        "unknown field kind `passwrd`",
        2,
        "defaults.never_read[0]",
        "did you mean `password`?",
    );
    expect(
        "[defaults]\nnever_read = [\"cvc\"]\n",
        "unknown field kind `cvc`",
        2,
        "defaults.never_read[0]",
        "expected one of `password`, `card-number`, `card-cvc`, `card-expiry`, `one-time-code`, `email`, `tel` or `birthday`",
    );
}

#[test]
fn sensitive_words_are_normalised_and_checked() {
    let policy = ok("[defaults]\nsensitive_words = [\"  Renew \", \"Add   to cart\"]\n");
    assert_eq!(policy.defaults.sensitive_words, ["renew", "add to cart"]);
    let options = policy.risk_options();
    assert_eq!(options.sensitive_word_in("Renew plan"), Some("renew"));
    assert_eq!(options.sensitive_word_in("Pay now"), Some("pay"));
    expect(
        "[defaults]\nsensitive_words = [\"renew\", \"RENEW\"]\n",
        "`RENEW` is listed twice in `defaults.sensitive_words`",
        2,
        "defaults.sensitive_words[1]",
        "remove it; the first is on line 2",
    );
    expect(
        "[defaults]\nsensitive_words = [\"\"]\n",
        "`defaults.sensitive_words[0]` is empty",
        2,
        "defaults.sensitive_words[0]",
        "remove the empty word",
    );
    expect(
        "[defaults]\nsensitive_words = [\"--\"]\n",
        "sensitive word `--` has no letters or has control characters",
        2,
        "defaults.sensitive_words[0]",
        "a sensitive word is matched against element names, as in `renew` or `add to cart`",
    );
}

#[test]
fn max_steps_and_duration_ranges() {
    expect(
        "[defaults]\nmax_steps = 0\n",
        "`max_steps` is `0`, outside the allowed range 1 to 100000",
        2,
        "defaults.max_steps",
        "write a whole number from 1 to 100000",
    );
    assert_eq!(
        err("[defaults]\nmax_steps = -5\n").to_string(),
        "`max_steps` is `-5`, outside the allowed range 1 to 100000"
    );
    expect(
        "[defaults]\nmax_duration = \"10\"\n",
        "`max_duration` has an invalid duration `10`",
        2,
        "defaults.max_duration",
        "write a whole number and a unit, as in `500ms`, `30s`, `15m` or `1h`",
    );
    let p =
        ok("[defaults]\nmax_steps = 100000\nmax_duration = \"4h\"\nallow_css_targets = false\n");
    assert_eq!(p.defaults.max_steps, 100_000);
    assert_eq!(p.defaults.max_duration, time::Duration::hours(4));
    assert!(!p.defaults.allow_css_targets);
}

// --- Sites -------------------------------------------------------------------------------

#[test]
fn unknown_verbs_suggest_the_language_word() {
    expect(
        "[[site]]\norigin = \"https://a.example\"\nallow = [\"click\", \"scroll\"]\n",
        "unknown verb `scroll`",
        3,
        "site[0].allow[1]",
        "did you mean `scroll to`?",
    );
    expect(
        "[[site]]\norigin = \"https://a.example\"\ndeny = [\"sumbit\"]\n",
        "unknown verb `sumbit`",
        3,
        "site[0].deny[0]",
        "did you mean `submit`?",
    );
    expect(
        "[[site]]\norigin = \"https://a.example\"\nask = [\"xyzzy\"]\n",
        "unknown verb `xyzzy`",
        3,
        "site[0].ask[0]",
        "write verbs as scripts do: `click`, `fill`, `submit`, `scroll to`, `open tab` …",
    );
}

#[test]
fn a_verb_in_two_lists_is_an_error() {
    expect(
        "[[site]]\norigin = \"https://a.example\"\nallow = [\"submit\"]\ndeny = [\"submit\"]\n",
        "`submit` is in both `allow` and `deny`",
        4,
        "site[0].deny[0]",
        "keep each verb in one of `allow`, `ask` and `deny`",
    );
    assert_eq!(
        err("[[site]]\norigin = \"https://a.example\"\nask = [\"fill\"]\ndeny = [\"fill\"]\n")
            .to_string(),
        "`fill` is in both `ask` and `deny`"
    );
    expect(
        "[[site]]\norigin = \"https://a.example\"\ndeny = [\"click\", \"click\"]\n",
        "`click` is listed twice in `site[0].deny`",
        3,
        "site[0].deny[1]",
        "remove it; the first is on line 3",
    );
}

#[test]
fn origin_errors_point_at_the_origin() {
    expect(
        "[[site]]\norigin = \"http://shop.example\"\n",
        "invalid origin `http://shop.example`: plain `http` is only allowed for loopback hosts, not `shop.example`",
        2,
        "site[0].origin",
        "use `https://`; plain `http://` is only for `localhost`, `127.0.0.1` and `[::1]`",
    );
    expect(
        "[[site]]\norigin = \"https://shop.example/cart\"\n",
        "invalid origin `https://shop.example/cart`: an origin has no path, query or fragment",
        2,
        "site[0].origin",
        "remove the path: a rule covers a whole origin, as in `https://shop.example`",
    );
    expect(
        "[[site]]\norigin = \"https://*.com\"\n",
        "invalid origin `https://*.com`: `*.com` is too broad: name at least two labels after `*.`",
        2,
        "site[0].origin",
        "name the site after the `*.`, as in `https://*.example.com`",
    );
    expect(
        "[[site]]\norigin = \"shop.example\"\n",
        "invalid origin `shop.example`: it is not a URL with a host",
        2,
        "site[0].origin",
        "write the origin with its scheme, as in `https://shop.example`",
    );
}

#[test]
fn duplicate_sites_compare_normalised_origins() {
    expect(
        "[[site]]\norigin = \"https://shop.example\"\n\n[[site]]\norigin = \"https://SHOP.example:443/\"\n",
        "there is already a site rule for `https://shop.example`",
        5,
        "site[1].origin",
        "merge the two `[[site]]` tables; the first is on line 2",
    );
}

#[test]
fn read_only_sites_refuse_acting_verbs() {
    expect(
        "[[site]]\norigin = \"https://bank.example\"\nread_only = true\nallow = [\"click\"]\n",
        "`click` is in `allow` but the site is read-only",
        4,
        "site[0].allow[0]",
        "remove it, or set `read_only = false`",
    );
    let policy = ok("[[site]]\norigin = \"https://bank.example\"\nread_only = true\n");
    let at = "https://bank.example/accounts";
    for verb in READ_ONLY_VERBS {
        assert_eq!(
            policy.site_decision(at, *verb).outcome,
            Outcome::Allow,
            "{verb}"
        );
    }
    for verb in [
        Verb::Click,
        Verb::Fill,
        Verb::Submit,
        Verb::Upload,
        Verb::Press,
        Verb::Job,
    ] {
        let d = policy.site_decision(at, verb);
        assert_eq!(d.outcome, Outcome::Deny, "{verb}");
        assert_eq!(
            d.matches[0].to_string(),
            "site `https://bank.example` is read-only (line 2)"
        );
    }
}

#[test]
fn standing_grant_rules() {
    let src = "[[site]]\norigin = \"https://shop.example\"\nstanding = [{ verb = \"submit\", max_amount = { currency = \"EUR\", value = 20 } }]\n";
    let policy = ok(src);
    let (rule, grant) = policy
        .standing_grant("https://shop.example/checkout", Verb::Submit)
        .unwrap();
    assert_eq!(rule.line, 2);
    assert_eq!(
        grant
            .max_amount
            .as_ref()
            .map(|a| (a.currency.as_str(), a.value)),
        Some(("EUR", 20.0))
    );
    assert!(policy
        .standing_grant("https://shop.example", Verb::Upload)
        .is_none());
    assert!(policy
        .standing_grant("https://www.shop.example", Verb::Submit)
        .is_none());

    expect(
        "[[site]]\norigin = \"https://*.shop.example\"\nstanding = [{ verb = \"submit\" }]\n",
        "standing grants need an exact origin, not `https://*.shop.example`",
        3,
        "site[0].standing[0].verb",
        "write a `[[site]]` table for each exact origin, as in `https://shop.example`",
    );
    expect(
        "[[site]]\norigin = \"https://shop.example\"\nstanding = [{ verb = \"confirm\" }]\n",
        "`confirm` cannot have a standing grant",
        3,
        "site[0].standing[0].verb",
        "`confirm` exists to ask you; remove this grant",
    );
    expect(
        "[[site]]\norigin = \"https://shop.example\"\ndeny = [\"submit\"]\nstanding = [{ verb = \"submit\" }]\n",
        "`submit` is in both `deny` and `standing`",
        4,
        "site[0].standing[0].verb",
        "remove the grant, or remove `submit` from `deny`",
    );
    expect(
        "[[site]]\norigin = \"https://bank.example\"\nread_only = true\nstanding = [{ verb = \"submit\" }]\n",
        "`submit` is in `standing` but the site is read-only",
        4,
        "site[0].standing[0].verb",
        "remove the grant, or set `read_only = false`",
    );
    expect(
        "[[site]]\norigin = \"https://shop.example\"\nstanding = [{ verb = \"submit\" }, { verb = \"submit\" }]\n",
        "`submit` is listed twice in `site[0].standing`",
        3,
        "site[0].standing[1].verb",
        "remove it; the first is on line 3",
    );
    expect(
        "[[site]]\norigin = \"https://shop.example\"\nstanding = [{ verb = \"sbumit\" }]\n",
        "unknown verb `sbumit`",
        3,
        "site[0].standing[0].verb",
        "did you mean `submit`?",
    );
}

#[test]
fn amounts_are_checked() {
    expect(
        "[[site]]\norigin = \"https://a.example\"\nmax_amount = { currency = \"eur\", value = 5 }\n",
        "currency `eur` is not a three-letter ISO 4217 code",
        3,
        "site[0].max_amount.currency",
        "did you mean `EUR`?",
    );
    expect(
        "[[site]]\norigin = \"https://a.example\"\nmax_amount = { currency = \"EURO\", value = 5 }\n",
        "currency `EURO` is not a three-letter ISO 4217 code",
        3,
        "site[0].max_amount.currency",
        "write the ISO 4217 code in capitals, as in `EUR` or `USD`",
    );
    expect(
        "[[site]]\norigin = \"https://a.example\"\nmax_amount = { currency = \"EUR\", value = -1 }\n",
        "`value` is `-1`, outside the allowed range 0 to 1000000000",
        3,
        "site[0].max_amount.value",
        "an amount ceiling is a plain non-negative number in the currency's main unit",
    );
    assert_eq!(
        err("[[site]]\norigin = \"https://a.example\"\nmax_amount = { currency = \"EUR\", value = nan }\n")
            .to_string(),
        "`value` is `NaN`, outside the allowed range 0 to 1000000000"
    );
    expect(
        "[[site]]\norigin = \"https://a.example\"\nmax_amount = { currency = \"EUR\", value = 1.0005 }\n",
        "amount `1.0005` has more than 3 decimal places",
        3,
        "site[0].max_amount.value",
        "round the amount to cents (or the currency's smallest unit)",
    );
    let p = ok("[[site]]\norigin = \"https://a.example\"\nmax_amount = { currency = \"KWD\", value = 19.999 }\n");
    assert_eq!(
        p.sites[0].max_amount.as_ref().map(|a| a.value),
        Some(19.999)
    );
}

#[test]
fn the_most_specific_rule_with_a_say_decides() {
    let policy = ok(r#"
[[site]]
origin = "https://*.example.com"
deny = ["upload", "let"]
ask = ["fill"]
approval = "medium"

[[site]]
origin = "https://shop.example.com"
allow = ["click", "fill", "upload"]
"#);
    let shop = "https://shop.example.com/cart";
    let outcome = |at: &str, verb: Verb| policy.site_decision(at, verb).outcome;
    assert_eq!(outcome(shop, Verb::Click), Outcome::Allow);
    // The exact rule names `fill` and `upload`, so it overrides the wildcard's ask and deny.
    assert_eq!(outcome(shop, Verb::Fill), Outcome::Allow);
    assert_eq!(outcome(shop, Verb::Upload), Outcome::Allow);
    // An allow list denies the acting verbs it does not name.
    assert_eq!(outcome(shop, Verb::Submit), Outcome::Deny);
    // `let` does not act, so the allow list says nothing and the wildcard's deny applies.
    assert_eq!(outcome(shop, Verb::Let), Outcome::Deny);
    assert_eq!(outcome(shop, Verb::Wait), Outcome::Allow);
    assert_eq!(
        outcome("https://blog.example.com", Verb::Submit),
        Outcome::Allow
    );
    assert_eq!(
        outcome("https://blog.example.com", Verb::Fill),
        Outcome::Ask
    );
    assert_eq!(outcome("https://example.com", Verb::Upload), Outcome::Allow);

    let d = policy.site_decision(shop, Verb::Upload);
    let reasons: Vec<String> = d.matches.iter().map(ToString::to_string).collect();
    assert_eq!(
        reasons,
        [
            "site rule `https://shop.example.com` (line 9) allows it",
            "site rule `https://*.example.com` (line 3) denies it",
        ]
    );
    assert_eq!(d.deciding().map(|m| m.reason), Some(SiteReason::Allowed));
    let d = policy.site_decision(shop, Verb::Submit);
    assert_eq!(d.matches[0].reason, SiteReason::NotAllowed);
    assert_eq!(
        d.matches[0].to_string(),
        "site rule `https://shop.example.com` (line 9) does not allow it"
    );
    assert!(policy
        .site_decision("https://other.example", Verb::Submit)
        .deciding()
        .is_none());

    assert_eq!(policy.approval_for(shop), Risk::Medium);
    assert_eq!(policy.approval_for("https://other.example"), Risk::High);
}

#[test]
fn sites_for_orders_most_specific_first() {
    let policy = ok(r#"
[[site]]
origin = "https://*.example.com"
[[site]]
origin = "https://*.shop.example.com"
[[site]]
origin = "https://a.shop.example.com"
[[site]]
origin = "https://a.shop.example.com:8443"
"#);
    let lines: Vec<usize> = policy
        .sites_for("https://a.shop.example.com/x")
        .map(|s| s.line)
        .collect();
    assert_eq!(lines, [7, 5, 3]);
    let lines: Vec<usize> = policy
        .sites_for("https://b.shop.example.com")
        .map(|s| s.line)
        .collect();
    assert_eq!(lines, [5, 3]);
    assert_eq!(policy.sites_for("https://example.com").count(), 0);
    assert_eq!(policy.sites_for("not a url").count(), 0);
}

#[test]
fn a_site_cannot_loosen_the_approval_threshold() {
    let policy = ok("[defaults]\napproval = \"medium\"\n[[site]]\norigin = \"https://a.example\"\napproval = \"high\"\n");
    assert_eq!(policy.approval_for("https://a.example"), Risk::Medium);
    expect(
        "[[site]]\norigin = \"https://a.example\"\napproval = \"never\"\n",
        "unknown approval threshold `never`",
        3,
        "site[0].approval",
        "the threshold can be `low`, `medium` or `high`: steps of that risk or higher ask you, and high-risk steps always ask unless a standing grant covers them",
    );
}

#[test]
fn the_most_specific_amount_ceiling_applies() {
    let policy = ok(r#"
[[site]]
origin = "https://*.shop.example"
max_amount = { currency = "EUR", value = 100 }
[[site]]
origin = "https://eu.shop.example"
max_amount = { currency = "EUR", value = 50 }
"#);
    let eur = |value: f64| Amount {
        currency: "EUR".into(),
        value,
    };
    let at = "https://eu.shop.example";
    assert_eq!(policy.check_amount(at, &eur(50.0)), AmountVerdict::Within);
    match policy.check_amount(at, &eur(50.01)) {
        AmountVerdict::Over { rule, ceiling } => {
            assert_eq!(rule.line, 6);
            assert_eq!(ceiling.value, 50.0);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        policy.check_amount("https://us.shop.example", &eur(99.0)),
        AmountVerdict::Within
    ));
    assert!(matches!(
        policy.check_amount("https://us.shop.example", &eur(100.5)),
        AmountVerdict::Over { rule, .. } if rule.line == 3
    ));
    let usd = Amount {
        currency: "USD".into(),
        value: 1.0,
    };
    assert!(matches!(
        policy.check_amount(at, &usd),
        AmountVerdict::OtherCurrency { .. }
    ));
    assert_eq!(
        policy.check_amount("https://elsewhere.example", &eur(1e6)),
        AmountVerdict::NoCeiling
    );
}

#[test]
fn css_and_sensitive_words_per_site() {
    let policy = ok(r#"
[defaults]
allow_css_targets = true
sensitive_words = ["renew"]
[[site]]
origin = "https://*.example.com"
allow_css = false
[[site]]
origin = "https://a.example.com"
allow_css = true
sensitive_words = ["archive"]
"#);
    assert!(policy.allow_css_for("https://a.example.com"));
    assert!(!policy.allow_css_for("https://b.example.com"));
    assert!(policy.allow_css_for("https://other.example"));
    let here = policy.risk_options_for("https://a.example.com");
    assert_eq!(here.sensitive_word_in("Archive all"), Some("archive"));
    assert_eq!(here.sensitive_word_in("Renew"), Some("renew"));
    let elsewhere = policy.risk_options_for("https://other.example");
    assert_eq!(elsewhere.sensitive_word_in("Archive all"), None);
}

// --- Data flow ---------------------------------------------------------------------------

#[test]
fn dataflow_rules() {
    let policy = ok(r#"
[dataflow]
cross_origin = "ask"
[[dataflow.rule]]
from = "https://shop.example"
to = "https://pay.example"
action = "allow"
[[dataflow.rule]]
from = "https://*.bank.example"
to = "https://*.example.com"
action = "deny"
"#);
    let flow = &policy.dataflow;
    let d = flow.decide("https://shop.example/cart", "https://pay.example/form");
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.rule.map(|r| r.line), Some(5));
    assert_eq!(
        flow.decide("https://pay.example", "https://shop.example")
            .outcome,
        Outcome::Ask
    );
    assert_eq!(
        flow.decide("https://www.bank.example", "https://x.example.com")
            .outcome,
        Outcome::Deny
    );
    let same = flow.decide("https://a.example/x", "https://A.example/y");
    assert_eq!((same.outcome, same.rule), (Outcome::Allow, None));
    assert_eq!(flow.decide("data:,x", "data:,x").outcome, Outcome::Ask);

    // An exact pair is more specific than a wildcard rule, whatever their order.
    let policy = ok(r#"
[[dataflow.rule]]
from = "https://bank.example"
to = "https://budget.corp.example"
action = "allow"
[[dataflow.rule]]
from = "https://bank.example"
to = "https://*.corp.example"
action = "deny"
[[dataflow.rule]]
from = "https://bank.example"
to = "https://*.budget.corp.example"
action = "ask"
"#);
    let flow = &policy.dataflow;
    assert_eq!(
        flow.decide("https://bank.example", "https://budget.corp.example")
            .outcome,
        Outcome::Allow
    );
    assert_eq!(
        flow.decide("https://bank.example", "https://x.corp.example")
            .outcome,
        Outcome::Deny
    );
    let d = flow.decide("https://bank.example", "https://a.budget.corp.example");
    assert_eq!(
        (d.outcome, d.rule.map(|r| r.line)),
        (Outcome::Ask, Some(11))
    );

    let deny = ok("[dataflow]\ncross_origin = \"deny\"\n");
    assert_eq!(
        deny.dataflow
            .decide("https://a.example", "https://b.example")
            .outcome,
        Outcome::Deny
    );
}

#[test]
fn dataflow_errors() {
    expect(
        "[dataflow]\ncross_origin = \"allow\"\n",
        "`cross_origin` cannot be `allow`",
        2,
        "dataflow.cross_origin",
        "data read on one site would reach any other without asking; add a `[[dataflow.rule]]` with `action = \"allow\"` for one exact pair instead",
    );
    expect(
        "[dataflow]\ncross_origin = \"dney\"\n",
        "unknown data-flow action `dney` for `cross_origin`",
        2,
        "dataflow.cross_origin",
        "did you mean `deny`?",
    );
    expect(
        "[[dataflow.rule]]\nfrom = \"https://*.a.example\"\nto = \"https://b.example\"\naction = \"allow\"\n",
        "a data-flow `allow` needs exact origins, not `https://*.a.example`",
        2,
        "dataflow.rule[0].from",
        "allowing a flow is a standing approval: name both origins exactly, or use `action = \"ask\"` or `\"deny\"` with wildcards",
    );
    expect(
        "[[dataflow.rule]]\nfrom = \"https://a.example\"\nto = \"https://a.example\"\naction = \"deny\"\n",
        "`from` and `to` are the same origin `https://a.example`",
        3,
        "dataflow.rule[0].to",
        "data moving within one origin is always allowed; a rule is for two different origins",
    );
    expect(
        "[[dataflow.rule]]\nfrom = \"https://a.example\"\nto = \"https://b.example\"\naction = \"permit\"\n",
        "unknown data-flow action `permit` for `action`",
        4,
        "dataflow.rule[0].action",
        "expected one of `allow`, `ask` or `deny`",
    );
}

// --- Jobs --------------------------------------------------------------------------------

#[test]
fn jobs_are_typed() {
    let policy = ok(r#"
[jobs]
runtimes = ["python3", "sh"]
min_tier = "container"
max_cpu = 0.5
max_memory = "512MB"
max_wall = "1m"
max_output = "64KB"
network = true
"#);
    let jobs = &policy.jobs;
    assert!(jobs.enabled() && jobs.allows_runtime("python3") && !jobs.allows_runtime("node"));
    assert_eq!(tier_name(jobs.min_tier), "container");
    assert!(jobs.allows_tier(bridle_dsl::ast::SandboxTier::Microvm));
    assert_eq!(jobs.max_cpu, 0.5);
    assert_eq!(jobs.max_memory, 512 * 1024 * 1024);
    assert_eq!(jobs.max_wall, time::Duration::minutes(1));
    assert_eq!(jobs.max_output, 64 * 1024);
    assert!(jobs.network);
    let off = Policy::default();
    assert!(!off.jobs.enabled());
    assert!(!off
        .jobs
        .allows_tier(bridle_dsl::ast::SandboxTier::Container));
}

#[test]
fn job_errors() {
    expect(
        "[jobs]\nmin_tier = \"vm\"\n",
        "unknown sandbox tier `vm`",
        2,
        "jobs.min_tier",
        "expected one of `container` or `microvm`",
    );
    expect(
        "[jobs]\nmin_tier = \"containr\"\n",
        "unknown sandbox tier `containr`",
        2,
        "jobs.min_tier",
        "did you mean `container`?",
    );
    expect(
        "[jobs]\nruntimes = [\"Python 3\"]\n",
        "runtime `Python 3` has characters other than lowercase letters, digits, `.`, `_` and `-`",
        2,
        "jobs.runtimes[0]",
        "name the runtime as jobs do, as in `python3`, `sh` or `node`",
    );
    expect(
        "[jobs]\nmax_cpu = 0\n",
        "`max_cpu` is `0`, outside the allowed range 0.01 to 64",
        2,
        "jobs.max_cpu",
        "write a number of CPUs from 0.01 to 64, as in `0.5` or `2`",
    );
    expect(
        "[jobs]\nmax_memory = \"512mb\"\n",
        "`max_memory` has an invalid size `512mb`",
        2,
        "jobs.max_memory",
        "write a whole number and a unit, as in `512KB`, `256MB` or `1GB` (binary: 1 KB is 1024 bytes)",
    );
    expect(
        "[jobs]\nmax_memory = \"17GB\"\n",
        "`max_memory` is `17GB`, outside the allowed range 1MB to 16GB",
        2,
        "jobs.max_memory",
        "write a size from `1MB` to `16GB`",
    );
    assert_eq!(
        err("[jobs]\nmax_wall = \"11m\"\n").to_string(),
        "`max_wall` is `11m`, outside the allowed range 1ms to 10m"
    );
    assert_eq!(
        err("[jobs]\nmax_output = \"65MB\"\n").to_string(),
        "`max_output` is `65MB`, outside the allowed range 1B to 64MB"
    );
    expect(
        "[jobs]\nruntimes = [\"sh\", \"sh\"]\n",
        "`sh` is listed twice in `jobs.runtimes`",
        2,
        "jobs.runtimes[1]",
        "remove it; the first is on line 2",
    );
}

// --- Reporting ---------------------------------------------------------------------------

#[test]
fn every_validation_error_is_reported_in_file_order() {
    let src = "[defaults]\napproval = \"never\"\n[[site]]\norigin = \"http://a.example\"\ndeny = [\"clck\"]\n";
    let errors = Policy::from_toml_all(src).unwrap_err();
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 4, 5]);
    assert_eq!(Policy::from_toml(src).unwrap_err(), errors[0]);
}

#[test]
fn render_points_at_the_key() {
    let src = "[[site]]\norigin = \"https://a.example\"\nallow = [\"click\", \"scroll\"]\n";
    assert_eq!(
        err(src).render("shop.toml", src),
        "shop.toml:3:19: error: unknown verb `scroll`\n  |\n3 | allow = [\"click\", \"scroll\"]\n  |                   ^^^^^^^^\n  = key: site[0].allow[1]\n  = help: did you mean `scroll to`?\n"
    );
}

#[test]
fn bytes_are_checked_for_utf8() {
    let e = Policy::from_bytes(b"[defaults]\napproval = \"\xff\"\n").unwrap_err();
    assert_eq!(e.to_string(), "policy is not valid UTF-8 at byte 23");
    assert_eq!(e.help.as_deref(), Some("save the policy as UTF-8 text"));
    assert_eq!(Policy::from_bytes(b""), Ok(Policy::default()));
}
