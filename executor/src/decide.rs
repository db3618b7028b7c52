//! The decision function: for one step, the verified token ∩ the local policy ∩ the page facts
//! → `allow`, `ask` or `deny`, with every reason that contributed.
//!
//! ```text
//! decision(step) = deny  if the token does not grant it, or the policy (or script) denies it
//!                  ask   if risk >= the approval threshold (and no standing grant covers it),
//!                        or a rule says ask
//!                  allow otherwise
//! ```
//!
//! The outcome is the strictest reason's effect, so a token can only narrow what the policy
//! allows: nothing a grant says can lift a policy `deny` or `ask`. The same function decides
//! before the run (the plan preview, where page facts are unknown) and again just before each
//! step with the facts read from the live page.

use crate::decision::{Amount, Decision, Facts, Outcome, Reason, Source};
use crate::policy::{within, AmountVerdict, FieldKind, OriginPattern, Policy};
use crate::token::{Grant, VerifiedToken};
use bridle_dsl::ast::{Expr, Job, Line, SandboxTier, StmtKind, TargetBase};
use bridle_dsl::{Checked, Risk, Step, Verb};

/// Everything a decision depends on besides the step and the page facts.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub checked: &'a Checked,
    pub token: &'a VerifiedToken,
    pub policy: &'a Policy,
    /// Each grant's origin patterns, parsed once per run rather than once per step.
    grant_origins: Vec<Option<Vec<OriginPattern>>>,
}

impl<'a> Context<'a> {
    pub fn new(checked: &'a Checked, token: &'a VerifiedToken, policy: &'a Policy) -> Self {
        // Verification already refused malformed patterns; one that still fails to parse
        // here matches nothing (fail closed).
        let grant_origins = token
            .grants()
            .iter()
            .map(|g| {
                g.origins.as_ref().map(|list| {
                    list.iter()
                        .filter_map(|p| OriginPattern::parse(p).ok())
                        .collect()
                })
            })
            .collect();
        Context {
            checked,
            token,
            policy,
            grant_origins,
        }
    }
}

/// Decides one step. A step on a page whose URL is not among the facts (a plan preview) is
/// decided for each of the script's origins and the strictest result kept, each reason
/// saying which origin it is about. Steps that touch no page (`note`, `return`, `confirm`,
/// `job`, reading a variable) are decided once, without an origin.
pub fn decide(ctx: &Context<'_>, step: &Step, facts: &Facts) -> Decision {
    if !touches_page(step) {
        return decide_at(ctx, step, facts, None);
    }
    if let Some(url) = acting_url(ctx.checked, step, facts) {
        return decide_at(ctx, step, facts, Some(&url));
    }
    // A preview: the page is most likely where the last navigation before the step went.
    // The run decides again with the real URL, so this only shapes the plan shown.
    if facts.url.is_none() {
        if let Some((index, origin)) = expected_origin(ctx.checked, step) {
            let mut d = decide_at(ctx, step, facts, Some(&origin));
            d.reasons.insert(
                0,
                Reason::new(
                    Source::Script,
                    Outcome::Allow,
                    format!("expected on `{origin}`, where step {index} navigated"),
                ),
            );
            return d;
        }
    }
    let origins = &ctx.checked.origins;
    let mut merged: Option<Decision> = None;
    for origin in origins {
        let mut d = decide_at(ctx, step, facts, Some(origin));
        if origins.len() > 1 {
            let named = format!("`{origin}`");
            for reason in d.reasons.iter_mut().filter(|r| !r.text.contains(&named)) {
                reason.text = format!("at {named}: {}", reason.text);
            }
        }
        merged = Some(match merged {
            None => d,
            Some(m) => merge(m, d),
        });
    }
    merged.unwrap_or_else(|| Decision {
        outcome: Outcome::Deny,
        risk: step.risk,
        reasons: vec![Reason::new(
            Source::Script,
            Outcome::Deny,
            "the script names no origin",
        )],
    })
}

