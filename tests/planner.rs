//! The reference planner end to end: `bridle planner serve` on an ephemeral port, a fake
//! instance (a WebSocket client speaking protocol 1) that verifies every token with the
//! executor's real verification against a policy holding the planner's pairing, and
//! `bridle planner run` submitting scripts and exiting 0 or 1 by the run's outcome.

use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::keys::instance_id;
use bridle_executor::policy::edit::add_planner;
use bridle_executor::policy::{Policy, DEFAULT_POLICY_TOML};
use bridle_executor::protocol::{parse_to_instance, Pairing, ToInstance, MAX_MESSAGE_BYTES};
use bridle_executor::replay::MemoryReplayStore;
use bridle_executor::time::OffsetDateTime;
use bridle_executor::token::{
    ScriptHash, TokenError, UnverifiedToken, VerifiedToken, VerifyContext,
};
use bridle_tests::bridle_bin;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use fixture::*;

/// A script that checks: searches, a secret, a checkout.
const SHOP: &str = include_str!("../examples/shopping_cart_checkout.bridle");

/// How long any one wait may take before the test fails instead of hanging (not a timing
/// assertion: every wait normally ends in milliseconds).
const PATIENCE: Duration = Duration::from_secs(60);

#[cfg(test)]
mod fixture {
    use super::*;

