// The service worker's side of the page model: a tab's snapshot gathered from every frame,
// and the change signal waits use instead of a timer. Nothing is decided here; Rust validates
// every frame (`Snapshot::from_json`) and resolves targets on the result.
//
// Frames are joined without believing any page about identity: the frames of the tab and
// each one's parent come from the browser (`webNavigation.getAllFrames`), every frame's own
// id, origin and URL from the browser's `MessageSender`. Only the *element* holding a child
// frame comes from the parent's content script: the child's content script says hello to its
// parent window with a random token, the parent's content script finds the frame element
// whose `contentWindow` is the hello's `event.source` and reports `[node, token]`. A child
// whose token is claimed by no element or by several, or whose parent did not answer, is
// kept but unplaced: readable, never acted on (docs/snapshot.md, "Frames").

import type { HitRequest, HitState, WireFrame } from "./messages";
import { CONTENT_PROTOCOL, SNAPSHOT_LIMITS, parseHitReply } from "./messages";

/** A frame as the service worker completes it for Rust (docs/snapshot.md, "Frames"). */
export interface FrameRecord {
  id: number;
  parent?: number;
  owner?: number;
  origin: string;
  url: string;
  title: string;
  root: number;
  scroll: [number, number];
  viewport: [number, number];
  truncated: boolean;
  nodes: WireFrame["nodes"];
  css: WireFrame["css"];
  /** The document's token and this snapshot's number; `base` and `removed` when `nodes` are
   * only the changes since snapshot `base` (docs/snapshot.md, "Incremental snapshots"). */
  doc: string;
  version: number;
  base?: number;
  removed?: number[];
}

/** A frame's snapshot with the identity the browser gave its sender. */
export type SourceFrame = { id: number; origin: string; url: string } & WireFrame;

/** Asks one frame of a tab for its snapshot; rejects when no content script answers there. */
export type FrameSource = (tabId: number, frameId: number) => Promise<SourceFrame>;

/** How long a child frame may take to answer: a frame that does not answer in time is left
 * out of this snapshot (the next one asks again) rather than holding up the step. */
const CHILD_FRAME_MS = 3_000;

/** `promise`'s value, or null when it fails or takes longer than `ms`. */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(null);
      },
    );
  });
}

/** The tab's frames and their parents as the browser knows them; the top frame alone when
 * the browser does not say. */
async function framesOf(tabId: number): Promise<Map<number, number>> {
  const parents = new Map<number, number>([[0, -1]]);
  try {
    const all = await chrome.webNavigation.getAllFrames({ tabId });
    const frames = all ?? [];
    for (const f of frames) {
      if (f.frameId !== 0 && /^https?:/.test(f.url)) parents.set(f.frameId, f.parentFrameId);
    }
    // `about:blank` and `srcdoc` frames get the content script of the page they are in
    // (`match_about_blank`): those whose parent is read are read too, each level in turn.
    // Other pages no content script runs in (data:, error pages) cannot answer.
    for (let grew = true; grew; ) {
      grew = false;
      for (const f of frames) {
        if (f.frameId !== 0 && !parents.has(f.frameId) && /^about:(blank|srcdoc)$/.test(f.url) && parents.has(f.parentFrameId)) {
          parents.set(f.frameId, f.parentFrameId);
          grew = true;
        }
      }
    }
  } catch {
    // Without the webNavigation permission, only the top frame is read.
  }
  return parents;
}

/**
 * Every frame of tab `tabId`, each level of the frame tree at once, the deepest first. The
 * top frame must answer; a frame whose content script does not answer is left out. Returns `{"frames": [...]}` as JSON, the top
 * frame first.
 */
