// The service worker: the trusted side of the extension. It loads the Rust executor (wasm),
// keeps the instance's state in extension storage, exposes the automation interface
// `self.bridle`, and answers the extension pages' messages. Decisions are made in Rust only.
//
// Chrome's service worker cannot use dynamic import() nor top-level await: the wasm-bindgen
// glue is imported statically and compiled at the top level; every call waits for it.

import init, { Executor, applySnapshot, describePage, replayVectors, resolveTarget, resolveTargets } from "bridle-wasm";
import { answer, pendingRequest, setApprovalTimeout, watchClosedWindows } from "./approval";
import { answerHandoff, answerUpload, pendingHandoff, pendingUpload } from "./people";
import { BROWSER, keepAwakeWhile, openOptionsOnTemporaryInstall } from "./compat";
import {
  CONTENT_PROTOCOL,
  parseMessage,
  senderAllowed,
  type SnapshotRequest,
  type Message,
  type OptionsState,
  type Reply,
  type WireFrame,
} from "./messages";
import type { NavEvent } from "./navguard";
import { BusyError, connectPlanners, plannerStatus, type ChannelHost, type PairedPlanner, type RunObserver } from "./planner";
import { drive, type Input, type Todo } from "./run";
import { gatherTab, pageChanged, type SnapshotQuery, type SourceFrame } from "./snapshot";
import { readState, restrictToExtension, writeState, type StoredState } from "./storage";
import {
  BridlePolicyError,
  type BridleApi,
  type BridleTestApi,
  type PolicyReport,
  type StartupTiming,
  type TargetReport,
  type DescribedElement,
  type VectorReplay,
  type PlannedStep,
  type RunResult,
  type StepRecord,
} from "./types";

declare global {
  // The automation interface, on the service worker's global scope.
  var bridle: BridleApi;
  // Test hooks, separate from the stable interface (see extension/README.md).
  var bridleTest: BridleTestApi;
}

const wasmReady: Promise<number> = init({
  module_or_path: chrome.runtime.getURL("wasm/bridle_extension_bg.wasm"),
}).then(() => performance.now());

/** The loaded executor and the audit log as stored, kept in step with storage. */
interface Loaded {
  executor: Executor;
  auditLog: string;
}

let loaded: Promise<Loaded> | null = null;

/** The executor, loaded from storage on first use after each start. */
function current(): Promise<Loaded> {
  if (loaded === null) {
    const attempt = load();
    loaded = attempt;
    // A failed load is retried on the next call rather than remembered.
    attempt.catch(() => {
      if (loaded === attempt) loaded = null;
    });
  }
  return loaded;
}

async function load(): Promise<Loaded> {
  await wasmReady;
  await restrictToExtension();
  const stored = await readState();
  const executor = Executor.load(stored, Date.now());
  const state: Loaded = { executor, auditLog: stored.auditLog ?? "" };
  // A new key (first run) is stored together with the log it starts.
  await save(state, executor.keyIsNew() ? { secretKey: executor.secretKey() } : {});
  return state;
}

/**
 * Stores the executor's new audit lines and replay state, plus `extra`, in one write. When the
 * write fails, the loaded executor is dropped (its log is ahead of storage) and the next call
 * reloads it from what was stored.
 */
async function save(state: Loaded, extra: StoredState): Promise<void> {
  const lines = state.executor.takeAuditLines() as string[];
  const auditLog = state.auditLog + lines.map((line) => `${line}\n`).join("");
  try {
    await writeState({ ...extra, replay: state.executor.replayState(), auditLog });
  } catch (error) {
    state.executor.free();
    loaded = null;
    throw error;
  }
  state.auditLog = auditLog;
}

/** Runs calls one at a time: each reads and writes the same stored state. */
let queue: Promise<unknown> = Promise.resolve();
function serial<T>(task: () => Promise<T>): Promise<T> {
  const next = queue.then(task, task);
  queue = next.catch(() => undefined);
  return next;
}

function requireText(name: string, value: unknown): string {
  if (typeof value !== "string") throw new TypeError(`\`${name}\` must be a string`);
  return value;
}

/** Whether a run is in progress or waiting for its turn: one at a time per instance. */
let runsInFlight = 0;

/**
 * Runs a script to its end: `self.bridle.run`, and each `run` from a planner (with an
 * `observer` for its progress reports and a `signal` to cancel it). Call inside `serial`.
 */
