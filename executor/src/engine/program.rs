//! Compiles a checked script into a flat program: a list of instructions with jumps, so the
//! machine's whole position is one counter plus a small value stack, which makes it easy to
//! save and resume.
//!
//! Each step becomes `Begin`, its operands, a `Gate` (decide, approve, write-ahead audit),
//! the effect itself and `End` (completion audit). Steps that only read (`let`, `if`,
//! `assert` …) pass their `Gate` first and read after it, each element read deciding on its
//! own; steps that act evaluate their operands first so the decision sees what they write.
//!
//! Conditions compile to jumps with short-circuit evaluation: in `a and b`, `b` is not read
//! when `a` is false; in `a or b`, not when `a` is true.

use super::error::RunError;
use super::value::Value;
use bridle_dsl::ast::{
    Block, CompareOp, Cond, Expr, Job, Line, Matcher, Observation, SandboxTier, Stmt, StmtKind,
    Str, StrPart, Target, VarPath, Wait, WaitState,
};
use bridle_dsl::Checked;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How long a `wait for` without `timeout` waits.
pub const DEFAULT_WAIT_TIMEOUT_MS: u64 = 10_000;

/// A compiled script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub instrs: Vec<Instr>,
}

/// One instruction. Step numbers are the checker's 1-based step indexes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Instr {
    /// Starts an execution of `step`: reads the page's URL.
    Begin {
        step: usize,
    },
    /// Decides the current step (resolving its target first) and asks the user when needed.
    Gate(Gate),
    /// Writes the step's `started` audit event: after its gate, before it does anything.
    Started,
    /// Pushes a literal.
    Lit(Value),
    /// Pushes an interpolated string.
    Str {
        parts: Vec<StrPart>,
        url_encode: bool,
    },
    /// Pushes a variable's value (or a field of it).
    Load(VarPath),
    /// Reads an element's content: resolve, decide this read, observe; pushes the value.
    /// `gated`: the step's gate already resolved and decided this very target (`let x =
    /// text of T`), so the read only observes that element.
    Read {
        kind: ReadKind,
        target: Target,
        gated: bool,
    },
    /// Counts matches or tests presence without reading content; pushes the value.
    Presence {
        kind: PresenceKind,
        target: Target,
    },
    /// Pushes the page's URL or title.
    Page {
        kind: PageKind,
    },
    /// Pops right then left, pushes the comparison.
    Compare {
        op: CompareOp,
    },
    /// Pops the URL then the glob, pushes whether the URL matches.
    Glob,
    /// Pops a bool and jumps when it equals `when`.
    JumpIf {
        when: bool,
        to: usize,
    },
    Jump {
        to: usize,
    },
    Pop,
    /// Pops into a variable.
    Store {
        name: String,
    },
    /// Pops a bool; false fails the run with `assert-failed`.
    Assert,
    /// The step's effect (act, wait, note, handoff, job).
    Perform(Perform),
    /// Starts a `repeat` loop's counter.
    RepeatInit {
        id: usize,
    },
    /// Counts an iteration of a `repeat`, or leaves at the bound.
    RepeatNext {
        id: usize,
        step: usize,
        max: u64,
        exit: usize,
    },
    /// Pops the list of a `for each` and keeps it for the loop.
    ForInit {
        id: usize,
        step: usize,
        max: u64,
    },
    /// Binds the next item, or leaves when done.
    ForNext {
        id: usize,
        item: String,
        exit: usize,
    },
    /// Forgets a loop's state.
    LoopDrop {
        id: usize,
    },
    /// Ends the current step: writes its completion to the audit log.
    End,
    /// Pops the value and ends the run with it.
    Return,
}

/// What a step's gate needs to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    /// The element the step acts on, resolved before deciding.
    pub target: Option<Target>,
    /// How many stack values (from the top) the step writes to the page or the host; their
    /// read origins go into the decision's facts.
    pub writes: usize,
    /// The top of the stack is the URL the step goes to (`navigate`, `open tab`).
    pub destination: bool,
    /// Show the written values in an approval request (`fill`, `select`, `press`).
    pub show_values: bool,
    /// The step fills a secret: the request shows a mask.
    pub secret: bool,
    /// The top of the stack is the text of `confirm`/`handoff`, shown in the request.
    pub message: bool,
    /// `confirm`: ask even when the decision is `allow`, and never skip for "this script".
    pub always_ask: bool,
    /// `handoff`: the handoff itself is the user's consent, so `ask` does not ask twice.
    pub handoff: bool,
    /// A `job` step: what the approval shows of it.
    #[serde(default)]
    pub job: Option<super::effect::JobSummary>,
}

