// Approval windows: one extension popup window per `ask`, answered with "Approve once",
// "Approve for this script" or "Deny". Closing the window denies (`closed`); so does the
// timeout (`timeout`): the engine records which. A request the run no longer needs (the
// navigation guard stopped it, the run was cancelled) is withdrawn: its window closes and
// nothing it answers counts. The window machinery, shared with handoffs and uploads, is in
// windows.ts.

import type { ApprovalChoice, ApprovalRequest } from "./types";
import { answerWindow, openWindow, setWindowTimeout, shownIn, WINDOW_TIMEOUT_MS, watchClosedWindows } from "./windows";

/** How long a request waits for the user before it counts as denied. */
export const APPROVAL_TIMEOUT_MS = WINDOW_TIMEOUT_MS;

/** Test hook: sets the timeout of approval, handoff and upload windows (`null`: the
 * default). It can only shorten it, so a page or planner gains nothing from it: a timeout
 * refuses. */
export const setApprovalTimeout = setWindowTimeout;

/** The user's answer, or how the request ended without one. */
export type ApprovalOutcome = ApprovalChoice | "timeout" | "closed";

/** Opens the approval window for `request` and resolves with the user's answer. Aborting
 * `signal` withdraws the request: the window closes and the answer is `closed`. */
export function requestApproval(request: ApprovalRequest, signal?: AbortSignal): Promise<ApprovalOutcome> {
  return openWindow<ApprovalRequest, ApprovalChoice>("popup.html", request, { width: 460, height: 560 }, signal);
}

/** The request the window `id` shows, or null when it is no longer pending. */
export function pendingRequest(id: string): ApprovalRequest | null {
  return shownIn("popup.html", id) as ApprovalRequest | null;
}

/** Records the user's answer; false when the request is no longer pending. */
export function answer(id: string, choice: ApprovalChoice): boolean {
  return answerWindow("popup.html", id, choice);
}

export { watchClosedWindows };