async function runScript(
  script: string,
  token: string,
  observer?: RunObserver,
  signal?: AbortSignal,
): Promise<RunResult> {
  runsInFlight += 1;
  try {
    const state = await current();
    const first = state.executor.startRun(script, token, Date.now()) as Todo;
    // The token's use and the run's audit entries are stored before anything acts.
    await save(state, {});
    if (first.todo === "done") return first.result;
    const plan = state.executor.runPlan() as PlannedStep[];
    observer?.started(plan);
    // Progress for the planner: the step records not reported yet, and approvals asked.
    let reported = 0;
    const report = (todo: Todo): Todo => {
      if (observer === undefined) return todo;
      const records = (todo.todo === "done" ? todo.result.steps.slice(reported) : state.executor.stepRecords(reported)) as StepRecord[];
      for (const record of records) observer.step(record);
      reported += records.length;
      if (todo.todo === "approve") observer.approvalWaiting(todo.step, todo.request.text);
      if (todo.todo === "handoff") observer.userWaiting(todo.step, "handoff", todo.message);
      if (todo.todo === "choose-file") observer.userWaiting(todo.step, "file", todo.prompt);
      return todo;
    };
    // The run's own tab: the script's pages load there, and it stays open afterwards.
    // A normal window of its own: a tab opened while an approval popup has the focus can
    // stay `unloaded`.
    const win = await chrome.windows.create({ url: "about:blank", type: "normal", focused: true });
    const tab = win?.tabs?.[0];
    if (tab?.id === undefined) throw new Error("the run's tab could not be opened");
    return await drive(
      {
        step: async (input: Input) => {
          // A cancelled run ends at the next step boundary, whatever the answer was: the
          // engine records the step in progress as cancelled.
          const todo = (
            signal?.aborted === true ? state.executor.cancelRun(Date.now()) : state.executor.stepRun(input, Date.now())
          ) as Todo;
          await save(state, {});
          return report(todo);
        },
        // Each frame the run read last sends only its changes since (docs/snapshot.md).
        snapshot: (tabId: number, query: SnapshotQuery) =>
          snapshotTab(tabId, { ...query, bases: state.executor.snapshotBases() as NonNullable<SnapshotQuery["bases"]> }),
        guard: async (event: NavEvent) => {
          const stopped = state.executor.guardNavigation(event, Date.now()) as Todo | null;
          if (stopped !== null) await save(state, {});
          return stopped === null ? null : report(stopped);
        },
        plan,
        cancelled: signal,
      },
      tab.id,
      report(first),
    );
  } finally {
    runsInFlight -= 1;
  }
}

/** The planner channel's view of this service worker. */
const channelHost: ChannelHost = {
  // Read-only, and not queued behind a run in progress: a planner that reconnects during a long
  // run (one waiting for approval) is greeted at once, and gets the run's result.
  hello: async () => (await current()).executor.hello(BROWSER),
  planners: async () => (await current()).executor.planners() as PairedPlanner[],
  run: (script, token, observer, signal) => {
    if (runsInFlight > 0) return Promise.reject(new BusyError("a run is in progress"));
    // Counted from now, not from when the queue reaches it: a second run is refused at once.
    runsInFlight += 1;
    return serial(() => runScript(script, token, observer, signal)).finally(() => {
      runsInFlight -= 1;
    });
  },
};

const api: BridleApi = {
  instanceId: () => serial(async () => (await current()).executor.instanceId()),

  setPolicy: (toml: string) =>
    serial(async () => {
      const text = requireText("toml", toml);
      const state = await current();
      const report = state.executor.setPolicy(text, Date.now()) as PolicyReport;
      if (!report.ok) throw new BridlePolicyError(report);
      await save(state, { policy: text });
      // Planners added or removed: dial the new ones, hang up on the removed.
      void connectPlanners(channelHost);
    }),

  run: (script: string, token: string) =>
    serial(() => runScript(requireText("script", script), requireText("token", token))),

  auditLog: () => serial(async () => (await current()).auditLog),
};

Object.defineProperty(globalThis, "bridle", {
  value: Object.freeze(api),
  writable: false,
  enumerable: true,
  configurable: false,
});

/** How long a content script has to answer a snapshot request. */
const SNAPSHOT_TIMEOUT_MS = 10_000;

/** Snapshot requests waiting for their content script's `snapshot` message, by request id. */
const pendingSnapshots = new Map<string, { tabId: number; frameId: number; done: (frame: SourceFrame) => void }>();

/** Every frame's snapshot of tab `tabId` as `{"frames": [...]}` JSON, top frame first, the
 * frames joined by the browser's frame ids (ts/snapshot.ts). */
function snapshotTab(tabId: number, query: SnapshotQuery = { css: [], hits: true }): Promise<string> {
  return gatherTab(tabId, (tab, frame) => snapshotFrame(tab, frame, query));
}

