// Waiting for a tab's navigation to load, on the browser's own events: the top document's
// `load` (webNavigation.onCompleted), or its DOMContentLoaded followed by a grace period, so
// one stalled iframe or image (a cross-origin widget) cannot hold a run for the whole timeout.
// Frames that have not loaded yet are left out of snapshots until their content script answers.

/** How long a navigation may take to load. */
export const LOAD_TIMEOUT_MS = 30_000;
/** How long the top document may wait for its subresources after DOMContentLoaded. */
const LOAD_GRACE_MS = 5_000;
/** How often the tab's status is read, for the loads the events do not report (a
 * back/forward cache restore, an error page). */
const STATUS_POLL_MS = 250;

/** The end of a wait: loaded, or why not (for the step's error). */
export type LoadOutcome = { ok: true } | { ok: false; why: string };

interface NavDetails {
  tabId: number;
  frameId: number;
  url: string;
}

/**
 * Watches tab `tabId` for the load of the navigation about to start (call before starting
 * it). `about:` documents do not count: a run's new tab loads `about:blank` first, and that
 * late event must not pass for the navigation's own.
 */
export function watchLoad(tabId: number): { done: Promise<LoadOutcome>; cancel: () => void } {
  let cancel = (): void => {};
  const done = new Promise<LoadOutcome>((resolve) => {
    const started = Date.now();
    // What was seen, for the error when the load never finishes.
    let committed = false;
    let parsed = false;
    let status = "unknown";
    let sawLoading = false;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const ours = (d: NavDetails): boolean => d.tabId === tabId && d.frameId === 0 && !d.url.startsWith("about:");
    const onCommitted = (d: NavDetails): void => {
      if (ours(d)) committed = true;
    };
    const onParsed = (d: NavDetails): void => {
      if (!ours(d) || parsed) return;
      parsed = true;
      grace = setTimeout(() => finish({ ok: true }), LOAD_GRACE_MS);
    };
    const onCompleted = (d: NavDetails): void => {
      if (ours(d)) finish({ ok: true });
    };
    const onError = (d: NavDetails & { error: string }): void => {
      // An aborted navigation is usually replaced by another (a redirect by script): wait on.
      if (ours(d) && d.error !== "net::ERR_ABORTED") finish({ ok: false, why: `the page failed to load (${d.error})` });
    };
    const onRemoved = (id: number): void => {
      if (id === tabId) finish({ ok: false, why: "the tab was closed" });
    };
    const poll = setInterval(() => {
      chrome.tabs.get(tabId).then(
        (tab) => {
          status = tab.status ?? "unknown";
          if (status === "loading") sawLoading = true;
          // "complete" before "loading" was ever seen is the old document's (or about:blank's),
          // unless the load was too fast to be seen loading at all.
          else if (status === "complete" && (sawLoading || Date.now() - started > 1_000) && !tab.url?.startsWith("about:"))
            finish({ ok: true });
        },
        () => finish({ ok: false, why: "the tab is gone" }),
      );
    }, STATUS_POLL_MS);
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          why: `the page did not finish loading in time (tab status: ${status}; ${
            committed ? (parsed ? "parsed, still loading" : "committed, not parsed") : "the navigation never committed"
          })`,
        }),
      LOAD_TIMEOUT_MS,
    );
    function finish(outcome: LoadOutcome): void {
      clearTimeout(timer);
      clearTimeout(grace);
      clearInterval(poll);
      chrome.webNavigation.onCommitted.removeListener(onCommitted);
      chrome.webNavigation.onDOMContentLoaded.removeListener(onParsed);
      chrome.webNavigation.onCompleted.removeListener(onCompleted);
      chrome.webNavigation.onErrorOccurred.removeListener(onError);
      chrome.tabs.onRemoved.removeListener(onRemoved);
      resolve(outcome);
    }
    cancel = () => finish({ ok: false, why: "cancelled" });
    chrome.webNavigation.onCommitted.addListener(onCommitted);
    chrome.webNavigation.onDOMContentLoaded.addListener(onParsed);
    chrome.webNavigation.onCompleted.addListener(onCompleted);
    chrome.webNavigation.onErrorOccurred.addListener(onError);
    chrome.tabs.onRemoved.addListener(onRemoved);
  });
  return { done, cancel };
}
