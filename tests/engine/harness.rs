//! The engine tests' world: an in-memory page, a table-driven PEP, a scripted approver, a
//! recording audit sink and job runner, and a loop that drives the machine while logging
//! every effect and response.

use bridle_dsl::{check_bytes, CheckOptions, Checked, Step};
use bridle_executor::decision::{Amount, Decision, ElementFacts, Facts, Outcome, Reason, Source};
use bridle_executor::engine::interp::{glob_match, origin_of};
use bridle_executor::engine::{
    perform, ActResult, Action, ApprovalChoice, ApprovalRequest, Approver, AuditCursor, AuditEvent,
    AuditSink, ChainSink, Clock, Drivers, Effect, FillValue, HandoffChoice, JobRequest, JobResult,
    JobRunner, Machine, NameMatch, PageDriver, Pep, Query, Resolution, Response, RunInputs,
    RunResult, TargetBase, TargetSpec, Value, WaitFor,
};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};

pub const SHOP: &str = "https://shop.example";
pub const PAY: &str = "https://pay.example";

/// A script with the usual header (origins shop and pay) followed by `body`.
pub fn script(body: &str) -> String {
    format!("bridle 1\ngoal \"test the engine\"\norigins \"{SHOP}\", \"{PAY}\"\n{body}\n")
}

pub fn checked(body: &str) -> Checked {
    let src = script(body);
    match check_bytes(src.as_bytes(), &CheckOptions::default()) {
        Ok(checked) => checked,
        Err(diags) => panic!(
            "script does not check: {:?}\n{src}",
            diags.iter().map(|d| &d.message).collect::<Vec<_>>()
        ),
    }
}

