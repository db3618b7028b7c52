// The content script's sensor half: on the service worker's request it reports its frame as a
// snapshot in the format of docs/snapshot.md and decides nothing. Roles, names, resolution and
// every check run in Rust in the service worker. The frame's id, origin and URL are not sent:
// the service worker takes them from what the browser says about the sender.
//
// The actuator half performs one authorised primitive on one element handle (`act-request`),
// after the service worker re-checked the element's fingerprint in a fresh snapshot; it
// decides nothing either, and reports whether the primitive had its effect (a postcondition
// per primitive, read once the page has had a turn to react).
//
// The change watcher: after each snapshot a MutationObserver (plus the events that change
// state without touching the DOM: input, change, load, transitions) sends one `page-changed`
// ping at the first change, so the service worker's waits re-read the page when it changed
// rather than on a timer. It runs only between a snapshot and the next change.

import {
  CONTENT_PROTOCOL,
  SNAPSHOT_LIMITS as L,
  parseContentRequest,
  type ActAction,
  type ActReport,
  type Message,
  type NodeHit,
  type SnapshotBase,
  type UploadFile,
  type WireFrame,
  type WireKid,
  type WireNode,
} from "./messages";

/** Attributes the Rust side reads for roles and names (docs/snapshot.md, "Attributes"). */
const ATTRS = [
  "id", "role", "aria-label", "aria-labelledby", "aria-describedby", "aria-hidden",
  "aria-disabled", "aria-checked", "aria-selected", "aria-expanded", "aria-level",
  "aria-valuenow", "aria-valuetext", "aria-placeholder", "name", "type", "value",
  "placeholder", "title", "alt", "label", "for", "href", "disabled", "readonly", "required",
  "autocomplete", "multiple", "size", "list", "scope", "slot", "hidden", "inert", "open",
  "tabindex",
] as const;

const ATTR_SET: ReadonlySet<string> = new Set(ATTRS);

/** Form-associated elements, the only ones `:disabled` applies to. */
const DISABLEABLE = new Set(["button", "fieldset", "input", "optgroup", "option", "select", "textarea"]);

/** Elements whose content is never sent. */
const SKIP_CONTENT = new Set(["script", "style", "template", "noscript"]);

/** Autocomplete tokens of fields whose value is never read. */
const NEVER_READ = new Set(["current-password", "new-password", "cc-number", "cc-csc", "one-time-code"]);

/** Tags inline by default, as `inline_by_default` in executor/src/page/roles.rs. */
const INLINE_TAGS = new Set([
  "a", "abbr", "b", "bdi", "bdo", "button", "cite", "code", "data", "del", "dfn", "em", "font",
  "i", "img", "input", "ins", "kbd", "label", "mark", "meter", "output", "progress", "q", "s",
  "samp", "select", "slot", "small", "span", "strong", "sub", "sup", "svg", "textarea", "time",
  "u", "var", "wbr",
]);

/**
 * Frame joining (docs/snapshot.md, "Frames"). Each frame's content script has a random token
 * for its document and says hello to its parent window with it when it is asked for a
 * snapshot (so a page the agent is not working on sees no message); the service worker asks
 * the deepest frames first, so their hellos are in before their parent's snapshot. The
 * parent's content script
 * finds the element holding that child by comparing `event.source` with each frame element's
 * `contentWindow` (identity, which works across origins), and reports `[node, token]` pairs
 * with its snapshot. The service worker joins a child frame to the element whose token it
 * reported. A parent that started after its children asks them to say hello again.
 */
const FRAME_TOKEN = crypto.randomUUID();
/** Frame element → the token its current document said hello with. */
const frameTokens = new WeakMap<Element, string>();
/** Frame elements seen by the last snapshot (also those inside open shadow roots). */
let knownHolders: Element[] = [];

interface FrameHello {
  bridle: "frame-hello" | "frame-hello-please";
  token?: string;
}

function sayHello(): void {
  if (window.parent === window) return;
  const hello: FrameHello = { bridle: "frame-hello", token: FRAME_TOKEN };
  window.parent.postMessage(hello, "*");
}

