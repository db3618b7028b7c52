//! `bridle planner serve`: the reference planner's WebSocket server.
//!
//! Instances (the extension) dial in on `/bridle` and say `hello`; local tools submit scripts
//! on `/control`. One dispatcher runs the submitted scripts one after another: it waits for an
//! instance, mints a token bound to that instance and the script's hash, sends `run`, and
//! passes the instance's progress and result to the submitter and to standard output.
//!
//! Everything read from an instance is capped at `MAX_MESSAGE_BYTES` by the WebSocket layer and
//! parsed leniently; whatever an instance sends, the worst outcome is a warning and, for
//! garbage on the wire, that one connection being closed. The server never panics on input.

use super::control::{self, codes, ControlRequest, CONTROL_PATH, INSTANCE_PATH};
use super::grants::{grants_for_script, GrantOptions};
use super::show;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::protocol::{ToInstance, ToPlanner, MAX_MESSAGE_BYTES, PROTOCOL_VERSION};
use bridle_executor::time::format_description::well_known::Rfc3339;
use bridle_executor::time::{Duration, OffsetDateTime};
use bridle_executor::token::{mint, Claims, ScriptHash};
use futures_util::{SinkExt as _, StreamExt as _};
use rand_core::RngCore as _;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How long a new instance connection may take to say `hello`.
pub const HELLO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a new control connection may take to submit its script.
pub const SUBMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The longest instance id accepted in `hello` (the token's `aud` limit).
pub const MAX_INSTANCE_ID_BYTES: usize = bridle_executor::token::MAX_NAME_BYTES;

/// What the server needs, from the command line.
#[derive(Debug)]
pub struct ServeConfig {
    pub key: SigningKey,
    pub kid: String,
    pub name: String,
    pub listener: TcpListener,
    /// `ws://ADDR/bridle` for the address actually bound.
    pub listening: String,
    pub pairing: String,
    pub scripts: Vec<(String, String)>,
    pub token_ttl: Duration,
    pub grants: GrantOptions,
    pub json: bool,
    pub notes: Vec<String>,
}

/// The WebSocket limits for everything the server reads: the protocol's message cap, for whole
/// messages and single frames alike.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
}

/// Lines waiting for standard output; past this many, new lines are dropped.
pub const MAX_PENDING_LINES: usize = 4096;

/// Prints events: human lines, or one JSON object per line.
///
/// A thread of its own writes them: a reader that stops reading the planner's output (a full
/// pipe) or closes it must not stall or stop the planner, whose events also go to control
/// clients. Lines keep their order and each is flushed.
#[derive(Debug)]
struct Printer {
    json: bool,
    lines: std::sync::mpsc::SyncSender<String>,
}

