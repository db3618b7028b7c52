// The one message type between the extension's parts, and its validation. Every message the
// service worker receives is checked in full — its exact set of keys, every field's type and
// size, and who sent it — before anything reads it: a content script runs inside a hostile
// page's renderer, so a message claiming to come from it proves nothing.

import type { ApprovalChoice, ApprovalRequest, StartupTiming } from "./types";

/** Longest text field accepted in a message: above every input the executor takes (a 1 MiB
 * script, a 256 KiB policy, an 8 KiB token), which checks the exact limits itself. */
export const MAX_TEXT_CHARS = 2 * 1024 * 1024;

/** Longest approval id: ids are `crypto.randomUUID()` (36 characters). */
export const MAX_ID_CHARS = 64;

/** The version of the content script's protocol, so a stale content script is refused. */
export const CONTENT_PROTOCOL = 1;

export type Message =
  /** Approval window → service worker: what to show for the pending request `id`. */
  | { kind: "approval-get"; id: string }
  /** Approval window → service worker: the user's answer. */
  | { kind: "approval-answer"; id: string; choice: ApprovalChoice }
  /** Handoff window → service worker: what to show for the pending handoff `id`. */
  | { kind: "handoff-get"; id: string }
  /** Handoff window → service worker: "Continue" or "Abort". */
  | { kind: "handoff-answer"; id: string; choice: HandoffChoice }
  /** Upload window → service worker: what to show for the pending file choice `id`. */
  | { kind: "upload-get"; id: string }
  /** Upload window → service worker: the file the user picked, or why there is none. */
  | { kind: "upload-answer"; id: string; answer: UploadAnswer }
  /** Options page → service worker: everything the page shows. */
  | { kind: "options-get" }
  /** Options page → service worker: replace the policy. */
  | { kind: "policy-set"; toml: string }
  /** Options page → service worker: pair a planner (written into the policy). */
  | { kind: "planner-pair"; pairing: PairingFields }
  /** Options page → service worker: remove the planner named `name` from the policy. */
  | { kind: "planner-unpair"; name: string }
  /** Options page → service worker: add or replace a vault entry. */
  | { kind: "vault-set"; name: string; value: string }
  /** Options page → service worker: remove a vault entry. */
  | { kind: "vault-remove"; name: string }
  /** Content script → service worker: its frame's snapshot, answering `request`. */
  | { kind: "snapshot"; protocol: number; request: string; frame: WireFrame }
  /** Content script → service worker: its frame changed since its last snapshot (sent once
   * per snapshot; waits re-read the page on it). */
  | { kind: "page-changed"; protocol: number };

export type MessageKind = Message["kind"];

/** The answer to each message kind. */
export interface Replies {
  "approval-get": { ok: true; request: ApprovalRequest | null };
  "approval-answer": { ok: true; accepted: boolean };
  "handoff-get": { ok: true; handoff: HandoffView | null };
  "handoff-answer": { ok: true; accepted: boolean };
  "upload-get": { ok: true; upload: UploadView | null };
  "upload-answer": { ok: true; accepted: boolean };
  "options-get": { ok: true; state: OptionsState };
  "policy-set": { ok: true; accepted: boolean; message: string };
  "planner-pair": { ok: true; accepted: boolean; message: string };
  "planner-unpair": { ok: true; accepted: boolean; message: string };
  "vault-set": { ok: true; accepted: boolean; message: string };
  "vault-remove": { ok: true; accepted: boolean; message: string };
  snapshot: { ok: true };
  "page-changed": { ok: true };
}

/** What the handoff window shows: the planner's message (its words, labelled so) and the
 * origin of the run's tab as the browser reports it. */
export interface HandoffView {
  message: string;
  origin: string;
}

/** The user's answer in the handoff window. */
export type HandoffChoice = "continue" | "abort";

/** What the upload window shows: its heading, built by the executor from the page's element. */
export interface UploadView {
  prompt: string;
  origin: string;
  /** {@link MAX_UPLOAD_BYTES}, so the window refuses a larger file before reading it. */
  maxBytes: number;
}

/** The largest file an upload hands to a page (`MAX_UPLOAD_BYTES` of
 * extension/src/session/people.rs, which refuses anything larger itself). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** The longest base64 text of an upload's bytes. */
export const MAX_UPLOAD_BASE64_CHARS = 4 * Math.ceil(MAX_UPLOAD_BYTES / 3);

/** The longest file name, in characters (`MAX_FILE_NAME_CHARS` in people.rs). */
export const MAX_FILE_NAME_CHARS = 255;

