//! Native messaging: framing, the closed message set, refusals, chunked results, concurrent
//! jobs, cancel, and every job killed when the browser disconnects — against `serve` itself,
//! with a stand-in runner where the sandbox does not matter and the real container where it
//! does.

// Test code through and through: the harness below (a fake browser) unwraps like the `#[test]`
// functions clippy.toml already lets unwrap; a failure is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::panic)]

#[cfg(test)]
mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bridle_executor::replay::MemoryReplayStore;
use bridle_executor::time::OffsetDateTime;
use bridle_host::job::{Cancel, JobOutcome, JobSpec, LimitHit, OutputSink, Sandbox, SandboxError};
use bridle_host::native::{serve, HostConfig, MAX_CONCURRENT_JOBS, MAX_FRAME, MAX_OUT_FRAME};
use common::*;
use serde_json::{json, Value};
use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a test waits for a frame before failing: a safety net against hangs, not a
/// timing assertion.
const PATIENCE: Duration = Duration::from_secs(60);

/// The browser's end of stdin: frames go in through a channel; dropping it is a disconnect.
struct ChannelReader {
    rx: mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            match self.rx.recv() {
                Ok(bytes) => {
                    self.buf = bytes;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The browser's end of stdout.
#[derive(Clone, Default)]
struct SharedOut(Arc<(Mutex<Vec<u8>>, Condvar)>);

impl Write for SharedOut {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let (buf, cvar) = &*self.0;
        buf.lock().unwrap().extend_from_slice(bytes);
        cvar.notify_all();
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Browser {
    tx: Option<mpsc::Sender<Vec<u8>>>,
    out: SharedOut,
    read_pos: usize,
    session: Option<JoinHandle<Result<(), String>>>,
    fixture: Fixture,
}

type RunnerFn = Box<
    dyn Fn(&JobSpec, &mut dyn OutputSink, &Cancel) -> Result<JobOutcome, SandboxError>
        + Send
        + Sync,
>;

impl Browser {
    fn start(runner: RunnerFn) -> Browser {
        let fixture = Fixture::new(JOBS_CONTAINER);
        let (tx, rx) = mpsc::channel();
        let out = SharedOut::default();
        let config = Arc::new(HostConfig {
            policy: fixture.policy.clone(),
            instance_id: INSTANCE.into(),
            replay: Mutex::new(Box::new(MemoryReplayStore::new())),
            runner,
            now: Box::new(OffsetDateTime::now_utc),
        });
        let reader = ChannelReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        };
        let writer = out.clone();
        let session = std::thread::spawn(move || {
            serve(config, reader, Box::new(writer)).map_err(|e| e.to_string())
        });
        Browser {
            tx: Some(tx),
            out,
            read_pos: 0,
            session: Some(session),
            fixture,
        }
    }

    fn fake(
        f: impl Fn(&JobSpec, &mut dyn OutputSink, &Cancel) -> JobOutcome + Send + Sync + 'static,
    ) -> Browser {
        Browser::start(Box::new(move |spec, sink, cancel| {
            Ok(f(spec, sink, cancel))
        }))
    }

    fn real() -> Browser {
        let c = container();
        Browser::start(Box::new(move |spec, sink, cancel| {
            c.run(spec, sink, cancel)
        }))
    }

    fn raw(&self, bytes: Vec<u8>) {
        self.tx.as_ref().unwrap().send(bytes).unwrap();
    }

    fn send(&self, message: Value) {
        let body = message.to_string().into_bytes();
        let mut frame = (body.len() as u32).to_ne_bytes().to_vec();
        frame.extend_from_slice(&body);
        self.raw(frame);
    }

    fn job(&self, id: &str, code: &str) -> Value {
        json!({"kind": "job", "id": id, "token": self.fixture.token(vec![job_grant(&["python3", "sh"])]),
               "runtime": "sh", "code": code, "tier": "container"})
    }

    /// The next frame from the host, parsed; fails the test if none comes.
    fn recv(&mut self) -> Value {
        let (buf, cvar) = &*self.out.0;
        let mut guard = buf.lock().unwrap();
        loop {
            let avail = &guard[self.read_pos..];
            if avail.len() >= 4 {
                let len = u32::from_ne_bytes(avail[..4].try_into().unwrap()) as usize;
                assert!(
                    len <= MAX_OUT_FRAME,
                    "a frame of {len} bytes exceeds the browsers' 1 MiB"
                );
                if avail.len() >= 4 + len {
                    let v = serde_json::from_slice(&avail[4..4 + len]).unwrap();
                    self.read_pos += 4 + len;
                    return v;
                }
            }
            let (g, timeout) = cvar.wait_timeout(guard, PATIENCE).unwrap();
            assert!(!timeout.timed_out(), "no frame from the host");
            guard = g;
        }
    }

    /// Frames until one of `kind` for job `id`.
    fn until(&mut self, kind: &str, id: &str) -> (Vec<Value>, Value) {
        let mut before = Vec::new();
        loop {
            let v = self.recv();
            if v["kind"] == kind && v["id"] == id {
                return (before, v);
            }
            assert!(
                v["id"] != id
                    || !["refused", "error", "result"].contains(&v["kind"].as_str().unwrap_or("")),
                "waiting for `{kind}` of `{id}`, got {v}"
            );
            before.push(v);
        }
    }

    /// Closes stdin (the browser disconnects) and waits for the session to end.
    fn disconnect(&mut self) -> Result<(), String> {
        self.tx.take();
        self.session.take().unwrap().join().unwrap()
    }
}

fn outcome(stdout: &[u8]) -> JobOutcome {
    JobOutcome {
        exit: Some(0),
        stdout: stdout.to_vec(),
        ..JobOutcome::default()
    }
}

#[test]
fn hello_names_the_protocol_and_runtimes() {
    let mut b = Browser::fake(|_, _, _| outcome(b""));
    b.send(json!({"kind": "hello"}));
    let v = b.recv();
    assert_eq!(v["kind"], "hello");
    assert_eq!(v["version"], 1);
    assert!(v["runtimes"].as_array().unwrap().contains(&json!("sh")));
    assert_eq!(b.disconnect(), Ok(()));
}

#[test]
fn malformed_messages_get_typed_errors_and_the_session_goes_on() {
    let mut b = Browser::fake(|_, _, _| outcome(b""));
    for (body, code) in [
        (&b"{not json"[..], "bad-json"),
        (b"\xff\xfe", "not-utf8"),
        (b"[1,2]", "no-kind"),
        (br#"{"kind":"shutdown"}"#, "unknown-kind"),
        (br#"{"kind":"cancel"}"#, "bad-fields"),
        (br#"{"kind":"hello","extra":true}"#, "bad-fields"),
        (
            br#"{"kind":"job","id":"x","runtime":"sh","code":"true"}"#,
            "bad-fields",
        ),
    ] {
        let mut frame = (body.len() as u32).to_ne_bytes().to_vec();
        frame.extend_from_slice(body);
        b.raw(frame);
        let v = b.recv();
        assert_eq!(
            (v["kind"].as_str(), v["code"].as_str()),
            (Some("error"), Some(code)),
            "{v}"
        );
    }
    b.send(json!({"kind": "hello"}));
    assert_eq!(b.recv()["kind"], "hello");
    assert_eq!(b.disconnect(), Ok(()));
}

#[test]
fn an_oversized_frame_ends_the_session_without_reading_it() {
    let mut b = Browser::fake(|_, _, _| outcome(b""));
    b.raw((MAX_FRAME + 1).to_ne_bytes().to_vec());
    let v = b.recv();
    assert_eq!(v["code"], "frame-too-large");
    let ended = b.session.take().unwrap().join().unwrap();
    assert!(ended.unwrap_err().contains("exceeds"));
}

#[test]
fn a_truncated_frame_ends_the_session() {
    let mut b = Browser::fake(|_, _, _| outcome(b""));
    let mut frame = 100u32.to_ne_bytes().to_vec();
    frame.extend_from_slice(b"{\"kind\":");
    b.raw(frame);
    assert!(b.disconnect().unwrap_err().contains("ended inside a frame"));
    assert_eq!(b.recv()["code"], "frame-truncated");
}

#[test]
fn jobs_without_or_with_a_wrong_token_are_refused() {
    let mut b = Browser::fake(|_, _, _| outcome(b"ran"));
    let mut job = b.job("j1", "echo hi");
    job["token"] = json!("");
    b.send(job);
    let (_, v) = b.until("refused", "j1");
    assert!(v["code"].as_str().unwrap().starts_with("token-"), "{v}");

    let stranger = Fixture::with_key([3u8; 32], JOBS_CONTAINER);
    let mut job = b.job("j2", "echo hi");
    job["token"] = json!(stranger.token(vec![job_grant(&["sh"])]));
    b.send(job);
    let (_, v) = b.until("refused", "j2");
    assert_eq!(v["code"], "token-unknown-key");

    // The same token twice: the second is a replay.
    let job = b.job("j3", "echo hi");
    b.send(job.clone());
    b.until("result", "j3");
    let mut again = job;
    again["id"] = json!("j4");
    b.send(again);
    let (_, v) = b.until("refused", "j4");
    assert_eq!(v["code"], "token-replayed");
    assert_eq!(b.disconnect(), Ok(()));
}

#[test]
fn results_over_one_mebibyte_come_in_numbered_chunks() {
    let big = vec![b'y'; 3 * 1024 * 1024];
    let expected = big.len();
    let mut b = Browser::fake(move |_, _, _| outcome(&big));
    b.send(b.job("big", "true"));
    b.until("accepted", "big");
    let mut pieces = Vec::new();
    let mut seq = 0u64;
    let total = loop {
        let v = b.recv();
        assert_eq!(v["kind"], "result_chunk", "{v}");
        assert_eq!(v["seq"], seq);
        pieces.extend(B64.decode(v["data_base64"].as_str().unwrap()).unwrap());
        seq += 1;
        if seq == v["total"].as_u64().unwrap() {
            break seq;
        }
    };
    assert!(total >= 4);
    let result: Value = serde_json::from_slice(&pieces).unwrap();
    assert_eq!(result["kind"], "result");
    assert_eq!(result["stdout"].as_str().unwrap().len(), expected);
    assert_eq!(b.disconnect(), Ok(()));
}

#[test]
fn several_jobs_run_at_once() {
    // Each job waits until the other is running too; run one at a time, they would not meet.
    let running = Arc::new((Mutex::new(0u32), Condvar::new()));
    let r = Arc::clone(&running);
    let mut b = Browser::fake(move |_, _, _| {
        let (n, cvar) = &*r;
        let mut n = n.lock().unwrap();
        *n += 1;
        cvar.notify_all();
        let (n, timeout) = cvar.wait_timeout_while(n, PATIENCE, |n| *n < 2).unwrap();
        drop(n);
        outcome(if timeout.timed_out() {
            b"alone"
        } else {
            b"together"
        })
    });
    b.send(b.job("a", "true"));
    b.send(b.job("b", "true"));
    let mut results = Vec::new();
    while results.len() < 2 {
        let v = b.recv();
        if v["kind"] == "result" {
            results.push(v["stdout"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(results, ["together", "together"]);
    assert_eq!(b.disconnect(), Ok(()));
}

#[test]
fn too_many_jobs_at_once_are_refused_as_busy() {
    let mut b = Browser::fake(|_, _, cancel| {
        cancel.wait_timeout(PATIENCE);
        outcome(b"")
    });
    for i in 0..MAX_CONCURRENT_JOBS {
        b.send(b.job(&format!("j{i}"), "true"));
        b.until("accepted", &format!("j{i}"));
    }
    b.send(b.job("extra", "true"));
    let (_, v) = b.until("refused", "extra");
    assert_eq!(v["code"], "busy");
    b.send(b.job("j0", "true"));
    let v = b.recv();
    assert_eq!(v["code"], "duplicate-id", "{v}");
    assert_eq!(b.disconnect(), Ok(()));
}

#[test]
fn cancel_stops_a_job_and_unknown_ids_are_errors() {
    let mut b = Browser::fake(|_, _, cancel| {
        let mut o = outcome(b"");
        if cancel.wait_timeout(PATIENCE) {
            o.exit = None;
            o.hit(LimitHit::Cancelled);
        }
        o
    });
    b.send(b.job("c1", "true"));
    b.until("accepted", "c1");
    b.send(json!({"kind": "cancel", "id": "c1"}));
    let (_, v) = b.until("result", "c1");
    assert_eq!(v["limits_hit"], json!(["cancelled"]));
    b.send(json!({"kind": "cancel", "id": "nope"}));
    let v = b.recv();
    assert_eq!(
        (v["kind"].as_str(), v["code"].as_str()),
        (Some("error"), Some("no-such-job"))
    );
    assert_eq!(b.disconnect(), Ok(()));
}

#[test]
fn a_real_job_streams_output_then_its_result() {
    let mut b = Browser::real();
    b.send(b.job("r1", "echo out; echo err >&2; exit 3"));
    let (before, result) = b.until("result", "r1");
    let mut streamed = String::new();
    for v in before.iter().filter(|v| v["kind"] == "output") {
        streamed.push_str(
            &String::from_utf8(B64.decode(v["data_base64"].as_str().unwrap()).unwrap()).unwrap(),
        );
    }
    assert!(
        streamed.contains("out\n") && streamed.contains("err\n"),
        "{before:?}"
    );
    assert_eq!(result["exit"], 3);
    assert_eq!(result["stdout"], "out\n");
    assert_eq!(result["stderr"], "err\n");
    assert_eq!(b.disconnect(), Ok(()));
}

#[test]
fn a_disconnect_mid_job_kills_every_job() {
    let m1 = marker();
    let m2 = marker();
    let mut b = Browser::real();
    // Each job says `started` once its `sleep` has been exec'd (visible in /proc), so the
    // check below cannot race the job.
    let job = |m: &str| {
        format!("sleep {m} &\nuntil grep -q {m} /proc/$!/cmdline 2>/dev/null; do :; done\necho started\nwait\n")
    };
    b.send(b.job("d1", &job(&m1)));
    b.send(b.job("d2", &job(&m2)));
    // Both jobs have started once each has written something (in either order).
    let mut started = std::collections::HashSet::new();
    while started.len() < 2 {
        let v = b.recv();
        assert!(
            v["kind"] != "result" && v["kind"] != "refused" && v["kind"] != "error",
            "{v}"
        );
        if v["kind"] == "output" {
            started.insert(v["id"].as_str().unwrap().to_owned());
        }
    }
    assert!(!host_processes_with(&format!("sleep {m1}")).is_empty());
    assert!(!host_processes_with(&format!("sleep {m2}")).is_empty());
    assert_eq!(b.disconnect(), Ok(()));
    assert!(host_processes_with(&format!("sleep {m1}")).is_empty());
    assert!(host_processes_with(&format!("sleep {m2}")).is_empty());
}
