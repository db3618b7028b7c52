// Chromium with the built extension, through playwright-core (which never downloads a
// browser): launch, find the service worker, stop it and wake it again.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM } from "./paths.mjs";

/** Flags measured to work here as root (see ../shared/TOOLCHAIN.md). */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launches headless Chromium (the new headless mode, which runs extensions) with only the
 * extension at `dist` loaded, in a fresh profile. Returns {context, close}.
 */
export async function launchWithExtension(dist, { headless = true, siteIsolation = true } = {}) {
  const profile = await mkdtemp(join(tmpdir(), "bridle-chromium-"));
  // Without site isolation a cross-origin iframe shares its parent's renderer: for runs whose
  // pages hold one, because of how Playwright handles out-of-process iframes (see
  // `freshBrowser` in fixtures.mjs).
  const isolation = siteIsolation ? [] : ["--disable-site-isolation-trials", "--disable-features=IsolateOrigins,site-per-process"];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    // `make demo` shows a window when a display is present; tests always run headless.
    headless,
    // Playwright passes --disable-extensions by default; the extension must load.
    ignoreDefaultArgs: ["--disable-extensions"],
    args: [...FLAGS, ...isolation, `--disable-extensions-except=${dist}`, `--load-extension=${dist}`],
  });
  return {
    context,
    // The profile folder: tests register native messaging hosts in its NativeMessagingHosts/.
    profile,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** The extension's service worker (the newest handle), waiting for it to start if needed. */
export async function serviceWorker(context) {
  const running = context.serviceWorkers().filter((w) => w.url().endsWith("/background.js")).at(-1);
  if (running) return running;
  return context.waitForEvent("serviceworker", {
    predicate: (w) => w.url().endsWith("/background.js"),
    timeout: 30_000,
  });
}

/** `chrome-extension://<id>` of the service worker's extension. (`URL.origin` is "null" for
 * such URLs in Node.) */
export function extensionOrigin(worker) {
  const url = new URL(worker.url());
  return `${url.protocol}//${url.host}`;
}

/** Resolves when the CDP `ServiceWorker` domain reports the extension's worker in `status`. */
function workerStatus(cdp, status) {
  return new Promise((resolve) => {
    const listener = (event) => {
      const ours = event.versions.find((v) => v.scriptURL.endsWith("/background.js"));
      if (ours?.runningStatus === status) {
        cdp.off("ServiceWorker.workerVersionUpdated", listener);
        resolve();
      }
    };
    cdp.on("ServiceWorker.workerVersionUpdated", listener);
  });
}

/**
 * Stops every service worker (as Chrome does to an idle one), then wakes the extension's by
 * opening its options page, which messages it. Returns the restarted worker, checked to be a
 * new start: a marker set in the old worker's global scope must be gone.
 */
export async function restartServiceWorker(context, worker) {
  const origin = extensionOrigin(worker);
  await worker.evaluate(() => {
    globalThis.bridleTestMarker = true;
  });
  const page = await context.newPage();
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send("ServiceWorker.enable");
    const stopped = workerStatus(cdp, "stopped");
    await cdp.send("ServiceWorker.stopAllWorkers");
    await stopped;
    const running = workerStatus(cdp, "running");
    await page.goto(`${origin}/options.html`);
    await running;
    // Playwright keeps the worker's handle across the restart; take the newest one.
    const restarted = await serviceWorker(context);
    const marker = await restarted.evaluate(() => globalThis.bridleTestMarker ?? null);
    if (marker !== null) throw new Error("the service worker did not restart");
    return restarted;
  } finally {
    await page.close();
  }
}

/**
 * The snapshot JSON (`self.bridleTest.snapshotTab`) of the tab whose top frame shows `url`,
 * once exactly `children` child frames are joined to their `<iframe>` (any number when
 * `children` is undefined). The worker has no `tabs` permission (it cannot read tab URLs), so
 * every tab is asked and the one whose top frame's URL (from the browser's sender record) is
 * `url` is kept; tried for about 5 s.
 */
export function snapshotOf(worker, url, children) {
  return worker.evaluate(
    async ([wanted, count]) => {
      let last = "none";
      for (let tries = 0; tries < 50; tries += 1) {
        for (const tab of await chrome.tabs.query({})) {
          try {
            const json = await self.bridleTest.snapshotTab(tab.id);
            const frames = JSON.parse(json).frames;
            if (frames[0].url !== wanted) continue;
            last = JSON.stringify(frames.map((f) => [f.id, f.parent, f.owner, f.url]));
            if (count === null || frames.filter((f) => f.owner !== undefined).length === count) return json;
          } catch {
            // No content script in that tab (yet).
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no snapshot of ${wanted}${count === null ? "" : ` with ${count} joined frames`}; the last: ${last}`);
    },
    [url, children ?? null],
  );
}