/** A file as it crosses the extension's JSON messaging: its bytes base64-encoded. */
export interface UploadFile {
  name: string;
  /** The media type the browser guessed, or "". */
  type: string;
  data: string;
}

/** How the upload window ended: a file read whole, a file too large to read (only its name
 * and size, which the executor refuses), or "Cancel". */
export type UploadAnswer =
  | { outcome: "chosen"; file: UploadFile }
  | { outcome: "too-large"; name: string; size: number }
  | { outcome: "cancelled" };

/** Sent instead of a reply when a message is refused or fails. */
export interface Failure {
  ok: false;
  error: string;
}

export type Reply<K extends MessageKind> = Replies[K] | Failure;

/** A planner to pair: what a `bridle-pair:…` string holds (`protocol::Pairing`). */
export interface PairingFields {
  v: 1;
  name: string;
  kid: string;
  public_key: string;
  endpoint: string;
  max_ttl: string;
}

const PAIRING_KEYS = ["v", "name", "kid", "public_key", "endpoint", "max_ttl"] as const;

/** Whether `raw` has exactly the pairing's fields, each short text (Rust checks the values). */
function isPairing(raw: unknown): raw is PairingFields {
  return (
    isRecord(raw) &&
    hasExactKeys(raw, [...PAIRING_KEYS]) &&
    raw["v"] === 1 &&
    PAIRING_KEYS.slice(1).every((key) => isText(raw[key], MAX_ID_CHARS * 4))
  );
}

/** A paired planner and whether its connection is open, for the options page. */
export interface PlannerState {
  name: string;
  kid: string;
  endpoint: string | null;
  connected: boolean;
}

export interface OptionsState {
  planners: PlannerState[];
  /** The vault's entry names; values are never sent to pages. */
  vault: string[];
  instanceId: string;
  publicKey: string;
  policy: string;
  policyIsDefault: boolean;
  warnings: string[];
  auditLog: string;
  startup: StartupTiming | null;
}

/** The limits of docs/snapshot.md (executor/src/page/limits.rs) the content script cuts at. */
export const SNAPSHOT_LIMITS = {
  MAX_NODES: 50_000,
  MAX_DEPTH: 512,
  MAX_KIDS: 50_000,
  MAX_ATTRS: 32,
  MAX_ATTR_CHARS: 2_048,
  MAX_TEXT_CHARS: 2_048,
  MAX_TAG_CHARS: 64,
  MAX_VALUE_CHARS: 2_048,
  MAX_COORD: 33_554_432,
  /** `MAX_FRAMES`: frames of one page (and so child frames of one frame). */
  MAX_FRAMES: 64,
  MAX_CSS_SELECTORS: 16,
  MAX_SELECTOR_CHARS: 1_024,
  /** `MAX_MESSAGE_BYTES`: the snapshot's JSON text. */
  MAX_MESSAGE_BYTES: 16 * 1024 * 1024,
} as const;

/** A text run or a child node's id (docs/snapshot.md, "Nodes"). */
export type WireKid = number | string;

/** One element as the content script reports it; Rust validates every field. */
export interface WireNode {
  id: number;
  tag: string;
  attrs?: Record<string, string>;
  kids?: WireKid[];
  shadow?: WireKid[];
  box?: [number, number, number, number];
  visible?: true;
  hidden?: boolean;
  hit?: boolean;
  hit_by?: number;
  fixed?: true;
  inline?: boolean;
  value?: string;
  value_redacted?: true;
  checked?: true;
  selected?: true;
  disabled?: true;
  modal?: true;
}

/** A frame as the content script sends it: no `id`, `origin`, `url` (the browser says those)
 * and no `parent`/`owner`: the service worker joins frames from `children`, the browser's
 * frame id (`chrome.runtime.getFrameId`) of each element holding a child frame. */
export interface WireFrame {
  root: number;
  scroll: [number, number];
  viewport: [number, number];
  truncated: boolean;
  nodes: WireNode[];
  /** `document.title`, whitespace collapsed. */
  title: string;
  /** `[node id, token]` for each `<iframe>`, `<frame>`, `<object>` whose document's
   * content script said hello with that token (the frame-joining protocol). */
  children: [number, string][];
  /** This document's own token, which its parent reports for the element holding it. */
  token: string;
  /** The asked CSS selectors' matches among the nodes sent, in document order; a selector
   * the browser refused is left out. */
  css: Record<string, number[]>;
  /** This snapshot's number in the document's sequence (from 1). */
  version: number;
  /** When present, `nodes` holds only the nodes new or changed since snapshot `base` of
   * this document, and `removed` the ids that left (docs/snapshot.md, "Incremental
   * snapshots"). */
  base?: number;
  removed?: number[];
}

