// The content script's sensor half: on the service worker's request it reports its frame as a
// snapshot in the format of docs/snapshot.md and decides nothing. Roles, names, resolution and
// every check run in Rust in the service worker. The frame's id, origin and URL are not sent:
// the service worker takes them from what the browser says about the sender.
//
// The actuator half performs one authorised primitive on one element handle (`act-request`),
// after the service worker re-checked the element's fingerprint in a fresh snapshot; it
// decides nothing either, and reports whether the primitive had its effect.

import {
  CONTENT_PROTOCOL,
  SNAPSHOT_LIMITS as L,
  parseContentRequest,
  type ActAction,
  type ActReport,
  type Message,
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

/** Element → node id, stable for the element's lifetime; ids are never reused. */
const ids = new WeakMap<Element, number>();
/** Node id → element, for the actuator; weak, so a removed element is gone. */
const elements = new Map<number, WeakRef<Element>>();
let nextId = 1;

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

class Builder {
  readonly nodes: WireNode[] = [];
  truncated = false;
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
    const redact = neverRead(el);
    const attrs: Record<string, string> = {};
    let count = 0;
    for (const name of ATTRS) {
      const value = el.getAttribute(name);
      if (value === null || count >= L.MAX_ATTRS) continue;
      if (name === "value" && redact) {
        if (value !== "") node.value_redacted = true;
        continue;
      }
      const [text, wasCut] = cut(name === "href" ? "" : value, L.MAX_ATTR_CHARS);
      this.truncated ||= wasCut;
      attrs[name] = text;
      count += 1;
    }
    if (count > 0) node.attrs = attrs;

    const style = getComputedStyle(el);
    const fixed = fixedAbove || style.position === "fixed";
    this.geometry(node, el, fixed, tag, style);
    this.formState(node, el, redact);

    if (!SKIP_CONTENT.has(tag)) {
      const kids = this.children(el.childNodes, depth, fixed);
      if (kids.length > 0) node.kids = kids;
      // `shadowRoot` is null for closed roots: those stay invisible, as documented.
      if (el.shadowRoot !== null) node.shadow = this.children(el.shadowRoot.childNodes, depth, fixed);
    }
    return node.id;
  }

  private children(list: NodeList, depth: number, fixed: boolean): WireKid[] {
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
    node.hidden = !el.checkVisibility({ visibilityProperty: true });
    if (!node.hidden) delete node.hidden;
    if (el.getClientRects().length === 0) return;
    const r = el.getBoundingClientRect();
    const [dx, dy] = fixed ? [0, 0] : [window.scrollX, window.scrollY];
    node.box = [clamp(r.x + dx), clamp(r.y + dy), clamp(Math.max(0, r.width)), clamp(Math.max(0, r.height))];
    if (fixed) node.fixed = true;
    const inline = style.display.startsWith("inline");
    if (inline !== (INLINE_TAGS.has(tag) || tag.includes("-"))) node.inline = inline;
    const visible =
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
    if (el.matches(":disabled")) node.disabled = true;
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

/** This frame's snapshot, without the frame's identity (the service worker adds it). */
export function snapshotFrame(): WireFrame {
  const builder = new Builder();
  const root = builder.element(document.documentElement, 0, false) ?? idOf(document.documentElement);
  builder.hitTests();
  return {
    root,
    scroll: [clamp(window.scrollX), clamp(window.scrollY)],
    viewport: [window.innerWidth, window.innerHeight],
    truncated: builder.truncated,
    nodes: builder.nodes,
  };
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

/** Sets a field's value the way typing does, so framework-controlled inputs see it: the
 * prototype's native setter (bypassing a framework's own), then `input` and `change`. */
function setValue(el: HTMLInputElement | HTMLTextAreaElement, value: string): void {
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  const setter = Object.getOwnPropertyDescriptor(proto, "value")?.set;
  el.focus();
  if (setter === undefined) el.value = value;
  else setter.call(el, value);
  el.dispatchEvent(new Event("input", { bubbles: true }));
  el.dispatchEvent(new Event("change", { bubbles: true }));
}

function isField(el: Element): el is HTMLInputElement | HTMLTextAreaElement {
  return el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement;
}

function setChecked(el: Element, want: boolean): ActReport {
  if (!(el instanceof HTMLInputElement)) return failed("the element is not a checkbox or radio button");
  if (el.checked === want) return done(true);
  const hit = hitTest(el);
  if (!hit.ok) return failed(hit.error);
  el.click();
  return done(el.checked === want);
}

function submitForm(el: Element): ActReport {
  const form = el instanceof HTMLFormElement ? el : el.closest("form") ?? (isField(el) || el instanceof HTMLButtonElement ? el.form : null);
  if (form === null) return failed("the element is not in a form");
  let submitted = false;
  const seen = (): void => {
    submitted = true;
  };
  form.addEventListener("submit", seen, { once: true });
  const submitter = el instanceof HTMLButtonElement || (el instanceof HTMLInputElement && el.type === "submit") ? el : null;
  form.requestSubmit(submitter);
  form.removeEventListener("submit", seen);
  return done(submitted);
}

/** Performs one primitive on `el`. */
function perform(el: Element, action: ActAction): ActReport {
  switch (action.type) {
    case "click": {
      const hit = hitTest(el);
      if (!hit.ok) return failed(hit.error);
      if (!(el instanceof HTMLElement)) return failed("the element cannot be clicked");
      let event: Event | null = null;
      const listener = (e: Event): void => {
        event = e;
      };
      el.addEventListener("click", listener, { once: true });
      el.click();
      el.removeEventListener("click", listener);
      const seen = event as Event | null;
      // Dispatched and not cancelled by the page.
      return done(seen !== null && !seen.defaultPrevented);
    }
    case "fill": {
      if (!isField(el)) return failed("the element is not a text field");
      if (el.disabled || el.readOnly) return failed("the field is disabled or read-only");
      const hit = hitTest(el);
      if (!hit.ok) return failed(hit.error);
      setValue(el, action.value.text);
      return done(el.value === action.value.text);
    }
    case "clear": {
      if (!isField(el)) return failed("the element is not a text field");
      setValue(el, "");
      return done(el.value === "");
    }
    case "select": {
      if (!(el instanceof HTMLSelectElement)) return failed("the element is not a list box");
      const option = Array.from(el.options).find((o) => (o.label || o.text).trim() === action.option.trim());
      if (option === undefined) return failed(`the list has no option \`${action.option}\``);
      el.focus();
      el.value = option.value;
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
      return done(option.selected);
    }
    case "check":
      return setChecked(el, true);
    case "uncheck":
      return setChecked(el, false);
    case "hover":
      for (const type of ["mouseover", "mouseenter", "mousemove"]) {
        el.dispatchEvent(new MouseEvent(type, { bubbles: type !== "mouseenter", composed: true, view: window }));
      }
      return done(true);
    case "press": {
      const target = el instanceof HTMLElement ? el : null;
      target?.focus();
      const options = { key: action.key, bubbles: true, cancelable: true, composed: true };
      const down = el.dispatchEvent(new KeyboardEvent("keydown", options));
      el.dispatchEvent(new KeyboardEvent("keypress", options));
      el.dispatchEvent(new KeyboardEvent("keyup", options));
      if (down && action.key === "Enter" && isField(el) && el.form !== null) {
        el.form.requestSubmit();
      }
      return done(true);
    }
    case "scroll-to":
      el.scrollIntoView({ block: "center", inline: "center" });
      return done(true);
    case "submit": {
      const hit = hitTest(el);
      if (!hit.ok) return failed(hit.error);
      return submitForm(el);
    }
  }
}

/** Acts on node `node`, refusing a node that is gone or no longer in the document. */
function act(node: number, action: ActAction): ActReport {
  const el = elements.get(node)?.deref();
  if (el === undefined || !el.isConnected) return failed("the element is no longer on the page");
  try {
    return perform(el, action);
  } catch (error) {
    return failed(`the action failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

chrome.runtime.onMessage.addListener((raw: unknown, sender, sendResponse) => {
  // Only this extension's service worker asks (never another frame or extension).
  const request = sender.id === chrome.runtime.id && sender.tab === undefined ? parseContentRequest(raw) : null;
  if (request === null) return false;
  if (request.kind === "act-request") {
    sendResponse(act(request.node, request.action));
    return false;
  }
  const reply: Message = {
    kind: "snapshot",
    protocol: CONTENT_PROTOCOL,
    request: request.request,
    frame: snapshotFrame(),
  };
  // The snapshot goes back as a message of its own, so the service worker learns the frame's
  // origin and URL from the browser (the sender), not from the page.
  chrome.runtime.sendMessage(reply).catch(() => undefined);
  sendResponse({ ok: true });
  return false;
});
