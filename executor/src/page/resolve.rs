//! Target resolution on a snapshot: from a step's target to exactly one element, or a typed
//! error that says why not (none, several, hidden, disabled, covered …). Never a guess.
//!
//! 1. Base matches, in document order: elements of the role (any role for `element`) whose
//!    accessible name matches; for `text`, the innermost elements whose visible text matches;
//!    for `css`, the nodes the content script reported for the selector.
//! 2. `in frame "<origin>"`: only elements of frames of that origin.
//! 3. `in <role> [name]` scopes, innermost first: each scope is an ancestor (through shadow
//!    roots and frames) of the previous one, the first an ancestor of the element.
//! 4. `nth N` picks the N-th (1-based) in document order; without it, zero matches is
//!    `not-found` (with near misses) and several is `ambiguous` (listing them).
//! 5. For an action, the element must also be visible, not inert, enabled and not covered
//!    at its click point, and so must the `<iframe>`s it is in.

use super::error::{Candidate, ResolveError};
use super::fingerprint::{fingerprint, fingerprint_matches, FingerprintInput};
use super::limits::{MAX_CANDIDATE_NAME_CHARS, MAX_LISTED_CANDIDATES, MAX_NEAR_MISSES};
use super::matcher::Matcher;
use super::roles::canonical_role;
use super::snapshot::{field_kind, Handle, Snapshot};
use super::tree::Index;
use super::wire::Rect;
use crate::decision::ElementFacts;
use crate::engine::{NameMatch, ScopeSpec, TargetBase, TargetSpec};
use bridle_dsl::ast;
use std::collections::BTreeSet;

/// What the element is resolved for: an action needs a visible, enabled, uncovered element;
/// an observation (`text of`, `exists`, `wait for … hidden`) only needs it to be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Act,
    Observe,
}

/// The one element a target resolved to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Resolved {
    /// What the actuator acts on.
    pub handle: Handle,
    /// What the decision and the audit log see.
    pub facts: ElementFacts,
    #[serde(rename = "box")]
    pub rect: Option<Rect>,
    pub fixed: bool,
    pub visible: bool,
    pub enabled: bool,
    /// The content script's hit test: `None` when it was not run (the element is outside the
    /// viewport), in which case the actuator scrolls it into view and must hit-test before
    /// acting.
    pub hit: Option<bool>,
}

/// Every match of a target, for `count of` and `exists`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Matches {
    /// In document order.
    pub elements: Vec<Candidate>,
    /// A frame the target could match in was cut at the limits: there may be more.
    pub truncated: bool,
}

struct RoleQuery {
    /// `None` for `element`.
    role: Option<&'static str>,
    name: Option<Matcher>,
    label: String,
}

enum Base {
    Role(RoleQuery),
    Text(Matcher),
    Css(String),
}

struct Query {
    base: Base,
    scopes: Vec<RoleQuery>,
    frame: Option<String>,
    nth: Option<u64>,
    text: String,
}

fn role_query(role: &str, name: Option<&NameMatch>) -> Result<RoleQuery, ResolveError> {
    let canonical = if role == "element" {
        None
    } else {
        Some(
            canonical_role(role).ok_or_else(|| ResolveError::UnknownRole {
                role: role.to_owned(),
            })?,
        )
    };
    let label = match name {
        Some(n) => format!("{role} {n}"),
        None => role.to_owned(),
    };
    Ok(RoleQuery {
        role: canonical,
        name: name.map(Matcher::new).transpose()?,
        label,
    })
}