impl Printer {
    fn new(json: bool) -> Printer {
        let (lines, pending) = std::sync::mpsc::sync_channel::<String>(MAX_PENDING_LINES);
        std::thread::spawn(move || {
            for line in pending {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        });
        Printer { json, lines }
    }

    fn line(&self, text: &str) {
        let _ = self.lines.try_send(text.to_owned());
    }

    fn emit(&self, event: &Value) {
        if self.json {
            self.line(&event.to_string());
        } else {
            for line in show::event_lines(event) {
                self.line(&line);
            }
        }
    }

    fn warn(&self, message: impl Into<String>) {
        self.emit(&json!({"type": "warning", "message": message.into()}));
    }
}

/// One instance connection, as the dispatcher reaches it.
#[derive(Debug)]
struct InstanceConn {
    conn: u64,
    tx: mpsc::UnboundedSender<Message>,
}

/// What a run's dispatcher hears about it.
#[derive(Debug)]
enum RunEvent {
    /// The instance's `progress`, `result` or `error` message, as it sent it.
    Message(Value),
    /// The instance's connection closed while the run was in flight.
    Lost(String),
}

#[derive(Debug)]
struct ActiveRun {
    instance: String,
    conn: u64,
    events: mpsc::UnboundedSender<RunEvent>,
}

#[derive(Debug, Default)]
struct State {
    /// The open connection of each instance that said `hello`, by instance id.
    instances: HashMap<String, InstanceConn>,
    /// Instance ids, most recently connected last.
    order: Vec<String>,
    runs: HashMap<String, ActiveRun>,
    next_conn: u64,
    next_run: u64,
}

/// A script waiting for its turn.
#[derive(Debug)]
struct Job {
    name: String,
    script: String,
    /// How long to wait for an instance; `None`: as long as it takes.
    wait: Option<std::time::Duration>,
    instance: Option<String>,
    reply: Option<mpsc::UnboundedSender<Value>>,
    cancel: Option<mpsc::UnboundedReceiver<()>>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    instances_changed: watch::Sender<u64>,
    queue: mpsc::UnboundedSender<Job>,
    out: Printer,
    key: SigningKey,
    kid: String,
    name: String,
    token_ttl: Duration,
    grants: GrantOptions,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // No code path panics while holding the lock; if one ever did, the state is still
        // consistent enough to keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Prints a run's event and passes it to its submitter, if any.
    fn report(&self, job: &Job, mut event: Value) {
        if let Some(object) = event.as_object_mut() {
            object.insert("name".into(), Value::String(job.name.clone()));
        }
        self.out.emit(&event);
        if let Some(reply) = &job.reply {
            // A submitter that went away misses the rest; the run goes on.
            let _ = reply.send(event);
        }
    }

    fn enqueue(&self, job: Job) {
        self.report(&job, json!({"type": "queued"}));
        if let Err(e) = self.queue.send(job) {
            let job = e.0;
            self.report(
                &job,
                json!({"type": "error", "run": null, "code": codes::INTERNAL,
                       "message": "the planner's dispatcher has stopped"}),
            );
        }
    }
}

/// Runs the server until the process is stopped.
pub async fn serve(config: ServeConfig) -> Result<(), String> {
    let out = Printer::new(config.json);
    // The two first lines are fixed, whatever the output mode: tools (the demo, tests) read them.
    out.line(&format!("pairing: {}", config.pairing));
    out.line(&format!("listening: {}", config.listening));
    if config.json {
        out.emit(&json!({
            "type": "listening",
            "listening": config.listening,
            "pairing": config.pairing,
            "name": config.name,
            "kid": config.kid,
            "notes": config.notes,
        }));
    } else {
        out.line(&format!("planner `{}`, key id {}", config.name, config.kid));
        for note in &config.notes {
            out.line(note);
        }
    }
    let (queue, queue_rx) = mpsc::unbounded_channel();
    let (instances_changed, _) = watch::channel(0u64);
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        instances_changed,
        queue,
        out,
        key: config.key,
        kid: config.kid,
        name: config.name,
        token_ttl: config.token_ttl,
        grants: config.grants,
    });
    tokio::spawn(dispatcher(shared.clone(), queue_rx));
    for (name, script) in config.scripts {
        shared.enqueue(Job {
            name,
            script,
            wait: None,
            instance: None,
            reply: None,
            cancel: None,
        });
    }
    loop {
        match config.listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(connection(shared.clone(), stream, peer));
            }
            Err(e) => {
                // Out of file descriptors and the like: say so, breathe, go on.
                shared.out.warn(format!("cannot accept a connection: {e}"));
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Which path a connection asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Instance,
    Control,
}

