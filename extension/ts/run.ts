// Executing a run: the engine's machine runs in Rust (wasm) and says what to do next (a
// `Todo`, extension/src/session.rs); this loop does it in the run's own tab and hands the
// answer back. Nothing is decided here: decisions, audit writes, target resolution and the
// fingerprint re-check all happen in Rust. The run's state is in memory only: a service-worker
// restart in the middle of a run loses it (resuming is not built yet).

import { runHostJob } from "./jobs";
import { requestApproval } from "./approval";
import { requestFile, requestHandoff, withFile, type FileChoice } from "./people";
import { CONTENT_PROTOCOL, parseActReport, type ActAction, type ActReport, type ActRequest, type UploadFile } from "./messages";
import { watchLoad } from "./load";
import { guarded, watchNavigation, type NavEvent } from "./navguard";
import { RunTabs, type RunTab, type TabAction } from "./tabs";
import { hitTestTab, snapshotQuery, waitForChange, type HitReport, type SnapshotQuery } from "./snapshot";
import type { ApprovalRequest, JobSummary, PlannedStep, RunResult } from "./types";

/** How often a content script that is not ready yet is asked again. */
const WAIT_POLL_MS = 100;
/** How long a page has to get its content script ready after loading. */
const CONTENT_READY_MS = 5_000;

/** The element handle of a snapshot (`page::Handle`). */
interface Handle {
  frame: number;
  node: number;
}

/** The engine's approval request (`ApprovalRequest` of executor/src/engine/effect.rs). */
interface EngineApproval {
  step: number;
  text: string;
  origin: string | null;
  url: string | null;
  element: { role: string; name: string } | null;
  values: string[];
  amount: { currency: string; value: number } | null;
  risk: "low" | "medium" | "high";
  reasons: { text: string }[];
  message: string | null;
  planner_goal: string;
  job?: JobSummary | null;
}

/** What the executor asks for next (`session::Todo`). */
export type Todo =
  | { todo: "snapshot"; effect: unknown }
  | { todo: "hit-test"; probes: Handle[] }
  | { todo: "act"; handle: Handle; action: ActAction | { type: "upload" } }
  | { todo: "navigate"; action: { type: "navigate"; url: string } | { type: "back" | "forward" | "reload" } }
  | { todo: "approve"; step: number; request: EngineApproval }
  | { todo: "wait"; what: { kind: string }; timeout_ms: number }
  | { todo: "wait-snapshot"; timeout_ms: number }
  | { todo: "job"; step: number; request: { timeout_ms?: number | null } }
  | { todo: "handoff"; step: number; message: string; origin: string }
  | { todo: "choose-file"; step: number; prompt: string; origin: string }
  | { todo: "tab"; action: TabAction }
  | { todo: "done"; result: RunResult };

/** The answer to a todo (`session::Input`). */
export type Input =
  | { input: "snapshot"; snapshot: string }
  | { input: "hits"; hits: HitReport[] }
  | { input: "blank" }
  | { input: "unreadable" }
  | { input: "tabs"; tabs: RunTab[] }
  | { input: "acted"; result: ActReport }
  | { input: "approval"; choice: string }
  | { input: "waited"; ok: boolean }
  | { input: "host-reply"; reply: object }
  | { input: "handoff"; choice: "continue" | "abort" }
  | { input: "file"; choice: FileChoice };