impl Query {
    fn compile(t: &TargetSpec) -> Result<Query, ResolveError> {
        let base = match &t.base {
            TargetBase::Role { role, name } => Base::Role(role_query(role, name.as_ref())?),
            TargetBase::Text { text } => Base::Text(Matcher::new(text)?),
            TargetBase::Css { selector } => Base::Css(selector.clone()),
        };
        let scopes = t
            .scopes
            .iter()
            .map(|s: &ScopeSpec| role_query(&s.role, s.name.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Query {
            base,
            scopes,
            frame: t.frame.as_deref().map(normalize_origin),
            nth: t.nth,
            text: t.to_string(),
        })
    }
}

fn normalize_origin(origin: &str) -> String {
    crate::engine::interp::origin_of(origin).unwrap_or_else(|| origin.to_owned())
}

impl RoleQuery {
    fn matches(&self, ix: &Index, d: u32) -> bool {
        let e = ix.entry(d);
        !e.excluded
            && self.role.is_none_or(|r| e.role == Some(r))
            && self.name.as_ref().is_none_or(|m| m.matches(ix.name(d)))
    }
}

/// The selector a `css` target needs evaluated by the content script (the first phase of
/// the two-phase protocol in `docs/snapshot.md`).
pub fn css_selector(target: &TargetSpec) -> Option<&str> {
    match &target.base {
        TargetBase::Css { selector } => Some(selector),
        _ => None,
    }
}

/// Interpolates a script's target with the values of its variables.
pub fn target_spec(
    target: &ast::Target,
    vars: &dyn Fn(&ast::VarPath) -> Option<String>,
) -> Result<TargetSpec, ResolveError> {
    let text = |s: &ast::Str| -> Result<String, ResolveError> {
        let mut out = String::new();
        for part in &s.parts {
            match part {
                ast::StrPart::Lit(lit) => out.push_str(lit),
                ast::StrPart::Var(path) => match vars(path) {
                    Some(value) => out.push_str(&value),
                    None => {
                        let mut name = path.name.node.clone();
                        for field in &path.fields {
                            name.push('.');
                            name.push_str(&field.node);
                        }
                        return Err(ResolveError::UnknownVariable { name });
                    }
                },
            }
        }
        Ok(out)
    };
    let matcher = |m: &ast::Matcher| -> Result<NameMatch, ResolveError> {
        Ok(match m {
            ast::Matcher::Exact(s) => NameMatch::Exact(text(s)?),
            ast::Matcher::Contains(s) => NameMatch::Contains(text(s)?),
            ast::Matcher::Regex(r) => NameMatch::Regex {
                pattern: r.pattern.clone(),
                flags: r.flags.clone(),
            },
        })
    };
    let base = match &target.base {
        ast::TargetBase::Role { role, name } => TargetBase::Role {
            role: role.node.clone(),
            name: name.as_ref().map(matcher).transpose()?,
        },
        ast::TargetBase::Text(m) => TargetBase::Text { text: matcher(m)? },
        ast::TargetBase::Css(s) => TargetBase::Css {
            selector: s.node.clone(),
        },
    };
    let scopes = target
        .scopes
        .iter()
        .map(|s| {
            Ok(ScopeSpec {
                role: s.role.node.clone(),
                name: s.name.as_ref().map(matcher).transpose()?,
            })
        })
        .collect::<Result<_, ResolveError>>()?;
    Ok(TargetSpec {
        base,
        scopes,
        frame: target.frame.as_ref().map(|f| f.node.clone()),
        nth: target.nth.as_ref().map(|n| n.node),
    })
}

/// Resolves a script's target, interpolating its names with `vars`.
pub fn resolve_target(
    snapshot: &Snapshot,
    target: &ast::Target,
    vars: &dyn Fn(&ast::VarPath) -> Option<String>,
    purpose: Purpose,
) -> Result<Resolved, ResolveError> {
    resolve(snapshot, &target_spec(target, vars)?, purpose)
}

/// Resolves a target to exactly one element (see the module documentation).
pub fn resolve(
    snapshot: &Snapshot,
    target: &TargetSpec,
    purpose: Purpose,
) -> Result<Resolved, ResolveError> {
    let q = Query::compile(target)?;
    let ix = snapshot.index();
    let base = base_matches(snapshot, ix, &q)?;
    let found: Vec<u32> = base
        .iter()
        .copied()
        .filter(|d| in_frame(ix, &q, *d) && in_scopes(ix, &q, *d).is_ok())
        .collect();
    if found.len() <= 1 || q.nth.is_some() {
        if let Some(origin) = truncated_frame(ix, &q) {
            return Err(ResolveError::Truncated {
                target: q.text,
                origin,
            });
        }
    }
    let listed = |list: &[u32]| -> Vec<Candidate> {
        list.iter()
            .take(MAX_LISTED_CANDIDATES)
            .map(|d| candidate(ix, *d, None))
            .collect()
    };
    let d = match (q.nth, found.as_slice()) {
        (_, []) => {
            return Err(ResolveError::NotFound {
                near: near_misses(ix, &q, &base),
                target: q.text,
            })
        }
        (Some(n), list) => {
            let index = usize::try_from(n).unwrap_or(usize::MAX);
            match index.checked_sub(1).and_then(|i| list.get(i)) {
                Some(d) => *d,
                None => {
                    return Err(ResolveError::NthOutOfRange {
                        target: q.text,
                        nth: n,
                        count: list.len(),
                        candidates: listed(list),
                    })
                }
            }
        }
        (None, [one]) => *one,
        (None, list) => {
            return Err(ResolveError::Ambiguous {
                target: q.text,
                count: list.len(),
                candidates: listed(list),
            })
        }
    };
    if purpose == Purpose::Act {
        actionable(ix, d, &q.text)?;
    }
    Ok(resolved(ix, d))
}

/// Every element a target matches, in document order, without the exactly-one rule or `nth`.
pub fn find_all(snapshot: &Snapshot, target: &TargetSpec) -> Result<Matches, ResolveError> {
    let q = Query::compile(target)?;
    let ix = snapshot.index();
    let elements = base_matches(snapshot, ix, &q)?
        .into_iter()
        .filter(|d| in_frame(ix, &q, *d) && in_scopes(ix, &q, *d).is_ok())
        .map(|d| candidate(ix, d, None))
        .collect();
    Ok(Matches {
        elements,
        truncated: truncated_frame(ix, &q).is_some(),
    })
}

/// One element's computed role and name, as [`describe`] lists them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Described {
    pub handle: Handle,
    /// The computed role; `None` for elements without one (`label`, custom elements …).
    pub role: Option<&'static str>,
    pub name: String,
    /// In the accessibility tree (not hidden, `aria-hidden`, inert …).
    pub in_tree: bool,
}

