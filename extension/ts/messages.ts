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
  /** Options page → service worker: everything the page shows. */
  | { kind: "options-get" }
  /** Options page → service worker: replace the policy. */
  | { kind: "policy-set"; toml: string }
  /** Content script → service worker: its frame's snapshot, answering `request`. */
  | { kind: "snapshot"; protocol: number; request: string; frame: WireFrame };

export type MessageKind = Message["kind"];

/** The answer to each message kind. */
export interface Replies {
  "approval-get": { ok: true; request: ApprovalRequest | null };
  "approval-answer": { ok: true; accepted: boolean };
  "options-get": { ok: true; state: OptionsState };
  "policy-set": { ok: true; accepted: boolean; message: string };
  snapshot: { ok: true };
}

/** Sent instead of a reply when a message is refused or fails. */
export interface Failure {
  ok: false;
  error: string;
}

export type Reply<K extends MessageKind> = Replies[K] | Failure;

export interface OptionsState {
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
 * and no `parent`/`owner` yet (iframes come with the frame-joining protocol). */
export interface WireFrame {
  root: number;
  scroll: [number, number];
  viewport: [number, number];
  truncated: boolean;
  nodes: WireNode[];
}

/** Service worker → content script (chrome.tabs.sendMessage): send your frame's snapshot as a
 * `snapshot` message answering `request`. */
export interface SnapshotRequest {
  kind: "snapshot-request";
  protocol: number;
  request: string;
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
  | { type: "submit" };

/** Service worker → content script: perform `action` on the element `node` of your frame and
 * answer (sendResponse) with an {@link ActReport}. The service worker re-checked the element's
 * fingerprint on a fresh snapshot just before. */
export interface ActRequest {
  kind: "act-request";
  protocol: number;
  node: number;
  action: ActAction;
}

export type ContentRequest = SnapshotRequest | ActRequest;

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
  if (!isRecord(value) || !hasExactKeys(value, ["root", "scroll", "viewport", "truncated", "nodes"])) {
    return false;
  }
  const nodes = value["nodes"];
  return (
    typeof value["root"] === "number" &&
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

/** The request, when `raw` is exactly a {@link ContentRequest}; otherwise null. */
export function parseContentRequest(raw: unknown): ContentRequest | null {
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
    hasExactKeys(raw, ["kind", "protocol", "request"]) &&
    raw["kind"] === "snapshot-request" &&
    raw["protocol"] === CONTENT_PROTOCOL &&
    isId(raw["request"])
    ? { kind: "snapshot-request", protocol: CONTENT_PROTOCOL, request: raw["request"] }
    : null;
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
    case "options-get":
      return hasExactKeys(raw, ["kind"]) ? { kind: "options-get" } : null;
    case "policy-set":
      return hasExactKeys(raw, ["kind", "toml"]) && isText(raw["toml"], MAX_TEXT_CHARS)
        ? { kind: "policy-set", toml: raw["toml"] }
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
    default:
      return null;
  }
}

/** Which extension page may send each kind; `null` marks the content script's kinds. */
const PAGE_OF: Record<MessageKind, string | null> = {
  "approval-get": "popup.html",
  "approval-answer": "popup.html",
  "options-get": "options.html",
  "policy-set": "options.html",
  snapshot: null,
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
    return sender.tab !== undefined && (url.protocol === "https:" || url.protocol === "http:");
  }
  return url.protocol === base.protocol && url.host === base.host && url.pathname === `/${page}`;
}
