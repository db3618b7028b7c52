//! The machine's instructions: what each does, effect by effect (see [`super::Machine`]).

use super::*;
use crate::engine::value::compare;

impl Machine {
    pub(super) fn exec(&mut self, response: Option<Response>) -> Result<Flow, RunError> {
        let program = Arc::clone(&self.program);
        let Some(instr) = program.instrs.get(self.state.pc) else {
            return Ok(Flow::Finish(Value::Null));
        };
        if self.state.phase == Phase::Ready && response.is_some() {
            return Err(internal(
                "a response arrived for an instruction that asked nothing",
            ));
        }
        match instr {
            Instr::Begin { step } => self.begin(*step, response),
            Instr::Gate(gate) => self.gate(gate, response),
            Instr::Started => self.started(response),
            Instr::Lit(value) => {
                self.push(Tainted::clean(value.clone()));
                Ok(Flow::Next)
            }
            Instr::Str { parts, url_encode } => {
                let value = self.interpolate(parts, *url_encode)?;
                self.push(value);
                Ok(Flow::Next)
            }
            Instr::Load(path) => {
                let value = self.lookup(path)?;
                self.push(value);
                Ok(Flow::Next)
            }
            Instr::Read {
                kind,
                target,
                gated,
            } => self.read(kind, target, *gated, response),
            Instr::Presence { kind, target } => self.presence(*kind, target, response),
            Instr::Page { kind } => self.page(*kind, response),
            Instr::Compare { op } => {
                let right = self.pop()?;
                let left = self.pop()?;
                let step = self.current_step()?;
                let holds = compare(*op, &left.value, &right.value)
                    .map_err(|message| RunError::Type { step, message })?;
                let mut origins = left.origins;
                origins.extend(right.origins);
                self.push(Tainted {
                    value: Value::Bool(holds),
                    origins,
                });
                Ok(Flow::Next)
            }
            Instr::Glob => {
                let url = self.pop()?;
                let glob = self.pop()?;
                let matched = glob_match(&glob.value.to_text(), &url.value.to_text());
                self.push(Tainted {
                    value: Value::Bool(matched),
                    origins: url.origins,
                });
                Ok(Flow::Next)
            }
            Instr::JumpIf { when, to } => {
                if self.pop_bool()? == *when {
                    Ok(Flow::Goto(*to))
                } else {
                    Ok(Flow::Next)
                }
            }
            Instr::Jump { to } => Ok(Flow::Goto(*to)),
            Instr::Pop => {
                self.pop()?;
                Ok(Flow::Next)
            }
            Instr::Store { name } => {
                let value = self.pop()?;
                self.state.env.insert(name.clone(), value);
                Ok(Flow::Next)
            }
            Instr::Assert => {
                if self.pop_bool()? {
                    Ok(Flow::Next)
                } else {
                    Err(RunError::AssertFailed {
                        step: self.current_step()?,
                    })
                }
            }
            Instr::Perform(perform) => self.perform(perform, response),
            Instr::RepeatInit { id } => {
                self.state.loops.insert(*id, LoopState::Repeat { count: 0 });
                Ok(Flow::Next)
            }
            Instr::RepeatNext {
                id,
                step,
                max,
                exit,
            } => {
                let count = match self.state.loops.get(id) {
                    Some(LoopState::Repeat { count }) => *count,
                    _ => return Err(internal("a `repeat` lost its counter")),
                };
                if count >= *max {
                    self.state.loops.remove(id);
                    self.state.warnings.push(format!(
                        "`repeat` at step {step} stopped at its bound of {max} iterations before its condition held"
                    ));
                    return Ok(Flow::Goto(*exit));
                }
                self.state
                    .loops
                    .insert(*id, LoopState::Repeat { count: count + 1 });
                Ok(Flow::Next)
            }
            Instr::ForInit { id, step, max } => {
                let list = self.pop()?;
                let Value::List(mut items) = list.value else {
                    return Err(RunError::Type {
                        step: *step,
                        message: format!("`for each` needs a list, got {}", list.value.type_name()),
                    });
                };
                let bound = usize::try_from(*max).unwrap_or(usize::MAX);
                if items.len() > bound {
                    self.state.warnings.push(format!(
                        "`for each` at step {step} stopped after {max} of {} items",
                        items.len()
                    ));
                    items.truncate(bound);
                }
                self.state.loops.insert(
                    *id,
                    LoopState::ForEach {
                        items,
                        origins: list.origins,
                        next: 0,
                    },
                );
                Ok(Flow::Next)
            }
            Instr::ForNext { id, item, exit } => {
                let Some(LoopState::ForEach {
                    items,
                    origins,
                    next,
                }) = self.state.loops.get_mut(id)
                else {
                    return Err(internal("a `for each` lost its list"));
                };
                match items.get(*next) {
                    Some(value) => {
                        let bound = Tainted {
                            value: value.clone(),
                            origins: origins.clone(),
                        };
                        *next += 1;
                        self.state.env.insert(item.clone(), bound);
                        Ok(Flow::Next)
                    }
                    None => {
                        self.state.loops.remove(id);
                        Ok(Flow::Goto(*exit))
                    }
                }
            }
            Instr::LoopDrop { id } => {
                self.state.loops.remove(id);
                Ok(Flow::Next)
            }
            Instr::End => self.end(response),
            Instr::Return => {
                let value = self.pop()?;
                Ok(Flow::Finish(value.value))
            }
        }
    }