export async function gatherTab(tabId: number, source: FrameSource): Promise<string> {
  changedTabs.delete(tabId);
  const parents = await framesOf(tabId);
  const ids = [...parents.keys()].slice(0, SNAPSHOT_LIMITS.MAX_FRAMES);
  // Deepest frames first, one level at a time: a frame says hello to its parent when asked
  // for its snapshot, so the parent, asked after it, can report which element holds it.
  const depth = (id: number): number => {
    let d = 0;
    for (let p = parents.get(id); p !== undefined && p >= 0 && d <= SNAPSHOT_LIMITS.MAX_FRAMES; p = parents.get(p)) d += 1;
    return d;
  };
  const levels = new Map<number, number[]>();
  for (const id of ids) levels.set(depth(id), [...(levels.get(depth(id)) ?? []), id]);
  const got = new Map<number, SourceFrame>();
  for (const level of [...levels.keys()].sort((a, b) => b - a)) {
    const answers = await Promise.all(
      (levels.get(level) ?? []).map((id) =>
        id === 0 ? source(tabId, 0) : withDeadline(source(tabId, id), CHILD_FRAME_MS),
      ),
    );
    for (const f of answers) if (f !== null) got.set(f.id, f);
  }
  const top = got.get(0);
  if (top === undefined) throw new Error(`no snapshot from the top frame of tab ${tabId}`);

  // Which element of its parent holds each frame: the token its parent reports, when exactly
  // one element of the frame's real parent claims it and no other frame has the same token.
  const tokenUse = new Map<string, number>();
  for (const f of got.values()) tokenUse.set(f.token, (tokenUse.get(f.token) ?? 0) + 1);
  const frames: FrameRecord[] = [record(top, undefined, undefined)];
  for (const f of got.values()) {
    if (f.id === 0) continue;
    const parentId = parents.get(f.id);
    const parent = parentId === undefined ? undefined : got.get(parentId);
    const claims = parent?.children.filter(([, token]) => token === f.token) ?? [];
    const owner = claims.length === 1 && tokenUse.get(f.token) === 1 ? claims[0]?.[0] : undefined;
    frames.push(record(f, parentId, owner));
  }
  return JSON.stringify({ frames });
}

function record(
  frame: SourceFrame,
  parent: number | undefined,
  owner: number | undefined,
): FrameRecord {
  const out: FrameRecord = {
    id: frame.id,
    origin: frame.origin,
    url: frame.url,
    title: frame.title,
    root: frame.root,
    scroll: frame.scroll,
    viewport: frame.viewport,
    truncated: frame.truncated,
    nodes: frame.nodes,
    css: frame.css,
    doc: frame.token,
    version: frame.version,
  };
  if (frame.base !== undefined) {
    out.base = frame.base;
    out.removed = frame.removed ?? [];
  }
  if (parent !== undefined) out.parent = parent;
  if (owner !== undefined) out.owner = owner;
  return out;
}

/**
 * The CSS selectors of the `css "…"` targets in an effect the executor wants a snapshot for
 * (a resolution, a read, a wait): the content scripts evaluate them with the snapshot, and
 * Rust checks the matches (docs/snapshot.md, "CSS targets"). Reading the effect decides
 * nothing: a selector not asked for is `css-not-queried` in Rust.
 */
export function cssSelectors(effect: unknown): string[] {
  const found = new Set<string>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 16 || typeof value !== "object" || value === null) return;
    if (Array.isArray(value)) {
      for (const v of value) visit(v, depth + 1);
      return;
    }
    const record = value as Record<string, unknown>;
    if (record["kind"] === "css" && typeof record["selector"] === "string") found.add(record["selector"]);
    for (const v of Object.values(record)) visit(v, depth + 1);
  };
  visit(effect, 0);
  return [...found].slice(0, SNAPSHOT_LIMITS.MAX_CSS_SELECTORS);
}

/** A late hit test's answer for Rust (`HitReport` of executor/src/page/hits.rs). */
export interface HitReport {
  frame: number;
  node: number;
  state: HitState;
  by?: number;
}

/**
 * The late hit tests of a step that acts (executor/src/page/hits.rs): each frame's content
 * script tests its elements where they are now. A frame that does not answer, or answers
 * out of shape, reports its elements `gone`, which fails the step.
 */