/// Decides a WebSocket handshake: `/bridle` for instances, `/control` for loopback tools.
///
/// Browsers send `Origin` with every WebSocket handshake and cannot omit it, and WebSockets are
/// not bound by the same-origin policy: without these checks any web page open in the user's
/// browser could reach a loopback planner. So `/control` refuses any `Origin` (command-line
/// tools send none), and `/bridle` accepts only extension origins or none.
fn route(request: &Request, peer: SocketAddr) -> Result<Route, (StatusCode, String)> {
    let origin = request
        .headers()
        .get("origin")
        .map(|o| o.to_str().unwrap_or("?").to_owned());
    match request.uri().path() {
        INSTANCE_PATH => match origin {
            Some(o)
                if !(o.starts_with("chrome-extension://") || o.starts_with("moz-extension://")) =>
            {
                Err((
                    StatusCode::FORBIDDEN,
                    format!("instances connect from the extension, not from `{o}`"),
                ))
            }
            _ => Ok(Route::Instance),
        },
        CONTROL_PATH if !peer.ip().is_loopback() => Err((
            StatusCode::FORBIDDEN,
            "the control path is for this machine only".to_owned(),
        )),
        CONTROL_PATH if origin.is_some() => Err((
            StatusCode::FORBIDDEN,
            "the control path does not accept connections from web pages".to_owned(),
        )),
        CONTROL_PATH => Ok(Route::Control),
        _ => Err((
            StatusCode::NOT_FOUND,
            format!("the paths are `{INSTANCE_PATH}` and `{CONTROL_PATH}`"),
        )),
    }
}

// The handshake callback's error type (an HTTP response) is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
async fn connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let mut chosen = None;
    let mut refused = None;
    let callback = |request: &Request, response: Response| match route(request, peer) {
        Ok(r) => {
            chosen = Some(r);
            Ok(response)
        }
        Err((status, message)) => {
            refused = Some(format!("{} {}", request.uri().path(), status));
            let mut error = ErrorResponse::new(Some(message));
            *error.status_mut() = status;
            Err(error)
        }
    };
    let handshake =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config()));
    let ws = match tokio::time::timeout(HELLO_TIMEOUT, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            match refused {
                Some(what) => shared
                    .out
                    .warn(format!("refused a connection from {peer}: {what}")),
                None => shared.out.warn(format!(
                    "a connection from {peer} failed its handshake: {e}"
                )),
            }
            return;
        }
        Err(_) => {
            shared.out.warn(format!(
                "a connection from {peer} did not finish its handshake"
            ));
            return;
        }
    };
    match chosen {
        Some(Route::Instance) => instance_connection(shared, ws).await,
        Some(Route::Control) => control_connection(shared, ws).await,
        None => {}
    }
}

/// Whether `id` can be a token's audience: printable ASCII without spaces, bounded.
fn valid_instance_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_INSTANCE_ID_BYTES && id.bytes().all(|b| b.is_ascii_graphic())
}

fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

/// What to do after one message from an instance.
enum Next {
    Continue,
    Close,
}

async fn instance_connection(shared: Arc<Shared>, ws: WebSocketStream<TcpStream>) {
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let conn = {
        let mut state = shared.state();
        state.next_conn += 1;
        state.next_conn
    };
    let mut instance: Option<String> = None;
    loop {
        let next = if instance.is_none() {
            match tokio::time::timeout(HELLO_TIMEOUT, stream.next()).await {
                Ok(next) => next,
                Err(_) => {
                    shared
                        .out
                        .warn("an instance connection sent no `hello` in time; closed");
                    break;
                }
            }
        } else {
            stream.next().await
        };
        let text = match next {
            None | Some(Ok(Message::Close(_))) => break,
            Some(Err(e)) => {
                // Oversized messages end here (the WebSocket layer refuses them unread), as do
                // protocol violations: the connection is closed, the server goes on.
                shared.out.warn(format!(
                    "closed the connection of {}: {e}",
                    instance.as_deref().unwrap_or("an instance")
                ));
                break;
            }
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                shared
                    .out
                    .warn("an instance sent a binary message; messages are JSON text; ignored");
                continue;
            }
            Some(Ok(_)) => continue,
        };
        match instance_message(&shared, conn, &tx, &mut instance, text.as_str()) {
            Next::Continue => {}
            Next::Close => break,
        }
    }
    // Forget this connection, and tell every run it carried that it is lost.
    let lost: Vec<mpsc::UnboundedSender<RunEvent>> = {
        let mut state = shared.state();
        if let Some(id) = &instance {
            if state.instances.get(id).is_some_and(|c| c.conn == conn) {
                state.instances.remove(id);
                state.order.retain(|i| i != id);
            }
        }
        state
            .runs
            .values()
            .filter(|r| r.conn == conn)
            .map(|r| r.events.clone())
            .collect()
    };
    for events in lost {
        let _ = events.send(RunEvent::Lost(
            "the instance disconnected during the run; its outcome is in the instance's audit log"
                .to_owned(),
        ));
    }
    if let Some(id) = instance {
        shared
            .out
            .emit(&json!({"type": "disconnected", "instance": id}));
    }
    drop(tx);
    writer.abort();
}