    fn begin(&mut self, step: usize, response: Option<Response>) -> Result<Flow, RunError> {
        match (self.state.phase, response) {
            (Phase::Ready, _) => {
                if self.state.ctx.is_some() {
                    return Err(internal("a step began inside another"));
                }
                self.step_info(step)?;
                self.state.ctx = Some(StepCtx {
                    step,
                    ..StepCtx::default()
                });
                Ok(Flow::Emit(
                    Box::new(Effect::Observe {
                        step,
                        query: Query::Url,
                    }),
                    Phase::Url,
                ))
            }
            (
                Phase::Url,
                Some(Response::Value {
                    value: Value::Text(url),
                }),
            ) => {
                self.ctx_mut()?.page_url = Some(url);
                Ok(Flow::Next)
            }
            (Phase::Url, Some(Response::Failed { message })) => {
                Err(RunError::ObserveFailed { step, message })
            }
            (_, response) => Err(bad_response("the page's URL as text", response)),
        }
    }

    fn gate(&mut self, gate: &Gate, response: Option<Response>) -> Result<Flow, RunError> {
        let step = self.current_step()?;
        match (self.state.phase, response) {
            (Phase::Ready, _) => {
                let len = self.state.stack.len();
                let written = len
                    .checked_sub(gate.writes)
                    .and_then(|from| self.state.stack.get(from..))
                    .ok_or_else(|| internal("the value stack is too short"))?;
                let origins: BTreeSet<String> = written
                    .iter()
                    .flat_map(|t| t.origins.iter().cloned())
                    .collect();
                let dest = if gate.destination {
                    Some(self.top_text(0)?)
                } else {
                    None
                };
                let target = gate
                    .target
                    .as_ref()
                    .map(|t| self.target_spec(t))
                    .transpose()?;
                let ctx = self.ctx_mut()?;
                ctx.read_origins = origins.into_iter().collect();
                ctx.dest_url = dest;
                ctx.target = target.clone();
                match target {
                    Some(target) => Ok(Flow::Emit(
                        Box::new(Effect::Resolve { step, target }),
                        Phase::Resolve,
                    )),
                    None => self.gate_amount(step),
                }
            }
            (Phase::Resolve, response) => {
                let target = self.ctx()?.target.clone();
                let target = target.ok_or_else(|| internal("a gate lost its target"))?;
                let element = resolution(step, &target, response)?;
                self.ctx_mut()?.element = Some(element);
                self.gate_amount(step)
            }
            (Phase::Amount, Some(Response::Amount { amount })) => {
                self.ctx_mut()?.amount = amount;
                self.gate_decide(step)
            }
            (Phase::Decide, Some(Response::Decision { decision }))
                if decision.risk == Risk::High && !self.ctx()?.amount_read =>
            {
                // The page showed the step to be high-risk (its element is named "Pay now"):
                // read the amount and decide again with it.
                self.ctx_mut()?.amount_read = true;
                Ok(Flow::Emit(
                    Box::new(Effect::ReadAmount { step }),
                    Phase::Amount,
                ))
            }
            (Phase::Decide, Some(Response::Decision { decision })) => {
                let decision = confirm_asks(gate, decision);
                let origin = self.origin()?;
                let request = self.request(gate, &decision, origin.clone())?;
                match self.decided(step, decision, gate, origin, request)? {
                    Some(ask) => Ok(Flow::Emit(Box::new(ask), Phase::Approve)),
                    None => Ok(Flow::Next),
                }
            }
            (Phase::Approve, Some(Response::Approval { choice })) => {
                let origin = self.origin()?;
                self.approved(step, choice, origin)?;
                Ok(Flow::Next)
            }
            (_, response) => Err(bad_response("an answer to the step's gate", response)),
        }
    }

