//! The user's local policy: a TOML file that is the ceiling on everything a planner can do.
//! A token only narrows what the policy allows, never widens it.
//!
//! Two passes, each its own module: text → [`raw`] (serde structs that refuse unknown keys
//! and keep spans) → [`validate`] → [`Policy`] (typed, every value checked). Errors point at
//! the line, column and key path, with a help ([`PolicyError`]). The format is documented
//! in `docs/policy.md`; `policies/default.toml` is the shipped default.

mod de;
pub mod edit;
mod error;
pub mod limits;
mod model;
mod origin;
mod raw;
mod suggest;
pub mod units;
mod validate;

/// Every key path of the format (array entries written `[]`) and what it holds; the options
/// page can build its editor from it, and a test checks `docs/policy.md` names every key.
pub use de::SCHEMA as POLICY_KEYS;
pub use error::{line_column, PolicyError, PolicyErrorKind};
pub use model::*;
pub use origin::{is_loopback_host, HostPattern, Origin, OriginPattern, OriginProblem, Scheme};

use crate::decision::{Amount, Outcome};
use bridle_dsl::{Risk, RiskOptions, Verb};

/// The shipped default policy, embedded so that an executor without a policy file still
/// runs with safe settings.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../../policies/default.toml");

/// A validated local policy. Build it with [`Policy::from_toml`]; the fields are public for
/// reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Trusted planners; empty until the user pairs one.
    pub planners: Vec<Planner>,
    pub defaults: Defaults,
    /// Site rules in file order (see [`Policy::sites_for`] for the matching order).
    pub sites: Vec<SiteRule>,
    pub dataflow: Dataflow,
    pub jobs: Jobs,
}

impl Default for Policy {
    /// The built-in defaults: what `policies/default.toml` says (a test keeps them equal).
    fn default() -> Self {
        Policy {
            planners: Vec::new(),
            defaults: Defaults::default(),
            sites: Vec::new(),
            dataflow: Dataflow::default(),
            jobs: Jobs::default(),
        }
    }
}

/// How an amount read on the page compares to the ceiling that applies at its origin.
#[derive(Debug, Clone, PartialEq)]
pub enum AmountVerdict<'a> {
    /// No matching rule has a `max_amount`.
    NoCeiling,
    /// At or under the ceiling.
    Within,
    /// Over a ceiling: the documented outcome is deny.
    Over {
        rule: &'a SiteRule,
        ceiling: &'a Amount,
    },
    /// A ceiling in another currency, so no comparison is possible: the documented outcome
    /// is ask.
    OtherCurrency {
        rule: &'a SiteRule,
        ceiling: &'a Amount,
    },
}

impl Policy {
    /// Parses and validates a policy file. On failure, the first problem in file order.
    pub fn from_toml(src: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml_all(src).map_err(|errors| {
            // The list is never empty; the fallback only keeps this free of a panic path.
            errors.into_iter().next().unwrap_or_else(|| {
                PolicyError::new(
                    PolicyErrorKind::Syntax {
                        detail: "the policy could not be read".to_owned(),
                    },
                    "",
                    None,
                    src,
                )
            })
        })
    }

    /// Parses and validates a policy file, reporting every problem validation finds (a TOML
    /// syntax or type error stops at the first, since nothing after it can be trusted). The
    /// error list is never empty.
    pub fn from_toml_all(src: &str) -> Result<Policy, Vec<PolicyError>> {
        if src.len() > limits::MAX_POLICY_BYTES {
            return Err(vec![too_large(src.len(), src)]);
        }
        let deserializer = toml::Deserializer::new(src);
        let raw: raw::RawPolicy = serde_path_to_error::deserialize(deserializer)
            .map_err(|e| vec![de::translate(e, src)])?;
        validate::validate(&raw, src)
    }

    /// Like [`Policy::from_toml`] for raw bytes: the size is checked before UTF-8.
    pub fn from_bytes(bytes: &[u8]) -> Result<Policy, PolicyError> {
        if bytes.len() > limits::MAX_POLICY_BYTES {
            return Err(too_large(bytes.len(), ""));
        }
        let src = std::str::from_utf8(bytes).map_err(|e| {
            PolicyError::new(
                PolicyErrorKind::NotUtf8 {
                    at: e.valid_up_to(),
                },
                "",
                None,
                "",
            )
            .with_help("save the policy as UTF-8 text")
        })?;
        Policy::from_toml(src)
    }

    /// The shipped `policies/default.toml`. It is parsed on each call; should it ever fail to
    /// parse (a test makes sure it does not), the equal built-in defaults are used.
    pub fn default_policy() -> Policy {
        Policy::from_toml(DEFAULT_POLICY_TOML).unwrap_or_default()
    }

    /// The trusted planner whose key id is `kid`.
    pub fn planner_by_kid(&self, kid: &str) -> Option<&Planner> {
        self.planners.iter().find(|p| p.kid == kid)
    }

