// Where the service worker keeps the executor instance's state: the extension's own persistent
// area (`stateArea` in compat.ts: chrome.storage.local in Chrome, IndexedDB of the extension's
// origin in Firefox), which survives service-worker and browser restarts. Each save is one
// `set` call, applied as a whole, so the replay record and the audit lines of a run land together.

import { stateArea, type StateArea } from "./compat";

/** The stored state; every field is absent on first run. Read by `Executor.load`. */
export interface StoredState {
  /** base64url of the instance's 32-byte Ed25519 seed. */
  secretKey?: string;
  /** The policy the user set (TOML); absent means the shipped default. */
  policy?: string;
  /** The replay store's JSON. */
  replay?: string;
  /** The audit log, JSON Lines. */
  auditLog?: string;
  /** The vault's JSON (entry name → secret). */
  vault?: string;
}

const KEYS = {
  secretKey: "bridle.secretKey",
  policy: "bridle.policy",
  replay: "bridle.replay",
  auditLog: "bridle.auditLog",
  vault: "bridle.vault",
} as const satisfies Record<keyof StoredState, string>;

type Field = keyof typeof KEYS;
const FIELDS = Object.keys(KEYS) as Field[];

/** The area, once restricted; set by `restrictToExtension`. */
let area: StateArea | null = null;

/**
 * Keeps the stored state from content scripts. Chrome's storage.local is open to them by
 * default, and a content script runs inside a hostile page's renderer: it must not read the
 * instance key, nor rewrite the replay record (which would let a used token run again) or the
 * audit log. Called before every load; a browser that cannot restrict the area fails here,
 * closed (see `stateArea` in compat.ts for how each browser does it).
 */
export async function restrictToExtension(): Promise<void> {
  area = await stateArea();
}

async function restricted(): Promise<StateArea> {
  area ??= await stateArea();
  return area;
}

/** Reads the stored state. A value that is not text was not written by Bridle: refuse it. */
export async function readState(): Promise<StoredState> {
  const got = await (await restricted()).get(Object.values(KEYS));
  const state: StoredState = {};
  for (const field of FIELDS) {
    const value = got[KEYS[field]];
    if (value === undefined) continue;
    if (typeof value !== "string") {
      throw new Error(`the stored \`${field}\` is not text: clear the extension's storage`);
    }
    state[field] = value;
  }
  return state;
}

/** Writes the given fields in one `set`. */
export async function writeState(changes: StoredState): Promise<void> {
  const items: Record<string, string> = {};
  for (const field of FIELDS) {
    const value = changes[field];
    if (value !== undefined) items[KEYS[field]] = value;
  }
  if (Object.keys(items).length > 0) await (await restricted()).set(items);
}
