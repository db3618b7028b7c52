// The few places where Chrome and Firefox differ, each explicit and small (docs/browsers.md
// has the measurements). Everything else is the same code in both: Firefox's MV3 `chrome.*`
// returns promises like Chrome's (measured in Firefox ESR 153), so no `browser.*` shim.
//
// `BRIDLE_BROWSER` is set at build time by extension/build.mjs (esbuild `define`), never
// guessed at run time: the storage backend below must not change under a user's feet when a
// browser gains or loses a feature, or the instance's key would seem to vanish.

declare const BRIDLE_BROWSER: "chrome" | "firefox";

/** The browser this build is for. */
export const BROWSER: "chrome" | "firefox" = BRIDLE_BROWSER;

/** A key-value area of the extension's own: one `set` is applied as a whole. */
export interface StateArea {
  get(keys: readonly string[]): Promise<Record<string, unknown>>;
  set(items: Readonly<Record<string, string>>): Promise<void>;
}

/**
 * The persistent area for the instance key, policy, replay record and audit log, readable and
 * writable by the extension's own contexts only (never by a content script, which runs in a
 * hostile page's process). A browser that cannot give such an area fails here, closed.
 *
 * - Chrome: `chrome.storage.local`, restricted with `setAccessLevel("TRUSTED_CONTEXTS")`.
 * - Firefox has no `setAccessLevel` (measured: `undefined` in ESR 153) and exposes
 *   `storage.local` to content scripts (measured: one wrote and read it back); so Firefox
 *   keeps the state in IndexedDB of the extension's own origin (`moz-extension://…`), which
 *   no content script can open. One `set` is one readwrite transaction, applied as a whole
 *   like Chrome's `set`.
 */
export async function stateArea(): Promise<StateArea> {
  if (BROWSER === "firefox") return indexedDbArea();
  try {
    await chrome.storage.local.setAccessLevel({ accessLevel: "TRUSTED_CONTEXTS" });
  } catch (error) {
    throw new Error(
      `this browser cannot keep the extension's storage from content scripts, so Bridle does not start: ${String(error)}`,
    );
  }
  return {
    get: (keys) => chrome.storage.local.get([...keys]),
    set: (items) => chrome.storage.local.set({ ...items }),
  };
}

/** Firefox's state database: its name, version and one object store of key → text. */
const DB_NAME = "bridle-state";
const DB_VERSION = 1;
const DB_STORE = "state";

let database: Promise<IDBDatabase> | null = null;

function openDatabase(): Promise<IDBDatabase> {
  if (database === null) {
    const opening = new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        if (!request.result.objectStoreNames.contains(DB_STORE)) request.result.createObjectStore(DB_STORE);
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(new Error(`the extension's database did not open: ${String(request.error)}`));
      request.onblocked = () => reject(new Error("the extension's database is blocked by an older connection"));
    });
    database = opening;
    // A failed open is retried by the next call rather than remembered.
    opening.catch(() => {
      if (database === opening) database = null;
    });
  }
  return database;
}

/** Resolves when `tx` commits; rejects when it fails or is aborted. */
function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(new Error(`the extension's database refused the write: ${String(tx.error)}`));
    tx.onabort = () => reject(new Error(`the extension's database aborted the write: ${String(tx.error)}`));
  });
}

function indexedDbArea(): StateArea {
  return {
    async get(keys) {
      const tx = (await openDatabase()).transaction(DB_STORE, "readonly");
      const store = tx.objectStore(DB_STORE);
      const got: Record<string, unknown> = {};
      const reads = keys.map(
        (key) =>
          new Promise<void>((resolve, reject) => {
            const request = store.get(key);
            request.onsuccess = () => {
              if (request.result !== undefined) got[key] = request.result;
              resolve();
            };
            request.onerror = () => reject(new Error(`the extension's database could not read \`${key}\``));
          }),
      );
      await Promise.all([...reads, committed(tx)]);
      return got;
    },
    async set(items) {
      const tx = (await openDatabase()).transaction(DB_STORE, "readwrite");
      const store = tx.objectStore(DB_STORE);
      for (const [key, value] of Object.entries(items)) store.put(value, key);
      await committed(tx);
    },
  };
}

/**
 * A temporary add-on (Firefox's `about:debugging`, `web-ext run`, or WebDriver BiDi's
 * `webExtension.install`, as the browser tests use) opens its options page once installed: it
 * shows the instance id and the policy to the developer who just loaded it. Firefox gives
 * automation no way to open `moz-extension://` pages nor to reach the background page, so
 * web-tests/lib/firefox.mjs catches this page and reaches `self.bridle` from it through
 * `runtime.getBackgroundPage()`. Chrome never sets `temporary`; a normal install opens nothing.
 */
export function openOptionsOnTemporaryInstall(): void {
  chrome.runtime.onInstalled.addListener((details) => {
    const temporary = (details as { temporary?: unknown }).temporary === true;
    if (details.reason === "install" && temporary) {
      void chrome.tabs.create({ url: chrome.runtime.getURL("options.html") }).catch(() => undefined);
    }
  });
}

/** How often a busy background calls the extension API to stay awake: well under the 30 s
 * after which both browsers stop an idle background (Chrome's service worker, Firefox's event
 * page; Firefox's `extensions.background.idle.timeout`). */
export const KEEP_AWAKE_MS = 5_000;

/**
 * Keeps the background running while `busy()` holds. A run waiting for the user's approval
 * (or pausing) makes no extension call for minutes, and an idle background is stopped with
 * the run in it: measured in Firefox, the run then never ends. Any extension API call resets
 * the idle timer in both browsers (measured in Firefox ESR 153; documented for Chrome 110+),
 * so a cheap one is made every KEEP_AWAKE_MS while a run is in flight, and none otherwise.
 */
export function keepAwakeWhile(busy: () => boolean): void {
  setInterval(() => {
    if (busy()) void chrome.runtime.getPlatformInfo().catch(() => undefined);
  }, KEEP_AWAKE_MS);
}