window.addEventListener("message", (event: MessageEvent<unknown>) => {
  const data = event.data as Partial<FrameHello> | null;
  if (typeof data !== "object" || data === null) return;
  if (data.bridle === "frame-hello-please" && event.source === window.parent && window.parent !== window) {
    sayHello();
  } else if (data.bridle === "frame-hello" && typeof data.token === "string" && /^[0-9a-f-]{36}$/.test(data.token)) {
    const holders = [...document.querySelectorAll("iframe, frame, object, embed"), ...knownHolders];
    const holder = holders.find((el) => frameWindow(el) === event.source);
    if (holder !== undefined) frameTokens.set(holder, data.token);
  }
});

/** The window a frame element holds, if any. */
function frameWindow(el: Element): Window | null {
  if (el instanceof HTMLIFrameElement || el instanceof HTMLFrameElement || el instanceof HTMLObjectElement) {
    return el.contentWindow;
  }
  return null;
}

/** Asks the frames held by `holders` that have not said hello to say it (for the next
 * snapshot: a frame that loaded a new document since). */
function askForHellos(holders: readonly Element[]): void {
  for (const el of holders) {
    if (frameTokens.has(el)) continue;
    const please: FrameHello = { bridle: "frame-hello-please" };
    frameWindow(el)?.postMessage(please, "*");
  }
}

/** Elements that hold a child frame. */
function holdsFrame(el: Element): boolean {
  return (
    el instanceof HTMLIFrameElement ||
    el instanceof HTMLFrameElement ||
    el instanceof HTMLObjectElement ||
    el instanceof HTMLEmbedElement
  );
}

/** Element → node id, stable for the element's lifetime; ids are never reused. */
const ids = new WeakMap<Element, number>();
/** Node id → element, for the actuator; weak, so a removed element is gone. */
const elements = new Map<number, WeakRef<Element>>();
/** Starts at random: a new document in the same frame (a reload, a navigation of an iframe)
 * must not reuse the old document's ids, or a handle decided on could name a new element. */
let nextId = 1 + (crypto.getRandomValues(new Uint32Array(1))[0] ?? 0) % 2 ** 30;

function idOf(el: Element): number {
  let id = ids.get(el);
  if (id === undefined) {
    id = nextId;
    nextId += 1;
    ids.set(el, id);
    elements.set(id, new WeakRef(el));
  }
  return id;
}

/** The first `max` characters (Unicode scalar values) of `text`, and whether it was cut. */
function cut(text: string, max: number): [string, boolean] {
  if (text.length <= max) return [text, false];
  const chars = Array.from(text);
  return chars.length <= max ? [text, false] : [chars.slice(0, max).join(""), true];
}

function clamp(v: number): number {
  return Number.isFinite(v) ? Math.max(-L.MAX_COORD, Math.min(L.MAX_COORD, v)) : 0;
}

/** A password field, or one whose autocomplete names a card number, CVC or one-time code. */
function neverRead(el: Element): boolean {
  if (el instanceof HTMLInputElement && el.type === "password") return true;
  const tokens = (el.getAttribute("autocomplete") ?? "").toLowerCase().split(/\s+/);
  return tokens.some((t) => NEVER_READ.has(t));
}

/** The flat-tree parent: the assigned slot, else the parent, else the shadow host. */
function flatParent(n: Node): Node | null {
  if (n instanceof Element && n.assignedSlot !== null) return n.assignedSlot;
  const parent = n.parentNode;
  return parent instanceof ShadowRoot ? parent.host : parent;
}

/** The element at a viewport point, through open shadow roots. */
function deepestAt(x: number, y: number): Element | null {
  let found = document.elementFromPoint(x, y);
  while (found?.shadowRoot) {
    const inner = found.shadowRoot.elementFromPoint(x, y);
    if (inner === null || inner === found) break;
    found = inner;
  }
  return found;
}

/** What an element's attributes say, as the snapshot sends it. */
interface AttributesRead {
  attrs: Record<string, string> | undefined;
  /** A never-read field (`neverRead`): its value is not sent. */
  redact: boolean;
  /** Its `value` attribute was left out for that reason. */
  valueRedacted: boolean;
  /** A value was cut at `MAX_ATTR_CHARS`. */
  cut: boolean;
}

/**
 * The attributes of elements as last read, kept until {@link attributeWatch} sees them
 * change: a snapshot reads again only the attributes the page changed since the last one.
 * (Boxes, visibility and form values change without mutation records and are read afresh.)
 */
const attributeCache = new WeakMap<Element, AttributesRead>();

/** A MutationObserver over attributes, from the first snapshot of the document on, over the
 * document and every open shadow root a snapshot met; its records drop cache entries. */