    fn gate_amount(&mut self, step: usize) -> Result<Flow, RunError> {
        if self.step_info(step)?.risk == Risk::High {
            self.ctx_mut()?.amount_read = true;
            return Ok(Flow::Emit(
                Box::new(Effect::ReadAmount { step }),
                Phase::Amount,
            ));
        }
        self.gate_decide(step)
    }

    fn gate_decide(&mut self, step: usize) -> Result<Flow, RunError> {
        let facts = self.facts(self.ctx()?.element.clone())?;
        Ok(Flow::Emit(
            Box::new(Effect::Decide {
                step,
                facts,
                read: false,
            }),
            Phase::Decide,
        ))
    }

    /// Writes the step's `started` event. For an act, the event names the primitive about
    /// to run, built here from the next instruction and the operands on the stack.
    fn started(&mut self, response: Option<Response>) -> Result<Flow, RunError> {
        let step = self.current_step()?;
        match (self.state.phase, response) {
            (Phase::Ready, _) => {
                let action = match self.program.instrs.get(self.state.pc + 1) {
                    Some(Instr::Perform(Perform::Act(kind))) => Some(self.action(kind)?),
                    _ => None,
                };
                self.ctx_mut()?.action = action;
                let event = self.audit(AuditKind::Started(self.step_audit(None)?));
                Ok(Flow::Emit(
                    Box::new(Effect::AuditWrite {
                        event: Box::new(event),
                    }),
                    Phase::AuditStart,
                ))
            }
            (Phase::AuditStart, Some(Response::AuditWritten)) => Ok(Flow::Next),
            (Phase::AuditStart, Some(Response::AuditFailed { message })) => {
                Err(RunError::AuditFailed {
                    step: Some(step),
                    message,
                })
            }
            (_, response) => Err(bad_response("an answer to the audit write", response)),
        }
    }

    /// The origin a step (or the read in progress) touches, for approvals.
    fn origin(&self) -> Result<Option<String>, RunError> {
        let ctx = self.ctx()?;
        if let Some(read) = &ctx.read {
            if let Some(element) = &read.element {
                return Ok(Some(element.frame_origin.clone()));
            }
        }
        if let Some(element) = &ctx.element {
            return Ok(Some(element.frame_origin.clone()));
        }
        Ok(ctx
            .dest_url
            .as_deref()
            .or(ctx.page_url.as_deref())
            .and_then(origin_of))
    }

    fn request(
        &self,
        gate: &Gate,
        decision: &Decision,
        origin: Option<String>,
    ) -> Result<ApprovalRequest, RunError> {
        let ctx = self.ctx()?;
        let step = self.step_info(ctx.step)?;
        let element = ctx.read.as_ref().and_then(|r| r.element.as_ref());
        let element = element.or(ctx.element.as_ref());
        let mut values = Vec::new();
        if gate.secret {
            values.push(SECRET_MASK.to_owned());
        } else if gate.show_values {
            for depth in (0..gate.writes).rev() {
                values.push(self.top_text(depth)?);
            }
        }
        Ok(ApprovalRequest {
            step: ctx.step,
            verb: step.verb,
            text: step.text.clone(),
            origin,
            url: ctx.dest_url.clone().or_else(|| ctx.page_url.clone()),
            element: element.map(|e| ElementLabel {
                role: e.role.clone(),
                name: e.name.clone(),
            }),
            values,
            amount: ctx.amount.clone(),
            risk: decision.risk,
            outcome: decision.outcome,
            reasons: decision.reasons.clone(),
            message: if gate.message {
                Some(self.top_text(0)?)
            } else {
                None
            },
            planner_goal: self.goal.clone(),
            job: gate.job.clone(),
        })
    }