/** The snapshot a frame's next snapshot may be sent as changes to: its document's token and
 * the snapshot's number. */
export interface SnapshotBase {
  doc: string;
  version: number;
}

/** Service worker → content script (chrome.tabs.sendMessage): send your frame's snapshot as a
 * `snapshot` message answering `request`. */
export interface SnapshotRequest {
  kind: "snapshot-request";
  protocol: number;
  request: string;
  /** CSS selectors to evaluate in the frame (`css "…"` targets, docs/snapshot.md). */
  css: string[];
  /** Whether to hit-test the elements (for a step that acts). */
  hits: boolean;
  /** The snapshot of this frame the asker holds, if any: changes since it are enough. */
  base: SnapshotBase | null;
}

/** The single primitive the engine authorised (`Action` of executor/src/engine/effect.rs, the
 * element-addressed ones). */
export type ActAction =
  | { type: "click" }
  | { type: "fill"; value: { kind: "text"; text: string } }
  | { type: "clear" }
  | { type: "select"; option: string }
  | { type: "check" }
  | { type: "uncheck" }
  | { type: "hover" }
  | { type: "press"; key: string }
  | { type: "scroll-to" }
  | { type: "submit" }
  /** The file the user picked in the upload window (never named by the script). */
  | { type: "upload"; file: UploadFile };

/** Service worker → content script: perform `action` on the element `node` of your frame and
 * answer (sendResponse) with an {@link ActReport}. The service worker re-checked the element's
 * fingerprint on a fresh snapshot just before. */
export interface ActRequest {
  kind: "act-request";
  protocol: number;
  node: number;
  action: ActAction;
}

/** Service worker → content script: hit-test these elements of your frame where they are
 * now, without scrolling, and answer (sendResponse) with a {@link NodeHit} each
 * (executor/src/page/hits.rs). */
export interface HitRequest {
  kind: "hit-request";
  protocol: number;
  nodes: number[];
}

/** What is at an element's centre (`HitState` in executor/src/page/hits.rs). */
export type HitState = "hit" | "covered" | "untested" | "gone";

/** One element's hit test; `by` names the covering element when it has a node id. */
export interface NodeHit {
  node: number;
  state: HitState;
  by?: number;
}

/** The most elements one hit request names (an element and the frames around it). */
export const MAX_HIT_NODES = 65;

export type ContentRequest = SnapshotRequest | ActRequest | HitRequest;

/** The content script's report after acting (`ActResult` in effect.rs). */
export interface ActReport {
  ok: boolean;
  error: string | null;
  effect_observed: boolean;
}

function isPair(value: unknown): value is [number, number] {
  return Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number");
}

/**
 * The frame's envelope: exactly its keys, a bounded node list of records, and the whole at
 * most `MAX_MESSAGE_BYTES` as JSON. Every node's fields are checked by the Rust side
 * (`Snapshot::from_json`), which refuses unknown fields and anything past a limit.
 */
function isWireFrame(value: unknown): value is WireFrame {
  const whole = ["root", "scroll", "viewport", "truncated", "nodes", "title", "children", "token", "css", "version"];
  if (!isRecord(value) || !hasExactKeys(value, "base" in value ? [...whole, "base", "removed"] : whole)) {
    return false;
  }
  if (!isCount(value["version"])) return false;
  if ("base" in value) {
    const removed = value["removed"];
    if (
      !isCount(value["base"]) ||
      !Array.isArray(removed) ||
      removed.length > SNAPSHOT_LIMITS.MAX_NODES ||
      !removed.every((id) => Number.isSafeInteger(id) && id >= 0)
    ) {
      return false;
    }
  }
  const nodes = value["nodes"];
  const children = value["children"];
  return (
    typeof value["root"] === "number" &&
    isText(value["title"], SNAPSHOT_LIMITS.MAX_TEXT_CHARS) &&
    Array.isArray(children) &&
    children.length <= SNAPSHOT_LIMITS.MAX_FRAMES &&
    children.every(
      (c) => Array.isArray(c) && c.length === 2 && Number.isSafeInteger(c[0]) && c[0] >= 0 && isId(c[1]),
    ) &&
    isId(value["token"]) &&
    isRecord(value["css"]) &&
    isSelectors(Object.keys(value["css"])) &&
    Object.values(value["css"]).every((ids) => Array.isArray(ids) && ids.length <= SNAPSHOT_LIMITS.MAX_NODES) &&
    isPair(value["scroll"]) &&
    isPair(value["viewport"]) &&
    typeof value["truncated"] === "boolean" &&
    Array.isArray(nodes) &&
    nodes.length <= SNAPSHOT_LIMITS.MAX_NODES &&
    nodes.every(isRecord) &&
    JSON.stringify(value).length <= SNAPSHOT_LIMITS.MAX_MESSAGE_BYTES
  );
}

