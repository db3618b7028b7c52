// The windows where the user answers Bridle: approvals (popup.html), handoffs (handoff.html)
// and the file picked for an upload (upload.html). Each request opens one extension popup
// window; the user's answer resolves it. Closing the window ends it as `closed`, so does
// withdrawing it (the run was cancelled or stopped), and the timeout ends it as `timeout`:
// every caller treats both as a refusal. Requests live only in the service worker's memory:
// after a restart nothing is pending, and the run that asked ends with a recorded error.

/** How long a request waits for the user before it ends as `timeout`. */
export const WINDOW_TIMEOUT_MS = 5 * 60 * 1000;

/** The shortest and longest timeouts the test hook accepts. */
export const MIN_WINDOW_TIMEOUT_MS = 100;
export const MAX_WINDOW_TIMEOUT_MS = WINDOW_TIMEOUT_MS;

/** The timeout set through `self.bridleTest.setApprovalTimeout`; in memory only, so a
 * service-worker restart restores the default. */
let timeoutMs = WINDOW_TIMEOUT_MS;

/** Sets the timeout of every window (`null`: the default). It can only shorten it, so a
 * page or planner gains nothing from it: a timeout refuses. */
export function setWindowTimeout(ms: number | null): void {
  if (ms === null) {
    timeoutMs = WINDOW_TIMEOUT_MS;
    return;
  }
  if (!Number.isInteger(ms) || ms < MIN_WINDOW_TIMEOUT_MS || ms > MAX_WINDOW_TIMEOUT_MS) {
    throw new RangeError(
      `the approval timeout must be a whole number of milliseconds from ${MIN_WINDOW_TIMEOUT_MS} to ${MAX_WINDOW_TIMEOUT_MS}`,
    );
  }
  timeoutMs = ms;
}

/** The extension page each kind of request is shown in. */
export type WindowPage = "popup.html" | "handoff.html" | "upload.html";

/** How a request ended without the user's answer. */
export type Unanswered = "timeout" | "closed";

interface Pending {
  page: WindowPage;
  shown: unknown;
  windowId: number | null;
  finish: (answer: unknown) => void;
}

const pending = new Map<string, Pending>();

/**
 * Opens `page` for a new request showing `shown` and resolves with the answer given through
 * {@link answerWindow}, or how it ended without one. Aborting `signal` withdraws the request:
 * the window closes and the result is `closed`.
 */
export function openWindow<Shown, Answer>(
  page: WindowPage,
  shown: Shown,
  size: { width: number; height: number },
  signal?: AbortSignal,
): Promise<Answer | Unanswered> {
  const id = crypto.randomUUID();
  return new Promise<Answer | Unanswered>((resolve) => {
    let done = false;
    const entry: Pending = {
      page,
      shown,
      windowId: null,
      finish: (answer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        pending.delete(id);
        if (entry.windowId !== null) void chrome.windows.remove(entry.windowId).catch(() => {});
        resolve(answer as Answer | Unanswered);
      },
    };
    const timer = setTimeout(() => entry.finish("timeout"), timeoutMs);
    pending.set(id, entry);
    if (signal?.aborted === true) entry.finish("closed");
    signal?.addEventListener("abort", () => entry.finish("closed"), { once: true });
    chrome.windows
      .create({
        url: chrome.runtime.getURL(`${page}?id=${encodeURIComponent(id)}`),
        type: "popup",
        ...size,
        focused: true,
      })
      .then((win) => {
        entry.windowId = win?.id ?? null;
        if (done && entry.windowId !== null) void chrome.windows.remove(entry.windowId);
      })
      // No window means nobody can answer.
      .catch(() => entry.finish("closed"));
  });
}

/** What the window `id` of `page` shows, or null when no such request is pending (a
 * window of one kind never reads or answers another kind's request). */
export function shownIn(page: WindowPage, id: string): unknown {
  const entry = pending.get(id);
  return entry?.page === page ? entry.shown : null;
}

/** Records the user's answer in the window `id` of `page`; false when no such request is
 * pending. */
export function answerWindow(page: WindowPage, id: string, answer: unknown): boolean {
  const entry = pending.get(id);
  if (entry?.page !== page) return false;
  entry.finish(answer);
  return true;
}

/** A closed window ends its request as `closed`. */
export function watchClosedWindows(): void {
  chrome.windows.onRemoved.addListener((windowId) => {
    for (const entry of pending.values()) {
      if (entry.windowId === windowId) entry.finish("closed");
    }
  });
}