/// Element reads that return content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReadKind {
    Text,
    Value,
    Attribute(Str),
    Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PresenceKind {
    Count,
    Exists,
    Visible,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageKind {
    Url,
    Title,
}

/// The effect of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Perform {
    Act(ActKind),
    Wait {
        kind: WaitKind,
        timeout_ms: u64,
    },
    /// Pops the text.
    Note,
    /// Pops the message.
    Handoff,
    /// Pops the input when there is one; pushes the output.
    Job(JobSpec),
}

/// The primitive of an acting step; operands come from the stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ActKind {
    Click,
    /// Pops the text.
    Fill,
    FillSecret {
        name: String,
        entry: String,
    },
    Clear,
    /// Pops the option.
    Select,
    Check,
    Uncheck,
    Hover,
    /// Pops the key.
    Press,
    ScrollTo,
    Submit,
    Upload,
    /// Pops the URL.
    Navigate,
    Back,
    Forward,
    Reload,
    /// Pops the URL.
    OpenTab,
    /// Pops the matcher's text.
    SwitchTab(SwitchKind),
    CloseTab,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SwitchKind {
    Exact,
    Contains,
    Regex { flags: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WaitKind {
    Element {
        target: Box<Target>,
        state: WaitState,
    },
    /// Pops the glob.
    Url,
    Idle,
    Pause,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub runtime: String,
    pub sandbox: Option<SandboxTier>,
    pub timeout_ms: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub code: String,
    pub has_input: bool,
}

/// The element read an observation is, if it reads an element's content.
fn read_of(obs: &Observation) -> Option<(ReadKind, &Target)> {
    match obs {
        Observation::TextOf(t) => Some((ReadKind::Text, t)),
        Observation::ValueOf(t) => Some((ReadKind::Value, t)),
        Observation::Attribute { name, target } => {
            Some((ReadKind::Attribute(name.clone()), target))
        }
        Observation::Table(t) => Some((ReadKind::Table, t)),
        Observation::CountOf(_) | Observation::Url | Observation::Title => None,
    }
}

/// Compiles `checked`, checking that its steps are the tree's runnable statements in
/// pre-order (the checker's numbering), so every instruction names the right step.
pub fn compile(checked: &Checked) -> Result<Program, RunError> {
    let mut c = Compiler {
        checked,
        secrets: checked.secrets.iter().map(|s| s.name.clone()).collect(),
        next_step: 0,
        instrs: Vec::new(),
        labels: Vec::new(),
    };
    c.lines(&checked.script.lines)?;
    if c.next_step != checked.steps.len() {
        return Err(program_error(format!(
            "the script has {} runnable statements but {} steps",
            c.next_step,
            checked.steps.len()
        )));
    }
    c.finish()
}

fn program_error(message: String) -> RunError {
    RunError::Program { message }
}

struct Compiler<'a> {
    checked: &'a Checked,
    secrets: BTreeSet<String>,
    next_step: usize,
    instrs: Vec<Instr>,
    /// Label id → address, once placed.
    labels: Vec<Option<usize>>,
}

/// Whether a statement runs (header lines and declarations do not).
fn runs(kind: &StmtKind) -> bool {
    !matches!(
        kind,
        StmtKind::Version(_)
            | StmtKind::Goal(_)
            | StmtKind::Origins(_)
            | StmtKind::Param { .. }
            | StmtKind::Secret { .. }
    )
}

impl Compiler<'_> {
    fn emit(&mut self, instr: Instr) {
        self.instrs.push(instr);
    }

    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }

    fn place(&mut self, label: usize) {
        if let Some(slot) = self.labels.get_mut(label) {
            *slot = Some(self.instrs.len());
        }
    }

    /// Replaces label ids in jump targets by addresses.
    fn finish(mut self) -> Result<Program, RunError> {
        let labels = self.labels;
        let resolve = |label: &mut usize| -> Result<(), RunError> {
            *label = labels
                .get(*label)
                .copied()
                .flatten()
                .ok_or_else(|| program_error(format!("jump to an unplaced label {label}")))?;
            Ok(())
        };
        for instr in &mut self.instrs {
            match instr {
                Instr::JumpIf { to, .. } | Instr::Jump { to } => resolve(to)?,
                Instr::RepeatNext { exit, .. } | Instr::ForNext { exit, .. } => resolve(exit)?,
                _ => {}
            }
        }
        Ok(Program {
            instrs: self.instrs,
        })
    }

    fn lines(&mut self, lines: &[Line]) -> Result<(), RunError> {
        for line in lines {
            if let Line::Stmt(stmt) = line {
                if runs(&stmt.kind) {
                    self.stmt(stmt)?;
                }
            }
        }
        Ok(())
    }

    fn block(&mut self, block: &Block) -> Result<(), RunError> {
        self.lines(&block.lines)
    }

    /// The next step of the checker's numbering, checked against the statement.
    fn step_for(&mut self, stmt: &Stmt) -> Result<usize, RunError> {
        let position = self.next_step;
        let step = self.checked.steps.get(position).ok_or_else(|| {
            program_error(format!("statement at byte {} has no step", stmt.span.start))
        })?;
        if step.index != position + 1 || step.span.start != stmt.span.start {
            return Err(program_error(format!(
                "step {} does not match the statement at byte {}",
                step.index, stmt.span.start
            )));
        }
        self.next_step += 1;
        Ok(step.index)
    }

    /// The step's gate followed by its `started` audit event.
    fn gate(&mut self, gate: Gate) {
        self.emit(Instr::Gate(gate));
        self.emit(Instr::Started);
    }

    fn stmt(&mut self, stmt: &Stmt) -> Result<(), RunError> {
        let step = self.step_for(stmt)?;
        if let StmtKind::Repeat { max, until, body } = &stmt.kind {
            return self.repeat(step, max.node, until, body);
        }
        self.emit(Instr::Begin { step });
        let act = |kind| Instr::Perform(Perform::Act(kind));
        match &stmt.kind {
            StmtKind::Navigate(url) | StmtKind::OpenTab(url) => {
                self.str(url, true);
                self.gate(Gate {
                    writes: 1,
                    destination: true,
                    ..Gate::default()
                });
                self.emit(act(if matches!(stmt.kind, StmtKind::Navigate(_)) {
                    ActKind::Navigate
                } else {
                    ActKind::OpenTab
                }));
            }
            StmtKind::Back | StmtKind::Forward | StmtKind::Reload | StmtKind::CloseTab => {
                self.gate(Gate::acting(None));
                self.emit(act(match stmt.kind {
                    StmtKind::Back => ActKind::Back,
                    StmtKind::Forward => ActKind::Forward,
                    StmtKind::Reload => ActKind::Reload,
                    _ => ActKind::CloseTab,
                }));
            }
            StmtKind::SwitchTab(matcher) => {
                let kind = match matcher {
                    Matcher::Exact(s) => {
                        self.str(s, false);
                        SwitchKind::Exact
                    }
                    Matcher::Contains(s) => {
                        self.str(s, false);
                        SwitchKind::Contains
                    }
                    Matcher::Regex(r) => {
                        self.emit(Instr::Lit(Value::Text(r.pattern.clone())));
                        SwitchKind::Regex {
                            flags: r.flags.clone(),
                        }
                    }
                };
                self.gate(Gate {
                    writes: 1,
                    ..Gate::default()
                });
                self.emit(act(ActKind::SwitchTab(kind)));
            }
            StmtKind::Click(t)
            | StmtKind::Clear(t)
            | StmtKind::Check(t)
            | StmtKind::Uncheck(t)
            | StmtKind::Hover(t)
            | StmtKind::ScrollTo(t)
            | StmtKind::Submit(t)
            | StmtKind::Upload(t) => {
                self.gate(Gate::acting(Some(t.clone())));
                self.emit(act(match stmt.kind {
                    StmtKind::Click(_) => ActKind::Click,
                    StmtKind::Clear(_) => ActKind::Clear,
                    StmtKind::Check(_) => ActKind::Check,
                    StmtKind::Uncheck(_) => ActKind::Uncheck,
                    StmtKind::Hover(_) => ActKind::Hover,
                    StmtKind::ScrollTo(_) => ActKind::ScrollTo,
                    StmtKind::Submit(_) => ActKind::Submit,
                    _ => ActKind::Upload,
                }));
            }
            StmtKind::Fill { target, value } => {
                if let Some(secret) = self.secret_of(value) {
                    let entry = self
                        .checked
                        .secrets
                        .iter()
                        .find(|s| s.name == secret)
                        .map(|s| s.entry.clone())
                        .unwrap_or_default();
                    self.gate(Gate {
                        secret: true,
                        ..Gate::acting(Some(target.clone()))
                    });
                    self.emit(act(ActKind::FillSecret {
                        name: secret,
                        entry,
                    }));
                } else {
                    self.expr(value)?;
                    self.gate(Gate {
                        writes: 1,
                        show_values: true,
                        ..Gate::acting(Some(target.clone()))
                    });
                    self.emit(act(ActKind::Fill));
                }
            }
            StmtKind::Select { target, option } => {
                self.str(option, false);
                self.gate(Gate {
                    writes: 1,
                    show_values: true,
                    ..Gate::acting(Some(target.clone()))
                });
                self.emit(act(ActKind::Select));
            }
            StmtKind::Press { key, on } => {
                self.str(key, false);
                self.gate(Gate {
                    writes: 1,
                    show_values: true,
                    ..Gate::acting(on.clone())
                });
                self.emit(act(ActKind::Press));
            }
            StmtKind::Let { name, value } => {
                match value {
                    Expr::Job(job) => self.job(job)?,
                    Expr::Observe(obs) => match read_of(&obs.node) {
                        // One element read: the gate resolves and decides that element, so the
                        // step has one decision and its audit entry names the element.
                        Some((kind, target)) => {
                            self.gate(Gate::acting(Some(target.clone())));
                            self.emit(Instr::Read {
                                kind,
                                target: target.clone(),
                                gated: true,
                            });
                        }
                        None => {
                            self.gate(Gate::default());
                            self.expr(value)?;
                        }
                    },
                    _ => {
                        self.gate(Gate::default());
                        self.expr(value)?;
                    }
                }
                self.emit(Instr::Store {
                    name: name.node.clone(),
                });
            }
            StmtKind::Job(job) => {
                self.job(job)?;
                self.emit(Instr::Pop);
            }
            StmtKind::Wait(wait) => {
                self.gate(Gate::default());
                self.wait(wait);
            }
            StmtKind::Assert(cond) => {
                self.gate(Gate::default());
                self.cond_value(cond)?;
                self.emit(Instr::Assert);
            }
            StmtKind::Note(text) => {
                self.gate(Gate::default());
                self.str(text, false);
                self.emit(Instr::Perform(Perform::Note));
            }
            StmtKind::Confirm(text) => {
                self.str(text, false);
                self.gate(Gate {
                    message: true,
                    always_ask: true,
                    ..Gate::default()
                });
                self.emit(Instr::Pop);
            }
            StmtKind::Handoff(text) => {
                // The handoff is the user's answer, so it comes before the `started` event,
                // which then records how the user answered.
                self.str(text, false);
                self.emit(Instr::Gate(Gate {
                    message: true,
                    handoff: true,
                    ..Gate::default()
                }));
                self.emit(Instr::Perform(Perform::Handoff));
                self.emit(Instr::Started);
            }
            StmtKind::Return(value) => {
                self.gate(Gate::default());
                self.expr(value)?;
                self.emit(Instr::End);
                self.emit(Instr::Return);
                return Ok(());
            }
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.gate(Gate::default());
                self.cond_value(cond)?;
                self.emit(Instr::End);
                let else_label = self.label();
                let end_label = self.label();
                self.emit(Instr::JumpIf {
                    when: false,
                    to: else_label,
                });
                self.block(then)?;
                self.emit(Instr::Jump { to: end_label });
                self.place(else_label);
                if let Some(otherwise) = otherwise {
                    self.block(otherwise)?;
                }
                self.place(end_label);
                return Ok(());
            }
            StmtKind::ForEach {
                item,
                list,
                max,
                body,
            } => {
                self.gate(Gate::default());
                self.expr(list)?;
                let id = self.instrs.len();
                self.emit(Instr::ForInit {
                    id,
                    step,
                    max: max.node,
                });
                self.emit(Instr::End);
                let top = self.label();
                let exit = self.label();
                self.place(top);
                self.emit(Instr::ForNext {
                    id,
                    item: item.node.clone(),
                    exit,
                });
                self.block(body)?;
                self.emit(Instr::Jump { to: top });
                self.place(exit);
                return Ok(());
            }
            StmtKind::Repeat { .. }
            | StmtKind::Version(_)
            | StmtKind::Goal(_)
            | StmtKind::Origins(_)
            | StmtKind::Param { .. }
            | StmtKind::Secret { .. } => {}
        }
        self.emit(Instr::End);
        Ok(())
    }

    /// `repeat at most N until C { body }`: C is checked before every iteration, the first
    /// included, so the body runs only while C does not hold yet, at most N times. Each check
    /// is an execution of the `repeat` step (decided and audited like any other).
    fn repeat(
        &mut self,
        step: usize,
        max: u64,
        until: &Cond,
        body: &Block,
    ) -> Result<(), RunError> {
        let id = self.instrs.len();
        self.emit(Instr::RepeatInit { id });
        let top = self.label();
        let exit = self.label();
        self.place(top);
        self.emit(Instr::Begin { step });
        self.gate(Gate::default());
        self.cond_value(until)?;
        self.emit(Instr::End);
        self.emit(Instr::JumpIf {
            when: true,
            to: exit,
        });
        self.emit(Instr::RepeatNext {
            id,
            step,
            max,
            exit,
        });
        self.block(body)?;
        self.emit(Instr::Jump { to: top });
        self.place(exit);
        self.emit(Instr::LoopDrop { id });
        Ok(())
    }

    fn job(&mut self, job: &Job) -> Result<(), RunError> {
        if let Some(input) = &job.input {
            self.expr(input)?;
        }
        self.gate(Gate {
            writes: usize::from(job.input.is_some()),
            job: Some(super::effect::JobSummary::of(
                &job.runtime.node,
                job.sandbox.as_ref().map(|s| s.node),
                job.timeout.as_ref().map(|t| t.node.millis),
                job.memory.as_ref().map(|m| m.node.bytes),
                &job.code.node,
            )),
            ..Gate::default()
        });
        self.emit(Instr::Perform(Perform::Job(JobSpec {
            runtime: job.runtime.node.clone(),
            sandbox: job.sandbox.as_ref().map(|s| s.node),
            timeout_ms: job.timeout.as_ref().map(|t| t.node.millis),
            memory_bytes: job.memory.as_ref().map(|m| m.node.bytes),
            code: job.code.node.clone(),
            has_input: job.input.is_some(),
        })));
        Ok(())
    }

    fn wait(&mut self, wait: &Wait) {
        let timeout = |t: &Option<bridle_dsl::ast::Spanned<bridle_dsl::ast::Duration>>| {
            t.as_ref()
                .map_or(DEFAULT_WAIT_TIMEOUT_MS, |t| t.node.millis)
        };
        let (kind, timeout_ms) = match wait {
            Wait::For {
                target,
                state,
                timeout: t,
            } => (
                WaitKind::Element {
                    target: Box::new(target.clone()),
                    state: state.node,
                },
                timeout(t),
            ),
            Wait::Url { glob, timeout: t } => {
                self.str(glob, false);
                (WaitKind::Url, timeout(t))
            }
            Wait::Idle { timeout: t } => (WaitKind::Idle, timeout(t)),
            Wait::Pause(d) => (WaitKind::Pause, d.node.millis),
        };
        self.emit(Instr::Perform(Perform::Wait { kind, timeout_ms }));
    }

    fn str(&mut self, s: &Str, url_encode: bool) {
        self.emit(Instr::Str {
            parts: s.parts.clone(),
            url_encode,
        });
    }

    /// The secret a `fill` value names, if it is one.
    fn secret_of(&self, value: &Expr) -> Option<String> {
        match value {
            Expr::Var(path) if path.fields.is_empty() && self.secrets.contains(&path.name.node) => {
                Some(path.name.node.clone())
            }
            _ => None,
        }
    }

    fn expr(&mut self, expr: &Expr) -> Result<(), RunError> {
        match expr {
            Expr::Str(s) => {
                self.no_secret_in(s)?;
                self.str(s, false);
            }
            Expr::Number(n) => self.emit(Instr::Lit(Value::Number(n.node))),
            Expr::Bool(b) => self.emit(Instr::Lit(Value::Bool(b.node))),
            Expr::Var(path) => {
                if self.secrets.contains(&path.name.node) {
                    return Err(program_error(format!(
                        "secret `{}` is used outside `fill`",
                        path.name.node
                    )));
                }
                self.emit(Instr::Load(path.clone()));
            }
            Expr::Observe(obs) => match &obs.node {
                Observation::TextOf(t) => self.read(ReadKind::Text, t),
                Observation::ValueOf(t) => self.read(ReadKind::Value, t),
                Observation::Attribute { name, target } => {
                    self.read(ReadKind::Attribute(name.clone()), target)
                }
                Observation::Table(t) => self.read(ReadKind::Table, t),
                Observation::CountOf(t) => self.presence(PresenceKind::Count, t),
                Observation::Url => self.emit(Instr::Page {
                    kind: PageKind::Url,
                }),
                Observation::Title => self.emit(Instr::Page {
                    kind: PageKind::Title,
                }),
            },
            Expr::Job(_) => {
                return Err(program_error(
                    "a `job` can only be the value of `let`".to_owned(),
                ))
            }
        }
        Ok(())
    }

    /// Secrets never enter strings; the checker refuses this, and the compiler refuses again
    /// so a secret's name can never be looked up as a variable.
    fn no_secret_in(&self, s: &Str) -> Result<(), RunError> {
        for part in &s.parts {
            if let StrPart::Var(path) = part {
                if self.secrets.contains(&path.name.node) {
                    return Err(program_error(format!(
                        "secret `{}` is interpolated",
                        path.name.node
                    )));
                }
            }
        }
        Ok(())
    }

    fn read(&mut self, kind: ReadKind, target: &Target) {
        self.emit(Instr::Read {
            kind,
            target: target.clone(),
            gated: false,
        });
    }

    fn presence(&mut self, kind: PresenceKind, target: &Target) {
        self.emit(Instr::Presence {
            kind,
            target: target.clone(),
        });
    }

    /// Compiles a condition so that it leaves a bool on the stack.
    fn cond_value(&mut self, cond: &Cond) -> Result<(), RunError> {
        let is_false = self.label();
        let done = self.label();
        self.branch(cond, is_false, false)?;
        self.emit(Instr::Lit(Value::Bool(true)));
        self.emit(Instr::Jump { to: done });
        self.place(is_false);
        self.emit(Instr::Lit(Value::Bool(false)));
        self.place(done);
        Ok(())
    }

    /// Jumps to `target` when `cond` is `jump_if`, falls through otherwise, reading no more
    /// of the condition than it needs.
    fn branch(&mut self, cond: &Cond, target: usize, jump_if: bool) -> Result<(), RunError> {
        match cond {
            Cond::Group(inner) => self.branch(inner, target, jump_if)?,
            Cond::Not(inner) => self.branch(inner, target, !jump_if)?,
            Cond::And(a, b) if !jump_if => {
                self.branch(a, target, false)?;
                self.branch(b, target, false)?;
            }
            Cond::And(a, b) => {
                let skip = self.label();
                self.branch(a, skip, false)?;
                self.branch(b, target, true)?;
                self.place(skip);
            }
            Cond::Or(a, b) if jump_if => {
                self.branch(a, target, true)?;
                self.branch(b, target, true)?;
            }
            Cond::Or(a, b) => {
                let skip = self.label();
                self.branch(a, skip, true)?;
                self.branch(b, target, false)?;
                self.place(skip);
            }
            Cond::Exists(t) => {
                self.presence(PresenceKind::Exists, t);
                self.emit(Instr::JumpIf {
                    when: jump_if,
                    to: target,
                });
            }
            Cond::Visible(t) => {
                self.presence(PresenceKind::Visible, t);
                self.emit(Instr::JumpIf {
                    when: jump_if,
                    to: target,
                });
            }
            Cond::UrlMatches(glob) => {
                self.no_secret_in(glob)?;
                self.str(glob, false);
                self.emit(Instr::Page {
                    kind: PageKind::Url,
                });
                self.emit(Instr::Glob);
                self.emit(Instr::JumpIf {
                    when: jump_if,
                    to: target,
                });
            }
            Cond::Compare { left, op, right } => {
                self.expr(left)?;
                self.expr(right)?;
                self.emit(Instr::Compare { op: op.node });
                self.emit(Instr::JumpIf {
                    when: jump_if,
                    to: target,
                });
            }
        }
        Ok(())
    }
}