/**
 * Asks the content script of `frameId` (0: the top frame) in `tabId` for its snapshot. The
 * answer comes back as a `snapshot` message; its frame id, origin and URL are taken from the
 * browser's sender record, never from the page.
 */
async function snapshotFrame(tabId: number, frameId: number, query: SnapshotQuery): Promise<SourceFrame> {
  const request: SnapshotRequest = {
    kind: "snapshot-request",
    protocol: CONTENT_PROTOCOL,
    request: crypto.randomUUID(),
    css: query.css,
    hits: query.hits,
    base: ((b) => (b === undefined ? null : { doc: b.doc, version: b.version }))(query.bases?.find((b) => b.frame === frameId)),
  };
  const frame = new Promise<SourceFrame>((resolve, reject) => {
    const timer = setTimeout(() => {
      pendingSnapshots.delete(request.request);
      reject(new Error(`no snapshot from frame ${frameId} of tab ${tabId}`));
    }, SNAPSHOT_TIMEOUT_MS);
    pendingSnapshots.set(request.request, {
      tabId,
      frameId,
      done: (f) => {
        clearTimeout(timer);
        resolve(f);
      },
    });
  });
  try {
    await chrome.tabs.sendMessage(tabId, request, { frameId });
  } catch (error) {
    pendingSnapshots.delete(request.request);
    throw error;
  }
  return frame;
}

/** Completes the pending request a `snapshot` message answers, when the sender is the very
 * tab and frame asked; the frame's identity comes from the sender. */
function snapshotArrived(request: string, frame: WireFrame, sender: chrome.runtime.MessageSender): boolean {
  const pending = pendingSnapshots.get(request);
  if (
    pending === undefined ||
    sender.tab?.id !== pending.tabId ||
    sender.frameId !== pending.frameId ||
    typeof sender.origin !== "string" ||
    typeof sender.url !== "string"
  ) {
    return false;
  }
  pendingSnapshots.delete(request);
  pending.done({ id: pending.frameId, origin: sender.origin, url: sender.url, ...frame });
  return true;
}

const testApi: BridleTestApi = {
  snapshotTab: (tabId: number, bases?: { frame: number; doc: string; version: number }[]) =>
    snapshotTab(tabId, bases === undefined ? { css: [], hits: true } : { css: [], hits: true, bases }),
  applySnapshot: async (prev: string, next: string) => {
    await wasmReady;
    return applySnapshot(requireText("snapshot", prev), requireText("snapshot", next));
  },
  resolveTarget: async (snapshot: string, target: string, purpose: "act" | "observe") => {
    await wasmReady;
    return resolveTarget(requireText("snapshot", snapshot), requireText("target", target), purpose) as TargetReport;
  },
  resolveTargets: async (snapshot: string, targets: string[], purpose: "act" | "observe") => {
    await wasmReady;
    return resolveTargets(requireText("snapshot", snapshot), targets.map((t) => requireText("target", t)), purpose) as TargetReport[];
  },
  describePage: async (snapshot: string) => {
    await wasmReady;
    return describePage(requireText("snapshot", snapshot)) as DescribedElement[];
  },
  setApprovalTimeout: async (ms: number | null) => {
    setApprovalTimeout(ms);
  },
  replayVectors: async (json: string) => {
    await wasmReady;
    return replayVectors(requireText("json", json)) as VectorReplay[];
  },
};

Object.defineProperty(globalThis, "bridleTest", {
  value: Object.freeze(testApi),
  writable: false,
  enumerable: true,
  configurable: false,
});

async function optionsState(): Promise<OptionsState> {
  const state = await current();
  const got: Record<string, unknown> = await chrome.storage.session.get("startup");
  const status = new Map(plannerStatus().map((p) => [`${p.name} ${p.endpoint}`, p.connected]));
  const planners = (state.executor.planners() as PairedPlanner[]).map((p) => ({
    name: p.name,
    kid: p.kid,
    endpoint: p.endpoint,
    connected: status.get(`${p.name} ${p.endpoint}`) ?? false,
  }));
  return {
    planners,
    vault: state.executor.vaultNames() as string[],
    instanceId: state.executor.instanceId(),
    publicKey: state.executor.publicKey(),
    policy: state.executor.policyText(),
    policyIsDefault: state.executor.policyIsDefault(),
    warnings: state.executor.warnings() as string[],
    auditLog: state.auditLog,
    startup: (got["startup"] as StartupTiming | undefined) ?? null,
  };
}

