//! The JavaScript boundary (wasm build only): [`Executor`] wraps an [`Instance`] and converts
//! arguments and results with serde-wasm-bindgen. No decisions are made here.
//!
//! The service worker (extension/ts/background.ts) loads it with what it stored, saves what
//! it hands out after every call (`secretKey`, `policyText`, `replayState`,
//! `takeAuditLines`), and reloads it from storage when a save fails.

use crate::channel;
use crate::instance::{Instance, Now, Stored};
use crate::session::{Input, Session, Todo};
use bridle_executor::ed25519_dalek::SigningKey;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Plain JSON-shaped JavaScript values: objects rather than `Map`s, so that TypeScript reads
/// them as the documented shapes.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("cannot hand the result to JavaScript: {e}")))
}

fn now(ms: f64) -> Result<Now, JsError> {
    Now::from_millis(ms).map_err(|e| JsError::new(&e.to_string()))
}

/// One executor instance, rebuilt in every service-worker start from extension storage.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Executor {
    inner: Instance,
    /// The run in progress, if any (one at a time; kept in memory only).
    session: Option<Session>,
}

#[wasm_bindgen]
impl Executor {
    /// Rebuilds the instance from `stored` (`{secretKey?, policy?, replay?, auditLog?}`, every
    /// field a string) as of `now_ms` (`Date.now()`). Generates the key pair when there is no
    /// `secretKey`: store `secretKey()` before anything else then. Throws an `Error` naming
    /// what cannot be read.
    pub fn load(stored: JsValue, now_ms: f64) -> Result<Executor, JsError> {
        let stored: Stored = serde_wasm_bindgen::from_value(stored)
            .map_err(|e| JsError::new(&format!("the stored state has an unexpected shape: {e}")))?;
        let inner = Instance::load(stored, &now(now_ms)?, || {
            SigningKey::generate(&mut rand_core::OsRng)
        })
        .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Executor {
            inner,
            session: None,
        })
    }

    #[wasm_bindgen(js_name = instanceId)]
    pub fn instance_id(&self) -> String {
        self.inner.instance_id().to_owned()
    }

    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> String {
        self.inner.public_key()
    }

    /// base64url of the 32-byte seed, to store.
    #[wasm_bindgen(js_name = secretKey)]
    pub fn secret_key(&self) -> String {
        self.inner.secret_key()
    }

    #[wasm_bindgen(js_name = keyIsNew)]
    pub fn key_is_new(&self) -> bool {
        self.inner.key_is_new()
    }

    #[wasm_bindgen(js_name = policyText)]
    pub fn policy_text(&self) -> String {
        self.inner.policy_text().to_owned()
    }

    #[wasm_bindgen(js_name = policyIsDefault)]
    pub fn policy_is_default(&self) -> bool {
        self.inner.policy_is_default()
    }

    /// Things the user should know about the loaded state (a stored policy that no longer
    /// validates …), as an array of strings.
    pub fn warnings(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.warnings())
    }

    /// `{ok, message, diagnostics: [{line, column, path, message, help}]}`; the policy is in
    /// use only when `ok`.
    #[wasm_bindgen(js_name = setPolicy)]
    pub fn set_policy(&mut self, toml: &str, now_ms: f64) -> Result<JsValue, JsError> {
        to_js(&self.inner.set_policy(toml, &now(now_ms)?))
    }

    /// `{ok, diagnostics, goal, steps}`.
    #[wasm_bindgen(js_name = checkScript)]
    pub fn check_script(&self, script: &str) -> Result<JsValue, JsError> {
        to_js(&self.inner.check_script(script))
    }

    /// Starts executing a run: checks the script, verifies the token (using it up) and
    /// returns the first thing to do (`{todo: …}`, see `session::Todo`). A refused run is
    /// `{todo: "done", result}` at once. Save `replayState()` and `takeAuditLines()` after
    /// this and every `stepRun`.
    #[wasm_bindgen(js_name = startRun)]
    pub fn start_run(
        &mut self,
        script: &str,
        token: &str,
        now_ms: f64,
    ) -> Result<JsValue, JsError> {
        if self.session.is_some() {
            return Err(JsError::new("a run is already in progress"));
        }
        let now = now(now_ms)?;
        let todo = match self.inner.start_run(script, token, &now) {
            Ok((session, todo)) => {
                self.session = Some(session);
                todo
            }
            Err(result) => Todo::Done { result },
        };
        self.finish_if_done(&todo);
        to_js(&todo)
    }

    /// Answers the last `todo` with `input` (`{input: "snapshot", snapshot} | {input: "blank"}
    /// | {input: "acted", result} | {input: "approval", choice} | {input: "waited", ok}`) and
    /// returns the next one.
    #[wasm_bindgen(js_name = stepRun)]
    pub fn step_run(&mut self, input: JsValue, now_ms: f64) -> Result<JsValue, JsError> {
        let now = now(now_ms)?;
        let input: Input = serde_wasm_bindgen::from_value(input)
            .map_err(|e| JsError::new(&format!("the run's input has an unexpected shape: {e}")))?;
        let Some(session) = self.session.as_mut() else {
            return Err(JsError::new("no run is in progress"));
        };
        let todo = self.inner.step_run(session, input, &now);
        self.finish_if_done(&todo);
        to_js(&todo)
    }

    /// The plan preview of the run in progress (`[{index, line, verb, risk, decision, reasons,
    /// text}]`, as in `run`'s result), for the approval window; `[]` when no run is.
    #[wasm_bindgen(js_name = runPlan)]
    pub fn run_plan(&self) -> Result<JsValue, JsError> {
        to_js(&self.session.as_ref().map_or(&[][..], Session::plan))
    }

    /// The frames of the last snapshot the run read (`[{frame, doc, version}]`; `[]` when no
    /// run is): ask each frame for the changes since, and `stepRun` applies them
    /// (docs/snapshot.md, "Incremental snapshots").
    #[wasm_bindgen(js_name = snapshotBases)]
    pub fn snapshot_bases(&self) -> Result<JsValue, JsError> {
        to_js(
            &self
                .session
                .as_ref()
                .map(Session::snapshot_bases)
                .unwrap_or_default(),
        )
    }

    /// The navigation guard (`session::navguard`): checks one `webNavigation` event of the
    /// run's tab (`{kind: "committed" | "same-document" | "new-tab", url, qualifiers}`).
    /// `null`: allowed. Otherwise the run was stopped and this is its `{todo: "done", result}`;
    /// save `takeAuditLines()` as after `stepRun`. Call it only between todos.
    #[wasm_bindgen(js_name = guardNavigation)]
    pub fn guard_navigation(&mut self, event: JsValue, now_ms: f64) -> Result<JsValue, JsError> {
        let now = now(now_ms)?;
        let event: crate::session::navguard::NavEvent = serde_wasm_bindgen::from_value(event)
            .map_err(|e| {
                JsError::new(&format!(
                    "the navigation event has an unexpected shape: {e}"
                ))
            })?;
        let Some(session) = self.session.as_mut() else {
            return Err(JsError::new("no run is in progress"));
        };
        match self.inner.guard_navigation(session, &event, &now) {
            None => Ok(JsValue::NULL),
            Some(todo) => {
                self.finish_if_done(&todo);
                to_js(&todo)
            }
        }
    }

    fn finish_if_done(&mut self, todo: &Todo) {
        if matches!(todo, Todo::Done { .. }) {
            self.session = None;
        }
    }

    /// The run's step records from index `from` on (an array of `StepRecord`), for the
    /// planner's progress reports; empty when no run is in progress.
    #[wasm_bindgen(js_name = stepRecords)]
    pub fn step_records(&self, from: usize) -> Result<JsValue, JsError> {
        match &self.session {
            Some(session) => to_js(&session.records_from(from)),
            None => to_js(&Vec::<()>::new()),
        }
    }

    /// Cancels the run in progress; the next `todo` (normally `done`, outcome `cancelled`).
    #[wasm_bindgen(js_name = cancelRun)]
    pub fn cancel_run(&mut self, now_ms: f64) -> Result<JsValue, JsError> {
        let now = now(now_ms)?;
        let Some(session) = self.session.as_mut() else {
            return Err(JsError::new("no run is in progress"));
        };
        let todo = self.inner.cancel_run(session, &now);
        self.finish_if_done(&todo);
        to_js(&todo)
    }

    /// The `hello` message for a new planner connection, as wire text.
    pub fn hello(&self, browser: &str) -> Result<String, JsError> {
        serde_json::to_string(&channel::hello(&self.inner, browser))
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// The vault's entry names (values are never handed back).
    #[wasm_bindgen(js_name = vaultNames)]
    pub fn vault_names(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.vault.names())
    }

    /// Adds or replaces a vault entry; store `vaultJson()` afterwards. Throws on a bad name or
    /// value, or a full vault.
    #[wasm_bindgen(js_name = vaultSet)]
    pub fn vault_set(&mut self, name: &str, value: &str) -> Result<(), JsError> {
        self.inner
            .vault
            .set(name, value)
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// Removes a vault entry; whether it was there. Store `vaultJson()` afterwards.
    #[wasm_bindgen(js_name = vaultRemove)]
    pub fn vault_remove(&mut self, name: &str) -> bool {
        self.inner.vault.remove(name)
    }

    /// The vault to store.
    #[wasm_bindgen(js_name = vaultJson)]
    pub fn vault_json(&self) -> String {
        self.inner.vault.to_json()
    }

    /// The paired planners (`[{name, kid, public_key, endpoint}]`).
    pub fn planners(&self) -> Result<JsValue, JsError> {
        to_js(&channel::planners(&self.inner))
    }

    /// Adds a planner to the policy: `pairing` is a `bridle-pair:…` string or the object it
    /// holds (`{v: 1, name, kid, public_key, endpoint, max_ttl}`); the answer is `setPolicy`'s.
    /// Save `policyText()` when it is ok.
    #[wasm_bindgen(js_name = pairPlanner)]
    pub fn pair_planner(&mut self, pairing: JsValue, now_ms: f64) -> Result<JsValue, JsError> {
        let now = now(now_ms)?;
        if let Some(text) = pairing.as_string() {
            return to_js(&channel::pair_string(&mut self.inner, &text, &now));
        }
        let report = match serde_wasm_bindgen::from_value(pairing) {
            Ok(pairing) => channel::pair(&mut self.inner, &pairing, &now),
            Err(e) => {
                crate::report::PolicyReport::refused(format!("the pairing is incomplete: {e}"))
            }
        };
        to_js(&report)
    }

    /// Removes the planner named `name` from the policy; the answer is `setPolicy`'s.
    #[wasm_bindgen(js_name = unpairPlanner)]
    pub fn unpair_planner(&mut self, name: &str, now_ms: f64) -> Result<JsValue, JsError> {
        to_js(&channel::unpair(&mut self.inner, name, &now(now_ms)?))
    }

    #[wasm_bindgen(js_name = replayState)]
    pub fn replay_state(&self) -> String {
        self.inner.replay_state()
    }

    /// The audit lines written since the last call (an array of strings), to append to the
    /// stored log in order.
    #[wasm_bindgen(js_name = takeAuditLines)]
    pub fn take_audit_lines(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.inner.take_audit_lines())
    }
}