/// Where a step acts: the element's frame when it is in a frame of another origin than the
/// page, else the page's URL; before the run, the target's `in frame` origin or the URL a
/// navigation goes to. `None` when only the run can tell.
fn acting_url(checked: &Checked, step: &Step, facts: &Facts) -> Option<String> {
    if let Some(element) = &facts.element {
        let page_origin = facts.url.as_deref().and_then(origin_of);
        if page_origin.as_deref() != Some(element.frame_origin.as_str()) {
            return Some(element.frame_origin.clone());
        }
    }
    facts
        .url
        .clone()
        .or_else(|| {
            step.target
                .as_ref()
                .and_then(|t| t.frame.as_ref())
                .map(|f| f.node.clone())
        })
        .or_else(|| url_of_navigation(checked, step))
        .or_else(|| step.url_origin.clone())
}

/// The origin of the last `navigate` or `open tab` before the step, and that step's index.
fn expected_origin(checked: &Checked, step: &Step) -> Option<(usize, String)> {
    checked.steps[..step.index.saturating_sub(1).min(checked.steps.len())]
        .iter()
        .rev()
        .find(|s| matches!(s.verb, Verb::Navigate | Verb::OpenTab))
        .and_then(|s| s.url_origin.clone().map(|o| (s.index, o)))
}

/// Whether a step acts on, or reads from, a page (and so has an origin to be decided at).
fn touches_page(step: &Step) -> bool {
    step.target.is_some()
        || step.url_origin.is_some()
        || matches!(
            step.verb,
            Verb::Navigate
                | Verb::Back
                | Verb::Forward
                | Verb::Reload
                | Verb::OpenTab
                | Verb::SwitchTab
                | Verb::CloseTab
                | Verb::Press
        )
}

/// Keeps the stricter outcome and the higher risk, and the reasons of both (without repeats).
fn merge(mut a: Decision, b: Decision) -> Decision {
    a.outcome = a.outcome.max(b.outcome);
    a.risk = a.risk.max(b.risk);
    for reason in b.reasons {
        if !a.reasons.contains(&reason) {
            a.reasons.push(reason);
        }
    }
    a
}

/// The literal URL of a `navigate` or `open tab` step, when it has no interpolation.
fn url_of_navigation(checked: &Checked, step: &Step) -> Option<String> {
    match &statement_of(checked, step)?.kind {
        StmtKind::Navigate(url) | StmtKind::OpenTab(url) => url.as_literal(),
        _ => None,
    }
}

/// The statement a step stands for (steps are identified by where their statement starts).
pub fn statement_of<'a>(checked: &'a Checked, step: &Step) -> Option<&'a bridle_dsl::ast::Stmt> {
    fn find(lines: &[Line], start: usize) -> Option<&bridle_dsl::ast::Stmt> {
        lines.iter().find_map(|line| {
            let Line::Stmt(stmt) = line else { return None };
            if stmt.span.start == start {
                return Some(stmt);
            }
            if start < stmt.span.start || start >= stmt.span.end {
                return None;
            }
            match &stmt.kind {
                StmtKind::If {
                    then, otherwise, ..
                } => find(&then.lines, start)
                    .or_else(|| otherwise.as_ref().and_then(|b| find(&b.lines, start))),
                StmtKind::Repeat { body, .. } | StmtKind::ForEach { body, .. } => {
                    find(&body.lines, start)
                }
                _ => None,
            }
        })
    }
    find(&checked.script.lines, step.span.start)
}

/// The job a `job` step runs (as a statement or as the value of `let`).
pub fn job_of<'a>(checked: &'a Checked, step: &Step) -> Option<&'a Job> {
    match &statement_of(checked, step)?.kind {
        StmtKind::Job(job) => Some(job),
        StmtKind::Let {
            value: Expr::Job(job),
            ..
        } => Some(job),
        _ => None,
    }
}

