// The tab verbs in Chromium with the built extension: `open tab` opens a tab in the run's
// window and acts there, `switch tab` finds one of the run's own tabs by title or URL (a tab
// the run's page opened included; a user's tab never, even with the same title and origin),
// `close tab` goes back to the tab that was current before and never closes the run's last
// tab, an ambiguous switch lists its candidates, a tab `open tab` opened is guarded like the
// first, and an `open tab` outside the script's origins, the token's or the policy's opens
// nothing.
//
// Pages are read through the run itself (`text of`, `title`) and tabs through the extension
// (`chrome.tabs` ids and windows, `webNavigation` URLs): Playwright can lose track of tabs the
// extension navigated (extension/README.md). Build first: `make dist`. Run:
// `node --test tests/tabs.test.mjs`.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ALL_VERBS, freshBrowser, runScript, runSuite, script, verifiedLog } from "../lib/fixtures.mjs";

const NAME = "tabs-planner";
const TAB_VERBS = [...ALL_VERBS, "open tab", "switch tab", "close tab"];

/** Every tab of the browser as the extension sees it: id, window, top-frame URL. */
function tabsOf(worker) {
  return worker.evaluate(async () =>
    Promise.all(
      (await chrome.tabs.query({})).map(async (t) => ({
        id: t.id,
        windowId: t.windowId,
        url: (await chrome.webNavigation.getFrame({ tabId: t.id, frameId: 0 }).catch(() => null))?.url ?? null,
      })),
    ),
  );
}