/// Handles one text message from an instance: leniently, never failing.
fn instance_message(
    shared: &Shared,
    conn: u64,
    tx: &mpsc::UnboundedSender<Message>,
    instance: &mut Option<String>,
    text: &str,
) -> Next {
    let who = instance.clone().unwrap_or_else(|| "an instance".to_owned());
    if text.len() > MAX_MESSAGE_BYTES {
        shared.out.warn(format!(
            "{who} sent a message over {MAX_MESSAGE_BYTES} bytes; ignored"
        ));
        return Next::Continue;
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            shared.out.warn(format!(
                "{who} sent a message that is not JSON ({e}); ignored"
            ));
            return Next::Continue;
        }
    };
    let message = match read_instance_message(&value) {
        Ok(m) => m,
        Err(e) => {
            shared.out.warn(format!(
                "{who} sent a message protocol {PROTOCOL_VERSION} does not have ({}); ignored",
                clip(&e)
            ));
            return Next::Continue;
        }
    };
    match (message, instance.as_deref()) {
        (
            ToPlanner::Hello {
                protocol,
                instance: id,
                extension,
                browser,
                ..
            },
            None,
        ) => {
            if protocol != PROTOCOL_VERSION {
                shared.out.warn(format!(
                    "an instance speaks protocol {protocol}, not {PROTOCOL_VERSION}; closed"
                ));
                return Next::Close;
            }
            if !valid_instance_id(&id) {
                shared.out.warn(format!(
                    "an instance sent an invalid instance id `{}`; closed",
                    clip(&id.escape_debug().to_string())
                ));
                return Next::Close;
            }
            {
                let mut state = shared.state();
                // The same id reconnecting is the same instance: its new connection replaces
                // the old one for new runs.
                state.instances.insert(
                    id.clone(),
                    InstanceConn {
                        conn,
                        tx: tx.clone(),
                    },
                );
                state.order.retain(|i| i != &id);
                state.order.push(id.clone());
            }
            shared.out.emit(&json!({
                "type": "connected",
                "instance": id,
                "browser": browser,
                "extension": extension,
            }));
            *instance = Some(id);
            shared.instances_changed.send_modify(|n| *n += 1);
            Next::Continue
        }
        (ToPlanner::Hello { .. }, Some(id)) => {
            shared.out.warn(format!(
                "{id} said `hello` twice on one connection; ignored"
            ));
            Next::Continue
        }
        (_, None) => {
            shared
                .out
                .warn("an instance sent a message before `hello`; ignored");
            Next::Continue
        }
        (
            ToPlanner::Error {
                run: None,
                code,
                message,
            },
            Some(id),
        ) => {
            shared.out.warn(format!(
                "{id} refused a message: {}: {}",
                code.as_str(),
                clip(&message)
            ));
            Next::Continue
        }
        (
            ToPlanner::Progress { run, .. }
            | ToPlanner::Result { run, .. }
            | ToPlanner::Error { run: Some(run), .. },
            Some(id),
        ) => {
            let events = {
                let state = shared.state();
                // Only the instance a run was sent to may speak about it, on any of its
                // connections (a result may come after a reconnect).
                state
                    .runs
                    .get(&run)
                    .filter(|r| r.instance == id)
                    .map(|r| r.events.clone())
            };
            match events {
                Some(events) => {
                    let _ = events.send(RunEvent::Message(value));
                }
                None => shared.out.warn(format!(
                    "{id} sent `{}` about run `{}`, which is not in flight; ignored",
                    value.get("type").and_then(Value::as_str).unwrap_or("?"),
                    clip(&run)
                )),
            }
            Next::Continue
        }
        // `pong`, `keepalive` and whatever version 1 adds later that asks nothing of a planner.
        (_, Some(_)) => Next::Continue,
    }
}