/// The sandbox a job runs in when the script does not say: the strongest.
pub const DEFAULT_JOB_SANDBOX: SandboxTier = SandboxTier::Microvm;

/// Collects reasons; the decision's outcome is the strictest effect among them.
struct Chain {
    reasons: Vec<Reason>,
}

impl Chain {
    fn push(&mut self, source: Source, effect: Outcome, text: impl Into<String>) {
        self.reasons.push(Reason::new(source, effect, text));
    }

    fn outcome(&self) -> Outcome {
        self.reasons
            .iter()
            .map(|r| r.effect)
            .max()
            .unwrap_or(Outcome::Allow)
    }
}

fn decide_at(ctx: &Context<'_>, step: &Step, facts: &Facts, url: Option<&str>) -> Decision {
    let mut chain = Chain {
        reasons: Vec::new(),
    };
    let mut risk = step.risk;
    let Some(url) = url else {
        let at = At {
            step,
            facts,
            url: None,
            origin: None,
            risk,
        };
        decide_token(ctx, at, &mut chain);
        decide_off_page(ctx, step, facts, &mut chain);
        return Decision {
            outcome: chain.outcome(),
            risk,
            reasons: chain.reasons,
        };
    };
    let verb = step.verb;
    let origin = origin_of(url);

    // ---- the script: its own closed set of origins ----
    match &origin {
        Some(origin) if ctx.checked.origins.iter().any(|o| o == origin) => {}
        Some(origin) => chain.push(
            Source::Script,
            Outcome::Deny,
            format!("`{origin}` is not among the script's origins"),
        ),
        None => chain.push(
            Source::Script,
            Outcome::Deny,
            format!("`{url}` has no web origin"),
        ),
    }
    if let Some(element) = &facts.element {
        if !ctx.checked.origins.contains(&element.frame_origin) {
            chain.push(
                Source::Page,
                Outcome::Deny,
                format!(
                    "the element is in a frame of `{}`, which is not among the script's origins",
                    element.frame_origin
                ),
            );
        }
    }
    if matches!(verb, Verb::Navigate | Verb::OpenTab) && ctx.policy.is_blocked_scheme(url) {
        chain.push(
            Source::Policy,
            Outcome::Deny,
            format!("the scheme of `{url}` is blocked"),
        );
    }

    // ---- risk raised by page facts ----
    // Only steps that act can be raised by a name, so only they pay for the word list.
    let risk_words = verb.acts().then(|| ctx.policy.risk_options_for(url));
    let risk_words = risk_words.as_ref();
    if let (Some(element), Some(risk_words)) = (&facts.element, risk_words) {
        if let Some(word) = risk_words.sensitive_word_in(&element.name) {
            if risk < Risk::High {
                risk = Risk::High;
            }
            chain.push(
                Source::Page,
                Outcome::Allow,
                format!(
                    "the element's name on the page, `{}`, contains the sensitive word `{word}`",
                    element.name
                ),
            );
        }
    }
    if let (Some(target), Some(risk_words)) = (&step.target, risk_words) {
        if let TargetBase::Role {
            name: Some(bridle_dsl::ast::Matcher::Exact(s) | bridle_dsl::ast::Matcher::Contains(s)),
            ..
        } = &target.base
        {
            if let Some(text) = s.as_literal() {
                if let Some(word) = risk_words.sensitive_word_in(&text) {
                    if risk < Risk::High {
                        risk = Risk::High;
                        chain.push(
                            Source::Policy,
                            Outcome::Allow,
                            format!("the target names the policy's sensitive word `{word}`"),
                        );
                    }
                }
            }
        }
    }

    // ---- data flow: values read on one origin, written on another ----
    if step.writes_observed {
        if let Some(to) = &origin {
            for from in &facts.read_origins {
                let flow = ctx.policy.dataflow.decide(from, to);
                if flow.outcome == Outcome::Allow && from == to {
                    continue;
                }
                risk = Risk::High;
                let rule = flow
                    .rule
                    .map_or("the `cross_origin` default".to_owned(), |r| {
                        format!("the data-flow rule of line {}", r.line)
                    });
                chain.push(
                    Source::Policy,
                    flow.outcome,
                    format!(
                        "writes data read on `{from}` to `{to}`: {rule} says {}",
                        flow.outcome
                    ),
                );
            }
        }
    }

    // ---- the token: some grant must cover the step ----
    let at = At {
        step,
        facts,
        url: Some(url),
        origin: origin.as_deref(),
        risk,
    };
    decide_token(ctx, at, &mut chain);

    // ---- the local policy ----
    decide_policy(ctx, step, facts, url, risk, &mut chain);

    Decision {
        outcome: chain.outcome(),
        risk,
        reasons: chain.reasons,
    }
}

