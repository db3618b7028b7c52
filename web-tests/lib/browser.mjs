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
export async function launchWithExtension(dist) {
  const profile = await mkdtemp(join(tmpdir(), "bridle-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    // Playwright passes --disable-extensions by default; the extension must load.
    ignoreDefaultArgs: ["--disable-extensions"],
    args: [...FLAGS, `--disable-extensions-except=${dist}`, `--load-extension=${dist}`],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** The extension's service worker, waiting for it to start if needed. */
export async function serviceWorker(context) {
  const running = context.serviceWorkers().find((w) => w.url().endsWith("/background.js"));
  if (running) return running;
  return context.waitForEvent("serviceworker", {
    predicate: (w) => w.url().endsWith("/background.js"),
    timeout: 30_000,
  });
}

/** `chrome-extension://<id>` of the service worker's extension. */
export function extensionOrigin(worker) {
  return new URL(worker.url()).origin;
}

/**
 * Stops every service worker (as Chrome does to an idle one), then wakes the extension's
 * by opening its options page, which messages it. Returns the new worker.
 */
export async function restartServiceWorker(context, worker) {
  const origin = extensionOrigin(worker);
  const page = await context.newPage();
  try {
    const cdp = await context.newCDPSession(page);
    const closed = new Promise((resolve) => worker.once("close", resolve));
    await cdp.send("ServiceWorker.enable");
    await cdp.send("ServiceWorker.stopAllWorkers");
    await closed;
    const started = context.waitForEvent("serviceworker", {
      predicate: (w) => w.url().endsWith("/background.js"),
      timeout: 30_000,
    });
    await page.goto(`${origin}/options.html`);
    return await started;
  } finally {
    await page.close();
  }
}
