//! Native messaging: the protocol browsers speak with `bridle host` (a 32-bit native-endian
//! length, then that many bytes of UTF-8 JSON, on stdin and stdout), the closed set of
//! message kinds, and the session that runs several jobs at once, cancels them on request and
//! kills them all when the browser disconnects (stdin closes). The schema is written out in
//! `docs/native-host.md`.
//!
//! The untrusted boundary is [`read_frame`] (size cap checked before reading the body) and
//! [`parse_message`] (one closed enum, unknown kinds and fields refused).

use crate::auth::{authorize, JobRequest, Refusal};
use crate::job::{Cancel, JobOutcome, JobSpec, OutputSink, SandboxError, Stream, Tier};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bridle_executor::replay::ReplayStore;
use bridle_executor::time::OffsetDateTime;
use bridle_executor::Policy;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The protocol version `hello` reports.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest frame accepted from the browser: a job's code (4 MiB) plus its input (16 MiB) in
/// base64 (4/3) and JSON overhead fit in 32 MiB. Chrome allows up to 64 MiB towards a host;
/// nothing legitimate comes near it, and the cap bounds the memory one frame can take.
pub const MAX_FRAME: u32 = 32 * 1024 * 1024;
/// Largest frame sent to the browser: Chrome and Firefox refuse host messages over 1 MiB.
pub const MAX_OUT_FRAME: usize = 1024 * 1024;
/// Bytes of a large result per `result_chunk` frame: base64 makes 768 KiB of it 1 MiB, so
/// 600 KiB leaves room for the envelope.
pub const RESULT_CHUNK_BYTES: usize = 600 * 1024;
/// Jobs running at once per session; more are refused with `busy` (each job may use a core
/// and hundreds of MiB).
pub const MAX_CONCURRENT_JOBS: usize = 4;
/// Longest client-chosen job id.
pub const MAX_ID_BYTES: usize = 128;

/// A framing failure. After one the byte stream cannot be trusted, so the session ends.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {len} bytes exceeds the {max}-byte cap")]
    TooLarge { len: u32, max: u32 },
    #[error("stream ended inside a frame ({got} of {want} bytes)")]
    Truncated { got: usize, want: usize },
    #[error("cannot read: {0}")]
    Io(#[from] io::Error),
}

/// Reads one frame. `Ok(None)` is a clean end of stream (the browser disconnected between
/// messages). The length is checked against `max` before the body is read or allocated.
pub fn read_frame(r: &mut impl Read, max: u32) -> Result<Option<Vec<u8>>, FrameError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(FrameError::Truncated { got, want: 4 }),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = u32::from_ne_bytes(len);
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    let want = len as usize;
    let mut body = Vec::with_capacity(want);
    r.take(u64::from(len)).read_to_end(&mut body)?;
    if body.len() < want {
        return Err(FrameError::Truncated {
            got: body.len(),
            want,
        });
    }
    Ok(Some(body))
}

/// Writes one frame (length, then bytes) and flushes.
pub fn write_frame(w: &mut impl Write, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    w.write_all(&len.to_ne_bytes())?;
    w.write_all(body)?;
    w.flush()
}

/// A memory size: bytes as a number, or text like `"256MB"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
enum MemoryField {
    Bytes(u64),
    Text(String),
}

/// The `job` message's fields.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobMessage {
    pub id: String,
    pub token: String,
    pub runtime: String,
    pub code: String,
    /// Any JSON value, handed to the job's stdin as JSON text.
    #[serde(default)]
    pub input: Option<Value>,
    /// Raw bytes for stdin, base64; exclusive with `input`.
    #[serde(default)]
    pub input_base64: Option<String>,
    #[serde(default)]
    pub tier: Option<Tier>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    memory: Option<MemoryField>,
    #[serde(default)]
    pub cpu: Option<f64>,
    #[serde(default)]
    pub network: bool,
    /// The script the token is bound to, when the job is one of its steps.
    #[serde(default)]
    pub script: Option<String>,
}

