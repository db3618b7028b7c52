//! The typed, validated policy: what the decision function reads. Nothing here is built from
//! unchecked input; [`super::Policy::from_toml`] is the only way in from a file.

use super::origin::{Origin, OriginPattern};
use crate::decision::{Amount, Outcome};
use bridle_dsl::ast::SandboxTier;
use bridle_dsl::{Risk, Verb};
use ed25519_dalek::VerifyingKey;
use std::fmt;
use time::Duration;

/// A planner the user trusts: its tokens are verified with `verifying_key` when their
/// footer names `kid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planner {
    /// Shown to the user; a token's `iss` must equal it.
    pub name: String,
    pub kid: String,
    /// A valid, non-weak Ed25519 point.
    pub verifying_key: VerifyingKey,
    /// The longest `exp - iat` a token of this planner may have.
    pub max_ttl: Duration,
    /// Where the planner is reached: `wss://…`, or `ws://` to a loopback host.
    pub endpoint: Option<String>,
    /// Line of the `name` key in the policy file, for reasons and messages.
    pub line: usize,
}

impl Planner {
    /// The 32 raw bytes of the public key.
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.verifying_key.to_bytes()
    }
}

/// A kind of form field the executor recognises on the page, for `never_read`. Recognition
/// (done by the page side, documented in `docs/policy.md`) uses the field's `type` and its
/// `autocomplete` tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldKind {
    Password,
    CardNumber,
    CardCvc,
    CardExpiry,
    OneTimeCode,
    Email,
    Tel,
    Birthday,
}

impl FieldKind {
    pub const ALL: &'static [FieldKind] = &[
        FieldKind::Password,
        FieldKind::CardNumber,
        FieldKind::CardCvc,
        FieldKind::CardExpiry,
        FieldKind::OneTimeCode,
        FieldKind::Email,
        FieldKind::Tel,
        FieldKind::Birthday,
    ];

    /// Kinds that are never read whatever the policy file says: the policy can add kinds,
    /// never remove these.
    pub const ALWAYS: &'static [FieldKind] = &[
        FieldKind::Password,
        FieldKind::CardNumber,
        FieldKind::CardCvc,
        FieldKind::OneTimeCode,
    ];

    /// The word the policy writes.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Password => "password",
            FieldKind::CardNumber => "card-number",
            FieldKind::CardCvc => "card-cvc",
            FieldKind::CardExpiry => "card-expiry",
            FieldKind::OneTimeCode => "one-time-code",
            FieldKind::Email => "email",
            FieldKind::Tel => "tel",
            FieldKind::Birthday => "birthday",
        }
    }

    pub fn parse(word: &str) -> Option<FieldKind> {
        FieldKind::ALL.iter().copied().find(|k| k.as_str() == word)
    }

    /// The HTML `autocomplete` field names that identify the kind.
    pub fn autocomplete_tokens(self) -> &'static [&'static str] {
        match self {
            FieldKind::Password => &["current-password", "new-password"],
            FieldKind::CardNumber => &["cc-number"],
            FieldKind::CardCvc => &["cc-csc"],
            FieldKind::CardExpiry => &["cc-exp", "cc-exp-month", "cc-exp-year"],
            FieldKind::OneTimeCode => &["one-time-code"],
            FieldKind::Email => &["email"],
            FieldKind::Tel => &["tel", "tel-national", "tel-local"],
            FieldKind::Birthday => &["bday", "bday-day", "bday-month", "bday-year"],
        }
    }

    /// The `<input type>` that identifies the kind on its own, when there is one.
    pub fn input_type(self) -> Option<&'static str> {
        match self {
            FieldKind::Password => Some("password"),
            FieldKind::Email => Some("email"),
            FieldKind::Tel => Some("tel"),
            _ => None,
        }
    }
}

impl fmt::Display for FieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// URL schemes that are blocked whatever the policy file says; `blocked_schemes` adds to
/// them. Each one reaches the browser's or an extension's privileged pages, the local disk,
/// or runs code (`javascript:`) or content the page controls (`data:`, `blob:`).
pub const ALWAYS_BLOCKED_SCHEMES: &[&str] = &[
    "file",
    "chrome",
    "about",
    "javascript",
    "data",
    "blob",
    "filesystem",
    "chrome-extension",
    "moz-extension",
    "safari-web-extension",
    "view-source",
];