/** What the loop needs from the service worker. */
export interface RunHost {
  /** Feeds the answer to the executor (and saves its audit lines); the next todo. */
  step(input: Input): Promise<Todo>;
  /** Every frame's snapshot of the tab, with the matches of the `css` selectors and hit
   * tests when asked, as JSON. */
  snapshot(tabId: number, query: SnapshotQuery): Promise<string>;
  /** Hands a navigation event to the executor's guard (and saves its audit lines): null
   * when allowed, else the `done` of the run it stopped. */
  guard(event: NavEvent): Promise<Todo | null>;
  /** The run's plan preview, shown in approval windows. */
  plan: PlannedStep[];
  /** Aborted when the run is cancelled (by its planner): an approval window waiting is
   * withdrawn, and `step` ends the run. */
  cancelled?: AbortSignal | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a tab may stay `unloaded` after a navigation before it is asked again. */
const UNLOADED_RETRY_MS = 1_000;

/** Chrome sometimes drops the first navigation of a new window's tab and leaves the tab
 * `unloaded` (seen in about one run in five in headless Chromium, whatever the focus): while
 * the load has not finished and the tab is still `unloaded`, the navigation is asked again. */
async function retryWhileUnloaded(tabId: number, url: string, finished: Promise<unknown>): Promise<void> {
  let over = false;
  void finished.then(() => (over = true));
  while (!over) {
    await sleep(UNLOADED_RETRY_MS);
    if (over) return;
    const tab = await chrome.tabs.get(tabId).catch(() => null);
    if (tab === null) return;
    if (tab.status === "unloaded") await chrome.tabs.update(tabId, { url, active: true }).catch(() => undefined);
  }
}

/** A navigation of the run's tab, waiting for its load. */
async function navigate(tabId: number, action: Extract<Todo, { todo: "navigate" }>["action"]): Promise<ActReport> {
  const load = watchLoad(tabId);
  try {
    switch (action.type) {
      case "navigate":
        // Active: Chrome leaves a background tab it has not shown yet `unloaded`.
        await chrome.tabs.update(tabId, { url: action.url, active: true });
        void retryWhileUnloaded(tabId, action.url, load.done);
        break;
      case "back":
        await chrome.tabs.goBack(tabId);
        break;
      case "forward":
        await chrome.tabs.goForward(tabId);
        break;
      case "reload":
        await chrome.tabs.reload(tabId);
        break;
    }
  } catch (error) {
    load.cancel();
    return { ok: false, error: `the navigation failed: ${String(error)}`, effect_observed: false };
  }
  const outcome = await load.done;
  return outcome.ok
    ? { ok: true, error: null, effect_observed: true }
    : { ok: false, error: outcome.why, effect_observed: false };
}

/** The approval window's view of the engine's request. */
function approvalView(r: EngineApproval, plan: PlannedStep[]): ApprovalRequest {
  return {
    index: r.step,
    plan: plan.map((p) => ({ index: p.index, text: p.text, decision: p.decision, risk: p.risk })),
    origin: r.origin ?? r.url ?? "unknown",
    step: r.message === null ? r.text : `${r.text} — ${r.message}`,
    role: r.element?.role ?? null,
    name: r.element?.name ?? null,
    values: r.values,
    amount: r.amount === null ? null : `${r.amount.value} ${r.amount.currency}`,
    risk: r.risk,
    reasons: r.reasons.map((reason) => reason.text),
    goal: r.planner_goal,
    job: r.job ?? null,
  };
}

/** Runs a started run to its end, starting in tab `tabId`; `first` is what `startRun`
 * returned. `tabId` is the run's current tab: a tab step (tabs.ts) changes it. */
export async function drive(host: RunHost, tabId: number, first: Todo): Promise<RunResult> {
  let todo = first;
  // Every navigation of the tab (and of tabs it opens) goes to the executor's guard: between
  // todos, and while an approval or a pause is waiting.
  const watch = watchNavigation(tabId);
  const tabs = new RunTabs(tabId, watch);
  const check = (event: NavEvent): Promise<Todo | null> => host.guard(event);
  let waitDeadline: number | null = null;
  let query: SnapshotQuery = { css: [], hits: false };
  // The file the user picked in the last upload window, for the `upload` act that follows.
  let picked: UploadFile | null = null;
  // A window where the user answers (handoff, upload): withdrawn when the run is cancelled
  // or the navigation guard stops it.
  const inWindow = async <T>(open: (signal: AbortSignal) => Promise<T>): Promise<{ value: T } | { stopped: Todo }> => {
    const withdraw = new AbortController();
    if (host.cancelled?.aborted === true) withdraw.abort();
    host.cancelled?.addEventListener("abort", () => withdraw.abort(), { once: true });
    return guarded(watch, check, open(withdraw.signal), () => withdraw.abort());
  };

  // A fresh snapshot; "blank" before the first navigation, "unreadable" when no content
  // script answers (an error page).
  const snapshotInput = async (): Promise<Input> => {
    if (tabs.blank) return { input: "blank" };
    const until = Date.now() + CONTENT_READY_MS;
    for (;;) {
      try {
        return { input: "snapshot", snapshot: await host.snapshot(tabId, query) };
      } catch {
        // The content script of a page that just loaded may not listen yet.
        if (Date.now() > until) return { input: "unreadable" };
        await sleep(WAIT_POLL_MS);
      }
    }
  };

  try {
    for (;;) {
      if (todo.todo === "snapshot" || todo.todo === "act" || todo.todo === "wait-snapshot") {
        // A page that started leaving (a click's redirect) is not read or acted on before
        // the guard has heard where it went.
        const got = await guarded(watch, check, watch.settled(), () => undefined);
        if ("stopped" in got) todo = got.stopped;
      }
      if (todo.todo !== "done") {
        for (const event of watch.take()) {
          const stopped = await check(event);
          if (stopped !== null) {
            todo = stopped;
            break;
          }
        }
      }
      let input: Input;
      switch (todo.todo) {
        case "done":
          return todo.result;
        case "snapshot":
          // What the effect needs (css matches, hit tests), kept for a wait's re-reads.
          query = snapshotQuery(todo.effect);
          input = await snapshotInput();
          break;
        case "hit-test":
          input = { input: "hits", hits: await hitTestTab(tabId, todo.probes) };
          break;
        case "act": {
          const action = withFile(todo.action, picked);
          picked = null;
          if (action === null) {
            input = { input: "acted", result: { ok: false, error: "no file was picked for this upload", effect_observed: false } };
            break;
          }
          const request: ActRequest = {
            kind: "act-request",
            protocol: CONTENT_PROTOCOL,
            node: todo.handle.node,
            action,
          };
          let report: ActReport | null = null;
          try {
            report = parseActReport(await chrome.tabs.sendMessage(tabId, request, { frameId: todo.handle.frame }));
          } catch (error) {
            report = { ok: false, error: `the content script did not answer: ${String(error)}`, effect_observed: false };
          }
          input = {
            input: "acted",
            result: report ?? { ok: false, error: "the content script's report has an unexpected shape", effect_observed: false },
          };
          break;
        }
        case "job":
          input = { input: "host-reply", reply: await runHostJob(todo.request) };
          break;
        case "handoff": {
          const { message, origin } = todo;
          const got = await inWindow((signal) => requestHandoff({ message, origin }, signal));
          if ("stopped" in got) {
            todo = got.stopped;
            continue;
          }
          input = { input: "handoff", choice: got.value };
          break;
        }
        case "choose-file": {
          const { prompt, origin } = todo;
          const got = await inWindow((signal) => requestFile({ prompt, origin }, signal));
          if ("stopped" in got) {
            todo = got.stopped;
            continue;
          }
          picked = got.value.picked;
          input = { input: "file", choice: got.value.choice };
          break;
        }
        case "tab":
          input = await tabs.perform(todo.action, {
            load: (id, url) => navigate(id, { type: "navigate", url }),
            snapshot: (id, q) => host.snapshot(id, q),
          });
          tabId = tabs.current;
          break;
        case "navigate":
          input = { input: "acted", result: await navigate(tabId, todo.action) };
          if (input.result.ok) tabs.navigated();
          break;
        case "approve": {
          const withdraw = new AbortController();
          host.cancelled?.addEventListener("abort", () => withdraw.abort(), { once: true });
          const answer = requestApproval(approvalView(todo.request, host.plan), withdraw.signal);
          const got = await guarded(watch, check, answer, () => withdraw.abort());
          if ("stopped" in got) {
            todo = got.stopped;
            continue;
          }
          input = { input: "approval", choice: got.value };
          break;
        }
        case "wait": {
          const waited =
            todo.what.kind === "pause"
              ? sleep(todo.timeout_ms).then(() => true)
              : // `idle`: the page has finished loading (network idle is not watched yet).
                chrome.tabs.get(tabId).then(async (tab) => tab.status === "complete" || (await watchLoad(tabId).done).ok);
          const got = await guarded(watch, check, waited, () => undefined);
          if ("stopped" in got) {
            todo = got.stopped;
            continue;
          }
          input = { input: "waited", ok: got.value };
          break;
        }
        case "wait-snapshot": {
          const now = Date.now();
          waitDeadline ??= now + todo.timeout_ms;
          if (now >= waitDeadline) {
            input = { input: "waited", ok: false };
          } else {
            // Until a frame of the tab changes or loads (no polling), then read it again;
            // at the deadline, one last read.
            await waitForChange(tabId, waitDeadline - now);
            input = await snapshotInput();
          }
          break;
        }
      }
      todo = await host.step(input);
      if (todo.todo !== "wait-snapshot") waitDeadline = null;
    }
  } finally {
    watch.stop();
  }
}