/// The origin (`scheme://host[:port]`) of a URL, or the text itself when it already is one.
fn origin_of(url: &str) -> Option<String> {
    crate::policy::Origin::parse(url)
        .ok()
        .map(|o| o.to_string())
}

/// The step as the token part sees it: where it acts and how risky it is there.
#[derive(Clone, Copy)]
struct At<'s> {
    step: &'s Step,
    facts: &'s Facts,
    /// The URL the step acts on; `None` for steps off the page.
    url: Option<&'s str>,
    origin: Option<&'s str>,
    risk: Risk,
}

fn decide_token(ctx: &Context<'_>, at: At<'_>, chain: &mut Chain) {
    let At {
        step, url, origin, ..
    } = at;
    // Steps that neither act nor read a page need no grant: they change nothing.
    if url.is_none() && !step.verb.acts() {
        return;
    }
    let grants = ctx.token.grants();
    // The most permissive grant decides; a grant that covers nothing adds no reason.
    let mut best: Option<Vec<Reason>> = None;
    for (i, grant) in grants.iter().enumerate() {
        let Some(reasons) = grant_verdict(ctx, at, i + 1, grant) else {
            continue;
        };
        let outcome = reasons
            .iter()
            .map(|r| r.effect)
            .max()
            .unwrap_or(Outcome::Allow);
        let better = best
            .as_ref()
            .is_none_or(|b| outcome < b.iter().map(|r| r.effect).max().unwrap_or(Outcome::Allow));
        if better {
            best = Some(reasons);
        }
    }
    match best {
        Some(reasons) => chain.reasons.extend(reasons),
        None => chain.push(
            Source::Token,
            Outcome::Deny,
            match origin.or(url) {
                Some(at) => format!("no grant of the token covers `{}` on `{at}`", step.verb),
                None => format!("no grant of the token covers `{}`", step.verb),
            },
        ),
    }
}

