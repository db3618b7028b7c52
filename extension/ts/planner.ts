// The planner channel (docs/protocol.md): the service worker dials out to every paired
// planner's endpoint over WebSocket, says hello, and hands each `run` to the same path as
// `self.bridle.run`. Messages are read and checked in Rust (`plannerIncoming`,
// `plannerOutgoing`); this file only moves text and keeps the sockets alive. The channel
// grants nothing: the token and the local policy decide every run.

import { plannerIncoming, plannerOutgoing } from "bridle-wasm";
import type { PlannedStep, RunResult, StepRecord } from "./types";

/** A paired planner (`channel::PairedPlanner`). */
export interface PairedPlanner {
  name: string;
  kid: string;
  public_key: string;
  endpoint: string | null;
}

/** What a run tells its planner while it goes. */
export interface RunObserver {
  started(plan: PlannedStep[]): void;
  approvalWaiting(step: number, text: string): void;
  /** Step `step` waits for the user's hands: a handoff (its message) or a file (the upload
   * window's heading). */
  userWaiting(step: number, what: "handoff" | "file", text: string): void;
  step(record: StepRecord): void;
}

/** Thrown by {@link ChannelHost.run} when a run is in progress already. */
export class BusyError extends Error {
  override readonly name = "BusyError";
}

/** What the channel needs from the service worker. */
export interface ChannelHost {
  /** The `hello` message's wire text. */
  hello(): Promise<string>;
  planners(): Promise<PairedPlanner[]>;
  /** Runs a script as `self.bridle.run` does, reporting to `observer`; `signal` cancels. */
  run(script: string, token: string, observer: RunObserver, signal: AbortSignal): Promise<RunResult>;
}

/** The first wait before reconnecting, and the longest. */
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;
/** Browsers stop a service worker idle for 30 s; WebSocket traffic counts as activity. */
const KEEPALIVE_MS = 20_000;

type Incoming =
  | { kind: "message"; message: { type: "run"; run: string; script: string; token: string } | { type: "cancel"; run: string } | { type: "ping"; nonce?: string } }
  | { kind: "refused"; reply: object };

/** The run in progress from any planner connection, if any. */
let current: { run: string; abort: AbortController } | null = null;

/** One planner's connection, reconnecting until it is closed for good. */
class Connection {
  private socket: WebSocket | null = null;
  private backoff = BACKOFF_FIRST_MS;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private keepalive: ReturnType<typeof setInterval> | null = null;
  private closed = false;

  constructor(
    readonly planner: PairedPlanner & { endpoint: string },
    private readonly host: ChannelHost,
  ) {}

  open(): void {
    if (this.closed || this.socket !== null) return;
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.planner.endpoint);
    } catch (error) {
      console.warn(`bridle: cannot connect to planner ${this.planner.name}:`, error);
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.backoff = BACKOFF_FIRST_MS;
      void this.host.hello().then((hello) => this.sendText(hello));
      this.keepalive = setInterval(() => this.send({ type: "keepalive" }), KEEPALIVE_MS);
    };
    socket.onmessage = (event: MessageEvent) => this.received(event.data);
    socket.onclose = () => {
      if (this.keepalive !== null) clearInterval(this.keepalive);
      this.keepalive = null;
      this.socket = null;
      this.scheduleReconnect();
    };
  }

  /** Closes for good (the planner was unpaired, or its endpoint changed). */
  close(): void {
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.socket?.close();
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retry !== null) return;
    // ±20 % jitter, so that many instances do not reconnect in step after a planner restarts.
    const wait = this.backoff * (0.8 + Math.random() * 0.4);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.open();
    }, wait);
  }

  /** Sends a message checked against the protocol's types; a message that fails the check is
   * a bug here, reported as an `internal` error rather than sent. */
  send(message: object): void {
    let text: string;
    try {
      text = plannerOutgoing(message);
    } catch (error) {
      console.error("bridle: a message to the planner was not sent:", error);
      const run = (message as { run?: unknown }).run;
      text = plannerOutgoing({
        type: "error",
        run: typeof run === "string" ? run : null,
        code: "internal",
        message: "the instance could not report this",
      });
    }
    this.sendText(text);
  }

  private sendText(text: string): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(text);
  }

  private received(data: unknown): void {
    if (typeof data !== "string") {
      this.send({ type: "error", run: null, code: "malformed", message: "messages are JSON text, not binary" });
      return;
    }
    const incoming = plannerIncoming(data) as Incoming;
    if (incoming.kind === "refused") {
      this.send(incoming.reply);
      return;
    }
    const message = incoming.message;
    switch (message.type) {
      case "ping":
        this.send({ type: "pong", nonce: message.nonce });
        return;
      case "cancel":
        if (current?.run === message.run) current.abort.abort();
        else this.send({ type: "error", run: message.run, code: "unknown-run", message: `run ${message.run} is not running` });
        return;
      case "run":
        void this.runScript(message.run, message.script, message.token);
        return;
    }
  }

  private async runScript(run: string, script: string, token: string): Promise<void> {
    if (current !== null) {
      this.send({ type: "error", run, code: "busy", message: `run ${current.run} is in progress` });
      return;
    }
    const abort = new AbortController();
    current = { run, abort };
    const observer: RunObserver = {
      started: (plan) => this.send({ type: "progress", run, event: "started", plan }),
      approvalWaiting: (step, text) => this.send({ type: "progress", run, event: "approval-waiting", step, text }),
      userWaiting: (step, what, text) => this.send({ type: "progress", run, event: "user-waiting", step, what, text }),
      step: (record) => this.send({ type: "progress", run, event: "step", record }),
    };
    try {
      const result = await this.host.run(script, token, observer, abort.signal);
      this.send({ type: "result", run, result });
    } catch (error) {
      const busy = error instanceof BusyError;
      this.send({
        type: "error",
        run,
        code: busy ? "busy" : "internal",
        message: error instanceof Error ? error.message : String(error),
      });
    } finally {
      current = null;
    }
  }
}

/** The open connections, by planner name and endpoint. */
const connections = new Map<string, Connection>();

/**
 * Dials every paired planner that has an endpoint and is not connected yet, and closes the
 * connections of planners no longer paired. Called when the service worker starts, when the
 * policy changes, and on a periodic alarm (which also restarts a stopped service worker).
 */
export async function connectPlanners(host: ChannelHost): Promise<void> {
  const planners = await host.planners();
  const wanted = new Map<string, PairedPlanner & { endpoint: string }>();
  for (const planner of planners) {
    if (planner.endpoint !== null) wanted.set(`${planner.name} ${planner.endpoint}`, { ...planner, endpoint: planner.endpoint });
  }
  for (const [key, connection] of connections) {
    if (!wanted.has(key)) {
      connection.close();
      connections.delete(key);
    }
  }
  for (const [key, planner] of wanted) {
    let connection = connections.get(key);
    if (connection === undefined) {
      connection = new Connection(planner, host);
      connections.set(key, connection);
    }
    connection.open();
  }
}

/** The planners' connection states, for the options page and tests. */
export function plannerStatus(): { name: string; endpoint: string; connected: boolean }[] {
  return [...connections.values()].map((c) => ({ name: c.planner.name, endpoint: c.planner.endpoint, connected: c.connected }));
}

/** Whether a run from a planner is in progress. */
export function plannerRunActive(): boolean {
  return current !== null;
}