const attributeWatch = {
  observer: new MutationObserver((records) => attributeWatch.forget(records)),
  roots: new WeakSet<Node>(),
  forget(records: MutationRecord[]): void {
    for (const r of records) if (r.target instanceof Element) attributeCache.delete(r.target);
  },
  /** Applies the records not delivered yet (a snapshot runs synchronously). */
  catchUp(): void {
    this.forget(this.observer.takeRecords());
  },
  watch(roots: readonly Node[]): void {
    for (const root of roots) {
      if (this.roots.has(root)) continue;
      this.roots.add(root);
      this.observer.observe(root, { subtree: true, attributes: true });
    }
  },
};

function attributesOf(el: Element): AttributesRead {
  const known = attributeCache.get(el);
  if (known !== undefined) return known;
  const redact = neverRead(el);
  const attrs: Record<string, string> = {};
  let count = 0;
  let valueRedacted = false;
  let wasCut = false;
  // The element's own attributes (usually a few), rather than asking for each of ATTRS.
  for (const attr of Array.from(el.attributes)) {
    const name = attr.name;
    const value = attr.value;
    if (!ATTR_SET.has(name) || count >= L.MAX_ATTRS) continue;
    if (name === "value" && redact) {
      if (value !== "") valueRedacted = true;
      continue;
    }
    const [text, cutHere] = cut(name === "href" ? "" : value, L.MAX_ATTR_CHARS);
    wasCut ||= cutHere;
    attrs[name] = text;
    count += 1;
  }
  const read = { attrs: count > 0 ? attrs : undefined, redact, valueRedacted, cut: wasCut };
  attributeCache.set(el, read);
  return read;
}

class Builder {
  readonly nodes: WireNode[] = [];
  truncated = false;
  /** `[node id, token]` of every element holding a child frame that said hello. */
  readonly children: [number, string][] = [];
  /** Every element holding a frame. */
  readonly holders: Element[] = [];
  /** The open shadow roots met, for the change watcher. */
  readonly shadowRoots: ShadowRoot[] = [];
  /** Elements to hit-test once every node has its id: [node, element, centre x, centre y]. */
  private readonly probes: [WireNode, Element, number, number][] = [];

  /** Adds `el` and its subtree; null when a limit stopped it (the frame is then truncated). */
  element(el: Element, depth: number, fixedAbove: boolean): number | null {
    const tag = el.localName.toLowerCase();
    if (this.nodes.length >= L.MAX_NODES || depth > L.MAX_DEPTH || tag.length > L.MAX_TAG_CHARS) {
      this.truncated = true;
      return null;
    }
    const node: WireNode = { id: idOf(el), tag };
    this.nodes.push(node);
    if (holdsFrame(el)) {
      this.holders.push(el);
      const token = frameTokens.get(el);
      if (token !== undefined) this.children.push([node.id, token]);
    }
    const read = attributesOf(el);
    this.truncated ||= read.cut;
    if (read.attrs !== undefined) node.attrs = read.attrs;
    if (read.valueRedacted) node.value_redacted = true;
    const redact = read.redact;

    const style = getComputedStyle(el);
    const fixed = fixedAbove || style.position === "fixed";
    this.geometry(node, el, fixed, tag, style);
    this.formState(node, el, redact);

    if (!SKIP_CONTENT.has(tag)) {
      const kids = this.kidsOf(el.childNodes, depth, fixed);
      if (kids.length > 0) node.kids = kids;
      // `shadowRoot` is null for closed roots: those stay invisible, as documented.
      if (el.shadowRoot !== null) {
        this.shadowRoots.push(el.shadowRoot);
        node.shadow = this.kidsOf(el.shadowRoot.childNodes, depth, fixed);
      }
    }
    return node.id;
  }

  private kidsOf(list: NodeList, depth: number, fixed: boolean): WireKid[] {
    const kids: WireKid[] = [];
    for (const child of Array.from(list)) {
      if (kids.length >= L.MAX_KIDS) {
        this.truncated = true;
        break;
      }
      if (child instanceof Element) {
        const id = this.element(child, depth + 1, fixed);
        if (id !== null) kids.push(id);
      } else if (child instanceof Text) {
        const run = child.data.replace(/\s+/g, " ");
        if (run === "" || run === " ") continue;
        const [text, wasCut] = cut(run, L.MAX_TEXT_CHARS);
        this.truncated ||= wasCut;
        kids.push(text);
      }
    }
    return kids;
  }