/// Test hook (exposed as `self.bridleTest.resolveTarget`, never on `self.bridle`): resolves the
/// one-line `target` in the snapshot JSON for `purpose` (`"act"` or `"observe"`); returns
/// `{ok: true, role, name, handle, hit}` or `{ok: false, code, message, help, candidates}`.
#[wasm_bindgen(js_name = resolveTarget)]
pub fn resolve_target(
    snapshot_json: &str,
    target: &str,
    purpose: &str,
) -> Result<JsValue, JsError> {
    let purpose = match purpose {
        "act" => crate::page::Purpose::Act,
        "observe" => crate::page::Purpose::Observe,
        other => {
            return Err(JsError::new(&format!(
                "unknown purpose `{other}`: expected `act` or `observe`"
            )))
        }
    };
    to_js(&crate::page::resolve_target(snapshot_json, target, purpose))
}

/// Test hook (`self.bridleTest.resolveTargets`, for the in-browser benchmark): every target of
/// `targets` resolved in the snapshot JSON, parsed and indexed once; a list of reports as
/// `resolveTarget` gives them.
#[wasm_bindgen(js_name = resolveTargets)]
pub fn resolve_targets(
    snapshot_json: &str,
    targets: Vec<String>,
    purpose: &str,
) -> Result<JsValue, JsError> {
    let purpose = match purpose {
        "act" => crate::page::Purpose::Act,
        _ => crate::page::Purpose::Observe,
    };
    to_js(&crate::page::resolve_targets(
        snapshot_json,
        &targets,
        purpose,
    ))
}