/// `[defaults]`: what holds everywhere unless a site rule tightens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// Steps of this risk or higher ask the user. At most `high`: high-risk steps always ask
    /// unless a standing grant covers them.
    pub approval: Risk,
    /// Every blocked scheme: [`ALWAYS_BLOCKED_SCHEMES`] plus the file's, sorted, lowercase.
    pub blocked_schemes: Vec<String>,
    /// Every never-read field kind: [`FieldKind::ALWAYS`] plus the file's, sorted.
    pub never_read: Vec<FieldKind>,
    /// Extra sensitive words (lowercase), on top of the language's defaults.
    pub sensitive_words: Vec<String>,
    /// Most steps one run may execute.
    pub max_steps: u64,
    /// Longest one run may take.
    pub max_duration: Duration,
    /// Whether `css "…"` targets may be used at all.
    pub allow_css_targets: bool,
}

/// The values the shipped `policies/default.toml` writes out; a test keeps them equal.
pub const DEFAULT_APPROVAL: Risk = Risk::High;
pub const DEFAULT_MAX_STEPS: u64 = 500;
pub const DEFAULT_MAX_DURATION: Duration = Duration::minutes(10);
pub const DEFAULT_ALLOW_CSS_TARGETS: bool = true;

impl Default for Defaults {
    fn default() -> Self {
        let mut blocked_schemes: Vec<String> = ALWAYS_BLOCKED_SCHEMES
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        blocked_schemes.sort();
        Defaults {
            approval: DEFAULT_APPROVAL,
            blocked_schemes,
            never_read: FieldKind::ALWAYS.to_vec(),
            sensitive_words: Vec::new(),
            max_steps: DEFAULT_MAX_STEPS,
            max_duration: DEFAULT_MAX_DURATION,
            allow_css_targets: DEFAULT_ALLOW_CSS_TARGETS,
        }
    }
}

/// Verbs a `read_only` site permits: reading, waiting, control flow, navigation, and the
/// steps where the user, not the agent, acts. Everything else is denied there.
pub const READ_ONLY_VERBS: &[Verb] = &[
    Verb::Navigate,
    Verb::Back,
    Verb::Forward,
    Verb::Reload,
    Verb::OpenTab,
    Verb::SwitchTab,
    Verb::CloseTab,
    Verb::Hover,
    Verb::ScrollTo,
    Verb::Let,
    Verb::Wait,
    Verb::Assert,
    Verb::If,
    Verb::Repeat,
    Verb::ForEach,
    Verb::Note,
    Verb::Return,
    Verb::Confirm,
    Verb::Handoff,
];

/// Verbs a standing grant can never cover: they exist to put the user in the loop.
pub const NEVER_STANDING: &[Verb] = &[Verb::Confirm, Verb::Handoff];

/// "Allow `verb` here without asking", optionally only up to an amount.
#[derive(Debug, Clone, PartialEq)]
pub struct StandingGrant {
    pub verb: Verb,
    /// When set, the grant applies only when the executor read an amount on the page in
    /// this currency and at most this value.
    pub max_amount: Option<Amount>,
}

/// One `[[site]]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRule {
    pub origin: OriginPattern,
    /// When present, acting verbs outside `allow`, `ask` and `standing` are denied here.
    pub allow: Option<Vec<Verb>>,
    /// Verbs that always ask here, whatever their risk.
    pub ask: Vec<Verb>,
    /// Verbs denied here.
    pub deny: Vec<Verb>,
    /// Only [`READ_ONLY_VERBS`] are permitted.
    pub read_only: bool,
    /// The approval threshold here (the most specific rule setting one wins, but it is
    /// never looser than `[defaults]`).
    pub approval: Option<Risk>,
    /// Extra sensitive words for steps here.
    pub sensitive_words: Vec<String>,
    /// Amounts above this are denied here (the most specific rule setting one wins).
    pub max_amount: Option<Amount>,
    /// Standing grants; only on exact origins.
    pub standing: Vec<StandingGrant>,
    /// Overrides `allow_css_targets` here (the most specific rule setting it wins).
    pub allow_css: Option<bool>,
    /// Position among the `[[site]]` tables (0-based) and line of its `origin`.
    pub index: usize,
    pub line: usize,
}

