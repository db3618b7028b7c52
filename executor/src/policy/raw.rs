//! The policy file as TOML says it, before validation: serde structs that refuse unknown keys
//! and keep the span of every value that validation may need to point at.

use serde::{Deserialize, Deserializer};
use std::fmt;
use toml::Spanned;

/// A list whose entries each keep their place in the file.
pub type List = Spanned<Vec<Spanned<String>>>;

/// An integer or a float, as TOML writes numbers; validation checks the range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number(pub f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Number, E> {
                // Precision loss past 2^53 does not matter: every range check is far below.
                Ok(Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        d.deserialize_any(Visit)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    #[serde(default)]
    pub planner: Vec<RawPlanner>,
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub site: Vec<RawSite>,
    #[serde(default)]
    pub dataflow: RawDataflow,
    #[serde(default)]
    pub jobs: RawJobs,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlanner {
    pub name: Spanned<String>,
    pub kid: Spanned<String>,
    pub public_key: Spanned<String>,
    pub max_ttl: Spanned<String>,
    pub endpoint: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    pub approval: Option<Spanned<String>>,
    pub blocked_schemes: Option<List>,
    pub never_read: Option<List>,
    pub sensitive_words: Option<List>,
    pub max_steps: Option<Spanned<i64>>,
    pub max_duration: Option<Spanned<String>>,
    pub allow_css_targets: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAmount {
    pub currency: Spanned<String>,
    pub value: Spanned<Number>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStanding {
    pub verb: Spanned<String>,
    pub max_amount: Option<RawAmount>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSite {
    pub origin: Spanned<String>,
    pub allow: Option<List>,
    pub ask: Option<List>,
    pub deny: Option<List>,
    pub read_only: Option<Spanned<bool>>,
    pub approval: Option<Spanned<String>>,
    pub sensitive_words: Option<List>,
    pub max_amount: Option<RawAmount>,
    pub standing: Option<Spanned<Vec<RawStanding>>>,
    pub allow_css: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDataflow {
    pub cross_origin: Option<Spanned<String>>,
    #[serde(default)]
    pub rule: Vec<RawFlowRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlowRule {
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    pub action: Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJobs {
    pub runtimes: Option<List>,
    pub min_tier: Option<Spanned<String>>,
    pub max_cpu: Option<Spanned<Number>>,
    pub max_memory: Option<Spanned<String>>,
    pub max_wall: Option<Spanned<String>>,
    pub max_output: Option<Spanned<String>>,
    pub network: Option<bool>,
}