/// Every element of the flat tree in document order with its role and name: what the
/// browser differential test compares with `dom-accessibility-api`.
pub fn describe(snapshot: &Snapshot) -> Vec<Described> {
    let ix = snapshot.index();
    (0..index_u32(ix.len()))
        .map(|d| {
            let e = ix.entry(d);
            Described {
                handle: ix.handle(d),
                role: e.role,
                name: ix.name(d).to_owned(),
                in_tree: !e.excluded,
            }
        })
        .collect()
}

/// Checks, just before acting, that the element decided on is still there and still the
/// same (its fingerprint, with the tolerance of [`fingerprint_matches`]); for an action also
/// that it is still visible, enabled and uncovered. The returned facts are fresh.
pub fn recheck(
    snapshot: &Snapshot,
    handle: Handle,
    expected_fingerprint: &str,
    purpose: Purpose,
) -> Result<Resolved, ResolveError> {
    let ix = snapshot.index();
    let d = ix.find(handle).ok_or(ResolveError::Gone { handle })?;
    let now = resolved(ix, d);
    let e = ix.entry(d);
    let path = frame_path(ix, d);
    let input = FingerprintInput {
        role: &now.facts.role,
        name: &now.facts.name,
        origin: &now.facts.frame_origin,
        frame_path: &path,
        rect: e.node.rect,
        fixed: e.node.fixed,
    };
    if !fingerprint_matches(expected_fingerprint, &input) {
        return Err(ResolveError::Changed {
            now: Box::new(candidate(ix, d, None)),
        });
    }
    if purpose == Purpose::Act {
        let label = format!("{} {:?}", now.facts.role, now.facts.name);
        actionable(ix, d, &label)?;
    }
    Ok(now)
}

