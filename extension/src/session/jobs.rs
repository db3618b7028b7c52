//! A script's `job` steps, run by the native host (`docs/native-host.md`) over the browser's
//! native messaging.
//!
//! The service worker only carries messages: the request the host gets is built here, with
//! the run's own token and script text, so the host verifies the job's grant itself (it trusts
//! nothing the extension says), and the host's reply is read here into the engine's
//! [`JobResult`]. Without a host installed, the step fails with how to install one.

use bridle_executor::engine::{JobRequest, JobResult};
use bridle_executor::token::claims::sandbox_word;
use serde::Serialize;
use serde_json::Value;

/// The native messaging host's name (`bridle host install` registers it).
pub const HOST_NAME: &str = "dev.bridle.host";

/// The longest stdout or stderr excerpt put into an error message.
const EXCERPT_CHARS: usize = 300;

/// The `job` message for the host, without its `id` (the service worker numbers them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostJob {
    pub kind: &'static str,
    pub token: String,
    pub runtime: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    pub tier: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// The script the token is bound to: the host checks the binding itself.
    pub script: String,
}

/// The host message for `job`, carrying the run's `token` and `script`.
pub fn host_job(job: &JobRequest, token: &str, script: &str) -> HostJob {
    HostJob {
        kind: "job",
        token: token.to_owned(),
        runtime: job.runtime.clone(),
        code: job.code.clone(),
        input: job
            .input
            .as_ref()
            .and_then(|v| serde_json::to_value(v).ok()),
        // The tier the decision was made for: the script's, else the strongest (as `decide`).
        tier: Some(sandbox_word(
            job.sandbox
                .unwrap_or(bridle_executor::decide::DEFAULT_JOB_SANDBOX),
        )),
        timeout_ms: job.timeout_ms,
        memory: job.memory_bytes,
        script: script.to_owned(),
    }
}

fn excerpt(text: &str) -> String {
    let line = text.trim();
    if line.chars().count() <= EXCERPT_CHARS {
        return line.to_owned();
    }
    let cut: String = line.chars().take(EXCERPT_CHARS).collect();
    format!("{cut}…")
}

fn text(reply: &Value, key: &str) -> String {
    reply
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// The engine's result for the host's final reply to a job: `result` (the job ran),
/// `refused`, `error`, or `unavailable` (the service worker's own: no host answered).
pub fn job_result(reply: &Value) -> JobResult {
    let failed = |error: String| JobResult {
        ok: false,
        output: String::new(),
        error: Some(error),
    };
    match reply.get("kind").and_then(Value::as_str) {
        Some("result") => {
            let stdout = text(reply, "stdout");
            let limits: Vec<&str> = reply
                .get("limits_hit")
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let exit = reply.get("exit").and_then(Value::as_i64);
            let signal = reply.get("signal").and_then(Value::as_str);
            if exit == Some(0) && limits.iter().all(|l| *l == "cpu") {
                return JobResult {
                    ok: true,
                    output: stdout,
                    error: None,
                };
            }
            let how = match (exit, signal) {
                (_, Some(signal)) => format!("was killed by {signal}"),
                (Some(code), None) => format!("exited with status {code}"),
                (None, None) => "ended without a status".to_owned(),
            };
            let limits = if limits.is_empty() {
                String::new()
            } else {
                format!(" (limits hit: {})", limits.join(", "))
            };
            let stderr = excerpt(&text(reply, "stderr"));
            let stderr = if stderr.is_empty() {
                String::new()
            } else {
                format!(": {stderr}")
            };
            failed(format!("the job {how}{limits}{stderr}"))
        }
        Some("refused") => failed(format!(
            "the native host refused the job ({}): {}",
            text(reply, "code"),
            text(reply, "message")
        )),
        Some("error") => failed(format!(
            "the native host failed ({}): {}",
            text(reply, "code"),
            text(reply, "message")
        )),
        Some("unavailable") => failed(format!(
            "this script needs Bridle's native host, which is not installed or did not start ({}); install it with `bridle host install --browser chrome --extension-id <this extension's id>` (docs/native-host.md)",
            text(reply, "message")
        )),
        _ => failed("the native host's reply has an unexpected shape".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridle_dsl::ast::SandboxTier;
    use serde_json::json;

    #[test]
    fn results_errors_and_a_missing_host_become_job_results() {
        let ok = job_result(
            &json!({"kind": "result", "exit": 0, "signal": null, "stdout": "42\n", "stderr": "", "limits_hit": []}),
        );
        assert_eq!((ok.ok, ok.output.as_str()), (true, "42\n"));
        let bad = job_result(
            &json!({"kind": "result", "exit": 1, "stdout": "", "stderr": "Traceback: boom\n", "limits_hit": []}),
        );
        assert_eq!(
            bad.error.as_deref(),
            Some("the job exited with status 1: Traceback: boom")
        );
        let killed = job_result(
            &json!({"kind": "result", "exit": null, "signal": "SIGKILL", "stdout": "", "stderr": "", "limits_hit": ["wall"]}),
        );
        assert_eq!(
            killed.error.as_deref(),
            Some("the job was killed by SIGKILL (limits hit: wall)")
        );
        let cut = job_result(
            &json!({"kind": "result", "exit": 0, "stdout": "x", "limits_hit": ["output"]}),
        );
        assert!(!cut.ok, "output cut at the budget is not a complete result");
        let refused =
            job_result(&json!({"kind": "refused", "code": "token-replayed", "message": "used"}));
        assert!(refused.error.unwrap().contains("token-replayed"));
        let missing = job_result(
            &json!({"kind": "unavailable", "message": "Specified native messaging host not found."}),
        );
        assert!(missing.error.unwrap().contains("bridle host install"));
        assert!(!job_result(&json!([1])).ok);
    }

    #[test]
    fn the_request_carries_the_runs_token_and_script() {
        let job = JobRequest {
            runtime: "python3".into(),
            sandbox: Some(SandboxTier::Container),
            timeout_ms: Some(5000),
            memory_bytes: None,
            input: Some(bridle_executor::engine::Value::Number(2.0)),
            code: "print(1)".into(),
        };
        let message = serde_json::to_value(host_job(&job, "v4.public.t", "bridle 1\n")).unwrap();
        assert_eq!(
            message,
            json!({"kind": "job", "token": "v4.public.t", "runtime": "python3", "code": "print(1)",
                   "input": 2.0, "tier": "container", "timeout_ms": 5000, "script": "bridle 1\n"})
        );
    }
}