/// Every message a browser may send. Closed: anything else is refused.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Incoming {
    /// Asks what this host offers. (A struct variant, so unknown fields are refused here too.)
    Hello {},
    /// Runs a job.
    Job(Box<JobMessage>),
    /// Cancels a running job.
    Cancel { id: String },
}

/// Why a frame's body is not a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MessageError {
    #[error("the message is not UTF-8")]
    NotUtf8,
    #[error("the message is not valid JSON: {0}")]
    BadJson(String),
    #[error("the message has no string `kind`")]
    NoKind,
    #[error("unknown message kind `{0}`")]
    UnknownKind(String),
    #[error("bad `{kind}` message: {detail}")]
    BadFields { kind: String, detail: String },
}

impl MessageError {
    /// Stable code for the `error` reply.
    pub fn code(&self) -> &'static str {
        match self {
            MessageError::NotUtf8 => "not-utf8",
            MessageError::BadJson(_) => "bad-json",
            MessageError::NoKind => "no-kind",
            MessageError::UnknownKind(_) => "unknown-kind",
            MessageError::BadFields { .. } => "bad-fields",
        }
    }
}

const KINDS: &[&str] = &["hello", "job", "cancel"];

/// Parses a frame's body into a message: UTF-8, JSON, a known `kind`, then that kind's fields
/// (unknown fields refused).
pub fn parse_message(body: &[u8]) -> Result<Incoming, MessageError> {
    let text = std::str::from_utf8(body).map_err(|_| MessageError::NotUtf8)?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| MessageError::BadJson(e.to_string()))?;
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .ok_or(MessageError::NoKind)?
        .to_owned();
    if !KINDS.contains(&kind.as_str()) {
        return Err(MessageError::UnknownKind(kind));
    }
    let message: Incoming = serde_json::from_value(value).map_err(|e| MessageError::BadFields {
        kind: kind.clone(),
        detail: e.to_string(),
    })?;
    let id = match &message {
        Incoming::Hello {} => None,
        Incoming::Job(job) => Some(&job.id),
        Incoming::Cancel { id } => Some(id),
    };
    if let Some(id) = id {
        if id.is_empty() || id.len() > MAX_ID_BYTES {
            return Err(MessageError::BadFields {
                kind,
                detail: format!("`id` must be 1 to {MAX_ID_BYTES} bytes"),
            });
        }
    }
    Ok(message)
}

impl JobMessage {
    /// The job request this message asks for (still unauthorised).
    pub fn request(&self) -> Result<JobRequest, Refusal> {
        let bad = |m: String| Refusal::BadRequest(m);
        let input = match (&self.input, &self.input_base64) {
            (Some(_), Some(_)) => {
                return Err(bad("give `input` or `input_base64`, not both".into()))
            }
            (Some(value), None) => serde_json::to_vec(value).map_err(|e| bad(e.to_string()))?,
            (None, Some(b64)) => B64
                .decode(b64)
                .map_err(|e| bad(format!("`input_base64` is not base64: {e}")))?,
            (None, None) => Vec::new(),
        };
        let memory = match &self.memory {
            None => None,
            Some(MemoryField::Bytes(b)) => Some(*b),
            Some(MemoryField::Text(t)) => Some(
                bridle_executor::token::Memory::from_str(t)
                    .map_err(bad)?
                    .bytes(),
            ),
        };
        Ok(JobRequest {
            token: self.token.clone(),
            runtime: self.runtime.clone(),
            code: self.code.clone().into_bytes(),
            input,
            tier: self.tier,
            timeout: self.timeout_ms.map(Duration::from_millis),
            memory,
            cpu: self.cpu,
            network: self.network,
            script: self.script.clone().map(String::into_bytes),
        })
    }
}