    /// Takes a decision: a denial ends the run; `ask` (or `confirm`) asks unless the user
    /// already approved this step on this origin "for this script". Returns the approval
    /// effect when the user must be asked.
    fn decided(
        &mut self,
        step: usize,
        decision: Decision,
        gate: &Gate,
        origin: Option<String>,
        request: ApprovalRequest,
    ) -> Result<Option<Effect>, RunError> {
        let outcome = decision.outcome;
        let reasons = decision.reason_texts();
        let ctx = self.ctx_mut()?;
        if ctx
            .decision
            .as_ref()
            .is_none_or(|previous| decision.outcome >= previous.outcome)
        {
            ctx.decision = Some(decision);
        }
        if outcome == Outcome::Deny {
            return Err(RunError::Denied { step, reasons });
        }
        if gate.always_ask {
            return Ok(Some(approve(step, request)));
        }
        if outcome != Outcome::Ask || gate.handoff {
            return Ok(None);
        }
        let remembered = self
            .state
            .approved
            .get(&step)
            .is_some_and(|origins| origins.contains(origin.as_deref().unwrap_or("")));
        if remembered {
            self.ctx_mut()?.approval = Some(Approval::Remembered);
            return Ok(None);
        }
        Ok(Some(approve(step, request)))
    }

    fn approved(
        &mut self,
        step: usize,
        choice: ApprovalChoice,
        origin: Option<String>,
    ) -> Result<(), RunError> {
        self.ctx_mut()?.approval = Some(choice.into());
        match choice {
            ApprovalChoice::Once => Ok(()),
            ApprovalChoice::Script => {
                self.state
                    .approved
                    .entry(step)
                    .or_default()
                    .insert(origin.unwrap_or_default());
                Ok(())
            }
            ApprovalChoice::Deny | ApprovalChoice::Timeout | ApprovalChoice::Closed => {
                Err(RunError::NotApproved { step, choice })
            }
        }
    }

    fn read(
        &mut self,
        kind: &ReadKind,
        target: &Target,
        gated: bool,
        response: Option<Response>,
    ) -> Result<Flow, RunError> {
        let step = self.current_step()?;
        match (self.state.phase, response) {
            (Phase::Ready, _) if gated => {
                let attribute = match kind {
                    ReadKind::Attribute(name) => Some(self.text_of(&name.parts)?),
                    _ => None,
                };
                let ctx = self.ctx_mut()?;
                let (Some(spec), Some(element)) = (ctx.target.clone(), ctx.element.clone()) else {
                    return Err(internal("a gated read has no resolved element"));
                };
                ctx.read = Some(ReadCtx {
                    target: spec,
                    attribute,
                    element: Some(element),
                });
                self.read_observe(kind, step)
            }
            (Phase::Ready, _) => {
                let spec = self.target_spec(target)?;
                let attribute = match kind {
                    ReadKind::Attribute(name) => Some(self.text_of(&name.parts)?),
                    _ => None,
                };
                self.ctx_mut()?.read = Some(ReadCtx {
                    target: spec.clone(),
                    attribute,
                    element: None,
                });
                Ok(Flow::Emit(
                    Box::new(Effect::Resolve { step, target: spec }),
                    Phase::Resolve,
                ))
            }
            (Phase::Resolve, response) => {
                let read = self.ctx()?.read.clone();
                let read = read.ok_or_else(|| internal("a read lost its target"))?;
                let element = resolution(step, &read.target, response)?;
                let mut facts = self.facts(Some(element.clone()))?;
                // A read writes nothing, so no data flows into it.
                facts.read_origins.clear();
                let ctx = self.ctx_mut()?;
                ctx.last_read = Some(element.clone());
                if let Some(read) = ctx.read.as_mut() {
                    read.element = Some(element);
                }
                Ok(Flow::Emit(
                    Box::new(Effect::Decide {
                        step,
                        facts,
                        read: true,
                    }),
                    Phase::Decide,
                ))
            }
            (Phase::Decide, Some(Response::Decision { decision })) => {
                let origin = self.origin()?;
                let gate = Gate::default();
                let request = self.request(&gate, &decision, origin.clone())?;
                match self.decided(step, decision, &gate, origin, request)? {
                    Some(ask) => Ok(Flow::Emit(Box::new(ask), Phase::Approve)),
                    None => self.read_observe(kind, step),
                }
            }
            (Phase::Approve, Some(Response::Approval { choice })) => {
                let origin = self.origin()?;
                self.approved(step, choice, origin)?;
                self.read_observe(kind, step)
            }
            (Phase::Observe, Some(Response::Value { value })) => {
                let read = self.ctx_mut()?.read.take();
                let element = read
                    .and_then(|r| r.element)
                    .ok_or_else(|| internal("a read lost its element"))?;
                let query_kind = match kind {
                    ReadKind::Text | ReadKind::Value => Expect::Text,
                    ReadKind::Attribute(_) => Expect::TextOrNull,
                    ReadKind::Table => Expect::Table,
                };
                check_value(query_kind, &value)?;
                self.check_size(&value)?;
                self.observed(&value)?;
                self.push(Tainted::read_on(value, Some(element.frame_origin)));
                Ok(Flow::Next)
            }
            (Phase::Observe, Some(Response::Failed { message })) => {
                Err(RunError::ObserveFailed { step, message })
            }
            (_, response) => Err(bad_response("an answer to the read", response)),
        }
    }

