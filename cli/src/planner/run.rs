//! `bridle planner run SCRIPT`: submits a script on a running planner's control path and
//! prints its progress and result. Exit codes: 0 the run completed, 1 it did not (refused,
//! denied, failed, cancelled, lost, no instance, planner unreachable), 2 usage errors.

use super::control::{self, ControlRequest, CONTROL_PATH};
use super::serve::ws_config;
use super::{show, usage, RunArgs};
use crate::keys::fail;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use std::io::{Read as _, Write as _};
use std::process::ExitCode;
use tokio_tungstenite::tungstenite::Message;

/// The control URL for a `--planner` value: `ws://HOST:PORT`, with any path replaced by the
/// control path (so the pairing's endpoint works too).
pub fn control_url(planner: &str) -> Result<String, String> {
    let rest = planner.strip_prefix("ws://").ok_or_else(|| {
        format!("`{planner}` is not a `ws://HOST:PORT` address (the control path is plain WebSocket on this machine)")
    })?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("`{planner}` has no `HOST:PORT`"));
    }
    Ok(format!("ws://{authority}{CONTROL_PATH}"))
}

fn read_script(path: &std::path::Path) -> Result<(String, String), String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(bridle_dsl::limits::MAX_SCRIPT_BYTES as u64 + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the script from standard input: {e}"))?;
        return Ok(("stdin".to_owned(), text));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok((name, text))
}

fn print(json: bool, message: &Value) {
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(out, "{message}");
    } else {
        for line in show::event_lines(message) {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = out.flush();
}

pub async fn run(args: RunArgs) -> ExitCode {
    let url = match control_url(&args.planner) {
        Ok(url) => url,
        Err(e) => return usage(&e, "pass `--planner ws://127.0.0.1:7878`"),
    };
    let (name, script) = match read_script(&args.script) {
        Ok(s) => s,
        Err(e) => return usage(&e, "pass a script file, or `-` for standard input"),
    };
    let wait_ms = u64::try_from(args.wait_instance.whole_milliseconds())
        .unwrap_or(control::MAX_WAIT_MS)
        .min(control::MAX_WAIT_MS);
    let (ws, _) =
        match tokio_tungstenite::connect_async_with_config(url.as_str(), Some(ws_config()), true)
            .await
        {
            Ok(ws) => ws,
            Err(e) => {
                return fail(
                    &format!("cannot reach the planner at {url}: {e}"),
                    "start it with `bridle planner serve`, or pass its address with `--planner`",
                )
            }
        };
    let (mut sink, mut stream) = ws.split();
    let submit = ControlRequest::Submit {
        script,
        name: Some(name),
        wait_ms: Some(wait_ms),
        instance: args.instance.clone(),
    };
    let text = serde_json::to_string(&submit).unwrap_or_default();
    if let Err(e) = sink.send(Message::text(text)).await {
        return fail(&format!("cannot submit the script: {e}"), "");
    }
    let mut progress = 0u64;
    let mut cancelled = false;
    while let Some(message) = stream.next().await {
        let text = match message {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(_)) => break,
            Ok(_) => continue,
            Err(e) => return fail(&format!("the planner connection failed: {e}"), ""),
        };
        let Ok(message) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        print(args.json, &message);
        if control::is_final(&message) {
            return ExitCode::from(control::exit_code_of(&message));
        }
        match message.get("type").and_then(Value::as_str) {
            Some("progress") => progress += 1,
            Some("sent") => {}
            _ => continue,
        }
        if !cancelled && args.cancel_after.is_some_and(|n| progress >= n) {
            cancelled = true;
            let text = serde_json::to_string(&ControlRequest::Cancel).unwrap_or_default();
            if let Err(e) = sink.send(Message::text(text)).await {
                return fail(&format!("cannot send `cancel`: {e}"), "");
            }
        }
    }
    fail(
        "the planner closed the connection before the run ended",
        "see the planner's output",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_urls() {
        assert_eq!(
            control_url("ws://127.0.0.1:7878").unwrap(),
            "ws://127.0.0.1:7878/control"
        );
        assert_eq!(
            control_url("ws://127.0.0.1:7878/bridle").unwrap(),
            "ws://127.0.0.1:7878/control"
        );
        assert_eq!(
            control_url("ws://[::1]:9/").unwrap(),
            "ws://[::1]:9/control"
        );
        assert!(control_url("wss://example.com").is_err());
        assert!(control_url("ws://").is_err());
        assert!(control_url("ws://u@h:1").is_err());
    }
}