export async function hitTestTab(tabId: number, probes: readonly { frame: number; node: number }[]): Promise<HitReport[]> {
  const byFrame = new Map<number, number[]>();
  for (const p of probes) byFrame.set(p.frame, [...(byFrame.get(p.frame) ?? []), p.node]);
  const answers = await Promise.all(
    [...byFrame].map(async ([frame, nodes]): Promise<HitReport[]> => {
      const request: HitRequest = { kind: "hit-request", protocol: CONTENT_PROTOCOL, nodes };
      const raw: unknown = await chrome.tabs.sendMessage(tabId, request, { frameId: frame }).catch(() => null);
      const hits = parseHitReply(raw, nodes) ?? nodes.map((node) => ({ node, state: "gone" as const }));
      return hits.map((h) => ({ frame, ...h }));
    }),
  );
  return answers.flat();
}

/** What a snapshot is asked to include beyond the nodes. */
export interface SnapshotQuery {
  /** Selectors of `css` targets to evaluate. */
  css: string[];
  /** Hit tests (`elementFromPoint`) of every visible element, the costliest part of a
   * snapshot. Runs never ask for them: a step that acts hit-tests its one element afterwards
   * ({@link hitTestTab}). The test API's snapshots still include them. */
  hits: boolean;
  /** The frames of the last snapshot the asker read (a run: `snapshotBases()`), each of
   * which may answer with its changes since. */
  bases?: { frame: number; doc: string; version: number }[];
}

/** The query for a snapshot the executor wants for `effect` (`Todo::Snapshot`'s effect). */
export function snapshotQuery(effect: unknown): SnapshotQuery {
  return { css: cssSelectors(effect), hits: false };
}

/** Tabs a content script reported a change in since their last snapshot was asked. */
const changedTabs = new Set<number>();
/** Waits in progress, woken by a change in their tab. */
const waiters = new Set<{ tabId: number; wake: () => void }>();

/** A frame of `tabId` changed (its content script's `page-changed`), or the tab loaded. */
export function pageChanged(tabId: number): void {
  changedTabs.add(tabId);
  for (const w of waiters) if (w.tabId === tabId) w.wake();
}

/**
 * Resolves `true` once tab `tabId` changed since its last snapshot was asked for (at once
 * when it already has), `false` after `ms` without a change. Driven by the content scripts'
 * `page-changed` pings (MutationObserver and state events), the tab's load events, and the
 * browser's load event of every frame in the tab; there is no polling.
 *
 * The frames' events matter because a frame that arrives late may not be readable at the
 * moment anything in its parent's DOM says so: a cross-origin frame loads in a process of its
 * own, and the parent's `load` event for it can be seen before the frame's content script
 * listens (or never, when the page swallows it). The frame's own load, from the browser,
 * comes after its content script started (`run_at: document_end`); its DOMContentLoaded
 * does not (in Chromium the script was not listening yet at that event), so it is not used.
 */
export function waitForChange(tabId: number, ms: number): Promise<boolean> {
  if (changedTabs.has(tabId)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const waiter = { tabId, wake: () => finish(true) };
    const timer = setTimeout(() => finish(false), Math.max(0, ms));
    const onUpdated = (id: number, change: chrome.tabs.OnUpdatedInfo): void => {
      if (id === tabId && (change.status !== undefined || change.url !== undefined)) finish(true);
    };
    const onFrameLoaded = (details: { tabId: number }): void => {
      if (details.tabId === tabId) finish(true);
    };
    // Absent without the webNavigation permission (then only the top frame is read anyway).
    const frameLoaded = chrome.webNavigation?.onCompleted;
    function finish(changed: boolean): void {
      clearTimeout(timer);
      waiters.delete(waiter);
      chrome.tabs.onUpdated.removeListener(onUpdated);
      frameLoaded?.removeListener(onFrameLoaded);
      resolve(changed);
    }
    waiters.add(waiter);
    chrome.tabs.onUpdated.addListener(onUpdated);
    frameLoaded?.addListener(onFrameLoaded);
  });
}