/// What clicking an element does to the fake page.
#[derive(Debug, Clone, PartialEq)]
pub enum OnClick {
    Nothing,
    Navigate(String),
    /// Makes the element with this name visible.
    Reveal(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct El {
    pub role: String,
    pub name: String,
    /// The origin of the frame the element is in.
    pub origin: String,
    pub text: String,
    pub value: String,
    pub css: Option<String>,
    pub attrs: BTreeMap<String, String>,
    pub visible: bool,
    pub field_kind: Option<String>,
    pub table: Option<Vec<Value>>,
    /// Acting on it changes nothing visible.
    pub inert: bool,
    pub on_click: OnClick,
    /// Bumped when the element changes, so its fingerprint changes.
    pub version: u32,
}

pub fn el(role: &str, name: &str) -> El {
    El {
        role: role.to_owned(),
        name: name.to_owned(),
        origin: SHOP.to_owned(),
        text: name.to_owned(),
        value: String::new(),
        css: None,
        attrs: BTreeMap::new(),
        visible: true,
        field_kind: None,
        table: None,
        inert: false,
        on_click: OnClick::Nothing,
        version: 0,
    }
}

impl El {
    pub fn origin(mut self, origin: &str) -> Self {
        self.origin = origin.to_owned();
        self
    }
    pub fn text(mut self, text: &str) -> Self {
        self.text = text.to_owned();
        self
    }
    pub fn value(mut self, value: &str) -> Self {
        self.value = value.to_owned();
        self
    }
    pub fn css(mut self, css: &str) -> Self {
        self.css = Some(css.to_owned());
        self
    }
    pub fn hidden(mut self) -> Self {
        self.visible = false;
        self
    }
    pub fn field_kind(mut self, kind: &str) -> Self {
        self.field_kind = Some(kind.to_owned());
        self
    }
    pub fn table(mut self, rows: Vec<Value>) -> Self {
        self.table = Some(rows);
        self
    }
    pub fn inert(mut self) -> Self {
        self.inert = true;
        self
    }
    pub fn on_click(mut self, on_click: OnClick) -> Self {
        self.on_click = on_click;
        self
    }
    pub fn attr(mut self, name: &str, value: &str) -> Self {
        self.attrs.insert(name.to_owned(), value.to_owned());
        self
    }

    fn fingerprint(&self, index: usize) -> String {
        format!(
            "fp:{}:{}:{}:{index}:{}",
            self.role, self.name, self.origin, self.version
        )
    }

    fn facts(&self, index: usize) -> ElementFacts {
        ElementFacts {
            role: self.role.clone(),
            name: self.name.clone(),
            frame_origin: self.origin.clone(),
            fingerprint: self.fingerprint(index),
            field_kind: self.field_kind.clone(),
        }
    }
}

/// One act the page performed.
#[derive(Debug, Clone, PartialEq)]
pub struct Acted {
    pub step: usize,
    pub action: Action,
    pub element: Option<String>,
}

/// An in-memory page. Only it knows the vault, as a real actuator would.
#[derive(Debug, Clone)]
pub struct FakePage {
    pub url: String,
    pub title: String,
    pub els: Vec<El>,
    pub vault: BTreeMap<String, String>,
    pub amount: Option<Amount>,
    pub acts: Vec<Acted>,
    pub observed: Vec<Query>,
    pub resolved: Vec<TargetSpec>,
    pub amount_reads: Vec<usize>,
    pub waits: Vec<(WaitFor, u64)>,
    pub tabs: Vec<String>,
    /// Forces the next resolution to report this frame origin (a forged answer).
    pub forge_frame: Option<String>,
    /// The page swaps this element just before the next act (after the decision and the
    /// approval), as a hostile page would.
    pub swap_before_act: Option<String>,
}

impl FakePage {
    pub fn new(els: Vec<El>) -> Self {
        FakePage {
            url: format!("{SHOP}/"),
            title: "Shop".to_owned(),
            els,
            vault: BTreeMap::new(),
            amount: None,
            acts: Vec::new(),
            observed: Vec::new(),
            resolved: Vec::new(),
            amount_reads: Vec::new(),
            waits: Vec::new(),
            tabs: vec![format!("{SHOP}/")],
            forge_frame: None,
            swap_before_act: None,
        }
    }

    fn name_matches(m: &NameMatch, name: &str) -> bool {
        match m {
            NameMatch::Exact(s) => name == s,
            NameMatch::Contains(s) => name.to_lowercase().contains(&s.to_lowercase()),
            // The fake page has no regex engine; a pattern matches as a substring.
            NameMatch::Regex { pattern, .. } => name.contains(pattern.as_str()),
        }
    }

    fn matches(&self, target: &TargetSpec) -> Vec<usize> {
        let all: Vec<usize> = self
            .els
            .iter()
            .enumerate()
            .filter(|(_, e)| e.visible)
            .filter(|(_, e)| match &target.base {
                TargetBase::Role { role, name } => {
                    (role == "element" || *role == e.role)
                        && name.as_ref().is_none_or(|n| Self::name_matches(n, &e.name))
                }
                TargetBase::Text { text } => Self::name_matches(text, &e.text),
                TargetBase::Css { selector } => e.css.as_deref() == Some(selector.as_str()),
            })
            .filter(|(_, e)| target.frame.as_ref().is_none_or(|f| *f == e.origin))
            .map(|(i, _)| i)
            .collect();
        match target.nth {
            Some(n) => all
                .get((n as usize).saturating_sub(1))
                .copied()
                .into_iter()
                .collect(),
            None => all,
        }
    }

    fn describe(&self, i: usize) -> String {
        format!("{} \"{}\" #{}", self.els[i].role, self.els[i].name, i + 1)
    }

    fn find(&self, target: &TargetSpec, fingerprint: &str) -> Result<usize, String> {
        let found = self.matches(target);
        match found.as_slice() {
            [i] if self.els[*i].fingerprint(*i) == fingerprint => Ok(*i),
            [_] => Err("the element changed since it was resolved".to_owned()),
            _ => Err("the element is gone".to_owned()),
        }
    }
}

impl PageDriver for FakePage {
    fn resolve(&mut self, _step: usize, target: &TargetSpec) -> Resolution {
        self.resolved.push(target.clone());
        let found = self.matches(target);
        match found.as_slice() {
            [i] => {
                let mut facts = self.els[*i].facts(*i);
                if let Some(origin) = self.forge_frame.take() {
                    facts.frame_origin = origin;
                }
                Resolution::Found(facts)
            }
            [] => {
                let role = match &target.base {
                    TargetBase::Role { role, .. } => Some(role.clone()),
                    _ => None,
                };
                Resolution::NotFound(
                    (0..self.els.len())
                        .filter(|i| self.els[*i].visible)
                        .filter(|i| role.as_ref().is_none_or(|r| *r == self.els[*i].role))
                        .map(|i| self.describe(i))
                        .collect(),
                )
            }
            many => Resolution::Ambiguous(many.iter().map(|i| self.describe(*i)).collect()),
        }
    }

    fn observe(&mut self, _step: usize, query: &Query) -> Result<Value, String> {
        self.observed.push(query.clone());
        Ok(match query {
            Query::Url => Value::Text(self.url.clone()),
            Query::Title => Value::Text(self.title.clone()),
            Query::Text {
                target,
                fingerprint,
            } => Value::Text(self.els[self.find(target, fingerprint)?].text.clone()),
            Query::Value {
                target,
                fingerprint,
            } => Value::Text(self.els[self.find(target, fingerprint)?].value.clone()),
            Query::Attribute {
                name,
                target,
                fingerprint,
            } => match self.els[self.find(target, fingerprint)?].attrs.get(name) {
                Some(v) => Value::Text(v.clone()),
                None => Value::Null,
            },
            Query::Table {
                target,
                fingerprint,
            } => Value::List(
                self.els[self.find(target, fingerprint)?]
                    .table
                    .clone()
                    .unwrap_or_default(),
            ),
            Query::Count { target } => Value::Number(self.matches(target).len() as f64),
            Query::Exists { target } => Value::Bool(!self.matches(target).is_empty()),
            Query::Visible { target } => Value::Bool(!self.matches(target).is_empty()),
        })
    }

    fn read_amount(&mut self, step: usize) -> Option<Amount> {
        self.amount_reads.push(step);
        self.amount.clone()
    }

    fn act(
        &mut self,
        step: usize,
        action: &Action,
        target: Option<&TargetSpec>,
        expect_fingerprint: Option<&str>,
    ) -> ActResult {
        if let Some(name) = self.swap_before_act.take() {
            for e in &mut self.els {
                if e.name == name {
                    e.version += 1;
                }
            }
        }
        let index = match (target, expect_fingerprint) {
            (Some(target), Some(fp)) => match self.find(target, fp) {
                Ok(i) => Some(i),
                Err(error) => {
                    return ActResult {
                        ok: false,
                        error: Some(error),
                        effect_observed: false,
                    }
                }
            },
            _ => None,
        };
        self.acts.push(Acted {
            step,
            action: action.clone(),
            element: index.map(|i| self.els[i].name.clone()),
        });
        let mut effect = index.is_none_or(|i| !self.els[i].inert);
        match (action, index) {
            (Action::Click | Action::Submit, Some(i)) => match self.els[i].on_click.clone() {
                OnClick::Navigate(url) => self.url = url,
                OnClick::Reveal(name) => {
                    for e in &mut self.els {
                        if e.name == name {
                            e.visible = true;
                        }
                    }
                }
                OnClick::Nothing => {}
            },
            (Action::Fill { value }, Some(i)) => {
                let text = match value {
                    FillValue::Text { text } => text.clone(),
                    FillValue::Secret { entry, .. } => match self.vault.get(entry) {
                        Some(secret) => secret.clone(),
                        None => {
                            return ActResult {
                                ok: false,
                                error: Some(format!("no vault entry `{entry}`")),
                                effect_observed: false,
                            }
                        }
                    },
                };
                effect &= self.els[i].value != text;
                self.els[i].value = text;
                self.els[i].version += 1;
            }
            (Action::Navigate { url }, _) => self.url = url.clone(),
            (Action::OpenTab { url }, _) => {
                self.tabs.push(url.clone());
                self.url = url.clone();
            }
            _ => {}
        }
        ActResult {
            ok: true,
            error: None,
            effect_observed: effect,
        }
    }

    fn wait(&mut self, _step: usize, what: &WaitFor, timeout_ms: u64) -> bool {
        self.waits.push((what.clone(), timeout_ms));
        match what {
            WaitFor::Element { target, .. } => !self.matches(target).is_empty(),
            WaitFor::Url { glob } => glob_match(glob, &self.url),
            WaitFor::Idle | WaitFor::Pause => true,
        }
    }
}

/// A PEP driven by a table: an outcome per verb word (allow by default), never-read fields
/// denied to reads, and data read on another origin than the one written asks.
#[derive(Debug, Default)]
pub struct TablePep {
    pub verbs: BTreeMap<&'static str, Outcome>,
    /// Every call, in order: the step index and the facts.
    pub calls: RefCell<Vec<(usize, Facts)>>,
}

impl TablePep {
    pub fn with(verbs: &[(&'static str, Outcome)]) -> Self {
        TablePep {
            verbs: verbs.iter().copied().collect(),
            calls: RefCell::new(Vec::new()),
        }
    }

    pub fn calls_for(&self, step: usize) -> Vec<Facts> {
        self.calls
            .borrow()
            .iter()
            .filter(|(s, _)| *s == step)
            .map(|(_, f)| f.clone())
            .collect()
    }
}

impl Pep for TablePep {
    fn decide(&self, step: &Step, facts: &Facts) -> Decision {
        self.calls.borrow_mut().push((step.index, facts.clone()));
        let mut reasons = Vec::new();
        let outcome = self
            .verbs
            .get(step.verb.as_str())
            .copied()
            .unwrap_or(Outcome::Allow);
        reasons.push(Reason::new(
            Source::Policy,
            outcome,
            format!("table says `{}` is {outcome}", step.verb),
        ));
        let mut worst = outcome;
        if let Some(element) = &facts.element {
            if element.field_kind.is_some() && !step.verb.acts() {
                worst = Outcome::Deny;
                reasons.push(Reason::new(
                    Source::Policy,
                    Outcome::Deny,
                    "the field is never read",
                ));
            }
        }
        let written = facts
            .element
            .as_ref()
            .map(|e| e.frame_origin.clone())
            .or_else(|| facts.url.as_deref().and_then(origin_of));
        if let Some(written) = written {
            if facts.read_origins.iter().any(|o| *o != written) {
                worst = worst.max(Outcome::Ask);
                reasons.push(Reason::new(
                    Source::Page,
                    Outcome::Ask,
                    "data read on another origin",
                ));
            }
        }
        // Page facts raise risk: an element named like a payment is high-risk.
        let risk = match &facts.element {
            Some(e) if e.name.contains("Pay") => bridle_dsl::Risk::High,
            _ => step.risk,
        };
        Decision {
            outcome: worst,
            risk,
            reasons,
        }
    }
}

/// Answers approvals from a queue (an empty queue denies) and records every request.
#[derive(Debug, Default)]
pub struct ScriptedApprover {
    pub choices: VecDeque<ApprovalChoice>,
    pub requests: Vec<ApprovalRequest>,
    pub notes: Vec<String>,
    pub handoffs: VecDeque<HandoffChoice>,
}

impl ScriptedApprover {
    pub fn answering(choices: &[ApprovalChoice]) -> Self {
        ScriptedApprover {
            choices: choices.iter().copied().collect(),
            ..ScriptedApprover::default()
        }
    }
}

impl Approver for ScriptedApprover {
    fn approve(&mut self, request: &ApprovalRequest) -> ApprovalChoice {
        self.requests.push(request.clone());
        self.choices.pop_front().unwrap_or(ApprovalChoice::Deny)
    }

    fn note(&mut self, _step: usize, text: &str) {
        self.notes.push(text.to_owned());
    }

    fn handoff(&mut self, _step: usize, message: &str) -> HandoffChoice {
        self.notes.push(message.to_owned());
        self.handoffs.pop_front().unwrap_or(HandoffChoice::Continue)
    }
}

type AuditFilter = Box<dyn Fn(&AuditEvent) -> bool>;

/// Records audit events; refuses those `fail` picks.
#[derive(Default)]
pub struct MemAudit {
    pub events: Vec<AuditEvent>,
    pub fail: Option<AuditFilter>,
}

impl std::fmt::Debug for MemAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemAudit")
            .field("events", &self.events)
            .finish()
    }
}

impl AuditSink for MemAudit {
    fn write(&mut self, event: &AuditEvent) -> Result<(), String> {
        if self.fail.as_ref().is_some_and(|f| f(event)) {
            return Err("disk full".to_owned());
        }
        self.events.push(event.clone());
        Ok(())
    }
}

/// Runs jobs by echoing: the output is the job's input as JSON, or `fail` when set.
#[derive(Debug, Default)]
pub struct EchoJobs {
    pub jobs: Vec<JobRequest>,
    pub fail: Option<String>,
}

impl JobRunner for EchoJobs {
    fn run(&mut self, _step: usize, job: &JobRequest) -> JobResult {
        self.jobs.push(job.clone());
        match &self.fail {
            Some(error) => JobResult {
                ok: false,
                output: String::new(),
                error: Some(error.clone()),
            },
            None => JobResult {
                ok: true,
                output: job
                    .input
                    .as_ref()
                    .map(|v| serde_json::to_string(v).unwrap())
                    .unwrap_or_else(|| "42".to_owned()),
                error: None,
            },
        }
    }
}

/// Everything a run talks to.
#[derive(Debug)]
pub struct World {
    pub page: FakePage,
    pub approver: ScriptedApprover,
    pub pep: TablePep,
    pub audit: MemAudit,
    pub jobs: EchoJobs,
}

/// A finished run and everything that crossed the machine's boundary.
#[derive(Debug)]
pub struct Run {
    pub result: RunResult,
    pub effects: Vec<Effect>,
    pub responses: Vec<Response>,
}

impl Run {
    /// The effects as short labels, `kind` or `kind:detail`, for ordering assertions.
    pub fn trace(&self) -> Vec<String> {
        self.effects.iter().map(label).collect()
    }

    pub fn error_code(&self) -> Option<String> {
        self.result.error.as_ref().map(|e| {
            serde_json::to_value(e).unwrap()["code"]
                .as_str()
                .unwrap()
                .to_owned()
        })
    }
}

pub fn label(effect: &Effect) -> String {
    match effect {
        Effect::AuditWrite { event } => {
            let json = serde_json::to_value(event).unwrap();
            match json.get("step") {
                Some(step) => format!("audit:{}:{step}", json["phase"].as_str().unwrap()),
                None => format!("audit:{}", json["phase"].as_str().unwrap()),
            }
        }
        Effect::Act { step, action, .. } => {
            let json = serde_json::to_value(action).unwrap();
            format!("act:{step}:{}", json["type"].as_str().unwrap())
        }
        Effect::Observe { query, .. } => {
            let json = serde_json::to_value(query).unwrap();
            format!("observe:{}", json["kind"].as_str().unwrap())
        }
        Effect::Decide { step, .. } => format!("decide:{step}"),
        Effect::Approve { step, .. } => format!("approve:{step}"),
        Effect::Resolve { step, .. } => format!("resolve:{step}"),
        other => other.kind().to_owned(),
    }
}

impl World {
    pub fn new(els: Vec<El>) -> Self {
        World {
            page: FakePage::new(els),
            approver: ScriptedApprover::default(),
            pep: TablePep::default(),
            audit: MemAudit::default(),
            jobs: EchoJobs::default(),
        }
    }

    /// Performs one effect against this world.
    pub fn perform(&mut self, steps: &[Step], effect: &Effect) -> Option<Response> {
        let mut drivers = Drivers {
            page: &mut self.page,
            approver: &mut self.approver,
            pep: &self.pep,
            audit: &mut self.audit,
            jobs: &mut self.jobs,
        };
        perform(steps, effect, &mut drivers)
    }

    /// Drives `machine` to its end from `first`, logging everything.
    pub fn drive_from(&mut self, machine: &mut Machine, first: Effect, run: &mut Run) {
        let mut effect = first;
        loop {
            run.effects.push(effect.clone());
            if let Effect::Done(result) = &effect {
                run.result = (**result).clone();
                return;
            }
            let response = self.perform(machine.steps(), &effect);
            if let Some(r) = &response {
                run.responses.push(r.clone());
            }
            effect = machine.step(response);
        }
    }

    pub fn run_checked(&mut self, checked: &Checked, inputs: RunInputs) -> Run {
        let mut run = Run {
            result: empty_result(),
            effects: Vec::new(),
            responses: Vec::new(),
        };
        let mut machine = match Machine::new(checked, inputs) {
            Ok(m) => m,
            Err(e) => panic!("machine refused the run: {e}"),
        };
        let first = machine.step(None);
        self.drive_from(&mut machine, first, &mut run);
        run
    }

    pub fn run(&mut self, body: &str) -> Run {
        self.run_checked(&checked(body), inputs())
    }

    pub fn run_with(&mut self, body: &str, params: &[(&str, Value)]) -> Run {
        let mut inputs = inputs();
        for (k, v) in params {
            inputs.params.insert((*k).to_owned(), v.clone());
        }
        self.run_checked(&checked(body), inputs)
    }
}

pub fn inputs() -> RunInputs {
    RunInputs {
        script_hash: format!("sha256:{}", "ab".repeat(32)),
        jti: Some("jti-1".to_owned()),
        ..RunInputs::default()
    }
}

pub fn empty_result() -> RunResult {
    serde_json::from_value(serde_json::json!({
        "outcome": "failed", "value": null, "error": null, "steps": [],
        "warnings": [], "steps_done": 0
    }))
    .unwrap()
}

pub fn machine(body: &str) -> Machine {
    Machine::new(&checked(body), inputs()).unwrap()
}

/// Answers the audit writes that end a failed run (the step's completion, the run's end).
pub fn finish(m: &mut Machine, mut effect: Effect) -> RunResult {
    loop {
        match effect {
            Effect::Done(result) => return *result,
            Effect::AuditWrite { .. } => effect = m.step(Some(Response::AuditWritten)),
            other => panic!("expected the run to end, got {other:?}"),
        }
    }
}

pub struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> bridle_executor::time::OffsetDateTime {
        bridle_executor::time::OffsetDateTime::from_unix_timestamp(1_740_000_000).unwrap()
    }
}

/// Runs `body` with the audit events written to a real signed log; returns the run and the
/// exported log.
pub fn run_into_log(
    world: &mut World,
    body: &str,
    writer: &mut bridle_executor::audit::AuditWriter<bridle_executor::audit::MemoryAuditStore>,
    signer: &bridle_executor::ed25519_dalek::SigningKey,
) -> Run {
    let checked = checked(body);
    let mut machine = Machine::new(&checked, inputs()).unwrap();
    let mut cursor = AuditCursor::default();
    let mut run = Run {
        result: empty_result(),
        effects: Vec::new(),
        responses: Vec::new(),
    };
    let mut effect = machine.step(None);
    loop {
        run.effects.push(effect.clone());
        let response = match &effect {
            Effect::Done(result) => {
                run.result = (**result).clone();
                return run;
            }
            Effect::AuditWrite { event } => {
                let mut sink = ChainSink {
                    writer: &mut *writer,
                    signer,
                    clock: &FixedClock,
                    cursor: &mut cursor,
                };
                // Written twice, as after a restart: the cursor drops the repeat.
                let first = sink.write(event);
                assert_eq!(sink.write(event), first);
                Some(match first {
                    Ok(()) => Response::AuditWritten,
                    Err(message) => Response::AuditFailed { message },
                })
            }
            other => world.perform(machine.steps(), other),
        };
        effect = machine.step(response);
    }
}