function isActAction(value: unknown): value is ActAction {
  if (!isRecord(value)) return false;
  switch (value["type"]) {
    case "click":
    case "clear":
    case "check":
    case "uncheck":
    case "hover":
    case "scroll-to":
    case "submit":
      return hasExactKeys(value, ["type"]);
    case "fill": {
      const v = value["value"];
      return (
        hasExactKeys(value, ["type", "value"]) &&
        isRecord(v) &&
        hasExactKeys(v, ["kind", "text"]) &&
        v["kind"] === "text" &&
        isText(v["text"], MAX_TEXT_CHARS)
      );
    }
    case "select":
      return hasExactKeys(value, ["type", "option"]) && isText(value["option"], MAX_TEXT_CHARS);
    case "press":
      return hasExactKeys(value, ["type", "key"]) && isText(value["key"], 64);
    case "upload":
      return hasExactKeys(value, ["type", "file"]) && isUploadFile(value["file"]);
    default:
      return false;
  }
}

/** A file name: 1 to {@link MAX_FILE_NAME_CHARS} characters, no path separator or control
 * character (the browser gives the base name only). */
function isFileName(value: unknown): value is string {
  if (typeof value !== "string" || value.length > 2 * MAX_FILE_NAME_CHARS) return false;
  const chars = [...value].length;
  return chars >= 1 && chars <= MAX_FILE_NAME_CHARS && !/[/\\\u0000-\u001f\u007f]/.test(value);
}

/** Exactly an {@link UploadFile}: a file name, a media type or "", and canonical base64 of at
 * most {@link MAX_UPLOAD_BYTES} bytes. */
export function isUploadFile(value: unknown): value is UploadFile {
  if (!isRecord(value) || !hasExactKeys(value, ["name", "type", "data"])) return false;
  const { name, type, data } = value;
  return (
    isFileName(name) &&
    isText(type, 255) &&
    (type === "" || /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+$/.test(type)) &&
    isText(data, MAX_UPLOAD_BASE64_CHARS) &&
    data.length % 4 === 0 &&
    /^[A-Za-z0-9+/]*={0,2}$/.test(data)
  );
}

/** Exactly an {@link UploadAnswer}. */
function isUploadAnswer(value: unknown): value is UploadAnswer {
  if (!isRecord(value)) return false;
  switch (value["outcome"]) {
    case "chosen":
      return hasExactKeys(value, ["outcome", "file"]) && isUploadFile(value["file"]);
    case "too-large": {
      const size = value["size"];
      return (
        hasExactKeys(value, ["outcome", "name", "size"]) &&
        isFileName(value["name"]) &&
        typeof size === "number" &&
        Number.isSafeInteger(size) &&
        size > MAX_UPLOAD_BYTES
      );
    }
    case "cancelled":
      return hasExactKeys(value, ["outcome"]);
    default:
      return false;
  }
}

/** The report, when `raw` is exactly an {@link ActReport}; otherwise null. */
export function parseActReport(raw: unknown): ActReport | null {
  if (!isRecord(raw) || !hasExactKeys(raw, ["ok", "error", "effect_observed"])) return null;
  const error = raw["error"];
  return typeof raw["ok"] === "boolean" &&
    typeof raw["effect_observed"] === "boolean" &&
    (error === null || isText(error, 4096))
    ? { ok: raw["ok"], error, effect_observed: raw["effect_observed"] }
    : null;
}

const HIT_STATES: readonly string[] = ["hit", "covered", "untested", "gone"];