/// The JSON result of a job (the `result` message without `kind` and `id`; `bridle job run
/// --json` prints a subset of it).
pub fn outcome_json(outcome: &JobOutcome) -> Value {
    json!({
        "exit": outcome.exit,
        "signal": outcome.signal,
        "stdout": String::from_utf8_lossy(&outcome.stdout),
        "stderr": String::from_utf8_lossy(&outcome.stderr),
        "stdout_cut": outcome.stdout_cut,
        "stderr_cut": outcome.stderr_cut,
        "limits_hit": outcome.limits_hit.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        "wall_ms": outcome.wall_ms,
        "cpu_ms": outcome.cpu_ms,
        "peak_memory": outcome.peak_memory,
    })
}

/// Runs an authorised job: the real tiers ([`crate::job::run`]) or, in tests, a stand-in.
pub type Runner = dyn Fn(&JobSpec, &mut dyn OutputSink, &Cancel) -> Result<JobOutcome, SandboxError>
    + Send
    + Sync;

/// What a session needs: the local policy, this instance's id, where token uses are counted,
/// the runner and the clock.
pub struct HostConfig {
    pub policy: Policy,
    pub instance_id: String,
    pub replay: Mutex<Box<dyn ReplayStore + Send>>,
    pub runner: Box<Runner>,
    pub now: Box<dyn Fn() -> OffsetDateTime + Send + Sync>,
}

impl std::fmt::Debug for HostConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostConfig")
            .field("instance_id", &self.instance_id)
            .finish_non_exhaustive()
    }
}

/// The session's writer, shared by the reader and every job thread; one frame at a time.
#[derive(Clone)]
struct Out(Arc<Mutex<Box<dyn Write + Send>>>);

impl Out {
    /// Sends one message; a message that would exceed [`MAX_OUT_FRAME`] is a bug in the
    /// caller (results are chunked by [`Out::send_result`]) and is replaced by an error.
    fn send(&self, message: &Value) {
        let body = message.to_string().into_bytes();
        let body = if body.len() > MAX_OUT_FRAME {
            json!({"kind": "error", "code": "internal", "message": "reply too large"})
                .to_string()
                .into_bytes()
        } else {
            body
        };
        let mut w = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // A write error means the browser is gone; the reader sees EOF and ends the session.
        let _ = write_frame(&mut *w, &body);
    }

    /// Sends a job's result whole, or as numbered `result_chunk` frames when it is larger than
    /// a frame may be: base64 pieces of the result's JSON text, `seq` from 0 to `total - 1`.
    fn send_result(&self, id: &str, outcome: &JobOutcome) {
        let mut result = outcome_json(outcome);
        if let Some(obj) = result.as_object_mut() {
            obj.insert("kind".into(), json!("result"));
            obj.insert("id".into(), json!(id));
        }
        let text = result.to_string();
        if text.len() <= MAX_OUT_FRAME {
            self.send(&result);
            return;
        }
        let pieces: Vec<&[u8]> = text.as_bytes().chunks(RESULT_CHUNK_BYTES).collect();
        let total = pieces.len();
        for (seq, piece) in pieces.into_iter().enumerate() {
            self.send(&json!({
                "kind": "result_chunk", "id": id, "seq": seq, "total": total,
                "data_base64": B64.encode(piece),
            }));
        }
    }
}

/// Streams a job's output as `output` frames.
struct FrameSink {
    out: Out,
    id: String,
    seq: u64,
}

impl OutputSink for FrameSink {
    fn chunk(&mut self, stream: Stream, bytes: &[u8]) {
        self.out.send(&json!({
            "kind": "output", "id": self.id, "seq": self.seq,
            "stream": match stream { Stream::Stdout => "stdout", Stream::Stderr => "stderr" },
            "data_base64": B64.encode(bytes),
        }));
        self.seq += 1;
    }
}

/// Running jobs by id.
type Jobs = Arc<Mutex<HashMap<String, Cancel>>>;