fn base_matches(snapshot: &Snapshot, ix: &Index, q: &Query) -> Result<Vec<u32>, ResolveError> {
    Ok(match &q.base {
        Base::Role(rq) => match rq.role {
            Some(role) => ix
                .by_role
                .get(role)
                .map(|list| {
                    list.iter()
                        .copied()
                        .filter(|d| rq.matches(ix, *d))
                        .collect()
                })
                .unwrap_or_default(),
            None => (0..index_u32(ix.len()))
                .filter(|d| rq.matches(ix, *d))
                .collect(),
        },
        Base::Text(m) => {
            let texts = ix.texts();
            let hits: Vec<u32> = (0..index_u32(ix.len()))
                .filter(|d| {
                    let e = ix.entry(*d);
                    !e.excluded
                        && e.rendered
                        && m.matches_with_lower(texts.text(*d), texts.lower(*d))
                })
                .collect();
            // Innermost: drop a match that has another match inside it. Matches are in
            // document order and subtrees are contiguous, so only the next one can be inside.
            hits.iter()
                .enumerate()
                .filter(|(i, d)| hits.get(i + 1).is_none_or(|next| !ix.is_inside(**d, *next)))
                .map(|(_, d)| *d)
                .collect()
        }
        Base::Css(selector) => {
            let mut out = Vec::new();
            for f in &ix.frames {
                if q.frame.as_ref().is_some_and(|want| *want != f.origin) {
                    continue;
                }
                let ids = snapshot
                    .frame(f.id)
                    .and_then(|frame| frame.css_matches(selector))
                    .ok_or_else(|| ResolveError::CssNotQueried {
                        selector: selector.clone(),
                        origin: f.origin.clone(),
                    })?;
                out.extend(
                    ids.iter()
                        .filter_map(|id| {
                            ix.find(Handle {
                                frame: f.id,
                                node: *id,
                            })
                        })
                        .filter(|d| ix.entry(*d).rendered),
                );
            }
            out.sort_unstable();
            out.dedup();
            out
        }
    })
}

fn in_frame(ix: &Index, q: &Query, d: u32) -> bool {
    q.frame
        .as_ref()
        .is_none_or(|want| *want == ix.frame_of(d).origin)
}

/// Whether the scopes hold; otherwise the label of the first one that does not.
///
/// Taking the nearest ancestor that matches each scope is never worse than a farther one:
/// the nearer one's ancestors include the farther one's.
fn in_scopes<'q>(ix: &Index, q: &'q Query, d: u32) -> Result<(), &'q str> {
    let mut at = d;
    for scope in &q.scopes {
        let mut up = ix.entry(at).parent;
        loop {
            match up {
                Some(a) if scope.matches(ix, a) => {
                    at = a;
                    break;
                }
                Some(a) => up = ix.entry(a).parent,
                None => return Err(&scope.label),
            }
        }
    }
    Ok(())
}

fn truncated_frame(ix: &Index, q: &Query) -> Option<String> {
    ix.frames
        .iter()
        .find(|f| f.truncated && q.frame.as_ref().is_none_or(|want| *want == f.origin))
        .map(|f| f.origin.clone())
}

fn index_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The origins of the frames around element `d`'s frame, innermost first, one per line
/// (the fingerprint's frame part); empty in the top frame and in an unplaced frame.
fn frame_path(ix: &Index, d: u32) -> String {
    let mut path = String::new();
    let mut owner = ix.frame_of(d).owner;
    while let Some(o) = owner {
        let f = ix.frame_of(o);
        path.push_str(&f.origin);
        path.push('\n');
        owner = f.owner;
    }
    path
}

/// An element as error messages list it.
pub(crate) fn candidate(ix: &Index, d: u32, note: Option<String>) -> Candidate {
    let e = ix.entry(d);
    let f = ix.frame_of(d);
    let mut name = ix.name(d);
    if name.is_empty() {
        name = ix.texts().text(d);
    }
    let name = match name.char_indices().nth(MAX_CANDIDATE_NAME_CHARS) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.to_owned(),
    };
    Candidate {
        role: e.role.unwrap_or("generic").to_owned(),
        name,
        frame_origin: f.origin.clone(),
        top_frame: f.placed && f.owner.is_none(),
        rect: e.node.rect,
        handle: ix.handle(d),
        note,
    }
}