describe("the tab verbs in Chromium", { timeout: 600_000 }, () => {
  let dir;
  let planner;
  let site;
  let b;
  runSuite("tabs", (s) => ({ dir, planner, site } = s), () => b);

  /** A fresh browser (`policyExtra` added to its policy), then `lines` run with a token for
   * `granted` (the script's `origins` by default). */
  async function run(lines, { origins = [site.base], granted = origins, policyExtra = "", beforeRun } = {}) {
    b = await freshBrowser(planner, NAME, policyExtra);
    await beforeRun?.(b);
    return runScript({ ...b, dir, planner, name: NAME, script: script(origins, lines), origins: granted, verbs: TAB_VERBS });
  }

  const steps = (result) => result.steps.map((s) => [s.verb, s.ok]);

  test("open tab acts in the new tab; switch tab goes back by title; close tab returns to it", async () => {
    const result = await run([
      `navigate "${site.base}/tabs-alpha.html"`,
      'click button "Count"',
      `open tab "${site.base}/tabs-beta.html"`,
      'click button "Count"',
      'click button "Count"',
      'let b = text of heading ~"Beta clicks"',
      'switch tab ~"Tab Alpha"',
      'click button "Count"',
      'let a = text of heading ~"Alpha clicks"',
      'switch tab ~"tabs-beta.html"',
      "let t = title",
      "close tab",
      "let again = title",
      'return "{a} | {b} | {t} | {again}"',
    ]);
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    // Two clicks in each tab, each counted where it was made: Alpha's second click after the
    // switch back, Beta's in the tab `open tab` opened.
    assert.equal(result.value, "Alpha clicks: 2 | Beta clicks: 2 | Tab Beta | Tab Alpha");
    for (const verb of ["open tab", "switch tab", "close tab"]) {
      assert.ok(steps(result).some(([v, ok]) => v === verb && ok), `${verb}: ${JSON.stringify(steps(result))}`);
    }
    // Beta was closed; Alpha, the run's first tab, is still open.
    const urls = (await tabsOf(b.worker)).map((t) => t.url ?? "");
    assert.ok(!urls.some((u) => u.includes("tabs-beta.html")), JSON.stringify(urls));
    assert.ok(urls.some((u) => u.includes("tabs-alpha.html")), JSON.stringify(urls));
    await verifiedLog(b.worker, dir, b.instance);
  });

  test("a tab the run's page opened is the run's: it can be switched to and acted in", async () => {
    const result = await run([
      `navigate "${site.base}/tabs-alpha.html"`,
      'click button "Open Beta"',
      'switch tab ~"from=popup"',
      'click button "Count"',
      'let b = text of heading ~"Beta clicks"',
      "return b",
    ]);
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.value, "Beta clicks: 1");
  });

  test("a user's tab is never switched to, even with the same title on the script's origin", async () => {
    let userPage;
    const result = await run(
      [`navigate "${site.base}/tabs-alpha.html"`, 'switch tab ~"Tab Beta"', 'click button "Count"'],
      {
        beforeRun: async ({ browser }) => {
          userPage = await browser.context.newPage();
          await userPage.goto(`${site.base}/tabs-beta.html?user=1`);
        },
      },
    );
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "act-failed");
    assert.match(result.error.message, /no tab of the run matches ~"Tab Beta" by title or URL; the run's tabs: "Tab Alpha" \(/);
    assert.ok(!result.error.message.includes("user=1"), "the user's tab is not even listed");
    assert.deepEqual(steps(result).at(-1), ["switch tab", false]);
    // The user's page was never touched (Playwright navigated it, so it can read it).
    assert.equal(await userPage.locator("#n").textContent(), "0");
    await verifiedLog(b.worker, dir, b.instance);
  });

  test("a tab opened by open tab is guarded: its page leaving the origins stops the run", async () => {
    const away = `${site.base}/tabs-away.html?to=${encodeURIComponent(`${site.cross}/tabs-beta.html`)}`;
    const result = await run([`navigate "${site.base}/tabs-alpha.html"`, `open tab "${away}"`, 'click button "Count"']);
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "navigation-blocked", JSON.stringify(result.error));
    assert.ok(result.error.message.includes(`to \`${site.cross}\``), result.error.message);
    // The guard stopped the run before the click acted on the foreign page.
    const click = result.steps.find((s) => s.verb === "click");
    assert.ok(click === undefined || (click.ok === false && click.error === "navigation-blocked"), JSON.stringify(click));
    await verifiedLog(b.worker, dir, b.instance);
  });

  test("closing the run's last tab fails the step and closes nothing", async () => {
    const result = await run([`navigate "${site.base}/tabs-alpha.html"`, "close tab"]);
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "act-failed");
    assert.match(result.error.message, /would close the run's last tab/);
    const urls = (await tabsOf(b.worker)).map((t) => t.url ?? "");
    assert.ok(urls.some((u) => u.includes("tabs-alpha.html")), JSON.stringify(urls));
  });

  test("an ambiguous switch fails listing the candidates, in the run's window only", async () => {
    const result = await run([
      `navigate "${site.base}/tabs-alpha.html"`,
      `open tab "${site.base}/tabs-beta.html?n=1"`,
      `open tab "${site.base}/tabs-beta.html?n=2"`,
      'switch tab ~"Tab Beta"',
      'click button "Count"',
    ]);
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "act-failed");
    assert.ok(
      result.error.message.includes(
        `~"Tab Beta" matches 2 of the run's tabs: "Tab Beta" (${site.base}/tabs-beta.html?n=2), ` +
          `"Tab Beta" (${site.base}/tabs-beta.html?n=1); name one of them exactly`,
      ),
      result.error.message,
    );
    assert.ok(!steps(result).some(([v]) => v === "click"));
    // `open tab` opened both in the run's own window.
    const tabs = await tabsOf(b.worker);
    const ours = tabs.filter((t) => /tabs-(alpha|beta)\.html/.test(t.url ?? ""));
    assert.equal(ours.length, 3, JSON.stringify(tabs));
    assert.equal(new Set(ours.map((t) => t.windowId)).size, 1, JSON.stringify(tabs));
  });

  test("open tab outside the script's origins, the token's or the policy's opens nothing", async () => {
    const foreign = `${site.cross}/tabs-beta.html`;
    const opened = async () => (await tabsOf(b.worker)).filter((t) => (t.url ?? "").startsWith(site.cross));

    // Not among the script's origins: the checker refuses the script.
    let result = await run([`navigate "${site.base}/tabs-alpha.html"`, `open tab "${foreign}"`]);
    assert.equal(result.outcome, "refused", JSON.stringify(result));
    assert.ok(JSON.stringify(result).includes("origin-outside"), JSON.stringify(result));
    assert.deepEqual(await opened(), []);
    await b.browser.close();

    // Among the script's origins, but the token grants only the first.
    result = await run([`navigate "${site.base}/tabs-alpha.html"`, `open tab "${foreign}"`], {
      origins: [site.base, site.cross],
      granted: [site.base],
    });
    assert.equal(result.outcome, "denied", JSON.stringify(result));
    assert.match(result.error.message, /no grant of the token covers `open tab`/);
    assert.deepEqual(steps(result).at(-1), ["open tab", false]);
    assert.deepEqual(await opened(), []);
    await b.browser.close();

    // Granted, but the policy denies opening a tab there.
    result = await run([`navigate "${site.base}/tabs-alpha.html"`, `open tab "${foreign}"`], {
      origins: [site.base, site.cross],
      policyExtra: `\n[[site]]\norigin = "${site.cross}"\ndeny = ["open tab"]\n`,
    });
    assert.equal(result.outcome, "denied", JSON.stringify(result));
    assert.deepEqual(steps(result).at(-1), ["open tab", false]);
    assert.deepEqual(await opened(), []);
    await verifiedLog(b.worker, dir, b.instance);
  });
});