/// Test hook (`self.bridleTest.describePage`): every element's `{handle, role, name, in_tree}`.
#[wasm_bindgen(js_name = describePage)]
pub fn describe_page(snapshot_json: &str) -> Result<JsValue, JsError> {
    let all = crate::page::describe_page(snapshot_json).map_err(|e| JsError::new(&e))?;
    to_js(&all)
}

/// Test hook (`self.bridleTest.applySnapshot`): the tab snapshot `next` (whole frames and
/// updates) read after `prev` as a run reads it (`page::delta`), as whole JSON again.
#[wasm_bindgen(js_name = applySnapshot)]
pub fn apply_snapshot(prev: &str, next: &str) -> Result<String, JsError> {
    let refused =
        |e: bridle_executor::page::SnapshotError| JsError::new(&format!("{}: {e}", e.code()));
    let prev = bridle_executor::page::Snapshot::from_json(prev).map_err(refused)?;
    let next =
        bridle_executor::page::Snapshot::from_json_after(next, Some(&prev)).map_err(refused)?;
    serde_json::to_string(&next.to_msg()).map_err(|e| JsError::new(&e.to_string()))
}

/// Reads one message from a planner: `{kind: "message", message}` or `{kind: "refused",
/// reply}` (send `reply` back as JSON).
#[wasm_bindgen(js_name = plannerIncoming)]
pub fn planner_incoming(text: &str) -> Result<JsValue, JsError> {
    to_js(&channel::incoming(text))
}

/// Checks a message for the planner against the protocol's types; its wire text. Throws when
/// the shape is wrong or the message is too large.
#[wasm_bindgen(js_name = plannerOutgoing)]
pub fn planner_outgoing(message: JsValue) -> Result<String, JsError> {
    let value: serde_json::Value = serde_wasm_bindgen::from_value(message)
        .map_err(|e| JsError::new(&format!("the message is not plain JSON: {e}")))?;
    channel::outgoing(&value).map_err(|e| JsError::new(&e.to_string()))
}
