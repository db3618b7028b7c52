// Firefox ESR with the built extension, through puppeteer-core and WebDriver BiDi (puppeteer-core
// never downloads a browser; Playwright cannot drive Debian's Firefox): launch, install the
// unsigned .xpi as a temporary add-on, reach the background page, find the extension's pages.
//
// How the tests reach `self.bridle` in Firefox (measured with Firefox ESR 153, see
// docs/browsers.md): WebDriver BiDi exposes only content browsing contexts. The background
// page is neither a target (`browser.targets()`) nor a realm (`script.getRealms`), and
// automation may not navigate to a `moz-extension://` URL. So the extension opens its own
// options page when installed as a temporary add-on (ts/compat.ts), this page is caught when
// it appears, and code runs in it against `await chrome.runtime.getBackgroundPage()`, the
// background page's global, where `bridle` lives. For such pages `page.url()` reads
// `about:blank`; `location.href` inside them is the real URL.

import puppeteer from "puppeteer-core";
import { FIREFOX, FIREFOX_XPI } from "./paths.mjs";

/** How long an extension page may take to appear (an approval window: the steps before it
 * run first, on a machine shared with other tests). */
const PAGE_TIMEOUT_MS = 60_000;
const POLL_MS = 50;
/** How long one call into the background page may take: longer than any run of the tests. */
const EVALUATE_TIMEOUT_MS = 120_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `location.href` of `page`, or null when it is gone or not ready. */
async function href(page) {
  try {
    return await page.evaluate(() => location.href);
  } catch {
    return null;
  }
}

/**
 * Launches headless Firefox ESR with a fresh profile, installs `extension` (default: the
 * unsigned dist/bridle-firefox.xpi that `make dist` writes) as a temporary add-on, and waits
 * for the options page the add-on opens; `prefs` are extra Firefox preferences. Returns
 * {browser, id, background, extensionPage, pages, close}.
 */
export async function launchFirefox(extension = FIREFOX_XPI, prefs = {}) {
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: {
      // Quiet, offline: nothing of Mozilla's is reachable here.
      "app.update.enabled": false,
      "extensions.update.enabled": false,
      "datareporting.policy.dataSubmissionEnabled": false,
      ...prefs,
    },
  });
  // Every page ever opened, in order: extension pages can only be caught as they appear.
  const opened = [];
  browser.on("targetcreated", (target) => {
    if (target.type() !== "page") return;
    target.page().then(
      (page) => page && opened.push(page),
      () => undefined,
    );
  });
  try {
    const id = await browser.installExtension(extension);
    const firefox = {
      browser,
      id,
      /** Pages opened since launch, each with its real URL; closed ones are left out. */
      async pages() {
        const out = [];
        for (const page of [...opened, ...(await browser.pages())]) {
          if (out.some((p) => p.page === page)) continue;
          const url = await href(page);
          if (url !== null) out.push({ page, url });
        }
        return out;
      },
      /** The newest open extension page at `path` (e.g. "/popup.html") not in `skip`. */
      async extensionPage(path, skip = new Set()) {
        const deadline = Date.now() + PAGE_TIMEOUT_MS;
        for (;;) {
          const found = (await firefox.pages())
            .filter(({ page, url }) => !skip.has(page) && url.startsWith("moz-extension://") && new URL(url).pathname === path)
            .at(-1);
          if (found) return found.page;
          if (Date.now() > deadline) throw new Error(`no extension page ${path} opened`);
          await sleep(POLL_MS);
        }
      },
      background: null,
      async close() {
        await browser.close();
      },
    };
    const options = await firefox.extensionPage("/options.html");
    firefox.background = backgroundOf(options);
    return firefox;
  } catch (error) {
    await browser.close();
    throw error;
  }
}

/**
 * The background page, reached from the extension page `page`:
 * `background.evaluate((bg, arg) => bg.bridle.instanceId(), arg)` runs the function in `page`
 * with `bg` the background page's global (`runtime.getBackgroundPage()`); `arg` and the result
 * travel as JSON. The function is sent as source text through BiDi (`script.evaluate` is not
 * subject to the page's CSP, which forbids eval). A rejection in the background rejects here
 * with its message.
 */
function backgroundOf(page) {
  return {
    page,
    async evaluate(fn, arg = null) {
      const expression = `(async () => {
        const bg = await chrome.runtime.getBackgroundPage();
        const value = await (${fn.toString()})(bg, ${JSON.stringify(arg)});
        return JSON.stringify(value === undefined ? null : value);
      })()`;
      // A background page stopped mid-call never answers: fail with a reason instead.
      let timer;
      const stalled = new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the background page did not answer within ${EVALUATE_TIMEOUT_MS} ms (was it stopped?)`)),
          EVALUATE_TIMEOUT_MS,
        );
      });
      try {
        return JSON.parse(await Promise.race([page.evaluate(expression), stalled]));
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Answers the next approval window: waits for an unanswered `/popup.html`, for its buttons to
 * be enabled, calls `meanwhile()` (if given), and clicks the button with id `button`
 * ("approve-once", "approve-script" or "deny"). Returns what the window showed: {origin, step}.
 * `answered` (a Set) keeps windows already answered, which can linger briefly. With `path`
 * "/handoff.html", the same for a handoff window ("continue", "abort").
 */
export async function answerApproval(firefox, button, answered, meanwhile, path = "/popup.html") {
  const popup = await firefox.extensionPage(path, answered);
  answered.add(popup);
  await popup.waitForFunction((id) => document.getElementById(id)?.disabled === false, { timeout: PAGE_TIMEOUT_MS }, button);
  const shown = await popup.evaluate(() => ({
    origin: document.getElementById("origin")?.textContent ?? null,
    step: document.getElementById("step")?.textContent ?? null,
  }));
  await meanwhile?.();
  // A real click (BiDi input actions). The window closes itself once the answer is sent,
  // possibly before the click returns.
  await popup.click(`#${button}`).catch((error) => {
    if (!/close|detached|destroyed|discarded|no such/i.test(error.message)) throw error;
  });
  return shown;
}
