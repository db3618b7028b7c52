//! The local policy from the outside: every shipped file parses and means what its comments
//! say, widening attempts are not expressible, every limit holds at its bound and fails one
//! past it, and origin patterns match exactly what docs/policy.md says.

use bridle_dsl::{Risk, Verb};
use bridle_executor::decision::{Amount, Outcome};
use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::keys::encode_public_key;
use bridle_executor::policy::limits::*;
use bridle_executor::policy::{
    tier_name, AmountVerdict, FieldKind, OriginPattern, Policy, PolicyError, PolicyErrorKind,
    DEFAULT_POLICY_TOML, POLICY_KEYS,
};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(name: &str, src: &str) -> Policy {
    Policy::from_toml(src).unwrap_or_else(|e| panic!("{}", e.render(name, src)))
}

fn errors(src: &str) -> Vec<PolicyError> {
    match Policy::from_toml_all(src) {
        Ok(_) => panic!("expected errors for a {}-byte policy", src.len()),
        Err(e) => e,
    }
}

fn first_error(src: &str) -> PolicyError {
    errors(src).remove(0)
}

fn key(seed: u8) -> String {
    encode_public_key(&SigningKey::from_bytes(&[seed; 32]).verifying_key())
}

fn planners(count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "[[planner]]\nname = \"p{i}\"\nkid = \"k{i}\"\npublic_key = \"{}\"\nmax_ttl = \"15m\"\n\n",
                key(i as u8 + 1)
            )
        })
        .collect()
}

// --- Shipped files -------------------------------------------------------------------------

