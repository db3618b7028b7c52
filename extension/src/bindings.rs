//! The JavaScript boundary (wasm build only): [`Executor`] wraps an [`Instance`] and converts
//! arguments and results with serde-wasm-bindgen. No decisions are made here.
//!
//! The service worker (extension/ts/background.ts) loads it with what it stored, saves what
//! it hands out after every call (`secretKey`, `policyText`, `replayState`,
//! `takeAuditLines`), and reloads it from storage when a save fails.

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

    fn finish_if_done(&mut self, todo: &Todo) {
        if matches!(todo, Todo::Done { .. }) {
            self.session = None;
        }
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

/// Test hook (`self.bridleTest.describePage`): every element's `{handle, role, name, in_tree}`.
#[wasm_bindgen(js_name = describePage)]
pub fn describe_page(snapshot_json: &str) -> Result<JsValue, JsError> {
    let all = crate::page::describe_page(snapshot_json).map_err(|e| JsError::new(&e))?;
    to_js(&all)
}
