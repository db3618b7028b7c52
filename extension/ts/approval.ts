// Approval windows: one extension popup window per `ask`, answered with "Approve once",
// "Approve for this script" or "Deny". Closing the window denies (`closed`); so does the
// timeout (`timeout`): the engine records which.
// The request lives only in the service worker's memory: after a restart nothing is pending,
// and the run that asked ends with a recorded error rather than an answer nobody gave.

import type { ApprovalChoice, ApprovalRequest } from "./types";

/** How long a request waits for the user before it counts as denied. */
export const APPROVAL_TIMEOUT_MS = 5 * 60 * 1000;

/** The user's answer, or how the request ended without one. */
export type ApprovalOutcome = ApprovalChoice | "timeout" | "closed";

interface Pending {
  request: ApprovalRequest;
  windowId: number | null;
  finish: (choice: ApprovalOutcome) => void;
}

const pending = new Map<string, Pending>();

/** Opens the approval window for `request` and resolves with the user's answer. */
export async function requestApproval(
  request: ApprovalRequest,
  timeoutMs: number = APPROVAL_TIMEOUT_MS,
): Promise<ApprovalOutcome> {
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