/// Reads an instance's message leniently, as `docs/protocol.md` asks of planners: `ToPlanner`
/// ignores unknown fields; only the known ones must have their types.
fn read_instance_message(value: &Value) -> Result<ToPlanner, String> {
    serde::Deserialize::deserialize(value).map_err(|e: serde_json::Error| e.to_string())
}

async fn control_connection(shared: Arc<Shared>, ws: WebSocketStream<TcpStream>) {
    let (mut sink, mut stream) = ws.split();
    let refuse = |code: &str, message: String| json!({"type": "error", "run": null, "code": code, "message": message});
    let first = match tokio::time::timeout(SUBMIT_TIMEOUT, stream.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => text,
        Ok(Some(Err(e))) => {
            let code = if matches!(e, tokio_tungstenite::tungstenite::Error::Capacity(_)) {
                codes::TOO_LARGE
            } else {
                codes::BAD_REQUEST
            };
            let _ = sink
                .send(Message::text(refuse(code, e.to_string()).to_string()))
                .await;
            let _ = sink.close().await;
            return;
        }
        _ => {
            let _ = sink.close().await;
            return;
        }
    };
    let (script, name, wait_ms, instance) =
        match serde_json::from_str::<ControlRequest>(first.as_str()) {
            Ok(ControlRequest::Submit {
                script,
                name,
                wait_ms,
                instance,
            }) => (script, name, wait_ms, instance),
            Ok(ControlRequest::Cancel) => {
                let message = "the first message is `submit`; there is no run to cancel";
                let _ = sink
                    .send(Message::text(
                        refuse(codes::BAD_REQUEST, message.into()).to_string(),
                    ))
                    .await;
                let _ = sink.close().await;
                return;
            }
            Err(e) => {
                let _ = sink
                    .send(Message::text(
                        refuse(codes::BAD_REQUEST, clip(&e.to_string())).to_string(),
                    ))
                    .await;
                let _ = sink.close().await;
                return;
            }
        };
    let (reply, mut replies) = mpsc::unbounded_channel();
    let (cancel, cancels) = mpsc::unbounded_channel();
    let wait = wait_ms
        .unwrap_or(control::DEFAULT_WAIT_MS)
        .min(control::MAX_WAIT_MS);
    shared.enqueue(Job {
        name: name.map_or_else(|| "control".to_owned(), |n| clip(&n)),
        script,
        wait: Some(std::time::Duration::from_millis(wait)),
        instance,
        reply: Some(reply),
        cancel: Some(cancels),
    });
    loop {
        tokio::select! {
            event = replies.recv() => {
                let Some(event) = event else { break };
                if sink.send(Message::text(event.to_string())).await.is_err() {
                    break;
                }
                if control::is_final(&event) {
                    break;
                }
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<ControlRequest>(text.as_str()) {
                        Ok(ControlRequest::Cancel) => {
                            let _ = cancel.send(());
                        }
                        Ok(ControlRequest::Submit { .. }) => {
                            let message = "one run per control connection; open another";
                            let _ = sink
                                .send(Message::text(json!({"type": "warning", "message": message}).to_string()))
                                .await;
                        }
                        Err(e) => {
                            let message = format!("not a control message ({}); ignored", clip(&e.to_string()));
                            let _ = sink
                                .send(Message::text(json!({"type": "warning", "message": message}).to_string()))
                                .await;
                        }
                    }
                }
                // The submitter left: the run goes on, printed here only.
                None | Some(Ok(Message::Close(_))) | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = sink.close().await;
}

async fn dispatcher(shared: Arc<Shared>, mut queue: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = queue.recv().await {
        run_job(&shared, job).await;
    }
}

/// The instance to run on: the one asked for, or the one that connected last.
fn pick(shared: &Shared, wanted: Option<&str>) -> Option<(String, u64)> {
    let state = shared.state();
    let id = match wanted {
        Some(id) => id.to_owned(),
        None => state.order.last()?.clone(),
    };
    let conn = state.instances.get(&id)?.conn;
    Some((id, conn))
}

async fn wait_for_instance(shared: &Shared, job: &Job) -> Option<(String, u64)> {
    let mut changes = shared.instances_changed.subscribe();
    let deadline = job.wait.map(|w| tokio::time::Instant::now() + w);
    let mut said = false;
    loop {
        changes.borrow_and_update();
        if let Some(found) = pick(shared, job.instance.as_deref()) {
            return Some(found);
        }
        if !said {
            said = true;
            let who = job
                .instance
                .as_deref()
                .map_or_else(|| "an instance".to_owned(), |i| format!("instance {i}"));
            let how_long = job.wait.map_or_else(
                || "as long as it takes".to_owned(),
                |w| format!("up to {} s", w.as_secs_f64()),
            );
            shared.report(
                job,
                json!({"type": "waiting", "message": format!("waiting for {who} to connect, {how_long}")}),
            );
        }
        let gone = async {
            match &job.reply {
                Some(reply) => reply.closed().await,
                None => std::future::pending().await,
            }
        };
        let timeout = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return None },
            () = timeout => return None,
            () = gone => return None,
        }
    }
}