    fn read_observe(&mut self, kind: &ReadKind, step: usize) -> Result<Flow, RunError> {
        let read = self
            .ctx()?
            .read
            .clone()
            .ok_or_else(|| internal("a read lost its target"))?;
        let fingerprint = read
            .element
            .map(|e| e.fingerprint)
            .ok_or_else(|| internal("a read lost its element"))?;
        let target = read.target;
        let query = match kind {
            ReadKind::Text => Query::Text {
                target,
                fingerprint,
            },
            ReadKind::Value => Query::Value {
                target,
                fingerprint,
            },
            ReadKind::Attribute(_) => Query::Attribute {
                name: read.attribute.unwrap_or_default(),
                target,
                fingerprint,
            },
            ReadKind::Table => Query::Table {
                target,
                fingerprint,
            },
        };
        Ok(Flow::Emit(
            Box::new(Effect::Observe { step, query }),
            Phase::Observe,
        ))
    }

    fn presence(
        &mut self,
        kind: PresenceKind,
        target: &Target,
        response: Option<Response>,
    ) -> Result<Flow, RunError> {
        let step = self.current_step()?;
        match (self.state.phase, response) {
            (Phase::Ready, _) => {
                let target = self.target_spec(target)?;
                let query = match kind {
                    PresenceKind::Count => Query::Count { target },
                    PresenceKind::Exists => Query::Exists { target },
                    PresenceKind::Visible => Query::Visible { target },
                };
                Ok(Flow::Emit(
                    Box::new(Effect::Observe { step, query }),
                    Phase::Observe,
                ))
            }
            (Phase::Observe, Some(Response::Value { value })) => {
                let expect = match kind {
                    PresenceKind::Count => Expect::Count,
                    PresenceKind::Exists | PresenceKind::Visible => Expect::Bool,
                };
                check_value(expect, &value)?;
                self.observed(&value)?;
                let origin = self.ctx()?.page_url.as_deref().and_then(origin_of);
                self.push(Tainted::read_on(value, origin));
                Ok(Flow::Next)
            }
            (Phase::Observe, Some(Response::Failed { message })) => {
                Err(RunError::ObserveFailed { step, message })
            }
            (_, response) => Err(bad_response("a count or a bool", response)),
        }
    }