  private geometry(node: WireNode, el: Element, fixed: boolean, tag: string, style: CSSStyleDeclaration): void {
    // `display: contents` (every <slot>, and many layouts) has no box, so checkVisibility is
    // false for it; its content is rendered when its flat-tree parent is.
    let shown: Element | null = el;
    let display = style.display;
    while (shown !== null && display === "contents") {
      const up = flatParent(shown);
      shown = up instanceof Element ? up : null;
      display = shown === null ? "" : getComputedStyle(shown).display;
    }
    node.hidden = shown !== null && !shown.checkVisibility({ visibilityProperty: true });
    if (!node.hidden) delete node.hidden;
    const r = el.getBoundingClientRect();
    // No box at all (`display: none`, `contents`) is told from an empty box at the origin
    // only for the few elements whose rectangle is all zero.
    if (r.x === 0 && r.y === 0 && r.width === 0 && r.height === 0 && el.getClientRects().length === 0) return;
    const [dx, dy] = fixed ? [0, 0] : [window.scrollX, window.scrollY];
    node.box = [clamp(r.x + dx), clamp(r.y + dy), clamp(Math.max(0, r.width)), clamp(Math.max(0, r.height))];
    if (fixed) node.fixed = true;
    const inline = style.display.startsWith("inline");
    if (inline !== (INLINE_TAGS.has(tag) || tag.includes("-"))) node.inline = inline;
    const visible =
      node.hidden !== true &&
      r.width > 0 &&
      r.height > 0 &&
      el.checkVisibility({ opacityProperty: true, visibilityProperty: true, contentVisibilityAuto: true });
    if (!visible) return;
    node.visible = true;
    const cx = r.x + r.width / 2;
    const cy = r.y + r.height / 2;
    // Off-screen centres are not tested: `hit` stays absent and the actuator tests later.
    if (cx >= 0 && cy >= 0 && cx < window.innerWidth && cy < window.innerHeight) {
      this.probes.push([node, el, cx, cy]);
    }
  }

  private formState(node: WireNode, el: Element, redact: boolean): void {
    if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) {
      const value = el.value;
      if (redact) {
        if (value !== "") node.value_redacted = true;
      } else {
        const [text, wasCut] = cut(value, L.MAX_VALUE_CHARS);
        this.truncated ||= wasCut;
        node.value = text;
      }
    }
    if (el instanceof HTMLInputElement && (el.type === "checkbox" || el.type === "radio") && el.checked) {
      node.checked = true;
    }
    if (el instanceof HTMLOptionElement && el.selected) node.selected = true;
    if (DISABLEABLE.has(el.localName) && el.matches(":disabled")) node.disabled = true;
    if (el instanceof HTMLDialogElement && el.matches(":modal")) node.modal = true;
  }

  /** The hit tests, after the walk, so `hit_by` can name any element of the snapshot. */
  hitTests(): void {
    const sent = new Set(this.nodes.map((n) => n.id));
    for (const [node, el, x, y] of this.probes) {
      const found = deepestAt(x, y);
      let inside = false;
      for (let n: Node | null = found; n !== null; n = flatParent(n)) {
        if (n === el) {
          inside = true;
          break;
        }
      }
      node.hit = inside;
      const by = found === null ? undefined : ids.get(found);
      if (!inside && by !== undefined && sent.has(by)) node.hit_by = by;
    }
  }
}

/** This frame's snapshot, without the frame's identity (the service worker adds it). Arms
 * the change watcher over the document and the open shadow roots just read. */
/** What this document sent last: the snapshot's number, and each node as JSON, which the
 * next snapshot is compared with. */
let lastSent: { version: number; nodes: Map<number, string> } | null = null;

/**
 * The nodes to send: all of them, or, when the asker holds this document's last snapshot
 * (`base`), only the nodes that are new or changed since, and the ids that left
 * (docs/snapshot.md, "Incremental snapshots"). Either way the next snapshot is numbered and
 * remembered. Every node is read afresh each time (boxes move without any DOM mutation): what
 * is saved is sending, validating and parsing what did not change.
 */
