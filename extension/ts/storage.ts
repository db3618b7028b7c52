// Where the service worker keeps the executor instance's state: chrome.storage.local, which
// survives service-worker restarts and browser restarts. Each save is one `set` call, which
// Chrome applies as a whole, so the replay record and the audit lines of a run land together.

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
}

const KEYS = {
  secretKey: "bridle.secretKey",
  policy: "bridle.policy",
  replay: "bridle.replay",
  auditLog: "bridle.auditLog",
} as const satisfies Record<keyof StoredState, string>;

type Field = keyof typeof KEYS;
const FIELDS = Object.keys(KEYS) as Field[];

/**
 * Keeps chrome.storage.local from content scripts. By default they may read and write it, and
 * a content script runs inside a hostile page's renderer: it must not read the instance key,
 * nor rewrite the replay record (which would let a used token run again) or the audit log.
 * Called before every load; a browser that cannot restrict the area fails here, closed.
 */
export async function restrictToExtension(): Promise<void> {
  try {
    await chrome.storage.local.setAccessLevel({ accessLevel: "TRUSTED_CONTEXTS" });
  } catch (error) {
    throw new Error(
      `this browser cannot keep the extension's storage from content scripts, so Bridle does not start: ${String(error)}`,
    );
  }
}

/** Reads the stored state. A value that is not text was not written by Bridle: refuse it. */
export async function readState(): Promise<StoredState> {
  const got: Record<string, unknown> = await chrome.storage.local.get(Object.values(KEYS));
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
  if (Object.keys(items).length > 0) await chrome.storage.local.set(items);
}