async function handle(
  message: Message,
  sender: chrome.runtime.MessageSender,
): Promise<Reply<Message["kind"]>> {
  switch (message.kind) {
    case "approval-get":
      return { ok: true, request: pendingRequest(message.id) };
    case "approval-answer":
      return { ok: true, accepted: answer(message.id, message.choice) };
    case "handoff-get":
      return { ok: true, handoff: pendingHandoff(message.id) };
    case "handoff-answer":
      return { ok: true, accepted: answerHandoff(message.id, message.choice) };
    case "upload-get":
      return { ok: true, upload: pendingUpload(message.id) };
    case "upload-answer":
      return { ok: true, accepted: answerUpload(message.id, message.answer) };
    case "options-get":
      return { ok: true, state: await serial(optionsState) };
    case "policy-set":
      try {
        await api.setPolicy(message.toml);
        return { ok: true, accepted: true, message: "" };
      } catch (error) {
        if (error instanceof BridlePolicyError) {
          return { ok: true, accepted: false, message: error.message };
        }
        throw error;
      }
    case "planner-pair":
    case "planner-unpair": {
      const report = await serial(async () => {
        const state = await current();
        const got = (
          message.kind === "planner-pair"
            ? state.executor.pairPlanner(message.pairing, Date.now())
            : state.executor.unpairPlanner(message.name, Date.now())
        ) as PolicyReport;
        if (got.ok) await save(state, { policy: state.executor.policyText() });
        return got;
      });
      if (report.ok) void connectPlanners(channelHost);
      return { ok: true, accepted: report.ok, message: report.message };
    }
    case "vault-set":
    case "vault-remove": {
      const change = message;
      return serial(async () => {
        const state = await current();
        let problem = "";
        try {
          if (change.kind === "vault-set") state.executor.vaultSet(change.name, change.value);
          else if (!state.executor.vaultRemove(change.name)) problem = `the vault has no entry ${change.name}`;
        } catch (error) {
          problem = error instanceof Error ? error.message : String(error);
        }
        if (problem === "") await save(state, { vault: state.executor.vaultJson() });
        return { ok: true, accepted: problem === "", message: problem };
      });
    }
    case "snapshot":
      if (!snapshotArrived(message.request, message.frame, sender)) {
        // Most often a frame that answered after its deadline and was left out of that
        // snapshot: it is readable now, so a wait on its tab reads the page again.
        if (sender.tab?.id !== undefined) pageChanged(sender.tab.id);
        throw new Error("no such request");
      }
      return { ok: true };
    case "page-changed":
      // Only wakes a wait, which then reads the page again: nothing is believed from it.
      if (sender.tab?.id !== undefined) pageChanged(sender.tab.id);
      return { ok: true };
  }
}

chrome.runtime.onMessage.addListener((raw: unknown, sender, sendResponse) => {
  const message = parseMessage(raw);
  if (
    message === null ||
    !senderAllowed(message, sender, chrome.runtime.id, chrome.runtime.getURL(""))
  ) {
    sendResponse({ ok: false, error: "message refused" });
    return false;
  }
  handle(message, sender).then(sendResponse, (error: unknown) =>
    sendResponse({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
  // The answer is sent asynchronously.
  return true;
});

watchClosedWindows();
openOptionsOnTemporaryInstall();
// A run waiting for approval makes no extension call, and Firefox stops an idle event page even
// with a planner's WebSocket open (measured; docs/browsers.md): keep the background awake while
// a run is in flight or a planner is connected. A disconnected one is redialled by the alarm.
keepAwakeWhile(() => runsInFlight > 0 || plannerStatus().some((p) => p.connected));

// The planner channel: dial the paired planners now, and again on an alarm, which also starts
// the service worker again after the browser stopped it (listeners are registered at the top
// level so that the alarm wakes this worker). 30 s is the shortest period browsers honour.
const PLANNER_ALARM = "bridle-planners";
void chrome.alarms.create(PLANNER_ALARM, { periodInMinutes: 0.5 });
chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === PLANNER_ALARM) void connectPlanners(channelHost).catch(logPlannerError);
});
function logPlannerError(error: unknown): void {
  console.error("bridle: the planner connections failed:", error);
}
void connectPlanners(channelHost).catch(logPlannerError);

// Load at once rather than on the first call, and record how long the start took.
void Promise.all([wasmReady, current()])
  .then(([wasmMs]) => {
    const startup: StartupTiming = { wasmMs, readyMs: performance.now() };
    return chrome.storage.session.set({ startup });
  })
  .catch((error: unknown) => console.error("bridle: the executor did not load:", error));