/// What one grant says about the step, or `None` when its origins, paths or verbs do not
/// cover it at all.
fn grant_verdict(
    ctx: &Context<'_>,
    at: At<'_>,
    number: usize,
    grant: &Grant,
) -> Option<Vec<Reason>> {
    let At {
        step,
        facts,
        url,
        origin,
        risk,
    } = at;
    let verb = step.verb;
    // Origins and paths bound steps on pages; a job runs off the page, where only the job
    // keys of a grant apply.
    if let (Some(_), Some(_)) = (&grant.origins, url) {
        let origin = origin?;
        let patterns = ctx.grant_origins.get(number - 1)?.as_ref()?;
        if !patterns.iter().any(|p| p.matches(origin)) {
            return None;
        }
    }
    if let (Some(paths), Some(url)) = (&grant.paths, url) {
        let path = url::Url::parse(url).ok().map(|u| u.path().to_owned());
        let path = path.as_deref().unwrap_or("/");
        if !paths.iter().any(|glob| path_matches(glob, path)) {
            return None;
        }
    }
    // Reading, waiting and control flow change nothing, so a grant's verb list need not
    // spell them out; every acting verb must be listed.
    if let Some(verbs) = &grant.verbs {
        if verb.acts() && !verbs.contains(&verb) {
            return None;
        }
    }
    let mut reasons = vec![Reason::new(
        Source::Token,
        Outcome::Allow,
        match origin.or(url) {
            Some(at) => format!("grant {number} covers `{verb}` on `{at}`"),
            None => format!("grant {number} covers `{verb}`"),
        },
    )];
    let mut deny = |text: String| reasons.push(Reason::new(Source::Token, Outcome::Deny, text));

    if let Some(max) = grant.max_steps {
        let max = u64::from(max);
        if ctx.checked.steps.len() as u64 > max {
            deny(format!(
                "grant {number} allows at most {max} steps; the script has {}",
                ctx.checked.steps.len()
            ));
        } else if facts.steps_done >= max {
            deny(format!(
                "grant {number} allows at most {max} steps and {} have run",
                facts.steps_done
            ));
        }
    }
    if let Some(secret) = &step.secret {
        let entry = ctx
            .checked
            .secrets
            .iter()
            .find(|s| &s.name == secret)
            .map_or(secret.as_str(), |s| s.entry.as_str());
        let granted = grant
            .secrets
            .as_ref()
            .is_some_and(|list| list.iter().any(|s| s == entry));
        if !granted {
            deny(format!(
                "grant {number} does not allow filling the secret `{entry}`"
            ));
        }
    }
    if verb == Verb::Job {
        if let Some(job) = job_of(ctx.checked, step) {
            let runtime = &job.runtime.node;
            if let Some(runtimes) = &grant.runtimes {
                if !runtimes.iter().any(|r| r == runtime) {
                    deny(format!(
                        "grant {number} does not allow the runtime `{runtime}`"
                    ));
                }
            }
            let tier = job.sandbox.as_ref().map_or(DEFAULT_JOB_SANDBOX, |s| s.node);
            if let Some(min) = grant.sandbox {
                if tier < min {
                    deny(format!(
                        "grant {number} requires the `{}` sandbox or stronger",
                        crate::policy::tier_name(min)
                    ));
                }
            }
            if let (Some(max), Some(memory)) = (grant.memory, job.memory.as_ref()) {
                if memory.node.bytes > max.bytes() {
                    deny(format!(
                        "grant {number} allows at most {} bytes of job memory",
                        max.bytes()
                    ));
                }
            }
        }
    }
    if let Some(max) = &grant.max_amount {
        if risk == Risk::High && verb.acts() {
            let ceiling = max.amount();
            match &facts.amount {
                Some(amount) => match within(amount, &ceiling) {
                    Some(true) => reasons.push(Reason::new(
                        Source::Token,
                        Outcome::Allow,
                        format!("the amount on the page, {amount}, is within grant {number}'s {ceiling}"),
                    )),
                    Some(false) => deny(format!(
                        "the amount on the page, {amount}, exceeds grant {number}'s {ceiling}"
                    )),
                    None => deny(format!(
                        "the amount on the page, {amount}, is not in grant {number}'s currency {}",
                        ceiling.currency
                    )),
                },
                None => reasons.push(Reason::new(
                    Source::Token,
                    Outcome::Ask,
                    format!("grant {number} caps amounts at {ceiling} but no amount was read on the page"),
                )),
            }
        }
    }
    Some(reasons)
}

