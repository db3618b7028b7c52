// A script's `job` steps: the request built in Rust (extension/src/session/jobs.rs) goes to
// Bridle's native host over native messaging (docs/native-host.md), and the host's final
// reply goes back to Rust as it is. The host verifies the job's token itself; this file only
// carries messages, joins a chunked result, and reports a missing host.

/** The native messaging host's name (`jobs::HOST_NAME`). */
const HOST_NAME = "dev.bridle.host";

/** Extra time over the job's own timeout before the job is cancelled from here. */
const REPLY_SLACK_MS = 30_000;
/** The host's default wall-clock limit, when the script gives none. */
const DEFAULT_TIMEOUT_MS = 10_000;

let nextId = 0;

type Reply = { kind: string; id?: string; [key: string]: unknown };

/** Runs one job on the native host; resolves with its final reply (`result`, `refused`,
 * `error`) or `{kind: "unavailable", message}` when no host answers. Never rejects. */
export function runHostJob(request: { timeout_ms?: number | null }): Promise<object> {
  nextId += 1;
  const id = `job-${Date.now()}-${nextId}`;
  return new Promise((resolve) => {
    let port: chrome.runtime.Port;
    let done = false;
    const chunks: string[] = [];
    const finish = (reply: object): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        port.disconnect();
      } catch {
        // Already disconnected.
      }
      resolve(reply);
    };
    const timer = setTimeout(() => {
      try {
        port.postMessage({ kind: "cancel", id });
      } catch {
        // The host is gone; the reply below says so.
      }
      finish({ kind: "error", code: "no-reply", message: "the native host did not answer in time" });
    }, (request.timeout_ms ?? DEFAULT_TIMEOUT_MS) + REPLY_SLACK_MS);
    try {
      port = chrome.runtime.connectNative(HOST_NAME);
    } catch (error) {
      finish({ kind: "unavailable", message: String(error) });
      return;
    }
    port.onDisconnect.addListener(() => {
      finish({ kind: "unavailable", message: chrome.runtime.lastError?.message ?? "the native host disconnected" });
    });
    port.onMessage.addListener((raw: unknown) => {
      if (typeof raw !== "object" || raw === null) return;
      const reply = raw as Reply;
      if (reply.id !== id && reply.kind !== "error") return;
      switch (reply.kind) {
        case "result":
        case "refused":
        case "error":
          finish(reply);
          return;
        case "result_chunk": {
          // A result over the 1 MiB message limit: base64 pieces of its JSON, in order.
          const seq = reply["seq"];
          const total = reply["total"];
          const data = reply["data_base64"];
          if (typeof seq !== "number" || typeof total !== "number" || typeof data !== "string" || seq !== chunks.length) {
            finish({ kind: "error", code: "bad-chunk", message: "the native host's chunked result is out of order" });
            return;
          }
          chunks.push(data);
          if (chunks.length === total) {
            try {
              const bytes = Uint8Array.from(chunks.map((c) => atob(c)).join(""), (c) => c.charCodeAt(0));
              finish(JSON.parse(new TextDecoder().decode(bytes)) as object);
            } catch (error) {
              finish({ kind: "error", code: "bad-chunk", message: String(error) });
            }
          }
          return;
        }
        default:
          // `accepted` and streamed `output`: the final reply carries what the engine needs.
          return;
      }
    });
    port.postMessage({ ...request, id });
  });
}