function sendable(nodes: WireNode[], base: SnapshotBase | null): Pick<WireFrame, "nodes" | "version" | "base" | "removed"> {
  const json = new Map<number, string>();
  for (const n of nodes) json.set(n.id, JSON.stringify(n));
  const prev = lastSent;
  const version = (prev?.version ?? 0) + 1;
  lastSent = { version, nodes: json };
  if (base === null || prev === null || base.doc !== FRAME_TOKEN || base.version !== prev.version) {
    return { nodes, version };
  }
  const changed = nodes.filter((n) => prev.nodes.get(n.id) !== json.get(n.id));
  const removed = [...prev.nodes.keys()].filter((id) => !json.has(id));
  return { nodes: changed, version, base: base.version, removed };
}

export function snapshotFrame(selectors: readonly string[], hits: boolean, base: SnapshotBase | null = null): WireFrame {
  sayHello();
  attributeWatch.catchUp();
  const builder = new Builder();
  const root = builder.element(document.documentElement, 0, false) ?? idOf(document.documentElement);
  // Without hit tests every `hit` is absent, as for an element outside the viewport.
  if (hits) builder.hitTests();
  askForHellos(builder.holders);
  const sent = new Set(builder.nodes.map((n) => n.id));
  const css: Record<string, number[]> = {};
  for (const selector of selectors) {
    let found: Element[];
    try {
      found = Array.from(document.querySelectorAll(selector));
    } catch {
      // Not a selector this browser accepts: not evaluated, and so `css-not-queried`.
      continue;
    }
    css[selector] = found.map((el) => ids.get(el)).filter((id): id is number => id !== undefined && sent.has(id));
  }
  const [title, titleCut] = cut(document.title.replace(/\s+/g, " ").trim(), L.MAX_TEXT_CHARS);
  watcher.arm(builder.shadowRoots);
  attributeWatch.watch([document, ...builder.shadowRoots]);
  knownHolders = builder.holders;
  return {
    root,
    scroll: [clamp(window.scrollX), clamp(window.scrollY)],
    viewport: [window.innerWidth, window.innerHeight],
    truncated: builder.truncated || titleCut,
    title,
    children: builder.children,
    token: FRAME_TOKEN,
    css,
    ...sendable(builder.nodes, base),
  };
}

/** What can change a snapshot without a DOM mutation: typed values, checked boxes, loaded
 * images and frames, finished transitions and animations, a toggled <details>. */
const CHANGE_EVENTS = ["input", "change", "load", "transitionend", "animationend", "toggle"] as const;

const OBSERVE: MutationObserverInit = { subtree: true, childList: true, attributes: true, characterData: true };

/**
 * Sends one `page-changed` message at the first change after a snapshot, then stops
 * watching until the next snapshot. Observing only while armed keeps a page the agent is not
 * working on free of observers and of messages.
 */
class ChangeWatcher {
  private armed = false;
  private readonly observer = new MutationObserver(() => this.fire());
  private readonly onEvent = (): void => this.fire();

  arm(shadowRoots: readonly ShadowRoot[]): void {
    this.disarm();
    this.armed = true;
    this.observer.observe(document, OBSERVE);
    for (const root of shadowRoots) this.observer.observe(root, OBSERVE);
    // At the document, not the window: an element's `load` (an image, a frame) stops at the
    // document and never reaches the window.
    for (const type of CHANGE_EVENTS) document.addEventListener(type, this.onEvent, { capture: true, passive: true });
  }

  private disarm(): void {
    this.armed = false;
    this.observer.disconnect();
    for (const type of CHANGE_EVENTS) document.removeEventListener(type, this.onEvent, { capture: true });
  }

  private fire(): void {
    if (!this.armed) return;
    this.disarm();
    const ping: Message = { kind: "page-changed", protocol: CONTENT_PROTOCOL };
    chrome.runtime.sendMessage(ping).catch(() => undefined);
  }
}

const watcher = new ChangeWatcher();

/** What is at the centre of element `node` now, without scrolling (a step's late hit test,
 * executor/src/page/hits.rs): as the snapshot's own hit tests were, for one element. */
function hitNow(node: number): NodeHit {
  const el = elements.get(node)?.deref();
  if (el === undefined || !el.isConnected) return { node, state: "gone" };
  const r = el.getBoundingClientRect();
  const cx = r.x + r.width / 2;
  const cy = r.y + r.height / 2;
  if (r.width <= 0 || r.height <= 0 || cx < 0 || cy < 0 || cx >= window.innerWidth || cy >= window.innerHeight) {
    return { node, state: "untested" };
  }
  const found = deepestAt(cx, cy);
  for (let n: Node | null = found; n !== null; n = flatParent(n)) {
    if (n === el) return { node, state: "hit" };
  }
  const by = found === null ? undefined : ids.get(found);
  return by === undefined ? { node, state: "covered" } : { node, state: "covered", by };
}

