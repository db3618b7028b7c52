//! Tab snapshots rebuilt from whole frames and updates.

use super::*;
use crate::page::snapshot::Handle;
use serde_json::{json, Value};

/// The top frame of document `doc`, snapshot `version`, with `nodes`; `base` and `removed`
/// make it an update.
fn frame(doc: &str, version: u64, nodes: Value, extra: Value) -> Value {
    let mut f = json!({"id": 0, "origin": "https://a.test", "url": "https://a.test/", "root": 1,
        "doc": doc, "version": version, "nodes": nodes});
    if let (Some(f), Some(extra)) = (f.as_object_mut(), extra.as_object()) {
        f.extend(extra.clone());
    }
    f
}

fn tab(frames: Vec<Value>) -> String {
    json!({ "frames": frames }).to_string()
}

fn first() -> Snapshot {
    let nodes = json!([
        {"id": 1, "tag": "body", "kids": [2, 3]},
        {"id": 2, "tag": "button", "kids": ["Add"]},
        {"id": 3, "tag": "p", "kids": ["Cart: 0"]}
    ]);
    Snapshot::from_json_after(&tab(vec![frame("d1", 1, nodes, json!({}))]), None).unwrap()
}

#[test]
fn an_update_gives_exactly_the_snapshot_a_whole_message_would() {
    let prev = first();
    // The text changed, the button left, a link arrived.
    let update = frame(
        "d1",
        2,
        json!([
            {"id": 1, "tag": "body", "kids": [3, 4]},
            {"id": 3, "tag": "p", "kids": ["Cart: 1"]},
            {"id": 4, "tag": "a", "attrs": {"href": ""}, "kids": ["Checkout"]}
        ]),
        json!({"base": 1, "removed": [2], "title": "Shop"}),
    );
    let got = Snapshot::from_json_after(&tab(vec![update]), Some(&prev)).unwrap();
    let whole = frame(
        "d1",
        2,
        json!([
            {"id": 1, "tag": "body", "kids": [3, 4]},
            {"id": 3, "tag": "p", "kids": ["Cart: 1"]},
            {"id": 4, "tag": "a", "attrs": {"href": ""}, "kids": ["Checkout"]}
        ]),
        json!({"title": "Shop"}),
    );
    let expected = Snapshot::from_json(&tab(vec![whole])).unwrap();
    assert_eq!(got.to_msg(), expected.to_msg());
    assert!(got.node(Handle { frame: 0, node: 2 }).is_none());
    // The previous snapshot is untouched.
    assert!(prev.node(Handle { frame: 0, node: 2 }).is_some());
}

#[test]
fn an_update_of_a_snapshot_not_held_is_stale() {
    let prev = first();
    let update = |doc: &str, base: u64, root: u32| {
        let mut f = frame(
            "x",
            2,
            json!([{"id": root, "tag": "body"}]),
            json!({"base": base}),
        );
        f["doc"] = json!(doc);
        f["root"] = json!(root);
        tab(vec![f])
    };
    let stale = |r: Result<Snapshot, SnapshotError>| {
        assert!(
            matches!(r, Err(SnapshotError::StaleBase { frame: 0, .. })),
            "{r:?}"
        );
    };
    // Another document, another number, no previous snapshot, a new document element.
    stale(Snapshot::from_json_after(&update("d2", 1, 1), Some(&prev)));
    stale(Snapshot::from_json_after(&update("d1", 7, 1), Some(&prev)));
    stale(Snapshot::from_json_after(&update("d1", 1, 1), None));
    stale(Snapshot::from_json_after(&update("d1", 1, 9), Some(&prev)));
    // A whole-snapshot parse never takes an update.
    stale(Snapshot::from_json(&update("d1", 1, 1)));
    assert_eq!(
        Snapshot::from_json_after(&update("d2", 1, 1), Some(&prev))
            .unwrap_err()
            .code(),
        "stale-base"
    );
}

#[test]
fn removed_without_a_base_is_malformed() {
    let f = frame(
        "d1",
        1,
        json!([{"id": 1, "tag": "body"}]),
        json!({"removed": [2]}),
    );
    assert!(matches!(
        Snapshot::from_json_after(&tab(vec![f]), None),
        Err(SnapshotError::Malformed { .. })
    ));
}

#[test]
fn frames_not_named_are_gone_and_new_ones_come_whole() {
    let child = json!({"id": 5, "parent": 0, "owner": 2, "origin": "https://b.test",
        "url": "https://b.test/", "root": 50, "doc": "c1", "version": 1,
        "nodes": [{"id": 50, "tag": "body"}]});
    let prev = first();
    let with_child = Snapshot::from_json_after(
        &tab(vec![
            frame("d1", 2, json!([]), json!({"base": 1})),
            child.clone(),
        ]),
        Some(&prev),
    )
    .unwrap();
    assert_eq!(with_child.frames().count(), 2);
    // An empty update keeps every node.
    assert!(with_child.node(Handle { frame: 0, node: 2 }).is_some());
    let without = Snapshot::from_json_after(
        &tab(vec![frame("d1", 3, json!([]), json!({"base": 2}))]),
        Some(&with_child),
    )
    .unwrap();
    assert_eq!(without.frames().count(), 1);
}

#[test]
fn a_broken_update_is_refused_as_a_whole() {
    let prev = first();
    // Node 1 lists a child that exists nowhere.
    let f = frame(
        "d1",
        2,
        json!([{"id": 1, "tag": "body", "kids": [2, 3, 77]}]),
        json!({"base": 1}),
    );
    let e = Snapshot::from_json_after(&tab(vec![f]), Some(&prev)).unwrap_err();
    assert_eq!(e.code(), "unknown-child");
}

#[test]
fn an_updated_secret_field_loses_its_value() {
    let prev = first();
    let f = frame(
        "d1",
        2,
        json!([
            {"id": 1, "tag": "body", "kids": [2, 3, 6]},
            {"id": 6, "tag": "input", "attrs": {"type": "password", "value": "hunter2"}, "value": "hunter2"}
        ]),
        json!({"base": 1}),
    );
    let snap = Snapshot::from_json_after(&tab(vec![f]), Some(&prev)).unwrap();
    let field = snap.node(Handle { frame: 0, node: 6 }).unwrap();
    assert_eq!(field.value, None);
    assert!(field.value_redacted);
    assert!(!field.has_attr("value"));
}