/// Why one site rule has a say about a verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteReason {
    /// The verb is in `deny`.
    Denied,
    /// The site is `read_only` and the verb is not a reading one.
    ReadOnly,
    /// The rule has an `allow` list and the verb is an acting verb not in it.
    NotAllowed,
    /// The verb is in `ask`.
    AskListed,
    /// The verb is in `allow` (permitted; its risk still applies).
    Allowed,
    /// A standing grant for the verb exists here (permitted; see [`StandingGrant`]).
    Standing,
}

impl SiteRule {
    /// What this rule alone says about `verb`, or `None` when it says nothing.
    pub fn verdict(&self, verb: Verb) -> Option<(Outcome, SiteReason)> {
        if self.deny.contains(&verb) {
            return Some((Outcome::Deny, SiteReason::Denied));
        }
        if self.read_only && !READ_ONLY_VERBS.contains(&verb) {
            return Some((Outcome::Deny, SiteReason::ReadOnly));
        }
        if self.ask.contains(&verb) {
            return Some((Outcome::Ask, SiteReason::AskListed));
        }
        if self.standing_for(verb).is_some() {
            return Some((Outcome::Allow, SiteReason::Standing));
        }
        match &self.allow {
            Some(list) if list.contains(&verb) => Some((Outcome::Allow, SiteReason::Allowed)),
            // Reading, waiting and control flow do not act on the page, so an allow list of
            // acting verbs does not need to spell them out.
            Some(_) if verb.acts() => Some((Outcome::Deny, SiteReason::NotAllowed)),
            _ => None,
        }
    }

    /// The standing grant for `verb` in this rule, if any.
    pub fn standing_for(&self, verb: Verb) -> Option<&StandingGrant> {
        self.standing.iter().find(|g| g.verb == verb)
    }
}

/// One rule's say in a [`SiteDecision`].
#[derive(Debug, Clone, PartialEq)]
pub struct SiteMatch<'a> {
    pub rule: &'a SiteRule,
    pub outcome: Outcome,
    pub reason: SiteReason,
}

impl fmt::Display for SiteMatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = &self.rule.origin;
        let line = self.rule.line;
        match self.reason {
            SiteReason::Denied => write!(f, "site rule `{origin}` (line {line}) denies it"),
            SiteReason::ReadOnly => write!(f, "site `{origin}` is read-only (line {line})"),
            SiteReason::NotAllowed => {
                write!(f, "site rule `{origin}` (line {line}) does not allow it")
            }
            SiteReason::AskListed => {
                write!(f, "site rule `{origin}` (line {line}) always asks for it")
            }
            SiteReason::Allowed => write!(f, "site rule `{origin}` (line {line}) allows it"),
            SiteReason::Standing => {
                write!(
                    f,
                    "site rule `{origin}` (line {line}) has a standing grant for it"
                )
            }
        }
    }
}

/// What the site rules matching an origin say about a verb: the most specific rule that has
/// a say decides (so `https://staging.example.dev` can allow what `https://*.example.dev`
/// denies), and `allow` when no rule has one.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteDecision<'a> {
    pub outcome: Outcome,
    /// Every rule that had a say, most specific first: the first decided, the others were
    /// overridden by it (kept so that reasons can show them).
    pub matches: Vec<SiteMatch<'a>>,
}

impl SiteDecision<'_> {
    /// The rule that decided, if any had a say.
    pub fn deciding(&self) -> Option<&SiteMatch<'_>> {
        self.matches.first()
    }
}

/// `[dataflow]`: may data read on one origin be written on another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataflow {
    /// `ask` (default) or `deny` for cross-origin flows that no rule covers.
    pub cross_origin: Outcome,
    pub rules: Vec<FlowRule>,
}

impl Default for Dataflow {
    fn default() -> Self {
        Dataflow {
            cross_origin: Outcome::Ask,
            rules: Vec::new(),
        }
    }
}

/// One `[[dataflow.rule]]`: the action for data read on `from` and written on `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRule {
    pub from: OriginPattern,
    pub to: OriginPattern,
    /// `allow` only between exact origins; `ask` or `deny` with any patterns.
    pub action: Outcome,
    pub line: usize,
}