/** The element's centre after scrolling it into view, when the topmost element there is it
 * or inside it; otherwise what covers it. */
function hitTest(el: Element): { ok: true } | { ok: false; error: string } {
  el.scrollIntoView({ block: "center", inline: "center" });
  const r = el.getBoundingClientRect();
  if (r.width <= 0 || r.height <= 0) return { ok: false, error: "the element has no box" };
  const found = deepestAt(r.left + r.width / 2, r.top + r.height / 2);
  for (let n: Node | null = found; n !== null; n = flatParent(n)) {
    if (n === el) return { ok: true };
  }
  const by = found instanceof Element ? found.tagName.toLowerCase() : "nothing";
  return { ok: false, error: `the element is covered by a \`${by}\` at its click point` };
}

const done = (effect: boolean): ActReport => ({ ok: true, error: null, effect_observed: effect });
const failed = (error: string): ActReport => ({ ok: false, error, effect_observed: false });

/** One task turn (a message to ourselves: not throttled like timers in a background tab). */
function turn(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/** What the page did in reaction to a primitive, read after it had two task turns to react
 * (event handlers, a framework's re-render, microtasks). Not a sleep: nothing waits for time. */
interface Reaction {
  /** The DOM changed: the document or any open shadow root above the element. */
  mutated: boolean;
  /** The URL changed (a router's pushState) or a navigation started (`beforeunload`). */
  navigated: boolean;
}

async function withReaction(el: Element, doIt: () => void): Promise<Reaction> {
  let records = 0;
  const observer = new MutationObserver((list) => {
    records += list.length;
  });
  observer.observe(document, OBSERVE);
  for (let root = el.getRootNode(); root instanceof ShadowRoot; root = root.host.getRootNode()) {
    observer.observe(root, OBSERVE);
  }
  let unloading = false;
  const onUnload = (): void => {
    unloading = true;
  };
  window.addEventListener("beforeunload", onUnload);
  const href = location.href;
  try {
    doIt();
    await turn();
    await turn();
    records += observer.takeRecords().length;
    return { mutated: records > 0, navigated: unloading || location.href !== href };
  } finally {
    observer.disconnect();
    window.removeEventListener("beforeunload", onUnload);
  }
}

/** The element's click point after scrolling it into view and hit-testing it. */
function clickPoint(el: Element): { ok: true; x: number; y: number } | { ok: false; error: string } {
  const hit = hitTest(el);
  if (!hit.ok) return hit;
  const r = el.getBoundingClientRect();
  return { ok: true, x: r.left + r.width / 2, y: r.top + r.height / 2 };
}

/** Pointer and mouse events as a pointing device would send them at (x, y). */
function mouse(el: Element, type: string, x: number, y: number): boolean {
  const init = {
    bubbles: type !== "mouseenter" && type !== "pointerenter",
    cancelable: true,
    composed: true,
    clientX: x,
    clientY: y,
    view: window,
    detail: type === "click" ? 1 : 0,
  };
  const event = type.startsWith("pointer")
    ? new PointerEvent(type, { ...init, pointerId: 1, pointerType: "mouse", isPrimary: true })
    : new MouseEvent(type, init);
  return el.dispatchEvent(event);
}

/** Sets a field's value the way typing does, so framework-controlled inputs see it: the
 * prototype's native setter (bypassing a framework's own, and its value tracker), then
 * `input` and `change`. */
function setValue(el: HTMLInputElement | HTMLTextAreaElement, value: string): void {
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  const setter = Object.getOwnPropertyDescriptor(proto, "value")?.set;
  el.focus();
  if (setter === undefined) el.value = value;
  else setter.call(el, value);
  el.dispatchEvent(new InputEvent("input", { bubbles: true, composed: true, inputType: "insertReplacementText", data: value }));
  el.dispatchEvent(new Event("change", { bubbles: true }));
}

/** The field's live value through the prototype's getter (a page cannot fake it with an own
 * `value` property). */
function valueOf(el: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement): string {
  const proto =
    el instanceof HTMLTextAreaElement
      ? HTMLTextAreaElement.prototype
      : el instanceof HTMLSelectElement
        ? HTMLSelectElement.prototype
        : HTMLInputElement.prototype;
  const getter = Object.getOwnPropertyDescriptor(proto, "value")?.get;
  return getter === undefined ? el.value : String(getter.call(el));
}

function isField(el: Element): el is HTMLInputElement | HTMLTextAreaElement {
  return el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement;
}

async function click(el: Element): Promise<ActReport> {
  const at = clickPoint(el);
  if (!at.ok) return failed(at.error);
  let event: Event | null = null;
  const listener = (e: Event): void => {
    event = e;
  };
  el.addEventListener("click", listener, { once: true });
  const reaction = await withReaction(el, () => {
    mouse(el, "pointerdown", at.x, at.y);
    if (mouse(el, "mousedown", at.x, at.y) && el instanceof HTMLElement) el.focus({ preventScroll: true });
    mouse(el, "pointerup", at.x, at.y);
    mouse(el, "mouseup", at.x, at.y);
    mouse(el, "click", at.x, at.y);
  });
  el.removeEventListener("click", listener);
  const seen = event as Event | null;
  if (seen === null) return done(false);
  // The default action ran (a link, a submit button, a checkbox …), or a handler that took
  // the click over changed the page or the URL.
  return done(!seen.defaultPrevented || reaction.mutated || reaction.navigated);
}

async function setChecked(el: Element, want: boolean): Promise<ActReport> {
  if (!(el instanceof HTMLInputElement) || (el.type !== "checkbox" && el.type !== "radio")) {
    return failed("the element is not a checkbox or radio button");
  }
  if (el.checked === want) return done(true);
  if (!want && el.type === "radio") return failed("a radio button is unchecked by checking another");
  const report = await click(el);
  if (!report.ok) return report;
  // The box must stay as asked once the page has reacted (a controlled box may snap back).
  return done(el.checked === want);
}

async function submitForm(el: Element): Promise<ActReport> {
  const form = el instanceof HTMLFormElement ? el : el.closest("form") ?? (isField(el) || el instanceof HTMLButtonElement ? el.form : null);
  if (form === null) return failed("the element is not in a form");
  let submitted = false;
  const seen = (): void => {
    submitted = true;
  };
  form.addEventListener("submit", seen, { once: true });
  const submitter = el instanceof HTMLButtonElement || (el instanceof HTMLInputElement && el.type === "submit") ? el : null;
  const reaction = await withReaction(el, () => form.requestSubmit(submitter));
  form.removeEventListener("submit", seen);
  // A submit event (whether the page lets the browser send the form or sends it itself).
  return done(submitted || reaction.navigated);
}

/** Whether any part of the element's box is inside the viewport. */
function inViewport(el: Element): boolean {
  const r = el.getBoundingClientRect();
  return r.bottom > 0 && r.right > 0 && r.top < window.innerHeight && r.left < window.innerWidth;
}

/** Performs one primitive on `el`, and reads its postcondition. */
async function perform(el: Element, action: ActAction): Promise<ActReport> {
  switch (action.type) {
    case "click":
      return click(el);
    case "fill": {
      if (!isField(el)) return failed("the element is not a text field");
      if (el.disabled || el.readOnly) return failed("the field is disabled or read-only");
      const hit = hitTest(el);
      if (!hit.ok) return failed(hit.error);
      await withReaction(el, () => setValue(el, action.value.text));
      // Still the value once the page reacted: a controlled input that did not take the
      // change renders its old value back.
      return done(el.isConnected && valueOf(el) === action.value.text);
    }
    case "clear": {
      if (!isField(el)) return failed("the element is not a text field");
      if (el.disabled || el.readOnly) return failed("the field is disabled or read-only");
      await withReaction(el, () => setValue(el, ""));
      return done(el.isConnected && valueOf(el) === "");
    }
    case "select": {
      if (!(el instanceof HTMLSelectElement)) return failed("the list box is not a <select>");
      if (el.disabled) return failed("the list box is disabled");
      const want = action.option.replace(/\s+/g, " ").trim();
      const option = Array.from(el.options).find((o) => (o.label || o.text).replace(/\s+/g, " ").trim() === want);
      if (option === undefined) return failed(`the list has no option \`${action.option}\``);
      if (option.disabled) return failed(`the option \`${action.option}\` is disabled`);
      await withReaction(el, () => {
        el.focus();
        const setter = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value")?.set;
        if (setter === undefined) el.value = option.value;
        else setter.call(el, option.value);
        el.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
        el.dispatchEvent(new Event("change", { bubbles: true }));
      });
      return done(option.selected);
    }
    case "check":
      return setChecked(el, true);
    case "uncheck":
      return setChecked(el, false);
    case "hover": {
      const at = clickPoint(el);
      if (!at.ok) return failed(at.error);
      const reaction = await withReaction(el, () => {
        for (const type of ["pointerover", "pointerenter", "mouseover", "mouseenter", "pointermove", "mousemove"]) {
          mouse(el, type, at.x, at.y);
        }
      });
      // Synthetic events do not apply CSS :hover; a hover that changed nothing is reported.
      return done(reaction.mutated || reaction.navigated);
    }
    case "press": {
      const target = el instanceof HTMLElement ? el : null;
      target?.focus();
      const options = { key: action.key, bubbles: true, cancelable: true, composed: true };
      const before = isField(el) ? valueOf(el) : null;
      let handled = false;
      let submitted = false;
      const reaction = await withReaction(el, () => {
        const down = el.dispatchEvent(new KeyboardEvent("keydown", options));
        handled = !down;
        el.dispatchEvent(new KeyboardEvent("keypress", options));
        el.dispatchEvent(new KeyboardEvent("keyup", options));
        if (down && action.key === "Enter" && isField(el) && el.form !== null) {
          el.form.addEventListener("submit", () => (submitted = true), { once: true });
          el.form.requestSubmit();
        }
      });
      const changedValue = isField(el) && before !== valueOf(el);
      // A handler took the key (cancelled it), or the page, the URL or the value changed.
      return done(handled || submitted || changedValue || reaction.mutated || reaction.navigated);
    }
    case "scroll-to":
      el.scrollIntoView({ block: "center", inline: "center" });
      return done(inViewport(el));
    case "submit": {
      const hit = hitTest(el);
      if (!hit.ok) return failed(hit.error);
      return submitForm(el);
    }
    case "upload":
      return uploadFile(el, action.file);
  }
}

/** `upload`: puts the file the user picked in Bridle's own window (never the page's picker,
 * never a path the script names) into an `<input type=file>`, as the page's picker would:
 * its files replaced, then `input` and `change`. Anything but a file input is refused. */
async function uploadFile(el: Element, file: UploadFile): Promise<ActReport> {
  if (!(el instanceof HTMLInputElement) || el.type !== "file") {
    return failed("the element is not a file input (`<input type=file>`): only a file input can receive an upload");
  }
  if (el.disabled) return failed("the file input is disabled");
  const text = atob(file.data);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], file.name, { type: file.type }));
  await withReaction(el, () => {
    el.files = transfer.files;
    el.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  });
  const got = el.files?.[0];
  return done(el.isConnected && el.files?.length === 1 && got?.name === file.name && got.size === bytes.length);
}