/// Runs a session until stdin closes or a framing error; then cancels every job and waits for
/// each to be torn down before returning. Returns the framing error, if that is what ended it.
pub fn serve(
    config: Arc<HostConfig>,
    mut input: impl Read,
    output: Box<dyn Write + Send>,
) -> Result<(), FrameError> {
    let out = Out(Arc::new(Mutex::new(output)));
    let jobs: Jobs = Arc::new(Mutex::new(HashMap::new()));
    let mut threads = Vec::new();
    let ended = loop {
        let body = match read_frame(&mut input, MAX_FRAME) {
            Ok(Some(body)) => body,
            Ok(None) => break Ok(()),
            Err(e) => {
                let code = match e {
                    FrameError::TooLarge { .. } => "frame-too-large",
                    FrameError::Truncated { .. } => "frame-truncated",
                    FrameError::Io(_) => "io",
                };
                out.send(&json!({"kind": "error", "code": code, "message": e.to_string()}));
                break Err(e);
            }
        };
        match parse_message(&body) {
            Err(e) => {
                out.send(&json!({"kind": "error", "code": e.code(), "message": e.to_string()}))
            }
            Ok(Incoming::Hello {}) => out.send(&json!({
                "kind": "hello", "version": PROTOCOL_VERSION,
                "tiers": ["container", "microvm"],
                "runtimes": crate::container::runtime::Runtime::installed(),
                "max_frame": MAX_FRAME,
            })),
            Ok(Incoming::Cancel { id }) => {
                let found = jobs
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&id)
                    .cloned();
                match found {
                    Some(cancel) => cancel.cancel(),
                    None => out.send(&json!({"kind": "error", "id": id, "code": "no-such-job",
                        "message": format!("no running job `{id}`")})),
                }
            }
            Ok(Incoming::Job(job)) => {
                if let Some(t) = start_job(&config, &out, &jobs, *job) {
                    threads.push(t);
                }
                threads.retain(|t| !t.is_finished());
            }
        }
    };
    // The browser is gone (or the stream is broken): every job dies now.
    for cancel in jobs.lock().unwrap_or_else(PoisonError::into_inner).values() {
        cancel.cancel();
    }
    for t in threads {
        let _ = t.join();
    }
    ended
}

fn refuse(out: &Out, id: &str, refusal: &Refusal) {
    out.send(&json!({"kind": "refused", "id": id, "code": refusal.code(),
        "message": refusal.to_string()}));
}