/// The data-flow verdict for one pair of origins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowDecision<'a> {
    pub outcome: Outcome,
    /// The rule that decided, or `None` for the same origin or the `cross_origin` default.
    pub rule: Option<&'a FlowRule>,
}

impl Dataflow {
    /// The verdict for data read on `from` written on `to` (URLs or origins). The same
    /// origin is always allowed. Among matching rules the most specific decides: more exact
    /// sides first, then longer wildcard suffixes, then the strictest action; with none,
    /// `cross_origin` decides. Texts without a web origin are never "the same origin".
    pub fn decide(&self, from: &str, to: &str) -> FlowDecision<'_> {
        let fallback = FlowDecision {
            outcome: self.cross_origin,
            rule: None,
        };
        let (Ok(from), Ok(to)) = (Origin::parse(from), Origin::parse(to)) else {
            return fallback;
        };
        if from == to {
            return FlowDecision {
                outcome: Outcome::Allow,
                rule: None,
            };
        }
        self.rules
            .iter()
            .filter(|r| r.from.matches_origin(&from) && r.to.matches_origin(&to))
            .max_by_key(|r| (r.specificity(), r.action, std::cmp::Reverse(r.line)))
            .map_or(fallback, |rule| FlowDecision {
                outcome: rule.action,
                rule: Some(rule),
            })
    }
}

impl FlowRule {
    /// How many sides are exact origins, then how many labels the wildcard sides name.
    fn specificity(&self) -> (usize, usize) {
        [&self.from, &self.to]
            .iter()
            .fold((0, 0), |(exact, labels), p| match p.specificity() {
                (true, _) => (exact + 1, labels),
                (false, n) => (exact, labels + n),
            })
    }
}

/// `[jobs]`: what the native host may run. No runtimes means no jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Jobs {
    pub runtimes: Vec<String>,
    /// The weakest sandbox a job may run in.
    pub min_tier: SandboxTier,
    /// Most CPUs (fractions allowed).
    pub max_cpu: f64,
    pub max_memory: u64,
    pub max_wall: Duration,
    /// Most bytes of stdout plus stderr returned; the rest is cut.
    pub max_output: u64,
    /// Whether a job may have network access at all (the token must grant it too).
    pub network: bool,
}

pub const DEFAULT_JOB_TIER: SandboxTier = SandboxTier::Microvm;
pub const DEFAULT_JOB_CPU: f64 = 1.0;
pub const DEFAULT_JOB_MEMORY: u64 = 256 * 1024 * 1024;
pub const DEFAULT_JOB_WALL: Duration = Duration::seconds(30);
pub const DEFAULT_JOB_OUTPUT: u64 = 1024 * 1024;

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            runtimes: Vec::new(),
            min_tier: DEFAULT_JOB_TIER,
            max_cpu: DEFAULT_JOB_CPU,
            max_memory: DEFAULT_JOB_MEMORY,
            max_wall: DEFAULT_JOB_WALL,
            max_output: DEFAULT_JOB_OUTPUT,
            network: false,
        }
    }
}

impl Jobs {
    /// Whether jobs are enabled at all.
    pub fn enabled(&self) -> bool {
        !self.runtimes.is_empty()
    }

    pub fn allows_runtime(&self, runtime: &str) -> bool {
        self.runtimes.iter().any(|r| r == runtime)
    }

    /// Whether a sandbox of `tier` is strong enough.
    pub fn allows_tier(&self, tier: SandboxTier) -> bool {
        tier >= self.min_tier
    }
}

/// The policy's word for a sandbox tier.
pub fn tier_name(tier: SandboxTier) -> &'static str {
    match tier {
        SandboxTier::Container => "container",
        SandboxTier::Microvm => "microvm",
    }
}

/// A sandbox tier from the policy's word.
pub fn parse_tier(word: &str) -> Option<SandboxTier> {
    match word {
        "container" => Some(SandboxTier::Container),
        "microvm" => Some(SandboxTier::Microvm),
        _ => None,
    }
}

/// Whether `amount` is at most `ceiling`: `None` when the currencies differ (and so cannot
/// be compared; the caller decides, and the documented choice is to ask).
pub fn within(amount: &Amount, ceiling: &Amount) -> Option<bool> {
    (amount.currency == ceiling.currency).then_some(amount.value <= ceiling.value)
}