impl Default for Gate {
    /// The gate of a step that only reads or waits: decide, nothing more.
    fn default() -> Self {
        Gate {
            target: None,
            writes: 0,
            destination: false,
            show_values: false,
            secret: false,
            message: false,
            always_ask: false,
            handoff: false,
            job: None,
        }
    }
}

impl Gate {
    /// The gate of a step that acts on, or reads, `target`.
    fn acting(target: Option<Target>) -> Self {
        Gate {
            target,
            ..Gate::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridle_dsl::{check_bytes, CheckOptions};

    fn checked(body: &str) -> Checked {
        let src = format!("bridle 1\ngoal \"g\"\norigins \"https://shop.example\"\n{body}\n");
        check_bytes(src.as_bytes(), &CheckOptions::default()).unwrap()
    }

    #[test]
    fn every_jump_lands_inside_the_program() {
        let checked = checked(
            "if exists button \"A\" and (exists button \"B\" or not exists button \"C\") {\n  click button \"A\"\n} else {\n  repeat at most 2 until exists link \"N\" {\n    scroll to css \"f\"\n  }\n}\nreturn 1",
        );
        let program = compile(&checked).unwrap();
        let len = program.instrs.len();
        for instr in &program.instrs {
            match instr {
                Instr::JumpIf { to, .. } | Instr::Jump { to } => assert!(*to <= len),
                Instr::RepeatNext { exit, .. } | Instr::ForNext { exit, .. } => {
                    assert!(*exit <= len)
                }
                _ => {}
            }
        }
        let begins: Vec<usize> = program
            .instrs
            .iter()
            .filter_map(|i| match i {
                Instr::Begin { step } => Some(*step),
                _ => None,
            })
            .collect();
        assert_eq!(begins, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn and_reads_its_right_side_only_when_the_left_holds() {
        let checked = checked("assert exists button \"A\" and exists button \"B\"");
        let program = compile(&checked).unwrap();
        let shape: Vec<String> = program
            .instrs
            .iter()
            .map(|i| match i {
                Instr::Presence { .. } => "presence".to_owned(),
                Instr::JumpIf { when, to } => format!("jump-if-{when}->{to}"),
                Instr::Jump { to } => format!("jump->{to}"),
                Instr::Lit(v) => format!("lit {}", v.to_text()),
                other => format!("{other:?}")
                    .split([' ', '(', '{'])
                    .next()
                    .unwrap()
                    .to_owned(),
            })
            .collect();
        assert_eq!(
            shape,
            [
                "Begin",
                "Gate",
                "Started",
                "presence",
                "jump-if-false->9",
                "presence",
                "jump-if-false->9",
                "lit true",
                "jump->10",
                "lit false",
                "Assert",
                "End",
            ]
        );
    }

    #[test]
    fn steps_that_do_not_fit_the_tree_are_refused() {
        let mut bad = checked("note \"a\"\nnote \"b\"");
        bad.steps.pop();
        assert_eq!(
            compile(&bad).unwrap_err().to_string(),
            "the script cannot be run: statement at byte 58 has no step"
        );
        let mut swapped = checked("note \"a\"\nnote \"b\"");
        swapped.steps.swap(0, 1);
        assert_eq!(compile(&swapped).unwrap_err().code(), "program");
    }
}
