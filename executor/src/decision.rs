//! The vocabulary of decisions: what a step's decision is, why, and the page facts it rests on.
//!
//! The decision function itself lives in [`crate::decide`]; the engine only needs these types,
//! so the same facts decide before the run (the plan preview, where page facts are unknown)
//! and again just before each step (with the facts read from the live page).

use bridle_dsl::Risk;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `allow`, `ask` or `deny`, ordered by strictness so combining decisions is `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Allow,
    Ask,
    Deny,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Ask => "ask",
            Outcome::Deny => "deny",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which authority a reason comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The capability token (a grant, or the lack of one).
    Token,
    /// The user's local policy (a default, a site rule, a standing grant, a data-flow rule).
    Policy,
    /// The script itself (the step's risk, its origins).
    Script,
    /// A fact read from the page (the element's name, an amount, where data was read).
    Page,
}

/// One link of a decision's chain of reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub source: Source,
    /// What this reason did to the decision.
    pub effect: Outcome,
    /// Lowercase, input in backticks: "site rule `https://shop.example` denies `submit`".
    pub text: String,
}

impl Reason {
    pub fn new(source: Source, effect: Outcome, text: impl Into<String>) -> Self {
        Reason {
            source,
            effect,
            text: text.into(),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match self.source {
            Source::Token => "token",
            Source::Policy => "policy",
            Source::Script => "script",
            Source::Page => "page",
        };
        write!(f, "{} ({source}): {}", self.effect, self.text)
    }
}

/// The decision for one step: the strictest outcome among its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub outcome: Outcome,
    /// The step's risk after page facts were considered (never lower than the checker's).
    pub risk: Risk,
    pub reasons: Vec<Reason>,
}

impl Decision {
    /// Reason texts in order, as printed in tables and written to the audit log.
    pub fn reason_texts(&self) -> Vec<String> {
        self.reasons.iter().map(ToString::to_string).collect()
    }
}

/// A money amount read from the page or written in a grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Amount {
    /// ISO 4217 code, uppercase (`EUR`).
    pub currency: String,
    pub value: f64,
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.currency)
    }
}

/// What the page says about the element a step resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementFacts {
    /// The computed ARIA role.
    pub role: String,
    /// The computed accessible name.
    pub name: String,
    /// The origin of the frame the element is in.
    pub frame_origin: String,
    /// A digest of role, name, box and frame; the actuator refuses to act when it changed.
    pub fingerprint: String,
    /// The kind of field when it is one the policy may mark never-read (`password`,
    /// `card-number`, `one-time-code`), from its type and autocomplete tokens.
    pub field_kind: Option<String>,
}

/// The facts a decision rests on. Before the run most are unknown (`None`/empty); just before
/// a step the engine fills them from the live page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// The full URL the step acts on: the page's URL, or for `navigate`/`open tab` the
    /// destination.
    pub url: Option<String>,
    /// The element the target resolved to.
    pub element: Option<ElementFacts>,
    /// An amount shown on the page (a total, a price) before a high-risk step.
    pub amount: Option<Amount>,
    /// Origins on which the data this step writes was read.
    pub read_origins: Vec<String>,
    /// Steps already executed in this run (for `max_steps`).
    pub steps_done: u64,
}