/// 128 random bits, base64url: unique across planners, as `docs/tokens.md` asks.
fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand_core::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

async fn run_job(shared: &Shared, mut job: Job) {
    if job.reply.as_ref().is_some_and(|r| r.is_closed()) {
        shared.out.warn(format!(
            "{}: its submitter left before it ran; dropped",
            job.name
        ));
        return;
    }
    let Some((instance, conn)) = wait_for_instance(shared, &job).await else {
        let message = match &job.instance {
            Some(id) => format!("instance {id} did not connect in time"),
            None => "no instance connected in time".to_owned(),
        };
        shared.report(
            &job,
            json!({"type": "error", "run": null, "code": codes::NO_INSTANCE, "message": message}),
        );
        return;
    };
    let run = {
        let mut state = shared.state();
        state.next_run += 1;
        format!("r{}-{}", state.next_run, random_hex(4))
    };
    // Whole seconds: short RFC 3339 text that any planner can reproduce.
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let grants = match grants_for_script(job.script.as_bytes(), &shared.grants) {
        Ok(grants) => grants,
        Err(e) => {
            shared.report(
                &job,
                json!({"type": "error", "run": run, "code": codes::MINT, "message": e.to_string()}),
            );
            return;
        }
    };
    let Some(exp) = now.checked_add(shared.token_ttl) else {
        shared.report(
            &job,
            json!({"type": "error", "run": run, "code": codes::MINT, "message": "the token's expiry is out of range"}),
        );
        return;
    };
    let claims = Claims {
        v: 1,
        iss: shared.name.clone(),
        aud: instance.clone(),
        iat: now,
        nbf: now,
        exp,
        jti: random_jti(),
        uses: 1,
        script: Some(ScriptHash::of(job.script.as_bytes())),
        grants,
    };
    let token = match mint(&claims, &shared.kid, &shared.key, &instance) {
        Ok(token) => token,
        Err(e) => {
            shared.report(
                &job,
                json!({"type": "error", "run": run, "code": codes::MINT, "message": e.to_string()}),
            );
            return;
        }
    };
    let (events_tx, mut events) = mpsc::unbounded_channel();
    // Register the run and take the connection in one step: if the connection closed since
    // it was picked, the run is lost now; otherwise its closing will find the run.
    let tx = {
        let mut state = shared.state();
        let tx = state
            .instances
            .get(&instance)
            .filter(|c| c.conn == conn)
            .map(|c| c.tx.clone());
        if tx.is_some() {
            state.runs.insert(
                run.clone(),
                ActiveRun {
                    instance: instance.clone(),
                    conn,
                    events: events_tx,
                },
            );
        }
        tx
    };
    let Some(tx) = tx else {
        shared.report(
            &job,
            json!({"type": "lost", "run": run, "message": "the instance disconnected before the run was sent"}),
        );
        return;
    };
    let message = ToInstance::Run {
        run: run.clone(),
        script: job.script.clone(),
        token,
    };
    let text = serde_json::to_string(&message).unwrap_or_default();
    let _ = tx.send(Message::text(text));
    shared.report(
        &job,
        json!({
            "type": "sent",
            "run": run,
            "instance": instance,
            "jti": claims.jti,
            "script": claims.script.map(|s| s.to_string()),
            "iat": claims.iat.format(&Rfc3339).unwrap_or_default(),
            "exp": claims.exp.format(&Rfc3339).unwrap_or_default(),
            "grants": claims.grants,
        }),
    );
    let mut cancel = job.cancel.take();
    loop {
        let cancelled = async {
            match &mut cancel {
                Some(c) => c.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = events.recv() => match event {
                Some(RunEvent::Message(value)) => {
                    let last = matches!(
                        value.get("type").and_then(Value::as_str),
                        Some("result" | "error")
                    );
                    shared.report(&job, value);
                    if last {
                        break;
                    }
                }
                Some(RunEvent::Lost(message)) => {
                    shared.report(&job, json!({"type": "lost", "run": run, "message": message}));
                    break;
                }
                None => break,
            },
            Some(()) = cancelled => {
                let text = serde_json::to_string(&ToInstance::Cancel { run: run.clone() })
                    .unwrap_or_default();
                let _ = tx.send(Message::text(text));
                shared.report(&job, json!({"type": "cancelling", "run": run}));
            }
        }
    }
    shared.state().runs.remove(&run);
}

/// The scripts of `--scripts DIR`: every `*.bridle` file, in name order.
pub fn read_scripts(dir: &std::path::Path) -> Result<Vec<(String, String)>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the folder `{}`: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "bridle") && p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            std::fs::read_to_string(&path)
                .map(|text| (name, text))
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_are_bounded_and_printable() {
        assert!(valid_instance_id("bx1_00112233445566778899aabbccddeeff"));
        assert!(!valid_instance_id(""));
        assert!(!valid_instance_id("bx1 x"));
        assert!(!valid_instance_id("bx1_\n"));
        assert!(!valid_instance_id(&"a".repeat(MAX_INSTANCE_ID_BYTES + 1)));
        assert!(valid_instance_id(&"a".repeat(MAX_INSTANCE_ID_BYTES)));
    }

    fn request(path: &str, origin: Option<&str>) -> Request {
        let mut builder = Request::builder().uri(path);
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn web_pages_and_remote_peers_cannot_reach_the_control_path() {
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        assert_eq!(route(&request("/control", None), local), Ok(Route::Control));
        assert_eq!(
            route(&request("/control", None), remote).unwrap_err().0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            route(&request("/control", Some("https://evil.example")), local)
                .unwrap_err()
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(route(&request("/bridle", None), local), Ok(Route::Instance));
        assert_eq!(
            route(&request("/bridle", Some("chrome-extension://abc")), local),
            Ok(Route::Instance)
        );
        assert_eq!(
            route(&request("/bridle", Some("https://evil.example")), local)
                .unwrap_err()
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            route(&request("/other", None), local).unwrap_err().0,
            StatusCode::NOT_FOUND
        );
    }
}