    /// A fresh, empty directory for one test.
    pub fn scratch(name: &str) -> PathBuf {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("bridle-planner-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A running `bridle planner serve --json`, killed (by its own pid) when dropped.
    pub struct Server {
        pub child: Child,
        pub pairing: Pairing,
        pub pairing_text: String,
        pub endpoint: String,
        /// `ws://HOST:PORT`, for `planner run --planner`.
        pub base: String,
        /// The JSON event lines after the first two.
        pub events: mpsc::Receiver<Value>,
        pub dir: PathBuf,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Server {
        pub fn start(name: &str, extra: &[&str]) -> Server {
            Server::start_reading(name, extra, true)
        }

        /// `read_on`: false leaves the planner's output unread after the first two lines.
        pub fn start_reading(name: &str, extra: &[&str], read_on: bool) -> Server {
            let dir = scratch(name);
            let key = dir.join("planner.key");
            let mut child = Command::new(bridle_bin())
                .args([
                    "planner",
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--json",
                    "--name",
                    "test-planner",
                ])
                .arg("--key")
                .arg(&key)
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let mut lines = std::io::BufReader::new(stdout).lines();
            let first = lines.next().unwrap().unwrap();
            let second = lines.next().unwrap().unwrap();
            let pairing_text = first.strip_prefix("pairing: ").unwrap().to_owned();
            let endpoint = second.strip_prefix("listening: ").unwrap().to_owned();
            let pairing = Pairing::decode(&pairing_text).unwrap();
            assert_eq!(pairing.endpoint, endpoint);
            let base = endpoint.strip_suffix("/bridle").unwrap().to_owned();
            let (tx, events) = mpsc::channel();
            std::thread::spawn(move || {
                if !read_on {
                    // Hold the pipe open, unread, until the test ends.
                    let _ = tx.send(json!({"type": "parked"}));
                    std::thread::sleep(PATIENCE * 10);
                    drop(lines);
                    return;
                }
                for line in lines.map_while(Result::ok) {
                    let value: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|_| panic!("not JSON in --json mode: {line}"));
                    if tx.send(value).is_err() {
                        break;
                    }
                }
            });
            Server {
                child,
                pairing,
                pairing_text,
                endpoint,
                base,
                events,
                dir,
            }
        }

        /// Waits for the next event of type `kind`, skipping others.
        pub fn wait_event(&self, kind: &str) -> Value {
            loop {
                let event = self
                    .events
                    .recv_timeout(PATIENCE)
                    .unwrap_or_else(|e| panic!("no `{kind}` event from the planner: {e}"));
                if event["type"] == kind {
                    return event;
                }
            }
        }

        pub fn alive(&mut self) -> bool {
            self.child.try_wait().unwrap().is_none()
        }

        /// The policy an instance has after the user pasted this planner's pairing string.
        pub fn policy(&self) -> Policy {
            add_planner(DEFAULT_POLICY_TOML, &self.pairing).unwrap().1
        }

        pub fn script(&self, name: &str, text: &str) -> PathBuf {
            let path = self.dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        }

        /// `bridle planner run` against this server, in a thread: (exit code, stdout, stderr).
        pub fn run(&self, args: &[&str]) -> tokio::task::JoinHandle<(i32, String, String)> {
            let mut cmd = Command::new(bridle_bin());
            cmd.args([
                "planner",
                "run",
                "--planner",
                &self.base,
                "--wait-instance",
                "60s",
            ])
            .args(args);
            tokio::task::spawn_blocking(move || {
                let out = cmd.output().unwrap();
                (
                    out.status.code().unwrap_or(-1),
                    String::from_utf8(out.stdout).unwrap(),
                    String::from_utf8(out.stderr).unwrap(),
                )
            })
        }
    }

    /// A fake instance: one key pair, a replay store, the user's policy with the pairing.
    pub struct Instance {
        pub id: String,
        pub policy: Policy,
        pub replay: MemoryReplayStore,
        pub ws: Option<WebSocketStream<MaybeTlsStream<TcpStream>>>,
    }

    /// A run as the instance received it.
    pub struct Received {
        pub run: String,
        pub script: String,
        pub token: String,
    }

    impl Instance {
        pub fn new(seed: u8, server: &Server) -> Instance {
            let key = SigningKey::from_bytes(&[seed; 32]);
            Instance {
                id: instance_id(&key.verifying_key()),
                policy: server.policy(),
                replay: MemoryReplayStore::default(),
                ws: None,
            }
        }

        pub async fn connect(&mut self, server: &Server) {
            let (ws, _) = tokio_tungstenite::connect_async(server.endpoint.as_str())
                .await
                .unwrap();
            self.ws = Some(ws);
            let hello = json!({"type": "hello", "protocol": 1, "instance": self.id,
                "extension": "0.1.0", "language": [1],
                "capabilities": ["run", "cancel", "progress"], "browser": "chrome",
                "added-later": {"ignored": true}});
            self.send(&hello).await;
        }

        pub async fn send(&mut self, message: &Value) {
            self.send_text(message.to_string()).await;
        }

        pub async fn send_text(&mut self, text: String) {
            self.ws
                .as_mut()
                .unwrap()
                .send(Message::text(text))
                .await
                .unwrap();
        }

        /// The next planner message, parsed strictly as the extension does.
        pub async fn next(&mut self) -> ToInstance {
            loop {
                let message = tokio::time::timeout(PATIENCE, self.ws.as_mut().unwrap().next())
                    .await
                    .expect("no message from the planner")
                    .expect("the planner closed the connection")
                    .unwrap();
                if let Message::Text(text) = message {
                    return parse_to_instance(text.as_str()).unwrap();
                }
            }
        }

        pub async fn next_run(&mut self) -> Received {
            match self.next().await {
                ToInstance::Run { run, script, token } => Received { run, script, token },
                other => panic!("expected `run`, got {other:?}"),
            }
        }

        /// The executor's own verification, as the extension runs it.
        pub fn verify(&mut self, received: &Received) -> Result<VerifiedToken, TokenError> {
            let token = UnverifiedToken::parse(&received.token)?;
            let mut ctx = VerifyContext {
                keys: &self.policy,
                instance_id: &self.id,
                now: OffsetDateTime::now_utc(),
                script: Some(received.script.as_bytes()),
                replay: &mut self.replay,
            };
            token.verify(&mut ctx)
        }

        /// Plays a run: `started`, a step, an approval, the step approved, then the result.
        pub async fn play(&mut self, run: &str, outcome: &str) {
            let plan = json!([
                {"index": 0, "line": 11, "verb": "navigate", "risk": "medium", "decision": "allow",
                 "reasons": ["grant 1 covers `navigate` on `https://shop.example`"], "text": "navigate \"https://shop.example/search\""},
                {"index": 1, "line": 31, "verb": "submit", "risk": "high", "decision": "ask",
                 "reasons": ["risk high is at or above the approval threshold medium"], "text": "submit button \"Place order\""}
            ]);
            self.send(&json!({"type": "progress", "run": run, "event": "started", "plan": plan}))
                .await;
            self.send(
                &json!({"type": "progress", "run": run, "event": "step", "record":
                {"index": 0, "line": 11, "verb": "navigate", "decision": "allow", "reasons": [],
                 "approval": null, "ok": true, "error": null}}),
            )
            .await;
            self.send(
                &json!({"type": "progress", "run": run, "event": "approval-waiting",
                "step": 1, "text": "submit button \"Place order\""}),
            )
            .await;
            self.send(
                &json!({"type": "progress", "run": run, "event": "step", "record":
                {"index": 1, "line": 31, "verb": "submit", "decision": "ask", "reasons": [],
                 "approval": "once", "ok": true, "error": null}}),
            )
            .await;
            self.send(&json!({"type": "result", "run": run, "result": result(outcome)}))
                .await;
        }
    }

    pub fn result(outcome: &str) -> Value {
        json!({"outcome": outcome, "value": if outcome == "completed" { json!("Thank you, order 42") } else { Value::Null },
            "error": null,
            "script": {"ok": true, "diagnostics": [], "goal": "Buy", "steps": 2},
            "token": {"valid": true, "error": null, "code": null},
            "goal": "Buy", "plan": [], "steps": [], "warnings": [], "steps_done": 2})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_completes_with_a_token_bound_to_the_instance_and_the_script() {
    let server = Server::start("complete", &[]);
    let mut instance = Instance::new(1, &server);
    instance.connect(&server).await;
    let connected = server.wait_event("connected");
    assert_eq!(connected["instance"], instance.id.as_str());

    let script = server.script("shop.bridle", SHOP);
    let client = server.run(&[script.to_str().unwrap()]);
    let received = instance.next_run().await;
    assert_eq!(received.script, SHOP, "the exact script bytes");
    let verified = instance
        .verify(&received)
        .expect("the executor accepts the token");
    let claims = verified.claims();
    assert_eq!(claims.aud, instance.id, "audience = the connected instance");
    assert_eq!(claims.iss, "test-planner");
    assert_eq!(claims.uses, 1);
    assert_eq!(claims.script, Some(ScriptHash::of(SHOP.as_bytes())));
    let grant = &claims.grants[0];
    assert_eq!(
        grant.origins.as_deref(),
        Some(
            &[
                "https://shop.example".to_owned(),
                "https://pay.example".to_owned()
            ][..]
        )
    );
    assert_eq!(
        grant.secrets.as_deref(),
        Some(&["visa-personal".to_owned()][..])
    );
    assert!(grant
        .verbs
        .as_ref()
        .unwrap()
        .iter()
        .any(|v| v.as_str() == "submit"));

    // The token is useless to any other instance: the instance id is signed.
    let mut other = Instance::new(2, &server);
    assert_eq!(other.verify(&received).unwrap_err().code(), "bad-signature");

    instance.play(&received.run, "completed").await;
    let (code, stdout, stderr) = client.await.unwrap();
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("outcome: completed"), "{stdout}");
    assert!(
        stdout.contains("value: \"Thank you, order 42\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("waiting for the user to approve step 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("submit") && stdout.contains("ask"),
        "the step table: {stdout}"
    );
    let sent = server.wait_event("sent");
    assert_eq!(sent["run"], received.run.as_str());
    assert_eq!(sent["jti"], verified.jti());
    assert_eq!(
        server.wait_event("result")["result"]["outcome"],
        "completed"
    );

    // A second run gets a fresh token: another jti, so the replay store accepts it too.
    let client = server.run(&["--json", script.to_str().unwrap()]);
    let second = instance.next_run().await;
    assert_ne!(second.run, received.run);
    assert_ne!(second.token, received.token);
    let verified2 = instance.verify(&second).expect("a fresh token verifies");
    assert_ne!(verified2.jti(), verified.jti());
    // Replaying the first token is refused by the instance's replay store.
    assert_eq!(instance.verify(&received).unwrap_err().code(), "replayed");
    instance.play(&second.run, "completed").await;
    let (code, stdout, _) = client.await.unwrap();
    assert_eq!(code, 0);
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "result");
    assert_eq!(last["result"]["outcome"], "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_denied_and_cancelled_runs_exit_1_with_their_reasons() {
    let server = Server::start("refused", &[]);
    let mut instance = Instance::new(3, &server);
    instance.connect(&server).await;
    server.wait_event("connected");

    // A script that does not check: sent anyway, so the checker's diagnostics come back.
    let bad = server.script("bad.bridle", "bridle 1\nclik button \"Go\"\n");
    let client = server.run(&[bad.to_str().unwrap()]);
    let received = instance.next_run().await;
    let verified = instance.verify(&received).unwrap();
    assert!(
        verified.grants().is_empty(),
        "nothing is granted to a script that does not check"
    );
    let mut refused = result("refused");
    refused["script"] = json!({"ok": false, "goal": null, "steps": 0, "diagnostics": [
        {"code": "unknown-statement", "message": "`clik` is not a statement", "line": 2, "column": 1,
         "help": "did you mean `click`?"}]});
    instance
        .send(&json!({"type": "result", "run": received.run, "result": refused}))
        .await;
    let (code, stdout, _) = client.await.unwrap();
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("outcome: refused"), "{stdout}");
    assert!(
        stdout.contains("script line 2:1 unknown-statement: `clik` is not a statement"),
        "{stdout}"
    );
    assert!(stdout.contains("did you mean `click`?"), "{stdout}");

    // A denied run.
    let script = server.script("shop.bridle", SHOP);
    let client = server.run(&[script.to_str().unwrap()]);
    let received = instance.next_run().await;
    instance.play(&received.run, "denied").await;
    let (code, stdout, _) = client.await.unwrap();
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("outcome: denied"), "{stdout}");

    // An instance `error` about the run (here: busy) ends it too.
    let client = server.run(&[script.to_str().unwrap()]);
    let received = instance.next_run().await;
    instance
        .send(&json!({"type": "error", "run": received.run, "code": "busy", "message": "a run is in progress"}))
        .await;
    let (code, stdout, _) = client.await.unwrap();
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("error busy: a run is in progress"),
        "{stdout}"
    );

    // `--cancel-after 1`: the planner sends `cancel` to the instance after the first event.
    let client = server.run(&["--cancel-after", "1", script.to_str().unwrap()]);
    let received = instance.next_run().await;
    instance
        .send(&json!({"type": "progress", "run": received.run, "event": "started", "plan": []}))
        .await;
    match instance.next().await {
        ToInstance::Cancel { run } => assert_eq!(run, received.run),
        other => panic!("expected `cancel`, got {other:?}"),
    }
    instance
        .send(&json!({"type": "result", "run": received.run, "result": result("cancelled")}))
        .await;
    let (code, stdout, _) = client.await.unwrap();
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("cancel sent to the instance"), "{stdout}");
    assert!(stdout.contains("outcome: cancelled"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_messages_do_not_stop_the_server() {
    let mut server = Server::start("malformed", &[]);

    // Before `hello`, and nonsense as `hello`.
    let mut early = Instance::new(4, &server);
    let (ws, _) = tokio_tungstenite::connect_async(server.endpoint.as_str())
        .await
        .unwrap();
    early.ws = Some(ws);
    early
        .send(&json!({"type": "result", "run": "r1", "result": {}}))
        .await;
    early
        .send(
            &json!({"type": "hello", "protocol": 1, "instance": "bad id with spaces",
        "extension": "x", "language": [1], "capabilities": [], "browser": "chrome"}),
        )
        .await;

    let mut instance = Instance::new(5, &server);
    instance.connect(&server).await;
    server.wait_event("connected");
    let junk = [
        "not json".to_owned(),
        "[1,2,3]".to_owned(),
        "{}".to_owned(),
        r#"{"type":"progress"}"#.to_owned(),
        r#"{"type":"progress","run":7,"event":"step"}"#.to_owned(),
        r#"{"type":"result","run":"no-such-run","result":{"outcome":"completed"}}"#.to_owned(),
        r#"{"type":"error","run":null,"code":"not-a-code","message":"x"}"#.to_owned(),
        r#"{"type":"keepalive"}"#.to_owned(),
        r#"{"type":"pong","nonce":"n"}"#.to_owned(),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        "\u{0}\u{1}\u{fffd}".to_owned(),
    ];
    for text in junk {
        instance.send_text(text).await;
    }
    instance
        .ws
        .as_mut()
        .unwrap()
        .send(Message::binary(vec![0u8; 16]))
        .await
        .unwrap();
    // Still serving that connection: a run goes through.
    let script = server.script("shop.bridle", SHOP);
    let client = server.run(&[script.to_str().unwrap()]);
    let received = instance.next_run().await;
    instance.verify(&received).unwrap();
    instance.play(&received.run, "completed").await;
    assert_eq!(client.await.unwrap().0, 0);

    // Over the size limit: that connection is closed, the server goes on.
    let big = format!(
        r#"{{"type":"result","run":"x","result":"{}"}}"#,
        "a".repeat(MAX_MESSAGE_BYTES)
    );
    let _ = instance.ws.as_mut().unwrap().send(Message::text(big)).await;
    server.wait_event("disconnected");
    assert!(server.alive());

    let mut again = Instance::new(5, &server);
    again.connect(&server).await;
    server.wait_event("connected");
    let client = server.run(&[script.to_str().unwrap()]);
    let received = again.next_run().await;
    again.verify(&received).unwrap();
    again.play(&received.run, "completed").await;
    assert_eq!(client.await.unwrap().0, 0);
    assert!(server.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_in_flight_is_lost_when_the_instance_drops_and_the_instance_comes_back() {
    let server = Server::start("reconnect", &[]);
    let mut instance = Instance::new(6, &server);
    instance.connect(&server).await;
    server.wait_event("connected");
    let script = server.script("shop.bridle", SHOP);

    let client = server.run(&[script.to_str().unwrap()]);
    let received = instance.next_run().await;
    instance
        .send(&json!({"type": "progress", "run": received.run, "event": "started", "plan": []}))
        .await;
    instance.ws.take().unwrap().close(None).await.unwrap();
    let (code, stdout, _) = client.await.unwrap();
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("lost: the instance disconnected during the run"),
        "{stdout}"
    );
    server.wait_event("disconnected");

    // A run submitted while no instance is connected waits for one; the same instance
    // reconnecting (same id) gets it.
    let client = server.run(&[script.to_str().unwrap()]);
    server.wait_event("waiting");
    instance.connect(&server).await;
    let received = instance.next_run().await;
    let verified = instance.verify(&received).unwrap();
    assert_eq!(verified.claims().aud, instance.id);
    instance.play(&received.run, "completed").await;
    let (code, stdout, _) = client.await.unwrap();
    assert_eq!(code, 0, "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_from_a_folder_run_in_name_order_once_an_instance_connects() {
    let dir = scratch("folder-scripts");
    std::fs::write(
        dir.join("2-second.bridle"),
        SHOP.replace("usb-c cable 2m", "second"),
    )
    .unwrap();
    std::fs::write(dir.join("1-first.bridle"), SHOP).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a script").unwrap();
    let server = Server::start("folder", &["--scripts", dir.to_str().unwrap()]);
    let mut instance = Instance::new(7, &server);
    instance.connect(&server).await;
    let first = instance.next_run().await;
    assert_eq!(first.script, SHOP);
    instance.verify(&first).unwrap();
    instance.play(&first.run, "completed").await;
    let second = instance.next_run().await;
    assert!(second.script.contains("second"));
    instance.verify(&second).unwrap();
    instance.play(&second.run, "failed").await;
    let results: Vec<Value> = (0..2).map(|_| server.wait_event("result")).collect();
    assert_eq!(results[0]["name"], "1-first.bridle");
    assert_eq!(results[1]["name"], "2-second.bridle");
    assert_eq!(results[1]["result"]["outcome"], "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_pages_cannot_use_the_control_path() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let server = Server::start("origin", &[]);
    let mut request = format!("{}/control", server.base)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    assert!(
        refused.is_err(),
        "a page's WebSocket reached the control path"
    );
    let mut request = server.endpoint.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
    // The pairing string the planner printed is one the policy accepts.
    assert!(server.pairing_text.starts_with("bridle-pair:"));
    server.policy();
}

#[test]
fn usage_errors_exit_2_and_an_unreachable_planner_exits_1() {
    let run = |args: &[&str]| {
        let out = Command::new(bridle_bin()).args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let dir = scratch("usage");
    let script = dir.join("s.bridle");
    std::fs::write(&script, SHOP).unwrap();
    let script = script.to_str().unwrap();
    assert_eq!(run(&["planner", "run"]).0, 2);
    assert_eq!(run(&["planner", "run", "/no/such/file.bridle"]).0, 2);
    assert_eq!(
        run(&["planner", "run", script, "--planner", "https://x"]).0,
        2
    );
    assert_eq!(
        run(&["planner", "run", script, "--wait-instance", "soon"]).0,
        2
    );
    // Port 9 on loopback: nothing listens (discard is not run here).
    let (code, stderr) = run(&["planner", "run", script, "--planner", "ws://127.0.0.1:9"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("cannot reach the planner"), "{stderr}");
    let key = dir.join("k");
    let key = key.to_str().unwrap();
    let (code, stderr) = run(&[
        "planner",
        "serve",
        "--key",
        key,
        "--token-ttl",
        "20m",
        "--max-ttl",
        "15m",
    ]);
    assert_eq!(code, 2, "{stderr}");
    let (code, stderr) = run(&["planner", "serve", "--key", key, "--listen", "0.0.0.0:0"]);
    assert_eq!(code, 2, "plain ws:// off loopback is refused: {stderr}");
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = scratch("key-mode");
    let key = dir.join("planner.key");
    let out = Command::new(bridle_bin())
        .args(["keys", "new", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(bridle_bin())
        .args(["planner", "serve", "--listen", "127.0.0.1:0", "--key"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_reading_the_output_does_not_stall_the_planner() {
    let server = Server::start_reading("stalled", &[], false);
    let mut instance = Instance::new(8, &server);
    instance.connect(&server).await;
    // Each ignored message prints a warning: far more than a pipe holds (64 KiB).
    for i in 0..3000 {
        instance
            .send_text(format!(
                r#"{{"type":"result","run":"nobody-{i}","result":{{}}}}"#
            ))
            .await;
    }
    let script = server.script("shop.bridle", SHOP);
    let client = server.run(&[script.to_str().unwrap()]);
    let received = instance.next_run().await;
    instance.verify(&received).unwrap();
    instance.play(&received.run, "completed").await;
    assert_eq!(client.await.unwrap().0, 0);
}