/** The answers, when `raw` is exactly one {@link NodeHit} for each of `asked`, in order. */
export function parseHitReply(raw: unknown, asked: readonly number[]): NodeHit[] | null {
  if (!Array.isArray(raw) || raw.length !== asked.length) return null;
  const out: NodeHit[] = [];
  for (const [i, h] of raw.entries()) {
    if (!isRecord(h) || h["node"] !== asked[i] || typeof h["state"] !== "string" || !HIT_STATES.includes(h["state"])) {
      return null;
    }
    const by = h["by"];
    const keys = by === undefined ? ["node", "state"] : ["node", "state", "by"];
    if (!hasExactKeys(h, keys) || (by !== undefined && !(typeof by === "number" && Number.isInteger(by)))) return null;
    out.push(by === undefined ? { node: asked[i] ?? 0, state: h["state"] as HitState } : { node: asked[i] ?? 0, state: h["state"] as HitState, by });
  }
  return out;
}

/** The request, when `raw` is exactly a {@link ContentRequest}; otherwise null. */
export function parseContentRequest(raw: unknown): ContentRequest | null {
  if (
    isRecord(raw) &&
    hasExactKeys(raw, ["kind", "protocol", "nodes"]) &&
    raw["kind"] === "hit-request" &&
    raw["protocol"] === CONTENT_PROTOCOL &&
    Array.isArray(raw["nodes"]) &&
    raw["nodes"].length <= MAX_HIT_NODES &&
    raw["nodes"].every((n) => typeof n === "number" && Number.isInteger(n))
  ) {
    return { kind: "hit-request", protocol: CONTENT_PROTOCOL, nodes: raw["nodes"] as number[] };
  }
  if (
    isRecord(raw) &&
    hasExactKeys(raw, ["kind", "protocol", "node", "action"]) &&
    raw["kind"] === "act-request" &&
    raw["protocol"] === CONTENT_PROTOCOL &&
    typeof raw["node"] === "number" &&
    Number.isInteger(raw["node"]) &&
    isActAction(raw["action"])
  ) {
    return { kind: "act-request", protocol: CONTENT_PROTOCOL, node: raw["node"], action: raw["action"] };
  }
  return isRecord(raw) &&
    hasExactKeys(raw, ["kind", "protocol", "request", "css", "hits", "base"]) &&
    raw["kind"] === "snapshot-request" &&
    raw["protocol"] === CONTENT_PROTOCOL &&
    isId(raw["request"]) &&
    isSelectors(raw["css"]) &&
    typeof raw["hits"] === "boolean" &&
    (raw["base"] === null || isSnapshotBase(raw["base"]))
    ? {
        kind: "snapshot-request",
        protocol: CONTENT_PROTOCOL,
        request: raw["request"],
        css: raw["css"],
        hits: raw["hits"],
        base: raw["base"],
      }
    : null;
}

/** A snapshot number: a whole number from 1. */
function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

function isSnapshotBase(value: unknown): value is SnapshotBase {
  return isRecord(value) && hasExactKeys(value, ["doc", "version"]) && isId(value["doc"]) && isCount(value["version"]);
}

/** At most `MAX_CSS_SELECTORS` selectors of at most `MAX_SELECTOR_CHARS` each. */
function isSelectors(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length <= SNAPSHOT_LIMITS.MAX_CSS_SELECTORS &&
    value.every((v) => isText(v, SNAPSHOT_LIMITS.MAX_SELECTOR_CHARS))
  );
}

const CHOICES: readonly ApprovalChoice[] = ["once", "script", "deny"];

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

/** Exactly these keys, no more and no fewer. */
function hasExactKeys(value: Record<string, unknown>, keys: readonly string[]): boolean {
  const own = Object.keys(value);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(value, k));
}

function isText(value: unknown, max: number): value is string {
  return typeof value === "string" && value.length <= max;
}

function isId(value: unknown): value is string {
  return isText(value, MAX_ID_CHARS) && /^[A-Za-z0-9-]+$/.test(value);
}