/** Acts on node `node`, refusing a node that is gone or no longer in the document. */
async function act(node: number, action: ActAction): Promise<ActReport> {
  const el = elements.get(node)?.deref();
  if (el === undefined || !el.isConnected) return failed("the element is no longer on the page");
  try {
    return await perform(el, action);
  } catch (error) {
    return failed(`the action failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

chrome.runtime.onMessage.addListener((raw: unknown, sender, sendResponse) => {
  // Only this extension's service worker asks (never another frame or extension).
  const request = sender.id === chrome.runtime.id && sender.tab === undefined ? parseContentRequest(raw) : null;
  if (request === null) return false;
  if (request.kind === "hit-request") {
    sendResponse(request.nodes.map(hitNow));
    return false;
  }
  if (request.kind === "act-request") {
    void act(request.node, request.action).then(sendResponse);
    // The report is sent once the page has reacted.
    return true;
  }
  const reply: Message = {
    kind: "snapshot",
    protocol: CONTENT_PROTOCOL,
    request: request.request,
    frame: snapshotFrame(request.css, request.hits, request.base),
  };
  // The snapshot goes back as a message of its own, so the service worker learns the frame's
  // origin and URL from the browser (the sender), not from the page.
  chrome.runtime.sendMessage(reply).catch(() => undefined);
  sendResponse({ ok: true });
  return false;
});