/// Path globs of grants: `*` matches any run of characters (slashes included), everything
/// else literally, and the glob must match the whole path; `/checkout/*` covers
/// `/checkout/pay` but not `/checkout`.
pub fn path_matches(glob: &str, path: &str) -> bool {
    let mut parts = glob.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = path.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if last {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

fn decide_policy(
    ctx: &Context<'_>,
    step: &Step,
    facts: &Facts,
    url: &str,
    risk: Risk,
    chain: &mut Chain,
) {
    let policy = ctx.policy;
    let verb = step.verb;

    // Site rules: the most specific rule with a say decides.
    let site = policy.site_decision(url, verb);
    if let Some(m) = site.deciding() {
        let effect = if m.reason == crate::policy::SiteReason::Standing {
            Outcome::Allow
        } else {
            m.outcome
        };
        chain.push(Source::Policy, effect, format!("`{verb}`: {m}"));
    }

    if let Some(target) = &step.target {
        if matches!(target.base, TargetBase::Css(_)) && !policy.allow_css_for(url) {
            chain.push(
                Source::Policy,
                Outcome::Deny,
                "css selector targets are not allowed here",
            );
        }
    }

    // Never-read fields: a step that reads a value must not read a password or a card number.
    if let Some(kind) = facts
        .element
        .as_ref()
        .and_then(|e| e.field_kind.as_deref())
        .and_then(FieldKind::parse)
    {
        if reads_value(verb) && policy.never_reads(kind) {
            chain.push(
                Source::Policy,
                Outcome::Deny,
                format!("`{}` fields are never read", kind.as_str()),
            );
        }
    }

    // Amount ceilings of the site. A high-risk step under a ceiling with no amount read on
    // the page cannot be checked against it, so the user is asked.
    if facts.amount.is_none() && risk == Risk::High && verb.acts() {
        if let Some(rule) = policy.sites_for(url).find(|s| s.max_amount.is_some()) {
            if let Some(ceiling) = &rule.max_amount {
                chain.push(
                    Source::Policy,
                    Outcome::Ask,
                    format!(
                        "site rule `{}` (line {}) caps amounts at {ceiling} but no amount was read on the page",
                        rule.origin, rule.line
                    ),
                );
            }
        }
    }
    if let Some(amount) = &facts.amount {
        match policy.check_amount(url, amount) {
            AmountVerdict::NoCeiling | AmountVerdict::Within => {}
            AmountVerdict::Over { rule, ceiling } => chain.push(
                Source::Policy,
                Outcome::Deny,
                format!(
                    "the amount on the page, {amount}, exceeds the ceiling {ceiling} of site rule `{}` (line {})",
                    rule.origin, rule.line
                ),
            ),
            AmountVerdict::OtherCurrency { rule, ceiling } => chain.push(
                Source::Policy,
                Outcome::Ask,
                format!(
                    "the amount on the page, {amount}, cannot be compared with the ceiling {ceiling} of site rule `{}` (line {})",
                    rule.origin, rule.line
                ),
            ),
        }
    }

    step_budget(policy, facts, chain);

    // Approval: at or above the threshold asks, unless a standing grant covers exactly this
    // origin and verb (and the amount, when it names one). `confirm` and `handoff` always ask.
    let threshold = policy.approval_for(url);
    if matches!(verb, Verb::Confirm | Verb::Handoff) {
        chain.push(
            Source::Script,
            Outcome::Ask,
            format!("`{verb}` always asks the user"),
        );
    } else if risk >= threshold {
        match standing_covers(policy, url, verb, facts.amount.as_ref()) {
            Some(text) => chain.push(Source::Policy, Outcome::Allow, text),
            None => chain.push(
                Source::Policy,
                Outcome::Ask,
                format!("risk {risk} is at or above the approval threshold {threshold}"),
            ),
        }
    }
}

/// The policy's step budget per run.
fn step_budget(policy: &Policy, facts: &Facts, chain: &mut Chain) {
    let max_steps = policy.defaults.max_steps;
    if facts.steps_done >= max_steps {
        chain.push(
            Source::Policy,
            Outcome::Deny,
            format!("the policy allows at most {max_steps} steps per run"),
        );
    }
}

/// Whether a verb reads a field's value into the script.
fn reads_value(verb: Verb) -> bool {
    matches!(
        verb,
        Verb::Let | Verb::Assert | Verb::If | Verb::Repeat | Verb::Wait
    )
}

/// The reason text when a standing grant lets the step run without asking.
fn standing_covers(
    policy: &Policy,
    url: &str,
    verb: Verb,
    amount: Option<&Amount>,
) -> Option<String> {
    let (rule, grant) = policy.standing_grant(url, verb)?;
    match (&grant.max_amount, amount) {
        (None, _) => Some(format!(
            "standing grant of site rule `{}` (line {}) allows `{verb}` without asking",
            rule.origin, rule.line
        )),
        (Some(ceiling), Some(amount)) if within(amount, ceiling) == Some(true) => Some(format!(
            "standing grant of site rule `{}` (line {}) allows `{verb}` up to {ceiling} without asking; the page shows {amount}",
            rule.origin, rule.line
        )),
        _ => None,
    }
}

/// The policy's part for a step that touches no page: jobs, the step budget, and the
/// approval threshold of `[defaults]`.
fn decide_off_page(ctx: &Context<'_>, step: &Step, facts: &Facts, chain: &mut Chain) {
    let verb = step.verb;
    if verb == Verb::Job {
        decide_job(ctx, step, chain);
    }
    step_budget(ctx.policy, facts, chain);
    let threshold = ctx.policy.defaults.approval;
    if matches!(verb, Verb::Confirm | Verb::Handoff) {
        chain.push(
            Source::Script,
            Outcome::Ask,
            format!("`{verb}` always asks the user"),
        );
    } else if step.risk >= threshold {
        chain.push(
            Source::Policy,
            Outcome::Ask,
            format!(
                "risk {} is at or above the approval threshold {threshold}",
                step.risk
            ),
        );
    }
}

fn decide_job(ctx: &Context<'_>, step: &Step, chain: &mut Chain) {
    let jobs = &ctx.policy.jobs;
    let Some(job) = job_of(ctx.checked, step) else {
        return;
    };
    if !jobs.enabled() {
        chain.push(
            Source::Policy,
            Outcome::Deny,
            "the policy allows no jobs (`[jobs] runtimes` is empty)",
        );
        return;
    }
    let runtime = &job.runtime.node;
    if !jobs.allows_runtime(runtime) {
        chain.push(
            Source::Policy,
            Outcome::Deny,
            format!("the policy does not allow the runtime `{runtime}`"),
        );
    }
    let tier = job.sandbox.as_ref().map_or(DEFAULT_JOB_SANDBOX, |s| s.node);
    if !jobs.allows_tier(tier) {
        chain.push(
            Source::Policy,
            Outcome::Deny,
            format!(
                "the policy requires the `{}` sandbox or stronger",
                crate::policy::tier_name(jobs.min_tier)
            ),
        );
    }
    if let Some(memory) = &job.memory {
        if memory.node.bytes > jobs.max_memory {
            chain.push(
                Source::Policy,
                Outcome::Deny,
                format!(
                    "the policy allows at most {} bytes of job memory",
                    jobs.max_memory
                ),
            );
        }
    }
    if let Some(timeout) = &job.timeout {
        let wall_ms = u64::try_from(jobs.max_wall.whole_milliseconds()).unwrap_or(u64::MAX);
        if timeout.node.millis > wall_ms {
            chain.push(
                Source::Policy,
                Outcome::Deny,
                format!("the policy allows jobs at most {wall_ms} ms of wall-clock time"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_globs_match_whole_paths() {
        assert!(path_matches("/checkout/*", "/checkout/pay"));
        assert!(path_matches("/checkout/*", "/checkout/"));
        assert!(!path_matches("/checkout/*", "/checkout"));
        assert!(!path_matches("/checkout/*", "/account/checkout/x"));
        assert!(path_matches("/", "/"));
        assert!(!path_matches("/", "/a"));
        assert!(path_matches("/*/cart", "/de/cart"));
        assert!(!path_matches("/*/cart", "/de/cart/x"));
        assert!(path_matches("*", "/anything/at/all"));
    }
}