#[test]
fn every_shipped_policy_parses() {
    let mut names = vec!["policies/default.toml".to_owned()];
    let mut examples: Vec<String> = std::fs::read_dir(repo().join("policies/examples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".toml"))
        .map(|n| format!("policies/examples/{n}"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 3, "{examples:?}");
    names.extend(examples);
    for name in names {
        parse(&name, &read(&name));
    }
}

#[test]
fn the_embedded_default_is_the_file() {
    assert_eq!(DEFAULT_POLICY_TOML, read("policies/default.toml"));
    let policy = Policy::default_policy();
    assert!(policy.planners.is_empty());
    assert_eq!(policy.defaults.approval, Risk::High);
    assert_eq!(policy.dataflow.cross_origin, Outcome::Ask);
    assert!(!policy.jobs.enabled() && !policy.jobs.network);
}

#[test]
fn shop_example_has_a_standing_grant_under_20_eur() {
    let policy = parse("shop", &read("policies/examples/shop-standing-grant.toml"));
    let (rule, grant) = policy
        .standing_grant("https://shop.example/checkout", Verb::Submit)
        .unwrap();
    assert_eq!(rule.origin.to_string(), "https://shop.example");
    let ceiling = grant.max_amount.as_ref().unwrap();
    assert_eq!((ceiling.currency.as_str(), ceiling.value), ("EUR", 20.0));
    assert_eq!(
        policy
            .site_decision("https://shop.example", Verb::Upload)
            .outcome,
        Outcome::Deny
    );
    assert_eq!(
        policy
            .site_decision("https://pay.example", Verb::Fill)
            .outcome,
        Outcome::Ask
    );
    let eur = |value| Amount {
        currency: "EUR".into(),
        value,
    };
    assert_eq!(
        policy.check_amount("https://shop.example", &eur(49.99)),
        AmountVerdict::Within
    );
    assert!(matches!(
        policy.check_amount("https://shop.example", &eur(50.01)),
        AmountVerdict::Over { .. }
    ));
    assert_eq!(
        policy
            .site_decision("https://help.shop.example", Verb::Click)
            .outcome,
        Outcome::Deny
    );
    assert_eq!(
        policy
            .dataflow
            .decide("https://shop.example", "https://pay.example")
            .outcome,
        Outcome::Allow
    );
    assert_eq!(
        policy
            .dataflow
            .decide("https://pay.example", "https://shop.example")
            .outcome,
        Outcome::Ask
    );
}

#[test]
fn bank_example_is_read_only() {
    let policy = parse("bank", &read("policies/examples/bank-read-only.toml"));
    let bank = "https://bank.example/accounts";
    for verb in Verb::ALL {
        let outcome = policy.site_decision(bank, *verb).outcome;
        let reads = matches!(
            verb,
            Verb::Navigate
                | Verb::Back
                | Verb::Forward
                | Verb::Reload
                | Verb::SwitchTab
                | Verb::CloseTab
                | Verb::Hover
                | Verb::ScrollTo
                | Verb::Let
                | Verb::Wait
                | Verb::Assert
                | Verb::If
                | Verb::Repeat
                | Verb::ForEach
                | Verb::Note
                | Verb::Return
                | Verb::Confirm
                | Verb::Handoff
        );
        let expected = if reads { Outcome::Allow } else { Outcome::Deny };
        assert_eq!(outcome, expected, "{verb}");
    }
    assert_eq!(policy.approval_for(bank), Risk::Low);
    assert!(!policy.allow_css_for(bank));
    assert!(policy.never_reads(FieldKind::CardExpiry));
    assert_eq!(
        policy
            .dataflow
            .decide(bank, "https://budget.example")
            .outcome,
        Outcome::Deny
    );
}

#[test]
fn developer_example_has_jobs_and_a_loopback_planner() {
    let policy = parse("dev", &read("policies/examples/developer-jobs.toml"));
    assert_eq!(policy.jobs.runtimes, ["python3", "sh"]);
    assert_eq!(tier_name(policy.jobs.min_tier), "container");
    assert!(!policy.jobs.network);
    let planner = policy.planner_by_kid("local-dev-1").unwrap();
    assert_eq!(
        planner.endpoint.as_deref(),
        Some("ws://127.0.0.1:8787/bridle")
    );
    // The exact staging rule overrides the read-only wildcard for the verbs it names.
    assert_eq!(
        policy
            .site_decision("https://staging.example.dev", Verb::Click)
            .outcome,
        Outcome::Allow
    );
    assert_eq!(
        policy
            .site_decision("https://www.example.dev", Verb::Click)
            .outcome,
        Outcome::Deny
    );
}

#[test]
fn docs_name_every_key() {
    let docs = read("docs/policy.md");
    for (path, _) in POLICY_KEYS {
        let key = path
            .trim_end_matches("[]")
            .rsplit('.')
            .next()
            .unwrap()
            .trim_end_matches("[]");
        let named = [
            format!("`{key}`"),
            format!("`[{key}]`"),
            format!("`[[{key}]]`"),
        ]
        .iter()
        .any(|form| docs.contains(form.as_str()));
        assert!(named, "docs/policy.md lacks `{key}` ({path})");
    }
}

#[test]
fn every_toml_example_in_the_docs_parses() {
    let docs = read("docs/policy.md");
    let blocks: Vec<&str> = docs
        .split("```toml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 5, "{}", blocks.len());
    for block in blocks {
        parse("docs/policy.md", block);
    }
}

// --- Widening attempts ----------------------------------------------------------------------

#[test]
fn widening_attempts_are_not_expressible() {
    let cases: &[(&str, &str)] = &[
        ("[defaults]\napproval = \"never\"\n", "unknown approval threshold `never`"),
        ("[defaults]\napproval = \"none\"\n", "unknown approval threshold `none`"),
        (
            "[[site]]\norigin = \"https://a.example\"\napproval = \"never\"\n",
            "unknown approval threshold `never`",
        ),
        (
            "[[site]]\norigin = \"https://a.example\"\nrisk = \"low\"\n",
            "unknown key `risk` in `site[0]`",
        ),
        (
            "[[site]]\norigin = \"https://a.example\"\nlower = [\"submit\"]\n",
            "unknown key `lower` in `site[0]`",
        ),
        ("[dataflow]\ncross_origin = \"allow\"\n", "`cross_origin` cannot be `allow`"),
        (
            "[[dataflow.rule]]\nfrom = \"https://*.a.example\"\nto = \"https://*.b.example\"\naction = \"allow\"\n",
            "a data-flow `allow` needs exact origins, not `https://*.a.example`",
        ),
        (
            "[[site]]\norigin = \"https://*.shop.example\"\nstanding = [{ verb = \"submit\" }]\n",
            "standing grants need an exact origin, not `https://*.shop.example`",
        ),
        (
            "[[site]]\norigin = \"https://shop.example\"\nstanding = [{ verb = \"handoff\" }]\n",
            "`handoff` cannot have a standing grant",
        ),
        (
            "[defaults]\nmax_steps = 100001\n",
            "`max_steps` is `100001`, outside the allowed range 1 to 100000",
        ),
        ("[token]\ngrants = []\n", "unknown top-level key `token`"),
        (
            "[jobs]\nmin_tier = \"none\"\n",
            "unknown sandbox tier `none`",
        ),
        (
            "[[site]]\norigin = \"https://*\"\n",
            "invalid origin `https://*`: a `*` can only be the whole leftmost label, as in `*.example.com`",
        ),
        (
            "[[site]]\norigin = \"http://bank.example\"\n",
            "invalid origin `http://bank.example`: plain `http` is only allowed for loopback hosts, not `bank.example`",
        ),
    ];
    for (src, message) in cases {
        assert_eq!(first_error(src).to_string(), *message, "{src}");
    }
    let endpoint = planners(1).replace(
        "max_ttl = \"15m\"\n",
        "max_ttl = \"15m\"\nendpoint = \"ws://10.0.0.5:80\"\n",
    );
    assert!(matches!(
        *first_error(&endpoint).kind,
        PolicyErrorKind::EndpointInsecure { .. }
    ));
}

#[test]
fn built_in_protections_survive_an_empty_file_and_empty_lists() {
    let policy = parse(
        "empty-lists",
        "[defaults]\nblocked_schemes = []\nnever_read = []\nsensitive_words = []\n",
    );
    for scheme in [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:,x",
        "chrome://settings",
    ] {
        assert!(policy.is_blocked_scheme(scheme), "{scheme}");
    }
    for kind in [
        FieldKind::Password,
        FieldKind::CardNumber,
        FieldKind::CardCvc,
        FieldKind::OneTimeCode,
    ] {
        assert!(policy.never_reads(kind), "{kind}");
    }
    assert_eq!(
        policy.risk_options().sensitive_word_in("Pay now"),
        Some("pay")
    );
}

// --- Limits: at the bound, and one past -----------------------------------------------------

#[test]
fn file_size_limit() {
    let filler = |len: usize| {
        let mut src = String::from("# filler\n");
        src.push_str(&"#".repeat(len - src.len() - 1));
        src.push('\n');
        src
    };
    let at = filler(MAX_POLICY_BYTES);
    assert_eq!(at.len(), MAX_POLICY_BYTES);
    assert_eq!(Policy::from_toml(&at), Ok(Policy::default()));
    let over = filler(MAX_POLICY_BYTES + 1);
    let e = first_error(&over);
    assert_eq!(
        e.to_string(),
        format!(
            "policy is {} bytes, more than the limit of {MAX_POLICY_BYTES} bytes",
            MAX_POLICY_BYTES + 1
        )
    );
    assert_eq!(e.span, None);
    assert_eq!(
        *Policy::from_bytes(over.as_bytes()).unwrap_err().kind,
        PolicyErrorKind::TooLarge {
            size: MAX_POLICY_BYTES + 1,
            limit: MAX_POLICY_BYTES
        }
    );
}

#[test]
fn planner_count_limit() {
    assert_eq!(
        parse("at", &planners(MAX_PLANNERS)).planners.len(),
        MAX_PLANNERS
    );
    let src = planners(MAX_PLANNERS + 1);
    let e = first_error(&src);
    assert_eq!(
        e.to_string(),
        format!("too many entries in `planner`: 17, the limit is {MAX_PLANNERS}")
    );
    assert_eq!(e.path, "planner[16]");
    assert_eq!(e.line, 16 * 6 + 2);
}

#[test]
fn site_and_flow_rule_count_limits() {
    let sites = |n: usize| -> String {
        (0..n)
            .map(|i| format!("[[site]]\norigin = \"https://s{i}.example\"\n"))
            .collect()
    };
    assert_eq!(parse("at", &sites(MAX_SITES)).sites.len(), MAX_SITES);
    let e = first_error(&sites(MAX_SITES + 1));
    assert_eq!(
        e.to_string(),
        format!(
            "too many entries in `site`: {}, the limit is {MAX_SITES}",
            MAX_SITES + 1
        )
    );
    assert_eq!((e.path.as_str(), e.line), ("site[512]", 2 * MAX_SITES + 2));

    let flows = |n: usize| -> String {
        (0..n)
            .map(|i| {
                format!("[[dataflow.rule]]\nfrom = \"https://f{i}.example\"\nto = \"https://t.example\"\naction = \"deny\"\n")
            })
            .collect()
    };
    assert_eq!(
        parse("at", &flows(MAX_FLOW_RULES)).dataflow.rules.len(),
        MAX_FLOW_RULES
    );
    let e = first_error(&flows(MAX_FLOW_RULES + 1));
    assert_eq!(
        e.to_string(),
        format!("too many entries in `dataflow.rule`: 257, the limit is {MAX_FLOW_RULES}")
    );
}

#[test]
fn list_length_limits() {
    let list = |n: usize, prefix: &str| -> String {
        let items: Vec<String> = (0..n).map(|i| format!("\"{prefix}{i}\"")).collect();
        items.join(", ")
    };
    let p = parse(
        "at",
        &format!("[jobs]\nruntimes = [{}]\n", list(MAX_LIST_ITEMS, "r")),
    );
    assert_eq!(p.jobs.runtimes.len(), MAX_LIST_ITEMS);
    let e = first_error(&format!(
        "[jobs]\nruntimes = [{}]\n",
        list(MAX_LIST_ITEMS + 1, "r")
    ));
    assert_eq!(
        e.to_string(),
        "too many entries in `jobs.runtimes`: 65, the limit is 64"
    );
    assert_eq!(e.path, "jobs.runtimes[64]");

    let p = parse(
        "at",
        &format!(
            "[defaults]\nblocked_schemes = [{}]\n",
            list(MAX_LIST_ITEMS, "x")
        ),
    );
    assert!(p.is_blocked_scheme("x63:y"));
    let e = first_error(&format!(
        "[defaults]\nblocked_schemes = [{}]\n",
        list(MAX_LIST_ITEMS + 1, "x")
    ));
    assert_eq!(
        e.to_string(),
        "too many entries in `defaults.blocked_schemes`: 65, the limit is 64"
    );

    let words = |n| format!("[defaults]\nsensitive_words = [{}]\n", list(n, "w"));
    assert_eq!(
        parse("at", &words(MAX_SENSITIVE_WORDS))
            .defaults
            .sensitive_words
            .len(),
        MAX_SENSITIVE_WORDS
    );
    assert_eq!(
        first_error(&words(MAX_SENSITIVE_WORDS + 1)).to_string(),
        "too many entries in `defaults.sensitive_words`: 257, the limit is 256"
    );

    // A verb list cannot reach the limit without repeating verbs, so only "past" is testable.
    let verbs = vec!["\"click\""; MAX_LIST_ITEMS + 1].join(", ");
    let all = errors(&format!(
        "[[site]]\norigin = \"https://a.example\"\ndeny = [{verbs}]\n"
    ));
    assert!(all.iter().any(|e| e.to_string()
        == "too many entries in `site[0].deny`: 65, the limit is 64"
        && e.path == "site[0].deny[64]"));
    let grants = vec!["{ verb = \"submit\" }"; MAX_LIST_ITEMS + 1].join(", ");
    let all = errors(&format!(
        "[[site]]\norigin = \"https://a.example\"\nstanding = [{grants}]\n"
    ));
    assert!(all
        .iter()
        .any(|e| e.to_string() == "too many entries in `site[0].standing`: 65, the limit is 64"));
}

#[test]
fn string_length_limits() {
    let word = |n: usize| format!("[defaults]\nsensitive_words = [\"{}\"]\n", "w".repeat(n));
    parse("at", &word(MAX_WORD_BYTES));
    assert_eq!(
        first_error(&word(MAX_WORD_BYTES + 1)).to_string(),
        "`defaults.sensitive_words[0]` is 65 bytes, more than the limit of 64 bytes"
    );

    let named = |name: &str, kid: &str| {
        planners(1)
            .replace("name = \"p0\"", &format!("name = \"{name}\""))
            .replace("kid = \"k0\"", &format!("kid = \"{kid}\""))
    };
    parse("at", &named(&"n".repeat(MAX_NAME_BYTES), "k"));
    assert_eq!(
        first_error(&named(&"n".repeat(MAX_NAME_BYTES + 1), "k")).to_string(),
        "`planner[0].name` is 65 bytes, more than the limit of 64 bytes"
    );
    parse("at", &named("n", &"k".repeat(MAX_KID_BYTES)));
    assert_eq!(
        first_error(&named("n", &"k".repeat(MAX_KID_BYTES + 1))).to_string(),
        format!(
            "`planner[0].kid` is {} bytes, more than the limit of {MAX_KID_BYTES} bytes",
            MAX_KID_BYTES + 1
        )
    );

    let endpoint = |len: usize| {
        let base = "wss://planner.example/";
        let url = format!("{base}{}", "e".repeat(len - base.len()));
        planners(1).replace(
            "max_ttl = \"15m\"\n",
            &format!("max_ttl = \"15m\"\nendpoint = \"{url}\"\n"),
        )
    };
    parse("at", &endpoint(MAX_ENDPOINT_BYTES));
    assert!(matches!(
        *first_error(&endpoint(MAX_ENDPOINT_BYTES + 1)).kind,
        PolicyErrorKind::TooLong {
            len: 2049,
            limit: 2048,
            ..
        }
    ));

    // 8 bytes of `https://`, then labels of 49 letters and a dot.
    let origin = |len: usize| {
        let mut host = String::new();
        while host.len() + 8 < len {
            let room = len - 8 - host.len();
            if !host.is_empty() {
                host.push('.');
            }
            let take = room
                .saturating_sub(usize::from(!host.is_empty()))
                .clamp(1, 49);
            host.push_str(&"a".repeat(take.min(len - 8 - host.len())));
        }
        let text = format!("https://{host}");
        assert_eq!(text.len(), len);
        format!("[[site]]\norigin = \"{text}\"\n")
    };
    parse("at", &origin(MAX_ORIGIN_BYTES));
    assert!(matches!(
        *first_error(&origin(MAX_ORIGIN_BYTES + 1)).kind,
        PolicyErrorKind::TooLong {
            len: 301,
            limit: 300,
            ..
        }
    ));

    let runtime = |n: usize| format!("[jobs]\nruntimes = [\"{}\"]\n", "r".repeat(n));
    parse("at", &runtime(MAX_RUNTIME_BYTES));
    assert_eq!(
        first_error(&runtime(MAX_RUNTIME_BYTES + 1)).to_string(),
        "`jobs.runtimes[0]` is 33 bytes, more than the limit of 32 bytes"
    );

    let scheme = |n: usize| format!("[defaults]\nblocked_schemes = [\"{}\"]\n", "s".repeat(n));
    parse("at", &scheme(MAX_SCHEME_BYTES));
    assert!(matches!(
        *first_error(&scheme(MAX_SCHEME_BYTES + 1)).kind,
        PolicyErrorKind::InvalidScheme { .. }
    ));
}

#[test]
fn duration_limits() {
    let ttl = |t: &str| planners(1).replace("\"15m\"", &format!("\"{t}\""));
    parse("at", &ttl("24h"));
    assert_eq!(
        first_error(&ttl("86400001ms")).to_string(),
        "`max_ttl` is `86400001ms`, outside the allowed range 1ms to 24h"
    );
    assert_eq!(MAX_PLANNER_TTL, bridle_executor::time::Duration::hours(24));

    parse("at", "[defaults]\nmax_duration = \"4h\"\n");
    assert_eq!(
        first_error("[defaults]\nmax_duration = \"241m\"\n").to_string(),
        "`max_duration` is `241m`, outside the allowed range 1ms to 4h"
    );
    parse("at", "[jobs]\nmax_wall = \"10m\"\n");
    assert_eq!(
        first_error("[jobs]\nmax_wall = \"600001ms\"\n").to_string(),
        "`max_wall` is `600001ms`, outside the allowed range 1ms to 10m"
    );
    assert_eq!(
        first_error("[jobs]\nmax_wall = \"0s\"\n").to_string(),
        "`max_wall` is `0s`, outside the allowed range 1ms to 10m"
    );
}

#[test]
fn number_and_size_limits() {
    parse("at", "[defaults]\nmax_steps = 100000\n");
    parse("at", "[defaults]\nmax_steps = 1\n");
    assert_eq!(
        first_error("[defaults]\nmax_steps = 100001\n").to_string(),
        "`max_steps` is `100001`, outside the allowed range 1 to 100000"
    );
    parse("at", "[jobs]\nmax_cpu = 64\n");
    parse("at", "[jobs]\nmax_cpu = 0.01\n");
    assert_eq!(
        first_error("[jobs]\nmax_cpu = 64.5\n").to_string(),
        "`max_cpu` is `64.5`, outside the allowed range 0.01 to 64"
    );
    assert_eq!(
        first_error("[jobs]\nmax_cpu = 0.009\n").to_string(),
        "`max_cpu` is `0.009`, outside the allowed range 0.01 to 64"
    );
    assert_eq!(
        first_error("[jobs]\nmax_cpu = inf\n").to_string(),
        "`max_cpu` is `inf`, outside the allowed range 0.01 to 64"
    );
    parse("at", "[jobs]\nmax_memory = \"16GB\"\n");
    parse("at", "[jobs]\nmax_memory = \"1MB\"\n");
    assert_eq!(
        first_error("[jobs]\nmax_memory = \"16385MB\"\n").to_string(),
        "`max_memory` is `16385MB`, outside the allowed range 1MB to 16GB"
    );
    assert_eq!(
        first_error("[jobs]\nmax_memory = \"1023KB\"\n").to_string(),
        "`max_memory` is `1023KB`, outside the allowed range 1MB to 16GB"
    );
    parse("at", "[jobs]\nmax_output = \"64MB\"\n");
    assert_eq!(
        first_error("[jobs]\nmax_output = \"65537KB\"\n").to_string(),
        "`max_output` is `65537KB`, outside the allowed range 1B to 64MB"
    );
    let amount = |v: &str| {
        format!("[[site]]\norigin = \"https://a.example\"\nmax_amount = {{ currency = \"EUR\", value = {v} }}\n")
    };
    parse("at", &amount("1000000000"));
    parse("at", &amount("0"));
    parse("at", &amount("0.001"));
    assert_eq!(
        first_error(&amount("1000000000.5")).to_string(),
        "`value` is `1000000000.5`, outside the allowed range 0 to 1000000000"
    );
    assert_eq!(
        first_error(&amount("0.0001")).to_string(),
        "amount `0.0001` has more than 3 decimal places"
    );
}

// --- Origin patterns --------------------------------------------------------------------------

#[test]
fn wildcard_matching_table() {
    let policy = parse(
        "wild",
        "[[site]]\norigin = \"https://*.example.com\"\ndeny = [\"upload\"]\n",
    );
    let cases: &[(&str, bool)] = &[
        ("https://sub.example.com", true),
        ("https://a.b.example.com/path?q=1", true),
        ("https://SUB.Example.COM", true),
        ("https://sub.example.com:443", true),
        ("https://sub.example.com.", true),
        ("https://example.com", false),
        ("https://evilexample.com", false),
        ("https://sub.evilexample.com", false),
        ("https://example.com.evil.net", false),
        ("https://sub.example.com.evil.net", false),
        ("https://sub.example.com:8443", false),
        ("http://sub.example.com", false),
        ("https://sub.example.co", false),
        ("https://127.0.0.1", false),
        ("javascript:alert(1)", false),
        ("garbage", false),
    ];
    for (url, matches) in cases {
        assert_eq!(policy.sites_for(url).count() == 1, *matches, "{url}");
    }
}

#[test]
fn idn_and_case_normalise_on_both_sides() {
    let policy = parse(
        "idn",
        "[[site]]\norigin = \"https://*.BÜCHER.example\"\n[[site]]\norigin = \"https://Shop.Example\"\n",
    );
    assert_eq!(
        policy.sites[0].origin.to_string(),
        "https://*.xn--bcher-kva.example"
    );
    assert_eq!(policy.sites_for("https://www.bücher.example").count(), 1);
    assert_eq!(
        policy
            .sites_for("https://www.xn--bcher-kva.example")
            .count(),
        1
    );
    assert_eq!(policy.sites_for("https://shop.example/").count(), 1);
    assert_eq!(policy.sites_for("https://shop.example:443").count(), 1);
    let exact = OriginPattern::parse("https://shop.example:8443").unwrap();
    assert!(exact.matches("https://shop.example:8443/x"));
    assert!(!exact.matches("https://shop.example"));
}

#[test]
fn render_shows_file_line_caret_and_help() {
    let src = "[defaults]\napproval = \"high\"\n\n[[site]]\norigin = \"https://shop.example\"\nallow = [\"click\", \"fil\"]\n";
    let e = first_error(src);
    assert_eq!(
        e.render("my-policy.toml", src),
        "my-policy.toml:6:19: error: unknown verb `fil`\n  |\n6 | allow = [\"click\", \"fil\"]\n  |                   ^^^^^\n  = key: site[0].allow[1]\n  = help: did you mean `fill`?\n"
    );
}

// --- Robustness: the fuzz target's property, run natively on every `cargo test` ------------

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn shipped() -> Vec<String> {
        [
            "policies/default.toml",
            "policies/examples/shop-standing-grant.toml",
            "policies/examples/bank-read-only.toml",
            "policies/examples/developer-jobs.toml",
        ]
        .iter()
        .map(|p| read(p))
        .collect()
    }

    /// Parses and, on failure, renders every error; on success, runs the accessors.
    fn exercise(src: &str) {
        match Policy::from_toml_all(src) {
            Err(errors) => {
                assert!(!errors.is_empty());
                for e in &errors {
                    let rendered = e.render("p.toml", src);
                    assert!(rendered.contains(&e.to_string()));
                    assert!(e.line >= 1 && e.column >= 1);
                }
            }
            Ok(policy) => {
                for probe in [
                    "https://shop.example",
                    "https://a.example.com:8443",
                    "data:,",
                ] {
                    let _ = policy.site_decision(probe, Verb::Submit);
                    let _ = policy.approval_for(probe);
                    let _ = policy.dataflow.decide(probe, "https://pay.example");
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text(src in "\\PC{0,200}") {
            exercise(&src);
        }

        #[test]
        fn toml_like_text(src in "(\\[{1,2}[a-z_.]{0,10}\\]{0,2}\n|[a-z_]{1,12} = (\"[^\"\n]{0,20}\"|[0-9.-]{1,6}|true|\\[\"[a-z ]{0,8}\"\\]|\\{ [a-z]{1,8} = \"[A-Z]{0,4}\" \\})\n){0,12}") {
            exercise(&src);
        }

        #[test]
        fn mutated_shipped_files(file in 0usize..4, at in any::<prop::sample::Index>(), cut in 0usize..40, insert in "\\PC{0,6}") {
            let files = shipped();
            let src = &files[file];
            let mut start = at.index(src.len());
            while !src.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + cut).min(src.len());
            while !src.is_char_boundary(end) {
                end -= 1;
            }
            let mutated = format!("{}{insert}{}", &src[..start], &src[end..]);
            exercise(&mutated);
        }
    }
}
