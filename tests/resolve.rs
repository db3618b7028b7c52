//! Target resolution on stored page snapshots (`tests/snapshots/*.json`, written by hand):
//! roles, accessible names, every target form, the exactly-one rule, actionability,
//! fingerprints, incremental updates and the snapshot limits.

use bridle_dsl::ast::{Line, StmtKind, Target, VarPath};
use bridle_executor::page::limits::{
    MAX_ATTRS, MAX_DEPTH, MAX_FRAMES, MAX_KIDS, MAX_NAME_CHARS, MAX_NODES,
};
use bridle_executor::page::{
    find_all, recheck, resolve, resolve_target, target_spec, Handle, Limit, Purpose, ResolveError,
    Resolved, Snapshot, SnapshotError, Update,
};

const SHOP: &str = include_str!("snapshots/shop.json");
const LABELS: &str = include_str!("snapshots/labels.json");
const FRAMES: &str = include_str!("snapshots/frames.json");

fn load(json: &str) -> Snapshot {
    Snapshot::from_json(json).unwrap()
}

/// A target as a script writes it.
fn target(text: &str) -> Target {
    let script = bridle_dsl::parser::parse(&format!("click {text}\n"))
        .unwrap_or_else(|d| panic!("`{text}` does not parse: {d:?}"));
    match script.lines.into_iter().next() {
        Some(Line::Stmt(stmt)) => match stmt.kind {
            StmtKind::Click(t) => t,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn no_vars(_: &VarPath) -> Option<String> {
    None
}

fn observe(snap: &Snapshot, t: &str) -> Result<Resolved, ResolveError> {
    resolve_target(snap, &target(t), &no_vars, Purpose::Observe)
}

fn act(snap: &Snapshot, t: &str) -> Result<Resolved, ResolveError> {
    resolve_target(snap, &target(t), &no_vars, Purpose::Act)
}

/// The node id a target resolves to (for observation), in frame 0 unless said otherwise.
fn node(snap: &Snapshot, t: &str) -> u32 {
    match observe(snap, t) {
        Ok(r) => r.handle.node,
        Err(e) => panic!("`{t}`: {e}"),
    }
}

fn err(result: Result<Resolved, ResolveError>) -> ResolveError {
    match result {
        Ok(r) => panic!("resolved to {r:?}"),
        Err(e) => e,
    }
}

// ---- roles and names ----

#[test]
fn labels_of_every_kind() {
    let snap = load(LABELS);
    let cases: &[(&str, u32, &str, &str)] = &[
        // label[for], with nested inline markup
        (r#"textbox "Full name""#, 6, "textbox", "Full name"),
        // wrapping label, whitespace normalised
        (r#"textbox "Email address""#, 8, "textbox", "Email address"),
        (
            r#"textbox "Search products""#,
            9,
            "textbox",
            "Search products",
        ),
        // aria-labelledby with two ids, the second one hidden
        (
            r#"textbox "Billing ZIP code""#,
            13,
            "textbox",
            "Billing ZIP code",
        ),
        (r#"textbox "Coupon code""#, 14, "textbox", "Coupon code"),
        (r#"textbox "Gift message""#, 15, "textbox", "Gift message"),
        (r#"img "Company logo""#, 16, "img", "Company logo"),
        (r#"textbox "Password""#, 18, "textbox", "Password"),
        (r#"group "Shipping method""#, 19, "group", "Shipping method"),
        (r#"radio "Express""#, 23, "radio", "Express"),
        (r#"table "Order summary""#, 22, "table", "Order summary"),
        (r#"rowheader "Total""#, 31, "rowheader", "Total"),
        (r#"cell "20 EUR""#, 32, "cell", "20 EUR"),
        (r#"form "Sign up""#, 3, "form", "Sign up"),
        // name from content through nested elements, an image's alt, a hidden arrow left out
        (
            r#"button "Create new account""#,
            33,
            "button",
            "Create new account",
        ),
        (r#"button "Reset""#, 36, "button", "Reset"),
        (r#"button "More options""#, 51, "button", "More options"),
    ];
    for (t, id, role, name) in cases {
        let r = observe(&snap, t).unwrap_or_else(|e| panic!("`{t}`: {e}"));
        assert_eq!(
            r.handle,
            Handle {
                frame: 0,
                node: *id
            },
            "{t}"
        );
        assert_eq!(r.facts.role, *role, "{t}");
        assert_eq!(r.facts.name, *name, "{t}");
        assert_eq!(r.facts.frame_origin, "https://forms.example");
    }
}

#[test]
fn field_kinds_come_with_the_facts() {
    let snap = load(LABELS);
    let kind = |t: &str| observe(&snap, t).unwrap().facts.field_kind;
    assert_eq!(kind(r#"textbox "Password""#).as_deref(), Some("password"));
    assert_eq!(kind(r#"textbox "Email address""#).as_deref(), Some("email"));
    assert_eq!(kind(r#"textbox "Full name""#), None);
    let snap = load(FRAMES);
    let r = observe(
        &snap,
        r#"textbox "Card number" in frame "https://pay.example""#,
    )
    .unwrap();
    assert_eq!(r.facts.field_kind.as_deref(), Some("card-number"));
}

#[test]
fn hidden_subtrees_are_not_found() {
    let snap = load(LABELS);
    for (t, msg) in [
        // aria-hidden container
        (
            r#"button "Hidden submit""#,
            "no element matches `button \"Hidden submit\"`",
        ),
        // display: none
        (
            r#"textbox "Invisible field""#,
            "no element matches `textbox \"Invisible field\"`",
        ),
        // closed details
        (
            r#"text "Newsletter""#,
            "no element matches `text \"Newsletter\"`",
        ),
    ] {
        let e = err(observe(&snap, t));
        assert_eq!(e.code(), "not-found");
        assert_eq!(e.to_string(), msg);
    }
}

#[test]
fn implicit_roles_on_a_real_page() {
    let snap = load(SHOP);
    let count = |role: &str| {
        find_all(&snap, &target_spec(&target(role), &no_vars).unwrap())
            .unwrap()
            .elements
            .len()
    };
    for (role, n) in [
        ("banner", 1),
        ("navigation", 1),
        ("main", 1),
        ("contentinfo", 1),
        ("region", 1),
        ("list", 1),
        ("listitem", 2),
        ("heading", 4),
        ("searchbox", 1),
        ("table", 1),
        ("rowgroup", 2),
        ("row", 3),
        ("columnheader", 2),
        ("cell", 4),
        ("dialog", 2),
        ("checkbox", 1),
        ("link", 3),
        ("button", 10),
        ("paragraph", 1),
        ("strong", 1),
    ] {
        assert_eq!(count(role), n, "{role}");
    }
    assert_eq!(node(&snap, r#"searchbox "Search the shop""#), 22);
    assert_eq!(node(&snap, r#"navigation "Main""#), 4);
    assert_eq!(node(&snap, r#"link "Cart (2)""#), 6);
    assert_eq!(node(&snap, r#"dialog "Terms""#), 60);
    assert_eq!(node(&snap, r#"checkbox "I agree""#), 65);
    assert_eq!(node(&snap, r#"columnheader "Price""#), 45);
}

// ---- matching ----

#[test]
fn exact_names_are_case_sensitive_and_list_near_misses() {
    let snap = load(SHOP);
    let e = err(observe(&snap, r#"button "add to cart""#));
    assert_eq!(
        e.to_string(),
        "no element matches `button \"add to cart\"`; near misses: \
         button \"Add to cart\" at (20, 250) (similar name); \
         button \"Add to cart\" at (20, 450) (similar name)"
    );
    assert_eq!(
        e.help(),
        "check the role and name against the near misses, or wait for the element first"
    );
    assert_eq!(e.candidate_lines().len(), 2);
}

#[test]
fn near_misses_name_elements_of_another_role() {
    let snap = load(SHOP);
    let e = err(observe(&snap, r#"button "Terms""#));
    assert_eq!(
        e.to_string(),
        "no element matches `button \"Terms\"`; near misses: \
         dialog \"Terms\" at (400, 300) (a dialog, not a button); \
         heading \"Terms\" at (420, 310) (a heading, not a button); \
         link \"Terms\" at (300, 2320) (a link, not a button)"
    );
}

#[test]
fn contains_ignores_case() {
    let snap = load(SHOP);
    assert_eq!(node(&snap, r#"link ~"cart""#), 6);
    assert_eq!(node(&snap, r#"heading ~"usb-c CABLE 2""#), 32);
}

#[test]
fn regular_expressions_match_names() {
    let snap = load(LABELS);
    assert_eq!(node(&snap, r#"textbox /^e-?mail/i"#), 8);
    let snap = load(SHOP);
    let e = err(observe(&snap, r#"heading /cable \d m$/"#));
    assert_eq!(e.code(), "ambiguous");
    let e = err(observe(&snap, r#"heading /^cable/"#));
    assert_eq!(e.code(), "not-found");
}

#[test]
fn interpolated_names_use_the_variables() {
    let snap = load(SHOP);
    let vars = |p: &VarPath| (p.name.node == "item").then(|| "USB-C cable 1 m".to_owned());
    let t = target(r#"button "Add to cart" in listitem "{item}""#);
    // A listitem's name is not taken from its content: match its heading instead.
    let e = err(resolve_target(&snap, &t, &vars, Purpose::Observe));
    assert_eq!(e.code(), "not-found");
    let t = target(r#"heading "{item}""#);
    let r = resolve_target(&snap, &t, &vars, Purpose::Observe).unwrap();
    assert_eq!(r.handle.node, 36);
    let t = target(r#"heading "{missing.field}""#);
    let e = err(resolve_target(&snap, &t, &vars, Purpose::Observe));
    assert_eq!(e.to_string(), "`{missing.field}` has no value");
}

// ---- the exactly-one rule ----

#[test]
fn several_matches_are_ambiguous_and_listed() {
    let snap = load(SHOP);
    let e = err(act(&snap, r#"button "Add to cart""#));
    assert_eq!(
        e.to_string(),
        "`button \"Add to cart\"` matches 2 elements: \
         button \"Add to cart\" at (20, 250); button \"Add to cart\" at (20, 450)"
    );
    assert_eq!(
        e.help(),
        "narrow the target with `in <container>` or pick one with `nth N`"
    );
    let ResolveError::Ambiguous { candidates, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(candidates[1].handle, Handle { frame: 0, node: 38 });
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["code"], "ambiguous");
    assert_eq!(
        json["candidates"][0]["box"],
        serde_json::json!([20.0, 250.0, 120.0, 32.0])
    );
}

#[test]
fn scopes_narrow_innermost_first() {
    let snap = load(SHOP);
    assert_eq!(node(&snap, r#"button "Delete" in dialog "Terms""#), 64);
    assert_eq!(
        node(
            &snap,
            r#"cell "12.99 EUR" in row ~"2 m" in table "Results""#
        ),
        49
    );
    let e = err(observe(&snap, r#"button "Delete" in region "Danger zone""#));
    assert_eq!(e.code(), "ambiguous");
    assert_eq!(
        node(&snap, r#"button "Delete" in region "Danger zone" nth 2"#),
        72
    );
    // The dialog is not inside main: the near miss says which scope failed.
    let e = err(observe(
        &snap,
        r#"checkbox "I agree" in dialog "Terms" in main"#,
    ));
    assert_eq!(
        e.to_string(),
        "no element matches `checkbox \"I agree\" in dialog \"Terms\" in main`; near misses: \
         checkbox \"I agree\" at (420, 350) (not in main)"
    );
}

#[test]
fn nth_counts_in_document_order() {
    let snap = load(SHOP);
    assert_eq!(node(&snap, r#"button "Delete" nth 1"#), 64);
    assert_eq!(node(&snap, r#"button "Delete" nth 3"#), 72);
    let e = err(observe(&snap, r#"button "Delete" nth 4"#));
    assert_eq!(
        e.to_string(),
        "`button \"Delete\" nth 4` matches 3 elements, so there is no number 4"
    );
    let all = find_all(
        &snap,
        &target_spec(&target(r#"button "Delete""#), &no_vars).unwrap(),
    )
    .unwrap();
    let ids: Vec<u32> = all.elements.iter().map(|c| c.handle.node).collect();
    assert_eq!(ids, vec![64, 71, 72]);
    assert!(!all.truncated);
}

#[test]
fn text_targets_pick_the_innermost_element() {
    let snap = load(SHOP);
    assert_eq!(node(&snap, r#"text "Free shipping""#), 56);
    assert_eq!(node(&snap, r#"text "shipping""#), 57);
    assert_eq!(node(&snap, r#"text ~"free SHIPPING""#), 56);
    assert_eq!(err(observe(&snap, r#"text ~"EUR""#)).code(), "ambiguous");
    let e = err(observe(&snap, r#"text "Free shiping""#));
    assert_eq!(
        e.to_string(),
        "no element matches `text \"Free shiping\"`; near misses: \
         paragraph \"Free shipping\" at (20, 740) (similar text); \
         strong \"shipping\" at (60, 740) (similar text)"
    );
}

#[test]
fn css_targets_use_the_content_scripts_matches() {
    let snap = load(SHOP);
    let r = observe(&snap, r##"css "#price-1""##).unwrap();
    assert_eq!(r.handle.node, 33);
    assert_eq!(r.facts.role, "generic");
    let e = err(observe(&snap, r#"css ".product button""#));
    assert_eq!(e.code(), "ambiguous");
    assert_eq!(node(&snap, r#"css ".product button" nth 2"#), 38);
    let e = err(observe(&snap, r##"css "#nope""##));
    assert_eq!(
        e.to_string(),
        "css selector `#nope` was not evaluated in frame `https://shop.example`"
    );
    assert_eq!(
        e.help(),
        "ask the content script for the selector's matches with the snapshot"
    );
}

// ---- actions need a visible, enabled, uncovered element ----

#[test]
fn a_covered_button_cannot_be_clicked() {
    let snap = load(SHOP);
    let e = err(act(&snap, r#"button "Checkout""#));
    assert_eq!(
        e.to_string(),
        "`button \"Checkout\"` is covered by button \"Accept cookies\" at (20, 720): \
         button \"Checkout\" at (20, 2320)"
    );
    assert_eq!(e.code(), "covered");
    // Observing it is fine.
    assert_eq!(node(&snap, r#"button "Checkout""#), 81);
    // What covers it can be clicked.
    let r = act(&snap, r#"button "Accept cookies""#).unwrap();
    assert_eq!(r.hit, Some(true));
    assert!(r.fixed && r.visible && r.enabled);
}

#[test]
fn an_invisible_button_cannot_be_clicked() {
    let snap = load(SHOP);
    let e = err(act(&snap, r#"button "Subscribe""#));
    assert_eq!(
        e.to_string(),
        "`button \"Subscribe\"` is not visible: button \"Subscribe\" at (160, 2320)"
    );
    let r = observe(&snap, r#"button "Subscribe""#).unwrap();
    assert!(!r.visible);
}

#[test]
fn a_disabled_button_cannot_be_clicked() {
    let snap = load(SHOP);
    for (t, msg) in [
        (
            r#"button "Accept""#,
            "`button \"Accept\"` is disabled: button \"Accept\" at (420, 400)",
        ),
        (
            r#"button "Gift card""#,
            "`button \"Gift card\"` is disabled: button \"Gift card\" at (380, 2320)",
        ),
    ] {
        let e = err(act(&snap, t));
        assert_eq!(e.code(), "disabled");
        assert_eq!(e.to_string(), msg);
        assert!(!observe(&snap, t).unwrap().enabled);
    }
}

// ---- frames and shadow DOM ----

#[test]
fn frames_are_told_apart_by_origin() {
    let snap = load(FRAMES);
    let e = err(observe(&snap, r#"textbox "Card number""#));
    assert_eq!(
        e.to_string(),
        "`textbox \"Card number\"` matches 2 elements: \
         textbox \"Card number\" at (100, 20) in frame https://shop.example; \
         textbox \"Card number\" at (100, 20) in frame https://pay.example"
    );
    let r = act(
        &snap,
        r#"textbox "Card number" in frame "https://pay.example""#,
    )
    .unwrap();
    assert_eq!(r.handle, Handle { frame: 12, node: 5 });
    assert_eq!(r.facts.frame_origin, "https://pay.example");
    // The origin is compared normalised.
    let r = observe(
        &snap,
        r#"textbox "Card number" in frame "https://pay.example/""#,
    )
    .unwrap();
    assert_eq!(r.handle.frame, 12);
    let r = observe(
        &snap,
        r#"textbox "Card number" in frame "https://shop.example""#,
    )
    .unwrap();
    assert_eq!(r.handle, Handle { frame: 11, node: 4 });
    let e = err(observe(
        &snap,
        r#"textbox "Card number" in frame "https://evil.example""#,
    ));
    assert_eq!(
        e.to_string(),
        "no element matches `textbox \"Card number\" in frame \"https://evil.example\"`; near misses: \
         textbox \"Card number\" at (100, 20) in frame https://shop.example (not in frame https://evil.example); \
         textbox \"Card number\" at (100, 20) in frame https://pay.example (not in frame https://evil.example)"
    );
}

#[test]
fn a_hidden_iframe_hides_its_document() {
    let snap = load(FRAMES);
    // The ads frame's button sits in a display:none iframe: only the payment one counts.
    let r = act(&snap, r#"button "Pay 20 EUR""#).unwrap();
    assert_eq!(r.handle, Handle { frame: 12, node: 6 });
    let e = err(observe(
        &snap,
        r#"button "Pay 20 EUR" in frame "https://ads.example""#,
    ));
    assert_eq!(e.code(), "not-found");
}

#[test]
fn an_unplaced_frame_can_be_read_but_not_acted_in() {
    let snap = load(FRAMES);
    assert_eq!(observe(&snap, r#"button "Lost""#).unwrap().handle.frame, 14);
    let e = err(act(&snap, r#"button "Lost""#));
    assert_eq!(
        e.to_string(),
        "`button \"Lost\"` is in frame `https://lost.example`, whose place in the page is unknown"
    );
}

#[test]
fn elements_are_scoped_through_open_shadow_roots() {
    let snap = load(FRAMES);
    assert_eq!(
        node(&snap, r#"button "Increase" in group "Quantity stepper""#),
        22
    );
    assert_eq!(node(&snap, r#"button "Decrease""#), 20);
    // A label inside the shadow root labels the input inside it.
    let r = observe(&snap, r#"spinbutton "Count""#).unwrap();
    assert_eq!(r.handle.node, 25);
    // The slotted light-DOM text is rendered; the slot's fallback is not.
    assert_eq!(node(&snap, r#"text "Quantity""#), 23);
    assert_eq!(
        err(observe(&snap, r#"text "fallback label""#)).code(),
        "not-found"
    );
}

// ---- fingerprints and updates ----

fn update(json: &str) -> Update {
    serde_json::from_str(json).unwrap()
}

#[test]
fn a_swapped_element_changes_the_fingerprint() {
    let mut snap = load(SHOP);
    let decided = observe(&snap, r#"button "Accept cookies""#).unwrap();
    let fp = decided.facts.fingerprint.clone();
    assert_eq!(fp.len(), 32);

    // A 3 px reflow: still the same element.
    snap.apply(update(
        r#"{"frame":0,"upserted":[{"id":91,"tag":"button","kids":["Accept cookies"],"fixed":true,"box":[23,721,160,40],"visible":true,"hit":true}]}"#,
    ))
    .unwrap();
    let again = recheck(&snap, decided.handle, &fp, Purpose::Act).unwrap();
    assert_eq!(again.facts.name, "Accept cookies");

    // Same node, new text: the page swapped what the user approved.
    snap.apply(update(
        r#"{"frame":0,"upserted":[{"id":91,"tag":"button","kids":["Accept all and subscribe"],"fixed":true,"box":[20,720,160,40],"visible":true,"hit":true}]}"#,
    ))
    .unwrap();
    let e = err(recheck(&snap, decided.handle, &fp, Purpose::Act));
    assert_eq!(
        e.to_string(),
        "the element decided on changed since the decision: now button \"Accept all and subscribe\" at (20, 720)"
    );

    // Same text, moved far away: also a different element to the user.
    snap.apply(update(
        r#"{"frame":0,"upserted":[{"id":91,"tag":"button","kids":["Accept cookies"],"fixed":true,"box":[600,720,160,40],"visible":true,"hit":true}]}"#,
    ))
    .unwrap();
    assert_eq!(
        err(recheck(&snap, decided.handle, &fp, Purpose::Act)).code(),
        "changed"
    );

    // The node replaced by a new one: the handle is gone.
    snap.apply(update(
        r#"{"frame":0,"removed":[91],"upserted":[{"id":90,"tag":"div","attrs":{"role":"dialog","aria-label":"Cookie banner"},"kids":[95],"fixed":true,"box":[0,700,1280,100],"visible":true},{"id":95,"tag":"button","kids":["Accept cookies"],"fixed":true,"box":[20,720,160,40],"visible":true,"hit":true}]}"#,
    ))
    .unwrap();
    let e = err(recheck(&snap, decided.handle, &fp, Purpose::Act));
    assert_eq!(
        e.to_string(),
        "the element decided on (node `91` of frame `0`) is gone"
    );
    // Resolving again finds the new node, with the same fingerprint.
    let fresh = act(&snap, r#"button "Accept cookies""#).unwrap();
    assert_eq!(fresh.handle.node, 95);
    assert_eq!(fresh.facts.fingerprint, fp);
}

#[test]
fn scrolling_keeps_the_fingerprint() {
    let mut snap = load(SHOP);
    let before = observe(&snap, r#"link "Home""#).unwrap().facts.fingerprint;
    snap.apply(update(r#"{"frame":0,"scroll":[0,900]}"#))
        .unwrap();
    let after = observe(&snap, r#"link "Home""#).unwrap().facts.fingerprint;
    assert_eq!(before, after);
}

#[test]
fn incremental_updates_change_what_resolves() {
    let mut snap = load(SHOP);
    assert_eq!(
        err(observe(&snap, r#"button "Add to cart""#)).code(),
        "ambiguous"
    );
    // The second product leaves the list.
    snap.apply(update(r#"{"frame":0,"removed":[35]}"#)).unwrap();
    assert_eq!(node(&snap, r#"button "Add to cart""#), 34);
    assert_eq!(
        err(observe(&snap, r#"heading "USB-C cable 1 m""#)).code(),
        "not-found"
    );
    // The paragraph's text changes.
    snap.apply(update(
        r#"{"frame":0,"upserted":[{"id":56,"tag":"p","kids":["Shipping: 4.99 EUR"],"box":[20,740,600,20],"visible":true}]}"#,
    ))
    .unwrap();
    assert_eq!(node(&snap, r#"text "Shipping: 4.99 EUR""#), 56);
    assert_eq!(
        err(observe(&snap, r#"text "Free shipping""#)).code(),
        "not-found"
    );
    // The old strong went with its parent's new children.
    assert!(snap.node(Handle { frame: 0, node: 57 }).is_none());
    // A late dialog appears.
    snap.apply(update(
        r#"{"frame":0,"upserted":[
            {"id":2,"tag":"body","kids":[3,20,60,70,80,90,100],"box":[0,0,1280,2400],"visible":true},
            {"id":100,"tag":"div","attrs":{"role":"alertdialog","aria-label":"Added"},"kids":[101],"box":[0,0,300,100],"visible":true},
            {"id":101,"tag":"button","kids":["View cart"],"box":[10,10,100,30],"visible":true,"hit":true}
        ]}"#,
    ))
    .unwrap();
    assert_eq!(
        node(&snap, r#"button "View cart" in alertdialog "Added""#),
        101
    );
    assert_eq!(snap.version(), 4);
}

// ---- limits ----

fn frame_with(nodes: &str, extra: &str) -> String {
    format!(
        r#"{{"frames":[{{"id":0,"origin":"https://a.example","url":"https://a.example/","root":0,{extra}"nodes":[{nodes}]}}]}}"#
    )
}

/// A root with `n - 1` children: `n` nodes.
fn flat_nodes(n: usize) -> String {
    let kids: Vec<String> = (1..n).map(|i| i.to_string()).collect();
    let mut nodes = vec![format!(
        r#"{{"id":0,"tag":"body","kids":[{}]}}"#,
        kids.join(",")
    )];
    nodes.extend((1..n).map(|i| format!(r#"{{"id":{i},"tag":"i"}}"#)));
    nodes.join(",")
}

fn limit(e: SnapshotError) -> (Limit, usize) {
    match e {
        SnapshotError::LimitExceeded { limit, count, .. } => (limit, count),
        other => panic!("{other}"),
    }
}

#[test]
fn nodes_at_the_limit_and_over() {
    let snap = Snapshot::from_json(&frame_with(&flat_nodes(MAX_NODES), "")).unwrap();
    assert_eq!(snap.node_count(), MAX_NODES);
    let e = Snapshot::from_json(&frame_with(&flat_nodes(MAX_NODES + 1), "")).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "frame `0` has {} nodes, more than the limit of {MAX_NODES}",
            MAX_NODES + 1
        )
    );
    assert_eq!(limit(e), (Limit::Nodes, MAX_NODES + 1));
}

#[test]
fn an_update_past_the_node_limit_is_refused_whole() {
    let mut snap = Snapshot::from_json(&frame_with(&flat_nodes(MAX_NODES - 1), "")).unwrap();
    let kids: Vec<String> = (1..MAX_NODES + 1).map(|i| i.to_string()).collect();
    let grow = |to: usize| {
        let kids = &kids[..to - 1];
        let added: Vec<String> = (MAX_NODES - 1..to)
            .map(|i| format!(r#"{{"id":{i},"tag":"i"}}"#))
            .collect();
        format!(
            r#"{{"frame":0,"upserted":[{{"id":0,"tag":"body","kids":[{}]}},{}]}}"#,
            kids.join(","),
            added.join(",")
        )
    };
    let e = snap.apply_json(&grow(MAX_NODES + 1)).unwrap_err();
    assert_eq!(limit(e), (Limit::Nodes, MAX_NODES + 1));
    assert_eq!(snap.node_count(), MAX_NODES - 1);
    assert_eq!(snap.version(), 1);
    snap.apply_json(&grow(MAX_NODES)).unwrap();
    assert_eq!(snap.node_count(), MAX_NODES);
}

#[test]
fn frames_at_the_limit_and_over() {
    let frames = |n: usize| {
        let list: Vec<String> = (0..n)
            .map(|i| {
                let parent = if i == 0 { String::new() } else { r#""parent":0,"#.to_owned() };
                format!(
                    r#"{{"id":{i},{parent}"origin":"https://a.example","url":"u","root":1,"nodes":[{{"id":1,"tag":"html"}}]}}"#
                )
            })
            .collect();
        format!(r#"{{"frames":[{}]}}"#, list.join(","))
    };
    assert_eq!(
        Snapshot::from_json(&frames(MAX_FRAMES))
            .unwrap()
            .frames()
            .count(),
        MAX_FRAMES
    );
    let e = Snapshot::from_json(&frames(MAX_FRAMES + 1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "the message has {} frames, more than the limit of {MAX_FRAMES}",
            MAX_FRAMES + 1
        )
    );
}

#[test]
fn depth_at_the_limit_and_over() {
    let chain = |deepest: usize| {
        let nodes: Vec<String> = (0..=deepest)
            .map(|i| {
                if i < deepest {
                    format!(r#"{{"id":{i},"tag":"div","kids":[{}]}}"#, i + 1)
                } else {
                    format!(r#"{{"id":{i},"tag":"button","kids":["Deep"]}}"#)
                }
            })
            .collect();
        frame_with(&nodes.join(","), "")
    };
    let snap = Snapshot::from_json(&chain(MAX_DEPTH)).unwrap();
    assert_eq!(node(&snap, r#"button "Deep""#), MAX_DEPTH as u32);
    let e = Snapshot::from_json(&chain(MAX_DEPTH + 1)).unwrap_err();
    assert_eq!(limit(e), (Limit::Depth, MAX_DEPTH + 1));
}

#[test]
fn attributes_and_children_at_the_limit_and_over() {
    let attrs = |n: usize| {
        let list: Vec<String> = (0..n).map(|i| format!(r#""data-{i}":"x""#)).collect();
        frame_with(
            &format!(r#"{{"id":0,"tag":"body","attrs":{{{}}}}}"#, list.join(",")),
            "",
        )
    };
    Snapshot::from_json(&attrs(MAX_ATTRS)).unwrap();
    let e = Snapshot::from_json(&attrs(MAX_ATTRS + 1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "node `0` of frame `0` has {} attributes on one node, more than the limit of {MAX_ATTRS}",
            MAX_ATTRS + 1
        )
    );
    let texts = |n: usize| {
        let list = vec![r#""a""#; n].join(",");
        frame_with(&format!(r#"{{"id":0,"tag":"body","kids":[{list}]}}"#), "")
    };
    Snapshot::from_json(&texts(MAX_KIDS)).unwrap();
    let e = Snapshot::from_json(&texts(MAX_KIDS + 1)).unwrap_err();
    assert_eq!(limit(e), (Limit::Kids, MAX_KIDS + 1));
}

#[test]
fn a_truncated_frame_cannot_prove_a_single_match() {
    let nodes = r#"{"id":0,"tag":"body","kids":[1]},{"id":1,"tag":"button","kids":["Buy"],"box":[0,0,10,10],"visible":true,"hit":true}"#;
    let snap = Snapshot::from_json(&frame_with(nodes, r#""truncated":true,"#)).unwrap();
    let e = err(act(&snap, r#"button "Buy""#));
    assert_eq!(
        e.to_string(),
        "the page in frame `https://a.example` is larger than the snapshot limit, so `button \"Buy\"` cannot be shown to match exactly one element"
    );
    let all = find_all(
        &snap,
        &target_spec(&target(r#"button "Buy""#), &no_vars).unwrap(),
    )
    .unwrap();
    assert_eq!(all.elements.len(), 1);
    assert!(all.truncated);
}

#[test]
fn long_names_are_cut() {
    let long = "x".repeat(MAX_NAME_CHARS + 100);
    let nodes = format!(
        r#"{{"id":0,"tag":"body","kids":[1]}},{{"id":1,"tag":"button","kids":["{long}"]}}"#
    );
    let snap = Snapshot::from_json(&frame_with(&nodes, "")).unwrap();
    let r = observe(&snap, r#"button ~"xxx""#).unwrap();
    assert_eq!(r.facts.name.chars().count(), MAX_NAME_CHARS);
    // Names in error messages are cut shorter still.
    let e = err(observe(&snap, r#"button "y""#));
    assert_eq!(e.code(), "not-found");
    let snap2 = Snapshot::from_json(&frame_with(
        &format!(r#"{{"id":0,"tag":"body","kids":[1,2]}},{{"id":1,"tag":"button","kids":["{long}"]}},{{"id":2,"tag":"button","kids":["{long}"]}}"#),
        "",
    ))
    .unwrap();
    let e = err(observe(&snap2, r#"button ~"xxx""#));
    let ResolveError::Ambiguous { candidates, .. } = e else {
        panic!()
    };
    assert_eq!(candidates[0].name, format!("{}…", "x".repeat(60)));
}

#[test]
fn a_resolution_reads_no_unrelated_state() {
    // The same snapshot resolves the same way twice (the cached index is consistent), and
    // a clone resolves like the original.
    let snap = load(SHOP);
    let a = observe(&snap, r#"button "Delete" in dialog "Terms""#).unwrap();
    let b = observe(&snap, r#"button "Delete" in dialog "Terms""#).unwrap();
    let c = observe(&snap.clone(), r#"button "Delete" in dialog "Terms""#).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    let r = resolve(
        &snap,
        &target_spec(&target(r#"button "Delete" in dialog "Terms""#), &no_vars).unwrap(),
        Purpose::Act,
    )
    .unwrap();
    assert_eq!(r, a);
}

#[test]
fn candidate_lists_are_capped() {
    use bridle_executor::page::limits::{MAX_LISTED_CANDIDATES, MAX_NEAR_MISSES};
    let buttons = |n: usize, name: &dyn Fn(usize) -> String| {
        let kids: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
        let mut nodes = vec![format!(
            r#"{{"id":0,"tag":"body","kids":[{}]}}"#,
            kids.join(",")
        )];
        nodes.extend((1..=n).map(|i| {
            format!(
                r#"{{"id":{i},"tag":"button","kids":["{}"],"box":[0,{},10,10],"visible":true}}"#,
                name(i),
                i * 10
            )
        }));
        Snapshot::from_json(&frame_with(&nodes.join(","), "")).unwrap()
    };
    // At the limit every match is listed; past it the list is cut and the count says so.
    let snap = buttons(MAX_LISTED_CANDIDATES, &|_| "Buy".to_owned());
    let e = err(observe(&snap, r#"button "Buy""#));
    assert!(!e.to_string().ends_with('…'));
    assert_eq!(e.candidate_lines().len(), MAX_LISTED_CANDIDATES);
    let snap = buttons(MAX_LISTED_CANDIDATES + 2, &|_| "Buy".to_owned());
    let e = err(observe(&snap, r#"button "Buy""#));
    let ResolveError::Ambiguous {
        count, candidates, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (*count, candidates.len()),
        (MAX_LISTED_CANDIDATES + 2, MAX_LISTED_CANDIDATES)
    );
    assert!(e.to_string().starts_with(&format!(
        "`button \"Buy\"` matches {} elements: button \"Buy\" at (0, 10); ",
        MAX_LISTED_CANDIDATES + 2
    )));
    assert!(e.to_string().ends_with(" …"));
    // Near misses: the closest names first, at most the limit.
    let snap = buttons(MAX_NEAR_MISSES + 3, &|i| format!("Buy {i}"));
    let e = err(observe(&snap, r#"button "Buy 0""#));
    assert_eq!(e.candidate_lines().len(), MAX_NEAR_MISSES);
    assert_eq!(
        e.candidate_lines()[0],
        "button \"Buy 1\" at (0, 10) (similar name)"
    );
}
