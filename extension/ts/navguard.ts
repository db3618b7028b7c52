// The navigation guard's sensor: it listens to `webNavigation` for the run's tab (and every
// tab a page of the run opens) and forwards each committed navigation, redirect, same-document
// URL change and new tab to the executor unjudged. Whether the destination is allowed is
// decided in Rust (extension/src/session/navguard.rs), against the script's `origins` and the
// policy; a violation ends the run there, with a note in the audit log.
//
// The browser's events are the source of truth: the page cannot forge them, and nothing a
// page says is read here.

/** One event as the executor reads it (`session::navguard::NavEvent`). */
export interface NavEvent {
  kind: "committed" | "same-document" | "new-tab";
  url: string;
  qualifiers: string[];
}

/** The events of one run's tabs, queued until the run loop hands them to the executor. */
export interface NavWatch {
  /** The events not yet handed over, oldest first; empties the queue. */
  take(): NavEvent[];
  /** Resolves when the queue is not empty (at once if it already is not). */
  arrived(): Promise<void>;
  /** Resolves once no navigation of the run's tab's top frame is in flight (started and not
   * yet committed or failed), or after {@link SETTLE_TIMEOUT_MS}: a page that just started
   * leaving is not read or acted on before the guard hears where it went. */
  settled(): Promise<void>;
  /** The run's tabs: the first, those added, and those their pages opened, in the order they
   * joined (closed ones too). */
  tabs(): number[];
  /** Watches tab `tabId` too (a tab the run opened; add it before navigating it). */
  add(tabId: number): void;
  /** The run acts in tab `tabId` now: {@link settled} follows its top frame. */
  follow(tabId: number): void;
  /** Stops listening. */
  stop(): void;
}

/** How long the run waits for a navigation in flight to commit before it goes on anyway. */
export const SETTLE_TIMEOUT_MS = 30_000;

/** Starts watching tab `tabId`'s top frame, and the tabs its pages open. */
export function watchNavigation(tabId: number): NavWatch {
  const tabs = new Set<number>([tabId]);
  // The tab the run acts in (extension/ts/tabs.ts), whose navigations in flight are awaited.
  let current = tabId;
  const queue: NavEvent[] = [];
  let wake: (() => void) | null = null;
  // The run's own tab has a top-frame navigation in flight.
  let inFlight = false;
  let onSettled: (() => void)[] = [];
  const setInFlight = (value: boolean): void => {
    inFlight = value;
    if (value) return;
    const waiting = onSettled;
    onSettled = [];
    for (const resolve of waiting) resolve();
  };
  const push = (event: NavEvent): void => {
    queue.push(event);
    wake?.();
    wake = null;
  };

  const started = (d: chrome.webNavigation.WebNavigationBaseCallbackDetails): void => {
    if (d.tabId === current && d.frameId === 0) setInFlight(true);
  };
  const failed = (d: chrome.webNavigation.WebNavigationFramedErrorCallbackDetails): void => {
    if (d.tabId === current && d.frameId === 0) setInFlight(false);
  };
  const committed = (d: chrome.webNavigation.WebNavigationTransitionCallbackDetails): void => {
    if (!tabs.has(d.tabId) || d.frameId !== 0) return;
    if (d.tabId === current) setInFlight(false);
    push({ kind: "committed", url: d.url, qualifiers: [...(d.transitionQualifiers ?? [])] });
  };
  const sameDocument = (d: chrome.webNavigation.WebNavigationTransitionCallbackDetails): void => {
    if (!tabs.has(d.tabId) || d.frameId !== 0) return;
    push({ kind: "same-document", url: d.url, qualifiers: [...(d.transitionQualifiers ?? [])] });
  };
  const opened = (d: chrome.webNavigation.WebNavigationSourceCallbackDetails): void => {
    if (!tabs.has(d.sourceTabId)) return;
    // The new tab's own navigations are guarded too (a page can open `about:blank` and
    // send it elsewhere afterwards).
    tabs.add(d.tabId);
    push({ kind: "new-tab", url: d.url, qualifiers: [] });
  };

  chrome.webNavigation.onBeforeNavigate.addListener(started);
  chrome.webNavigation.onErrorOccurred.addListener(failed);
  chrome.webNavigation.onCommitted.addListener(committed);
  chrome.webNavigation.onHistoryStateUpdated.addListener(sameDocument);
  chrome.webNavigation.onReferenceFragmentUpdated.addListener(sameDocument);
  chrome.webNavigation.onCreatedNavigationTarget.addListener(opened);

  return {
    take: () => queue.splice(0, queue.length),
    arrived: () =>
      queue.length > 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const previous = wake;
            wake = () => {
              previous?.();
              resolve();
            };
          }),
    settled: () =>
      inFlight
        ? new Promise<void>((resolve) => {
            // A navigation that never ends (a server that never answers) counts as over, so
            // the next wait does not start again.
            const timer = setTimeout(() => setInFlight(false), SETTLE_TIMEOUT_MS);
            onSettled.push(() => {
              clearTimeout(timer);
              resolve();
            });
          })
        : Promise.resolve(),
    tabs: () => [...tabs],
    add: (id: number) => {
      tabs.add(id);
    },
    follow: (id: number) => {
      current = id;
      setInFlight(false);
    },
    stop: () => {
      chrome.webNavigation.onBeforeNavigate.removeListener(started);
      chrome.webNavigation.onErrorOccurred.removeListener(failed);
      chrome.webNavigation.onCommitted.removeListener(committed);
      chrome.webNavigation.onHistoryStateUpdated.removeListener(sameDocument);
      chrome.webNavigation.onReferenceFragmentUpdated.removeListener(sameDocument);
      chrome.webNavigation.onCreatedNavigationTarget.removeListener(opened);
      wake?.();
      wake = null;
      setInFlight(false);
    },
  };
}

/**
 * Awaits `work` while handing every event that arrives meanwhile to `check` (the executor's
 * guard). `check` answers null for an allowed event, or what the run ended with for a
 * blocked one; then `cancel` is called (to close an approval window, end a pause) and the
 * result is `{stopped}`. Otherwise `{value}` once `work` is done.
 */
export async function guarded<T, S>(
  watch: NavWatch,
  check: (event: NavEvent) => Promise<S | null>,
  work: Promise<T>,
  cancel: () => void,
): Promise<{ value: T } | { stopped: S }> {
  const done = work.then((value) => ({ value }));
  for (;;) {
    const next = await Promise.race([done, watch.arrived().then(() => null)]);
    if (next !== null) return next;
    for (const event of watch.take()) {
      const stopped = await check(event);
      if (stopped !== null) {
        cancel();
        // The work is abandoned; its result (say, a late answer) no longer matters.
        done.catch(() => undefined);
        return { stopped };
      }
    }
  }
}
