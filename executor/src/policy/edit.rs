//! Edits of the policy file that keep the user's text: adding a paired planner, removing one.
//!
//! Pairing writes the planner into the local policy, where the user can read and remove it
//! (`docs/protocol.md`). The file is edited as a TOML document (comments and layout kept), and
//! the result is validated as a whole: an edit that would make the policy invalid is refused
//! with the policy's own errors, and the old text stays in force.

use super::{Policy, PolicyError};
use crate::protocol::Pairing;
use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    /// The current text is not a TOML document (it would not have been accepted as policy).
    #[error("the policy is not valid TOML: {0}")]
    NotToml(String),
    /// `planner` exists but is not an array of tables.
    #[error("`planner` in the policy is not an array of `[[planner]]` tables")]
    PlannerNotArray,
    /// A planner with this name or key id is paired already.
    #[error("a planner named `{name}` or with key id `{kid}` is paired already; remove it first")]
    Duplicate { name: String, kid: String },
    /// No planner has this name.
    #[error("no planner named `{0}` is paired")]
    NoSuchPlanner(String),
    /// The edited policy does not validate.
    #[error("the policy with this change is not valid:\n{}", render(.0))]
    Invalid(Vec<PolicyError>),
}

fn render(errors: &[PolicyError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The policy text with `pairing` added as a `[[planner]]`, and the validated policy.
pub fn add_planner(text: &str, pairing: &Pairing) -> Result<(String, Policy), EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::NotToml(e.message().to_owned()))?;
    let planners = planners_mut(&mut doc)?;
    let taken = planners.iter().any(|t| {
        t.get("name").and_then(Item::as_str) == Some(pairing.name.as_str())
            || t.get("kid").and_then(Item::as_str) == Some(pairing.kid.as_str())
    });
    if taken {
        return Err(EditError::Duplicate {
            name: pairing.name.clone(),
            kid: pairing.kid.clone(),
        });
    }
    let mut table = Table::new();
    table.insert("name", value(pairing.name.as_str()));
    table.insert("kid", value(pairing.kid.as_str()));
    table.insert("public_key", value(pairing.public_key.as_str()));
    table.insert("max_ttl", value(pairing.max_ttl.as_str()));
    table.insert("endpoint", value(pairing.endpoint.as_str()));
    planners.push(table);
    finish(doc)
}

/// The policy text without the planner named `name`, and the validated policy.
pub fn remove_planner(text: &str, name: &str) -> Result<(String, Policy), EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::NotToml(e.message().to_owned()))?;
    let planners = planners_mut(&mut doc)?;
    let before = planners.len();
    planners.retain(|t| t.get("name").and_then(Item::as_str) != Some(name));
    if planners.len() == before {
        return Err(EditError::NoSuchPlanner(name.to_owned()));
    }
    if planners.is_empty() {
        doc.remove("planner");
    }
    finish(doc)
}

fn planners_mut(doc: &mut DocumentMut) -> Result<&mut ArrayOfTables, EditError> {
    doc.entry("planner")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or(EditError::PlannerNotArray)
}

fn finish(doc: DocumentMut) -> Result<(String, Policy), EditError> {
    let text = doc.to_string();
    let policy = Policy::from_toml_all(&text).map_err(EditError::Invalid)?;
    Ok((text, policy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::DEFAULT_POLICY_TOML;

    fn pairing(name: &str, kid: &str) -> Pairing {
        Pairing {
            v: 1,
            name: name.into(),
            kid: kid.into(),
            public_key: "rrHvidafPRPkloz63ZmbPP3fTnS2Z1W-D6fHHhq7_DU".into(),
            endpoint: "ws://127.0.0.1:7878/bridle".into(),
            max_ttl: "15m".into(),
        }
    }

    #[test]
    fn adding_keeps_the_text_and_trusts_the_planner() {
        let (text, policy) = add_planner(DEFAULT_POLICY_TOML, &pairing("home", "k1_a")).unwrap();
        assert!(
            text.starts_with(DEFAULT_POLICY_TOML.trim_end()),
            "comments and layout kept"
        );
        let planner = policy.planner_by_kid("k1_a").unwrap();
        assert_eq!(planner.name, "home");
        assert_eq!(
            planner.endpoint.as_deref(),
            Some("ws://127.0.0.1:7878/bridle")
        );

        let (text2, policy2) = add_planner(&text, &pairing("work", "k1_b")).unwrap();
        assert!(
            policy2.planner_by_kid("k1_a").is_some() && policy2.planner_by_kid("k1_b").is_some()
        );

        let (text3, policy3) = remove_planner(&text2, "home").unwrap();
        assert!(policy3.planner_by_kid("k1_a").is_none());
        assert!(policy3.planner_by_kid("k1_b").is_some());
        let (_, policy4) = remove_planner(&text3, "work").unwrap();
        assert!(policy4.planners.is_empty());
    }

    #[test]
    fn duplicates_and_unknown_names_are_refused() {
        let (text, _) = add_planner(DEFAULT_POLICY_TOML, &pairing("home", "k1_a")).unwrap();
        assert!(matches!(
            add_planner(&text, &pairing("home", "k1_z")),
            Err(EditError::Duplicate { .. })
        ));
        assert!(matches!(
            add_planner(&text, &pairing("other", "k1_a")),
            Err(EditError::Duplicate { .. })
        ));
        assert_eq!(
            remove_planner(&text, "nobody").unwrap_err(),
            EditError::NoSuchPlanner("nobody".into())
        );
    }

    #[test]
    fn an_invalid_pairing_is_refused_with_the_policy_errors() {
        let mut bad = pairing("home", "k1_a");
        bad.endpoint = "ws://planner.example.com/bridle".into();
        let Err(EditError::Invalid(errors)) = add_planner(DEFAULT_POLICY_TOML, &bad) else {
            panic!("a plain ws:// endpoint off loopback must be refused");
        };
        assert!(
            errors.iter().any(|e| e.path.contains("endpoint")),
            "{errors:?}"
        );
        let mut bad = pairing("home", "k1_a");
        bad.public_key = "short".into();
        assert!(matches!(
            add_planner(DEFAULT_POLICY_TOML, &bad),
            Err(EditError::Invalid(_))
        ));
    }

    #[test]
    fn a_policy_that_is_not_toml_is_refused() {
        assert!(matches!(
            add_planner("[[[", &pairing("a", "b")),
            Err(EditError::NotToml(_))
        ));
        assert_eq!(
            add_planner("planner = 3\n", &pairing("a", "b")).unwrap_err(),
            EditError::PlannerNotArray
        );
    }
}