    fn page(&mut self, kind: PageKind, response: Option<Response>) -> Result<Flow, RunError> {
        let step = self.current_step()?;
        match (self.state.phase, response) {
            (Phase::Ready, _) => {
                let query = match kind {
                    PageKind::Url => Query::Url,
                    PageKind::Title => Query::Title,
                };
                Ok(Flow::Emit(
                    Box::new(Effect::Observe { step, query }),
                    Phase::Observe,
                ))
            }
            (Phase::Observe, Some(Response::Value { value })) => {
                check_value(Expect::Text, &value)?;
                self.check_size(&value)?;
                self.observed(&value)?;
                let origin = match (kind, &value) {
                    (PageKind::Url, Value::Text(url)) => origin_of(url),
                    _ => self.ctx()?.page_url.as_deref().and_then(origin_of),
                };
                self.push(Tainted::read_on(value, origin));
                Ok(Flow::Next)
            }
            (Phase::Observe, Some(Response::Failed { message })) => {
                Err(RunError::ObserveFailed { step, message })
            }
            (_, response) => Err(bad_response("text", response)),
        }
    }

    /// The primitive an act instruction performs, with its operands from the stack.
    fn action(&self, kind: &ActKind) -> Result<Action, RunError> {
        Ok(match kind {
            ActKind::Click => Action::Click,
            ActKind::Fill => Action::Fill {
                value: FillValue::Text {
                    text: self.top_text(0)?,
                },
            },
            ActKind::FillSecret { name, entry } => Action::Fill {
                value: FillValue::Secret {
                    name: name.clone(),
                    entry: entry.clone(),
                },
            },
            ActKind::Clear => Action::Clear,
            ActKind::Select => Action::Select {
                option: self.top_text(0)?,
            },
            ActKind::Check => Action::Check,
            ActKind::Uncheck => Action::Uncheck,
            ActKind::Hover => Action::Hover,
            ActKind::Press => Action::Press {
                key: self.top_text(0)?,
            },
            ActKind::ScrollTo => Action::ScrollTo,
            ActKind::Submit => Action::Submit,
            ActKind::Upload => Action::Upload,
            ActKind::Navigate => Action::Navigate {
                url: self.top_text(0)?,
            },
            ActKind::Back => Action::Back,
            ActKind::Forward => Action::Forward,
            ActKind::Reload => Action::Reload,
            ActKind::OpenTab => Action::OpenTab {
                url: self.top_text(0)?,
            },
            ActKind::SwitchTab(kind) => {
                let text = self.top_text(0)?;
                Action::SwitchTab {
                    matcher: match kind {
                        SwitchKind::Exact => NameMatch::Exact(text),
                        SwitchKind::Contains => NameMatch::Contains(text),
                        SwitchKind::Regex { flags } => NameMatch::Regex {
                            pattern: text,
                            flags: flags.clone(),
                        },
                    },
                }
            }
            ActKind::CloseTab => Action::CloseTab,
        })
    }

