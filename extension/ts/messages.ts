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
  /** Content script → service worker: loaded in a page (placeholder until the real one). */
  | { kind: "content-ready"; protocol: number };

export type MessageKind = Message["kind"];

/** The answer to each message kind. */
export interface Replies {
  "approval-get": { ok: true; request: ApprovalRequest | null };
  "approval-answer": { ok: true; accepted: boolean };
  "options-get": { ok: true; state: OptionsState };
  "policy-set": { ok: true; accepted: boolean; message: string };
  "content-ready": { ok: true };
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
    case "content-ready":
      return hasExactKeys(raw, ["kind", "protocol"]) && raw["protocol"] === CONTENT_PROTOCOL
        ? { kind: "content-ready", protocol: CONTENT_PROTOCOL }
        : null;
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
  "content-ready": null,
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