    /// Every site rule whose pattern matches `url_or_origin`, most specific first: exact
    /// origins, then wildcards with more labels, then fewer; ties keep file order. A text with
    /// no web origin matches no rule.
    pub fn sites_for<'a>(&'a self, url_or_origin: &str) -> impl Iterator<Item = &'a SiteRule> {
        let mut matching: Vec<&SiteRule> = match Origin::parse(url_or_origin) {
            Ok(origin) => self
                .sites
                .iter()
                .filter(|s| s.origin.matches_origin(&origin))
                .collect(),
            Err(_) => Vec::new(),
        };
        matching.sort_by_key(|s| std::cmp::Reverse(s.origin.specificity()));
        matching.into_iter()
    }

    /// What the site rules say about `verb` at `url_or_origin`: the most specific matching
    /// rule that has a say decides, `allow` when none has one. This is only the site rules'
    /// part; the risk threshold, the token and the other rules are the decision function's.
    pub fn site_decision(&self, url_or_origin: &str, verb: Verb) -> SiteDecision<'_> {
        let matches: Vec<SiteMatch<'_>> = self
            .sites_for(url_or_origin)
            .filter_map(|rule| {
                rule.verdict(verb).map(|(outcome, reason)| SiteMatch {
                    rule,
                    outcome,
                    reason,
                })
            })
            .collect();
        let outcome = matches.first().map_or(Outcome::Allow, |m| m.outcome);
        SiteDecision { outcome, matches }
    }

    /// The standing grant for `verb` at exactly this origin, if the user holds one. Only exact
    /// origin rules can hold them.
    pub fn standing_grant(
        &self,
        url_or_origin: &str,
        verb: Verb,
    ) -> Option<(&SiteRule, &StandingGrant)> {
        self.sites_for(url_or_origin)
            .filter(|s| s.origin.is_exact())
            .find_map(|s| s.standing_for(verb).map(|g| (s, g)))
    }

    /// The approval threshold at `url_or_origin`: the most specific matching rule that sets
    /// `approval`, but never looser than `[defaults]` (so a site can only make asking more
    /// frequent).
    pub fn approval_for(&self, url_or_origin: &str) -> Risk {
        self.sites_for(url_or_origin)
            .find_map(|s| s.approval)
            .map_or(self.defaults.approval, |r| r.min(self.defaults.approval))
    }

    /// Compares an amount read on the page with the `max_amount` of the most specific
    /// matching rule that sets one.
    pub fn check_amount(&self, url_or_origin: &str, amount: &Amount) -> AmountVerdict<'_> {
        let ceiling = self
            .sites_for(url_or_origin)
            .find_map(|rule| rule.max_amount.as_ref().map(|c| (rule, c)));
        match ceiling {
            None => AmountVerdict::NoCeiling,
            Some((rule, ceiling)) => match within(amount, ceiling) {
                Some(true) => AmountVerdict::Within,
                Some(false) => AmountVerdict::Over { rule, ceiling },
                None => AmountVerdict::OtherCurrency { rule, ceiling },
            },
        }
    }

    /// Whether `css "…"` targets may be used at `url_or_origin`: the most specific matching
    /// rule's `allow_css`, else `allow_css_targets`.
    pub fn allow_css_for(&self, url_or_origin: &str) -> bool {
        self.sites_for(url_or_origin)
            .find_map(|s| s.allow_css)
            .unwrap_or(self.defaults.allow_css_targets)
    }

    /// The language's sensitive words plus `[defaults].sensitive_words`.
    pub fn risk_options(&self) -> RiskOptions {
        RiskOptions::with_extra_words(&self.defaults.sensitive_words)
    }

    /// [`Policy::risk_options`] plus the sensitive words of the rules matching `url_or_origin`.
    pub fn risk_options_for(&self, url_or_origin: &str) -> RiskOptions {
        let site_words = self
            .sites_for(url_or_origin)
            .flat_map(|s| s.sensitive_words.iter());
        RiskOptions::with_extra_words(self.defaults.sensitive_words.iter().chain(site_words))
    }

    /// Whether navigation to `url` is refused for its scheme: one of the always-blocked
    /// schemes or `blocked_schemes`. A text that does not parse as an absolute URL is blocked
    /// too (fail closed); the scheme is read the way a browser reads it (case and leading
    /// spaces, tabs and newlines ignored).
    pub fn is_blocked_scheme(&self, url: &str) -> bool {
        match url::Url::parse(url) {
            Ok(url) => self
                .defaults
                .blocked_schemes
                .iter()
                .any(|s| s == url.scheme()),
            Err(_) => true,
        }
    }

    /// Whether fields of `kind` may never be read.
    pub fn never_reads(&self, kind: FieldKind) -> bool {
        self.defaults.never_read.contains(&kind)
    }
}

/// Token verification looks trusted planners up through the policy.
impl crate::token::TrustedKeys for Policy {
    fn planner(&self, kid: &str) -> Option<crate::token::TrustedPlanner<'_>> {
        self.planner_by_kid(kid)
            .map(|p| crate::token::TrustedPlanner {
                name: &p.name,
                public_key: &p.verifying_key,
                max_ttl: p.max_ttl,
            })
    }
}

fn too_large(size: usize, src: &str) -> PolicyError {
    PolicyError::new(
        PolicyErrorKind::TooLarge {
            size,
            limit: limits::MAX_POLICY_BYTES,
        },
        "",
        None,
        src,
    )
    .with_help("a policy is a few KB; remove unused site rules or use wildcard origins")
}

#[cfg(test)]
mod tests;