    fn perform(&mut self, perform: &Perform, response: Option<Response>) -> Result<Flow, RunError> {
        let step = self.current_step()?;
        match (perform, self.state.phase, response) {
            (Perform::Act(kind), Phase::Ready, _) => {
                let action = match self.ctx()?.action.clone() {
                    Some(action) => action,
                    None => self.action(kind)?,
                };
                let operands = usize::from(matches!(
                    kind,
                    ActKind::Fill
                        | ActKind::Select
                        | ActKind::Press
                        | ActKind::Navigate
                        | ActKind::OpenTab
                        | ActKind::SwitchTab(_)
                ));
                for _ in 0..operands {
                    self.pop()?;
                }
                let ctx = self.ctx_mut()?;
                ctx.action = Some(action.clone());
                let effect = Effect::Act {
                    step,
                    action,
                    target: ctx.target.clone(),
                    expect_fingerprint: ctx.element.as_ref().map(|e| e.fingerprint.clone()),
                };
                Ok(Flow::Emit(Box::new(effect), Phase::Act))
            }
            (Perform::Act(_), Phase::Act, Some(Response::Acted { result })) => {
                let ActResult {
                    ok,
                    error,
                    effect_observed,
                } = result;
                if !ok {
                    return Err(RunError::ActFailed {
                        step,
                        message: error.unwrap_or_else(|| "the actuator refused".to_owned()),
                    });
                }
                if !effect_observed {
                    return Err(RunError::NoEffect { step });
                }
                Ok(Flow::Next)
            }
            (Perform::Wait { kind, timeout_ms }, Phase::Ready, _) => {
                let what = match kind {
                    WaitKind::Element { target, state } => WaitFor::Element {
                        target: self.target_spec(target)?,
                        state: match state {
                            WaitState::Visible => ElementState::Visible,
                            WaitState::Enabled => ElementState::Enabled,
                            WaitState::Hidden => ElementState::Hidden,
                            WaitState::Gone => ElementState::Gone,
                        },
                    },
                    WaitKind::Url => WaitFor::Url {
                        glob: self.pop()?.value.to_text(),
                    },
                    WaitKind::Idle => WaitFor::Idle,
                    WaitKind::Pause => WaitFor::Pause,
                };
                Ok(Flow::Emit(
                    Box::new(Effect::Wait {
                        step,
                        what,
                        timeout_ms: *timeout_ms,
                    }),
                    Phase::Wait,
                ))
            }
            (Perform::Wait { timeout_ms, .. }, Phase::Wait, Some(Response::Waited { ok })) => {
                if ok {
                    Ok(Flow::Next)
                } else {
                    Err(RunError::WaitTimedOut {
                        step,
                        timeout_ms: *timeout_ms,
                    })
                }
            }
            (Perform::Note, Phase::Ready, _) => {
                let text = self.pop()?.value.to_text();
                Ok(Flow::Emit(
                    Box::new(Effect::Note { step, text }),
                    Phase::Note,
                ))
            }
            (Perform::Note, Phase::Note, Some(Response::Noted)) => Ok(Flow::Next),
            (Perform::Handoff, Phase::Ready, _) => {
                let message = self.pop()?.value.to_text();
                Ok(Flow::Emit(
                    Box::new(Effect::Handoff { step, message }),
                    Phase::Handoff,
                ))
            }
            (Perform::Handoff, Phase::Handoff, Some(Response::Handoff { choice })) => {
                match choice {
                    HandoffChoice::Continue => {
                        let ctx = self.ctx_mut()?;
                        let asked = ctx
                            .decision
                            .as_ref()
                            .is_some_and(|d| d.outcome == Outcome::Ask);
                        if asked && ctx.approval.is_none() {
                            ctx.approval = Some(Approval::Once);
                        }
                        Ok(Flow::Next)
                    }
                    HandoffChoice::Abort => {
                        // An asked handoff the user aborted is a refusal, and is logged so.
                        let ctx = self.ctx_mut()?;
                        if ctx
                            .decision
                            .as_ref()
                            .is_some_and(|d| d.outcome == Outcome::Ask)
                        {
                            ctx.approval = Some(Approval::Deny);
                        }
                        Err(RunError::Cancelled { step: Some(step) })
                    }
                }
            }
            (Perform::Job(spec), Phase::Ready, _) => {
                let input = if spec.has_input {
                    Some(self.pop()?)
                } else {
                    None
                };
                let (input, origins) = match input {
                    Some(t) => (Some(t.value), t.origins),
                    None => (None, BTreeSet::new()),
                };
                self.ctx_mut()?.job_origins = origins;
                let job = JobRequest {
                    runtime: spec.runtime.clone(),
                    sandbox: spec.sandbox,
                    timeout_ms: spec.timeout_ms,
                    memory_bytes: spec.memory_bytes,
                    input,
                    code: spec.code.clone(),
                };
                Ok(Flow::Emit(
                    Box::new(Effect::Job {
                        step,
                        job: Box::new(job),
                    }),
                    Phase::Job,
                ))
            }
            (Perform::Job(_), Phase::Job, Some(Response::JobDone { result })) => {
                if !result.ok {
                    return Err(RunError::JobFailed {
                        step,
                        message: result
                            .error
                            .unwrap_or_else(|| "the host gave no reason".to_owned()),
                    });
                }
                let output = Value::Text(result.output);
                self.check_size(&output)?;
                self.observed(&output)?;
                let origins = std::mem::take(&mut self.ctx_mut()?.job_origins);
                self.push(Tainted {
                    value: output,
                    origins,
                });
                Ok(Flow::Next)
            }
            (_, _, response) => Err(bad_response("an answer to the step's effect", response)),
        }
    }