/// Authorises a job and starts its thread; refusals are answered here.
fn start_job(
    config: &Arc<HostConfig>,
    out: &Out,
    jobs: &Jobs,
    job: JobMessage,
) -> Option<std::thread::JoinHandle<()>> {
    let id = job.id.clone();
    let cancel = Cancel::new();
    {
        let mut running = jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if running.contains_key(&id) {
            out.send(&json!({"kind": "error", "id": id, "code": "duplicate-id",
                "message": format!("a job `{id}` is already running")}));
            return None;
        }
        if running.len() >= MAX_CONCURRENT_JOBS {
            out.send(&json!({"kind": "refused", "id": id, "code": "busy",
                "message": format!("at most {MAX_CONCURRENT_JOBS} jobs run at once")}));
            return None;
        }
        running.insert(id.clone(), cancel.clone());
    }
    let finish = |jobs: &Jobs, id: &str| {
        jobs.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    };
    let spec = job.request().and_then(|request| {
        let mut replay = config.replay.lock().unwrap_or_else(PoisonError::into_inner);
        authorize(
            &request,
            &config.policy,
            &config.instance_id,
            (config.now)(),
            replay.as_mut(),
        )
    });
    let spec = match spec {
        Ok(spec) => spec,
        Err(refusal) => {
            refuse(out, &id, &refusal);
            finish(jobs, &id);
            return None;
        }
    };
    out.send(&json!({"kind": "accepted", "id": id, "tier": spec.tier,
        "limits": {"wall_ms": spec.limits.wall.as_millis() as u64, "memory": spec.limits.memory,
            "cpu": spec.limits.cpu, "pids": spec.limits.pids, "output": spec.limits.output}}));
    let config = Arc::clone(config);
    let out = out.clone();
    let jobs = Arc::clone(jobs);
    Some(std::thread::spawn(move || {
        let mut sink = FrameSink {
            out: out.clone(),
            id: id.clone(),
            seq: 0,
        };
        match (config.runner)(&spec, &mut sink, &cancel) {
            Ok(outcome) => out.send_result(&id, &outcome),
            Err(e) => out.send(&json!({"kind": "error", "id": id, "code": "sandbox",
                "message": e.to_string()})),
        }
        finish(&jobs, &id);
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trip() {
        let mut buf = Vec::new();
        assert!(write_frame(&mut buf, b"{\"kind\":\"hello\"}").is_ok());
        let mut r = &buf[..];
        let body = read_frame(&mut r, MAX_FRAME).ok().flatten();
        assert_eq!(body.as_deref(), Some(&b"{\"kind\":\"hello\"}"[..]));
        assert!(matches!(read_frame(&mut r, MAX_FRAME), Ok(None)));
    }

    #[test]
    fn oversize_is_refused_before_reading() {
        // Only the length prefix: the body is never read or allocated.
        let len = (MAX_FRAME + 1).to_ne_bytes();
        let mut r = &len[..];
        assert!(matches!(
            read_frame(&mut r, MAX_FRAME),
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn truncated_frames() {
        let mut r = &[1u8, 0][..];
        assert!(matches!(
            read_frame(&mut r, MAX_FRAME),
            Err(FrameError::Truncated { .. })
        ));
        let mut buf = 10u32.to_ne_bytes().to_vec();
        buf.extend_from_slice(b"abc");
        let mut r = &buf[..];
        assert!(matches!(
            read_frame(&mut r, MAX_FRAME),
            Err(FrameError::Truncated { got: 3, want: 10 })
        ));
    }

    #[test]
    fn messages_parse_into_the_closed_enum() {
        assert_eq!(
            parse_message(br#"{"kind":"hello"}"#),
            Ok(Incoming::Hello {})
        );
        assert_eq!(
            parse_message(br#"{"kind":"hello","x":1}"#).map_err(|e| e.code()),
            Err("bad-fields")
        );
        assert_eq!(
            parse_message(br#"{"kind":"cancel","id":"a"}"#),
            Ok(Incoming::Cancel { id: "a".into() })
        );
        assert_eq!(
            parse_message(br#"{"kind":"reboot"}"#).map_err(|e| e.code()),
            Err("unknown-kind")
        );
        assert_eq!(
            parse_message(b"\xff").map_err(|e| e.code()),
            Err("not-utf8")
        );
        assert_eq!(parse_message(b"{").map_err(|e| e.code()), Err("bad-json"));
        assert_eq!(parse_message(b"[]").map_err(|e| e.code()), Err("no-kind"));
        assert_eq!(
            parse_message(br#"{"kind":"cancel","id":"a","extra":1}"#).map_err(|e| e.code()),
            Err("bad-fields")
        );
        assert_eq!(
            parse_message(br#"{"kind":"cancel","id":""}"#).map_err(|e| e.code()),
            Err("bad-fields")
        );
        let job = parse_message(
            br#"{"kind":"job","id":"j","token":"t","runtime":"sh","code":"echo","input":{"a":1},"memory":"64MB"}"#,
        );
        let Ok(Incoming::Job(job)) = job else {
            unreachable!("a job message must parse: {job:?}")
        };
        let request = job.request().ok().unwrap_or_default();
        assert_eq!(request.input, br#"{"a":1}"#);
        assert_eq!(request.memory, Some(64 << 20));
    }
}
