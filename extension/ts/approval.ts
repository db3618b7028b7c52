// Approval windows: one extension popup window per `ask`, answered with "Approve once",
// "Approve for this script" or "Deny". Closing the window denies (`closed`); so does the
// timeout (`timeout`): the engine records which. A request the run no longer needs (the
// navigation guard stopped it) is withdrawn: its window closes and nothing it answers counts.
// The request lives only in the service worker's memory: after a restart nothing is pending,
// and the run that asked ends with a recorded error rather than an answer nobody gave.

import type { ApprovalChoice, ApprovalRequest } from "./types";

/** How long a request waits for the user before it counts as denied. */
export const APPROVAL_TIMEOUT_MS = 5 * 60 * 1000;

/** The shortest and longest timeouts the test hook accepts. */
export const MIN_APPROVAL_TIMEOUT_MS = 100;
export const MAX_APPROVAL_TIMEOUT_MS = APPROVAL_TIMEOUT_MS;

/** The timeout set through `self.bridleTest.setApprovalTimeout`; in memory only, so a
 * service-worker restart restores the default. */
let timeoutMs = APPROVAL_TIMEOUT_MS;

/** Test hook: sets the approval timeout (`null`: the default). It can only shorten it, so a
 * page or planner gains nothing from it: a timeout denies. */
export function setApprovalTimeout(ms: number | null): void {
  if (ms === null) {
    timeoutMs = APPROVAL_TIMEOUT_MS;
    return;
  }
  if (!Number.isInteger(ms) || ms < MIN_APPROVAL_TIMEOUT_MS || ms > MAX_APPROVAL_TIMEOUT_MS) {
    throw new RangeError(
      `the approval timeout must be a whole number of milliseconds from ${MIN_APPROVAL_TIMEOUT_MS} to ${MAX_APPROVAL_TIMEOUT_MS}`,
    );
  }
  timeoutMs = ms;
}

/** The user's answer, or how the request ended without one. */
export type ApprovalOutcome = ApprovalChoice | "timeout" | "closed";

interface Pending {
  request: ApprovalRequest;
  windowId: number | null;
  finish: (choice: ApprovalOutcome) => void;
}

const pending = new Map<string, Pending>();

/** Opens the approval window for `request` and resolves with the user's answer. Aborting
 * `signal` withdraws the request: the window closes and the answer is `closed`. */
export async function requestApproval(request: ApprovalRequest, signal?: AbortSignal): Promise<ApprovalOutcome> {
  const id = crypto.randomUUID();
  return new Promise<ApprovalOutcome>((resolve) => {
    let done = false;
    const entry: Pending = {
      request,
      windowId: null,
      finish: (choice) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        pending.delete(id);
        if (entry.windowId !== null) void chrome.windows.remove(entry.windowId).catch(() => {});
        resolve(choice);
      },
    };
    const timer = setTimeout(() => entry.finish("timeout"), timeoutMs);
    pending.set(id, entry);
    if (signal?.aborted === true) entry.finish("closed");
    signal?.addEventListener("abort", () => entry.finish("closed"), { once: true });
    chrome.windows
      .create({
        url: chrome.runtime.getURL(`popup.html?id=${encodeURIComponent(id)}`),
        type: "popup",
        width: 460,
        height: 560,
        focused: true,
      })
      .then((win) => {
        entry.windowId = win?.id ?? null;
        if (done && entry.windowId !== null) void chrome.windows.remove(entry.windowId);
      })
      // No window means nobody can answer: deny.
      .catch(() => entry.finish("closed"));
  });
}

/** The request the window `id` shows, or null when it is no longer pending. */
export function pendingRequest(id: string): ApprovalRequest | null {
  return pending.get(id)?.request ?? null;
}

/** Records the user's answer; false when the request is no longer pending. */
export function answer(id: string, choice: ApprovalChoice): boolean {
  const entry = pending.get(id);
  if (entry === undefined) return false;
  entry.finish(choice);
  return true;
}

/** A closed approval window denies its request. */
export function watchClosedWindows(): void {
  chrome.windows.onRemoved.addListener((windowId) => {
    for (const entry of pending.values()) {
      if (entry.windowId === windowId) entry.finish("closed");
    }
  });
}
