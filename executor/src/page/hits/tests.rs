//! Late hit tests applied to a snapshot taken without them.

use super::*;
use crate::engine::{NameMatch, TargetBase, TargetSpec};
use crate::page::resolve::{resolve, Purpose};
use crate::page::ResolveError;

/// A page with a "Pay" button on top and another inside a framed widget (frame 7, held by
/// the iframe node 4); no hit tests, as the run's snapshots are taken.
fn page() -> Snapshot {
    Snapshot::from_json(
        r#"{"frames":[
          {"id":0,"origin":"http://a.test","url":"http://a.test/","root":1,"nodes":[
            {"id":1,"tag":"body","kids":[2,3,4],"box":[0,0,800,600],"visible":true},
            {"id":2,"tag":"button","kids":["Pay"],"box":[10,10,80,30],"visible":true},
            {"id":3,"tag":"div","attrs":{"id":"overlay"},"box":[0,0,800,600],"visible":true},
            {"id":4,"tag":"iframe","attrs":{"title":"Widget"},"box":[0,100,400,300],"visible":true}
          ]},
          {"id":7,"parent":0,"owner":4,"origin":"http://b.test","url":"http://b.test/w","root":20,"nodes":[
            {"id":20,"tag":"body","kids":[21],"box":[0,0,400,300],"visible":true},
            {"id":21,"tag":"button","kids":["Confirm"],"box":[10,10,80,30],"visible":true}
          ]}
        ]}"#,
    )
    .unwrap()
}

fn button(name: &str) -> TargetSpec {
    TargetSpec {
        base: TargetBase::Role {
            role: "button".into(),
            name: Some(NameMatch::Exact(name.into())),
        },
        scopes: vec![],
        frame: None,
        nth: None,
    }
}

const PAY: Handle = Handle { frame: 0, node: 2 };
const CONFIRM: Handle = Handle { frame: 7, node: 21 };
const FRAME_OWNER: Handle = Handle { frame: 0, node: 4 };

fn report(h: Handle, state: HitState) -> HitReport {
    HitReport {
        frame: h.frame,
        node: h.node,
        state,
        by: None,
    }
}

#[test]
fn the_chain_is_the_element_and_every_iframe_around_it() {
    let snap = page();
    assert_eq!(snap.hit_chain(PAY), vec![PAY]);
    assert_eq!(snap.hit_chain(CONFIRM), vec![CONFIRM, FRAME_OWNER]);
}

#[test]
fn a_covered_element_found_without_hit_tests_is_refused_once_they_are_in() {
    let mut snap = page();
    // Without hit tests the button is actionable: nothing said it was covered.
    let found = resolve(&snap, &button("Pay"), Purpose::Act).unwrap();
    assert_eq!(found.handle, PAY);
    // The index built by that resolution is updated in place, not rebuilt.
    let version = snap.version();
    let covered = HitReport {
        by: Some(3),
        ..report(PAY, HitState::Covered)
    };
    snap.apply_hits(&[PAY], &[covered]).unwrap();
    assert_eq!(snap.version(), version);
    match resolve(&snap, &button("Pay"), Purpose::Act) {
        Err(ResolveError::Covered { by, .. }) => {
            assert_eq!(by.map(|c| c.handle), Some(Handle { frame: 0, node: 3 }));
        }
        other => panic!("expected covered, got {other:?}"),
    }
    // Reading is not acting: a covered element can still be read.
    assert!(resolve(&snap, &button("Pay"), Purpose::Observe).is_ok());
}

#[test]
fn a_covered_iframe_makes_the_element_in_it_covered() {
    let mut snap = page();
    let chain = snap.hit_chain(CONFIRM);
    snap.apply_hits(
        &chain,
        &[
            report(CONFIRM, HitState::Hit),
            report(FRAME_OWNER, HitState::Covered),
        ],
    )
    .unwrap();
    assert!(matches!(
        resolve(&snap, &button("Confirm"), Purpose::Act),
        Err(ResolveError::Covered { .. })
    ));
}

#[test]
fn hit_and_untested_elements_stay_actionable() {
    for state in [HitState::Hit, HitState::Untested] {
        let mut snap = page();
        snap.apply_hits(&[PAY], &[report(PAY, state)]).unwrap();
        assert_eq!(
            resolve(&snap, &button("Pay"), Purpose::Act).unwrap().handle,
            PAY
        );
    }
}

#[test]
fn a_gone_missing_or_unasked_probe_fails() {
    let mut snap = page();
    assert_eq!(
        snap.apply_hits(&[PAY], &[report(PAY, HitState::Gone)]),
        Err(HitError::Gone { frame: 0, node: 2 })
    );
    assert_eq!(
        snap.apply_hits(&[PAY], &[]),
        Err(HitError::Missing { frame: 0, node: 2 })
    );
    assert_eq!(
        snap.apply_hits(
            &[PAY],
            &[report(PAY, HitState::Hit), report(CONFIRM, HitState::Hit)]
        ),
        Err(HitError::NotAsked { frame: 7, node: 21 })
    );
    // A probe of an element the snapshot does not have is gone.
    let ghost = Handle { frame: 0, node: 99 };
    assert_eq!(
        snap.apply_hits(&[ghost], &[report(ghost, HitState::Hit)]),
        Err(HitError::Gone { frame: 0, node: 99 })
    );
}

#[test]
fn reports_parse_from_the_content_scripts_json() {
    let r: Vec<HitReport> = serde_json::from_str(
        r#"[{"frame":0,"node":2,"state":"covered","by":3},{"frame":7,"node":21,"state":"hit"},
            {"frame":0,"node":4,"state":"untested"},{"frame":0,"node":5,"state":"gone"}]"#,
    )
    .unwrap();
    assert_eq!((r[0].state, r[0].by), (HitState::Covered, Some(3)));
    assert_eq!(r[1].state, HitState::Hit);
    assert!(
        serde_json::from_str::<HitReport>(r#"{"frame":0,"node":2,"state":"hit","x":1}"#).is_err()
    );
    assert!(serde_json::from_str::<HitReport>(r#"{"frame":0,"node":2,"state":"maybe"}"#).is_err());
}