    fn end(&mut self, response: Option<Response>) -> Result<Flow, RunError> {
        let step = self.current_step()?;
        match (self.state.phase, response) {
            (Phase::Ready, _) => {
                let step = self.step_audit(Some(StepResult {
                    ok: true,
                    error: None,
                }))?;
                let event = self.audit(AuditKind::Completed(step));
                Ok(Flow::Emit(
                    Box::new(Effect::AuditWrite {
                        event: Box::new(event),
                    }),
                    Phase::AuditEnd,
                ))
            }
            (Phase::AuditEnd, Some(Response::AuditWritten)) => {
                self.record(true, None);
                self.state.ctx = None;
                self.state.steps_done += 1;
                Ok(Flow::Next)
            }
            (Phase::AuditEnd, Some(Response::AuditFailed { message })) => {
                Err(RunError::AuditFailed {
                    step: Some(step),
                    message,
                })
            }
            (_, response) => Err(bad_response("an answer to the audit write", response)),
        }
    }
}

/// `confirm` asks whatever the policy says; an `allow` becomes `ask` with a reason saying so,
/// so the record (and the audit log, which pairs every approval with an `ask`) stays true.
fn confirm_asks(gate: &Gate, mut decision: Decision) -> Decision {
    if gate.always_ask && decision.outcome == Outcome::Allow {
        decision.outcome = Outcome::Ask;
        decision.reasons.push(Reason::new(
            Source::Script,
            Outcome::Ask,
            "`confirm` always asks the user",
        ));
    }
    decision
}

fn approve(step: usize, request: ApprovalRequest) -> Effect {
    Effect::Approve {
        step,
        request: Box::new(request),
    }
}

fn bad_response(expected: &str, response: Option<Response>) -> RunError {
    RunError::BadResponse {
        expected: expected.to_owned(),
        got: response.map_or("no response", |r| r.kind()).to_owned(),
    }
}

/// Checks a resolution against its target: an element outside the frame the target names is
/// a forged or broken answer.
fn resolution(
    step: usize,
    target: &TargetSpec,
    response: Option<Response>,
) -> Result<ElementFacts, RunError> {
    match response {
        Some(Response::Resolved { element }) => {
            if let Some(frame) = &target.frame {
                let wanted = origin_of(frame).unwrap_or_else(|| frame.clone());
                let got = origin_of(&element.frame_origin)
                    .unwrap_or_else(|| element.frame_origin.clone());
                if wanted != got {
                    return Err(RunError::BadResponse {
                        expected: format!("an element in frame `{frame}`"),
                        got: format!("one in `{}`", element.frame_origin),
                    });
                }
            }
            Ok(element)
        }
        Some(Response::NotFound { candidates }) => Err(RunError::NotFound {
            step,
            target: target.to_string(),
            candidates,
        }),
        Some(Response::Ambiguous { candidates }) => Err(RunError::Ambiguous {
            step,
            target: target.to_string(),
            candidates,
        }),
        other => Err(bad_response("a resolution", other)),
    }
}

#[derive(Clone, Copy)]
enum Expect {
    Text,
    TextOrNull,
    Table,
    Count,
    Bool,
}

/// Refuses an observation of the wrong shape: a sensor that answers `exists` with text is
/// broken or forged, and guessing would be worse than stopping.
fn check_value(expect: Expect, value: &Value) -> Result<(), RunError> {
    let ok = match (expect, value) {
        (Expect::Text | Expect::TextOrNull, Value::Text(_)) => true,
        (Expect::TextOrNull, Value::Null) => true,
        (Expect::Table, Value::List(rows)) => rows.iter().all(|r| matches!(r, Value::Record(_))),
        (Expect::Count, Value::Number(n)) => n.is_finite() && *n >= 0.0 && n.fract() == 0.0,
        (Expect::Bool, Value::Bool(_)) => true,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let expected = match expect {
        Expect::Text => "text",
        Expect::TextOrNull => "text or null",
        Expect::Table => "a list of records",
        Expect::Count => "a whole number",
        Expect::Bool => "a bool",
    };
    Err(RunError::BadResponse {
        expected: expected.to_owned(),
        got: value.type_name().to_owned(),
    })
}