/** The message, when `raw` is exactly one of the {@link Message} shapes; otherwise null. */
export function parseMessage(raw: unknown): Message | null {
  if (!isRecord(raw)) return null;
  switch (raw["kind"]) {
    case "approval-get":
      return hasExactKeys(raw, ["kind", "id"]) && isId(raw["id"])
        ? { kind: "approval-get", id: raw["id"] }
        : null;
    case "approval-answer": {
      const choice = raw["choice"];
      return hasExactKeys(raw, ["kind", "id", "choice"]) &&
        isId(raw["id"]) &&
        typeof choice === "string" &&
        (CHOICES as readonly string[]).includes(choice)
        ? { kind: "approval-answer", id: raw["id"], choice: choice as ApprovalChoice }
        : null;
    }
    case "handoff-get":
    case "upload-get":
      return hasExactKeys(raw, ["kind", "id"]) && isId(raw["id"]) ? { kind: raw["kind"], id: raw["id"] } : null;
    case "handoff-answer": {
      const choice = raw["choice"];
      return hasExactKeys(raw, ["kind", "id", "choice"]) && isId(raw["id"]) && (choice === "continue" || choice === "abort")
        ? { kind: "handoff-answer", id: raw["id"], choice }
        : null;
    }
    case "upload-answer": {
      const answer = raw["answer"];
      return hasExactKeys(raw, ["kind", "id", "answer"]) && isId(raw["id"]) && isUploadAnswer(answer)
        ? { kind: "upload-answer", id: raw["id"], answer }
        : null;
    }
    case "options-get":
      return hasExactKeys(raw, ["kind"]) ? { kind: "options-get" } : null;
    case "policy-set":
      return hasExactKeys(raw, ["kind", "toml"]) && isText(raw["toml"], MAX_TEXT_CHARS)
        ? { kind: "policy-set", toml: raw["toml"] }
        : null;
    case "planner-pair":
      return hasExactKeys(raw, ["kind", "pairing"]) && isPairing(raw["pairing"])
        ? { kind: "planner-pair", pairing: raw["pairing"] }
        : null;
    case "planner-unpair":
      return hasExactKeys(raw, ["kind", "name"]) && isText(raw["name"], MAX_ID_CHARS)
        ? { kind: "planner-unpair", name: raw["name"] }
        : null;
    case "vault-set":
      return hasExactKeys(raw, ["kind", "name", "value"]) && isText(raw["name"], MAX_ID_CHARS) && isText(raw["value"], 4096)
        ? { kind: "vault-set", name: raw["name"], value: raw["value"] }
        : null;
    case "vault-remove":
      return hasExactKeys(raw, ["kind", "name"]) && isText(raw["name"], MAX_ID_CHARS)
        ? { kind: "vault-remove", name: raw["name"] }
        : null;
    case "snapshot": {
      const frame = raw["frame"];
      return hasExactKeys(raw, ["kind", "protocol", "request", "frame"]) &&
        raw["protocol"] === CONTENT_PROTOCOL &&
        isId(raw["request"]) &&
        isWireFrame(frame)
        ? { kind: "snapshot", protocol: CONTENT_PROTOCOL, request: raw["request"], frame }
        : null;
    }
    case "page-changed":
      return hasExactKeys(raw, ["kind", "protocol"]) && raw["protocol"] === CONTENT_PROTOCOL
        ? { kind: "page-changed", protocol: CONTENT_PROTOCOL }
        : null;
    default:
      return null;
  }
}

/** Which extension page may send each kind; `null` marks the content script's kinds. */
const PAGE_OF: Record<MessageKind, string | null> = {
  "approval-get": "popup.html",
  "approval-answer": "popup.html",
  "handoff-get": "handoff.html",
  "handoff-answer": "handoff.html",
  "upload-get": "upload.html",
  "upload-answer": "upload.html",
  "options-get": "options.html",
  "policy-set": "options.html",
  "planner-pair": "options.html",
  "planner-unpair": "options.html",
  "vault-set": "options.html",
  "vault-remove": "options.html",
  snapshot: null,
  "page-changed": null,
};

/** The minimal view of `chrome.runtime.MessageSender` the check needs. */
export interface Sender {
  id?: string | undefined;
  url?: string | undefined;
  tab?: unknown;
}

/**
 * Whether `sender` may send `message`: this extension (`extensionId`, whose pages live under
 * `extensionBase`, `chrome.runtime.getURL("")`), and for the kinds of an extension page that
 * very page (never a content script, which would be a page of another origin); for the
 * content script's kinds, a tab's web page (never an extension page).
 */
export function senderAllowed(
  message: Message,
  sender: Sender,
  extensionId: string,
  extensionBase: string,
): boolean {
  if (sender.id !== extensionId || typeof sender.url !== "string") return false;
  let url: URL;
  let base: URL;
  try {
    url = new URL(sender.url);
    base = new URL(extensionBase);
  } catch {
    return false;
  }
  const page = PAGE_OF[message.kind];
  if (page === null) {
    // Content scripts: http(s) pages, and the about:blank and srcdoc frames inside them
    // (which have the origin of the page that made them).
    const inline = url.href === "about:blank" || url.href === "about:srcdoc";
    return sender.tab !== undefined && (url.protocol === "https:" || url.protocol === "http:" || inline);
  }
  return url.protocol === base.protocol && url.host === base.host && url.pathname === `/${page}`;
}