fn resolved(ix: &Index, d: u32) -> Resolved {
    let e = ix.entry(d);
    let f = ix.frame_of(d);
    let role = e.role.unwrap_or("generic");
    let name = ix.name(d);
    let path = frame_path(ix, d);
    let input = FingerprintInput {
        role,
        name,
        origin: &f.origin,
        frame_path: &path,
        rect: e.node.rect,
        fixed: e.node.fixed,
    };
    Resolved {
        handle: ix.handle(d),
        facts: ElementFacts {
            role: role.to_owned(),
            name: name.to_owned(),
            frame_origin: f.origin.clone(),
            fingerprint: fingerprint(&input),
            field_kind: field_kind(&e.node).map(|k| k.as_str().to_owned()),
        },
        rect: e.node.rect,
        fixed: e.node.fixed,
        visible: e.rendered && e.node.visible,
        enabled: !e.disabled,
        hit: e.node.hit,
    }
}

/// The checks an action needs beyond a unique match.
fn actionable(ix: &Index, d: u32, target: &str) -> Result<(), ResolveError> {
    let e = ix.entry(d);
    let f = ix.frame_of(d);
    let here = || Box::new(candidate(ix, d, None));
    if !f.placed {
        return Err(ResolveError::Unplaced {
            target: target.to_owned(),
            candidate: here(),
        });
    }
    let shown = |d: u32| {
        let e = ix.entry(d);
        e.rendered && e.node.visible && e.node.rect.is_some_and(|r| !r.is_empty())
    };
    // The element and every <iframe> it is in.
    let mut chain = vec![d];
    let mut owner = f.owner;
    while let Some(o) = owner {
        chain.push(o);
        owner = ix.frame_of(o).owner;
    }
    if chain.iter().any(|c| !shown(*c)) {
        return Err(ResolveError::Hidden {
            target: target.to_owned(),
            candidate: here(),
        });
    }
    if e.inert {
        return Err(ResolveError::Inert {
            target: target.to_owned(),
            candidate: here(),
        });
    }
    if e.disabled {
        return Err(ResolveError::Disabled {
            target: target.to_owned(),
            candidate: here(),
        });
    }
    for c in chain {
        let node = &ix.entry(c).node;
        if node.hit == Some(false) {
            let frame = ix.frame_of(c).id;
            let by = node
                .hit_by
                .and_then(|id| ix.find(Handle { frame, node: id }))
                .map(|b| Box::new(candidate(ix, b, None)));
            return Err(ResolveError::Covered {
                target: target.to_owned(),
                candidate: here(),
                by,
            });
        }
    }
    Ok(())
}

/// Near misses for a `not-found` error: matches the frame or a scope ruled out, elements of
/// another role with the name, then elements of the role (or texts) with similar names.
fn near_misses(ix: &Index, q: &Query, base: &[u32]) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for &d in base {
        if out.len() >= MAX_NEAR_MISSES {
            return out;
        }
        let note = if !in_frame(ix, q, d) {
            format!(
                "not in frame {}",
                q.frame.as_deref().unwrap_or(&ix.frame_of(d).origin)
            )
        } else if let Err(scope) = in_scopes(ix, q, d) {
            format!("not in {scope}")
        } else {
            continue;
        };
        seen.insert(d);
        out.push(candidate(ix, d, Some(note)));
    }
    let all = 0..index_u32(ix.len());
    let mut similar: Vec<(f64, u32, String)> = Vec::new();
    match &q.base {
        Base::Role(rq) => {
            if let (Some(role), Some(m)) = (rq.role, &rq.name) {
                for d in all.clone() {
                    let e = ix.entry(d);
                    if out.len() >= MAX_NEAR_MISSES {
                        return out;
                    }
                    let Some(what) = e.role.filter(|r| !matches!(*r, "generic" | "none")) else {
                        continue;
                    };
                    if !e.excluded && what != role && m.matches(ix.name(d)) {
                        seen.insert(d);
                        out.push(candidate(ix, d, Some(format!("a {what}, not a {role}"))));
                    }
                }
            }
            let pool: Vec<u32> = match rq.role {
                Some(role) => ix.by_role.get(role).cloned().unwrap_or_default(),
                None => all.filter(|d| !ix.entry(*d).excluded).collect(),
            };
            let needle = rq.name.as_ref().and_then(Matcher::needle);
            for d in pool {
                let name = ix.name(d);
                if name.is_empty() || seen.contains(&d) || rq.name.is_none() {
                    continue;
                }
                match &needle {
                    Some(needle) => {
                        let score = similarity(&name.to_lowercase(), needle);
                        if score >= 0.5 {
                            similar.push((score, d, "similar name".to_owned()));
                        }
                    }
                    None => similar.push((0.0, d, "same role".to_owned())),
                }
            }
        }
        Base::Text(m) => {
            if let Some(needle) = m.needle() {
                let texts = ix.texts();
                for d in all {
                    let e = ix.entry(d);
                    let lower = texts.lower(d);
                    if e.excluded || lower.is_empty() || lower.len() > needle.len() * 2 + 20 {
                        continue;
                    }
                    // Only the innermost element with a given text.
                    let inner = ix.element_kids(d).all(|c| texts.lower(c) != lower);
                    let score = similarity(lower, &needle);
                    if inner && score >= 0.5 {
                        similar.push((score, d, "similar text".to_owned()));
                    }
                }
            }
        }
        Base::Css(_) => {}
    }
    similar.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, d, note) in similar {
        if out.len() >= MAX_NEAR_MISSES {
            break;
        }
        out.push(candidate(ix, d, Some(note)));
    }
    out
}

