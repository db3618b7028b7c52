// The run's tabs (`open tab`, `switch tab`, `close tab`). A run owns the tab it started in,
// the tabs it opened, and the tabs their pages opened: exactly the tabs the navigation guard
// watches (navguard.ts), so every tab the run can act in is guarded. It acts in one of them,
// the current tab. Which tab a `switch tab` means and which becomes current after a
// `close tab` is chosen in Rust (extension/src/session/tabs.rs) from the list given here; a
// tab the run does not own is never listed, so it can never be chosen.
//
// Without the `tabs` permission the browser hides tabs' titles and URLs from the extension:
// the URL comes from `webNavigation` (the browser's), the title from the tab's content
// script (its snapshot's top frame).

import type { ActReport } from "./messages";
import type { NavWatch } from "./navguard";
import type { SnapshotQuery } from "./snapshot";

/** What the executor asks of the run's tabs (`session::tabs::TabAction`). */
export type TabAction =
  | { type: "open"; url: string }
  | { type: "list" }
  | { type: "switch"; id: number }
  | { type: "close"; id: number; next: number };

/** One of the run's open tabs (`session::tabs::RunTab`). */
export interface RunTab {
  id: number;
  title: string;
  url: string;
}

/** The answer to a tab todo (part of `session::Input`). */
export type TabInput = { input: "acted"; result: ActReport } | { input: "tabs"; tabs: RunTab[] };

/** What a tab todo needs from the run loop. */
export interface TabIo {
  /** Navigates tab `tabId` to `url` and waits for the load (run.ts's `navigate`). */
  load(tabId: number, url: string): Promise<ActReport>;
  /** A snapshot of tab `tabId` (`RunHost.snapshot`); rejects when no content script answers. */
  snapshot(tabId: number, query: SnapshotQuery): Promise<string>;
}

/** How long a listed tab that is still loading is waited for, so its title can be read. */
const LIST_READY_MS = 5_000;
const STATUS_POLL_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const done: ActReport = { ok: true, error: null, effect_observed: true };
const failed = (error: string): TabInput => ({ input: "acted", result: { ok: false, error, effect_observed: false } });

/** The top frame's title in a snapshot (`{"frames": [...]}`), empty when it has none. */
function titleOf(snapshot: string): string {
  try {
    const parsed = JSON.parse(snapshot) as { frames?: { parent?: unknown; title?: unknown }[] };
    const top = parsed.frames?.find((f) => f.parent === undefined);
    return typeof top?.title === "string" ? top.title : "";
  } catch {
    return "";
  }
}

/** The run's tabs and which one it acts in. */
export class RunTabs {
  /** The run's tabs that were current, the most recent first: `recent[0]` is the current tab. */
  private readonly recent: number[];
  /** Tabs still showing the empty page the run started with (no content script runs there). */
  private readonly blankTabs: Set<number>;

  constructor(
    first: number,
    private readonly watch: NavWatch,
  ) {
    this.recent = [first];
    this.blankTabs = new Set([first]);
  }

  /** The tab snapshots, acts, waits and navigations go to. */
  get current(): number {
    return this.recent[0] ?? -1;
  }

  /** Whether the current tab still shows the run's first empty page. */
  get blank(): boolean {
    return this.blankTabs.has(this.current);
  }

  /** The current tab was navigated. */
  navigated(): void {
    this.blankTabs.delete(this.current);
  }

  /** Does what the executor chose; the answer for it. */
  async perform(action: TabAction, io: TabIo): Promise<TabInput> {
    try {
      switch (action.type) {
        case "open":
          return await this.open(action.url, io);
        case "list":
          return { input: "tabs", tabs: await this.list(io) };
        case "switch":
          // Rust chose among the listed tabs; a tab the run does not own is refused anyway.
          if (!this.owns(action.id)) return failed(`tab ${action.id} is not one of the run's tabs`);
          await chrome.tabs.update(action.id, { active: true });
          this.makeCurrent(action.id);
          return { input: "acted", result: done };
        case "close":
          if (action.id !== this.current || !this.owns(action.next) || action.next === action.id)
            return failed("only the current tab is closed, for another of the run's tabs");
          await chrome.tabs.remove(action.id);
          this.recent.splice(0, 1);
          await chrome.tabs.update(action.next, { active: true });
          this.makeCurrent(action.next);
          return { input: "acted", result: done };
      }
    } catch (error) {
      return failed(`the tab step failed: ${String(error)}`);
    }
  }

  /** A new tab in the run's window, guarded before its first navigation, made current. */
  private async open(url: string, io: TabIo): Promise<TabInput> {
    const { windowId } = await chrome.tabs.get(this.current);
    const tab = await chrome.tabs.create({ windowId, url: "about:blank", active: true });
    if (tab.id === undefined) return failed("the new tab could not be opened");
    this.watch.add(tab.id);
    this.makeCurrent(tab.id);
    return { input: "acted", result: await io.load(tab.id, url) };
  }

  /** The run's open tabs: the current one, the others from the most recently current, then
   * those never current (tabs its pages opened), the newest first. */
  private async list(io: TabIo): Promise<RunTab[]> {
    const owned = this.watch.tabs();
    const order = [...this.recent, ...owned.filter((id) => !this.recent.includes(id)).reverse()];
    const out: RunTab[] = [];
    for (const id of order) {
      const tab = await this.loaded(id);
      if (tab === null) continue;
      const frame = await chrome.webNavigation.getFrame({ tabId: id, frameId: 0 }).catch(() => null);
      const snapshot = await io.snapshot(id, { css: [], hits: false }).catch(() => "");
      out.push({ id, title: titleOf(snapshot), url: frame?.url ?? "" });
    }
    return out;
  }

  /** The tab once it is not loading (at most {@link LIST_READY_MS}); null when it is closed. */
  private async loaded(id: number): Promise<chrome.tabs.Tab | null> {
    const until = Date.now() + LIST_READY_MS;
    for (;;) {
      const tab = await chrome.tabs.get(id).catch(() => null);
      if (tab === null || tab.status !== "loading" || Date.now() > until) return tab;
      await sleep(STATUS_POLL_MS);
    }
  }

  private owns(id: number): boolean {
    return this.watch.tabs().includes(id);
  }

  private makeCurrent(id: number): void {
    const at = this.recent.indexOf(id);
    if (at >= 0) this.recent.splice(at, 1);
    this.recent.unshift(id);
    this.watch.follow(id);
  }
}