/// How alike two lowercase strings are, 0 to 1; containment counts as very alike.
fn similarity(have: &str, want: &str) -> f64 {
    if !want.is_empty() && (have.contains(want) || want.contains(have)) {
        return 0.9;
    }
    strsim::normalized_levenshtein(have, want)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(role: &str, name: Option<NameMatch>) -> TargetSpec {
        TargetSpec {
            base: TargetBase::Role {
                role: role.into(),
                name,
            },
            scopes: vec![],
            frame: None,
            nth: None,
        }
    }

    #[test]
    fn describe_lists_every_element_in_order() {
        let snap = Snapshot::from_json(
            r#"{"frames":[{"id":0,"origin":"o","url":"u","root":1,"nodes":[
                {"id":1,"tag":"body","kids":[2,3]},
                {"id":2,"tag":"button","kids":["Go"]},
                {"id":3,"tag":"label","attrs":{"aria-hidden":"true"},"kids":["x"]}
            ]}]}"#,
        )
        .unwrap();
        let all = describe(&snap);
        let short: Vec<(u32, Option<&str>, &str, bool)> = all
            .iter()
            .map(|d| (d.handle.node, d.role, d.name.as_str(), d.in_tree))
            .collect();
        assert_eq!(
            short,
            vec![
                (1, Some("generic"), "", true),
                (2, Some("button"), "Go", true),
                (3, None, "", false)
            ]
        );
    }

    #[test]
    fn similarity_prefers_containment_then_edit_distance() {
        assert_eq!(similarity("add to cart", "add to cart now"), 0.9);
        assert!(similarity("add to basket", "add to cart") > 0.5);
        assert!(similarity("log out", "add to cart") < 0.5);
    }

    #[test]
    fn unknown_roles_and_css_selectors() {
        let snap = Snapshot::from_json(
            r#"{"frames":[{"id":0,"origin":"https://a.example","url":"u","root":1,"nodes":[{"id":1,"tag":"body"}]}]}"#,
        )
        .unwrap();
        let e = resolve(&snap, &spec("buton", None), Purpose::Observe).unwrap_err();
        assert_eq!(e.to_string(), "unknown role `buton`");
        let css = TargetSpec {
            base: TargetBase::Css {
                selector: "#price".into(),
            },
            ..spec("x", None)
        };
        assert_eq!(css_selector(&css), Some("#price"));
        assert_eq!(css_selector(&spec("button", None)), None);
        let e = resolve(&snap, &css, Purpose::Observe).unwrap_err();
        assert_eq!(
            e.to_string(),
            "css selector `#price` was not evaluated in frame `https://a.example`"
        );
    }
}
