// The navigation guard in Chromium: a run whose tab leaves the script's origins — a server
// redirect, a page's own redirect (script or meta refresh), a new tab the page opens, even
// while an approval window is open — is stopped with `navigation-blocked`; the audit log
// records where it went (the origin only) and verifies; nothing acts on the foreign page.
// The foreign origin is the same machine under another name and port: http://localhost:Q
// against the script's http://127.0.0.1:P.

import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { Harness } from "../lib/runs.mjs";

describe("the navigation guard", { timeout: 240_000 }, () => {
  const h = new Harness();
  before(() => h.setup());
  beforeEach(() => h.launch());
  afterEach(() => h.close());
  after(() => h.teardown());

  /** The run ended by the guard, its note and run-end in a log that verifies. */
  async function assertStopped(result, what) {
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "navigation-blocked", JSON.stringify(result.error));
    const message = `the run was stopped: ${what} to \`${h.foreign}\`, which is not among the script's origins`;
    assert.equal(result.error.message, message);
    const entries = await h.lastRunEntries();
    const notes = entries.filter((e) => e.kind === "note").map((e) => e.text);
    assert.deepEqual(notes, [
      `navigation guard: ${what} to \`${h.foreign}\`, which is not among the script's origins; the run was stopped`,
    ]);
    const end = entries.at(-1);
    assert.equal(end.kind, "run-end");
    assert.deepEqual(end.result, { ok: false, error: "navigation-blocked", observation: null });
    // Only the origin is recorded: the URL's path and query may carry the page's secrets.
    const log = await h.worker.evaluate(() => self.bridle.auditLog());
    assert.ok(!log.includes("s3cret") && !log.includes("landing"), "the log holds only the origin");
    assert.ok(!JSON.stringify(result).includes("s3cret"));
    return entries;
  }

  test("a server redirect to a foreign origin stops the run before its next step", async () => {
    const { result } = await h.run([
      ...h.header("Open the shop"),
      `navigate "${h.home}/hostile/redirect"`,
      'click button "Confirm purchase"',
    ]);
    await assertStopped(result, "a server redirect");
    // The navigate step ran (its destination was allowed); the click never acted.
    assert.deepEqual(
      result.steps.map((s) => [s.verb, s.ok]),
      [["navigate", true], ["click", false]].slice(0, result.steps.length),
    );
    assert.ok(!h.sites.foreign.hits.includes("/hit/confirm"), "nothing was clicked on the foreign page");
    assert.ok(h.sites.foreign.hits.includes("/hostile/landing.html"), "the redirect did reach the foreign server");
  });

  test("a page's own script sending the tab away mid-run stops the run", async () => {
    const { result } = await h.run([
      ...h.header("Wait in the waiting room"),
      `navigate "${h.home}/hostile/redirect-js.html?auto=300"`,
      'wait for text "Your turn" to be visible timeout 20s',
      'click button "Confirm purchase"',
    ]);
    assert.equal(result.error?.code, "navigation-blocked", JSON.stringify(result));
    assert.match(result.error.message, /^the run was stopped: .* to `http:\/\/localhost:\d+`/);
    assert.equal(result.error.message.includes(h.foreign), true);
    const wait = result.steps.find((s) => s.verb === "wait");
    assert.deepEqual([wait.ok, wait.error], [false, "navigation-blocked"]);
    assert.ok(!result.steps.some((s) => s.verb === "click"));
    assert.ok(!h.sites.foreign.hits.includes("/hit/confirm"));
    await h.lastRunEntries();
  });

  test("a meta refresh to a foreign origin stops the run", async () => {
    const { result } = await h.run([
      ...h.header("Read the moved page"),
      `navigate "${h.home}/hostile/meta-refresh.html"`,
      'wait for text "Your turn" to be visible timeout 20s',
    ]);
    await assertStopped(result, "a redirect by the page (meta refresh or script)");
  });

  test("a click that makes the page send the tab away stops the run before the next step", async () => {
    const { result } = await h.run([
      ...h.header("Continue"),
      `navigate "${h.home}/hostile/redirect-js.html"`,
      'click button "Continue"',
      'click button "Confirm purchase"',
    ]);
    assert.equal(result.error?.code, "navigation-blocked", JSON.stringify(result));
    const verbs = result.steps.map((s) => [s.verb, s.ok]);
    assert.deepEqual(verbs.slice(0, 2), [["navigate", true], ["click", true]]);
    assert.ok(!h.sites.foreign.hits.includes("/hit/confirm"));
    await h.lastRunEntries();
  });

  test("a new tab the page opens on a foreign origin stops the run", async () => {
    const { result } = await h.run([
      ...h.header("Get help"),
      `navigate "${h.home}/hostile/open-tab.html"`,
      'click button "Open help"',
      'wait for text "Your turn" to be visible timeout 20s',
    ]);
    await assertStopped(result, "a new tab opened by the page");
    assert.ok(!h.sites.foreign.hits.includes("/hit/confirm"));
  });

  test("a new tab on the script's own origin does not stop the run", async () => {
    const { result } = await h.run([
      ...h.header("Get our help"),
      `navigate "${h.home}/hostile/open-tab.html"`,
      'click button "Open our help"',
      'return "ok"',
    ]);
    assert.equal(result.outcome, "completed", JSON.stringify(result));
    assert.equal(result.value, "ok");
    const entries = await h.lastRunEntries();
    assert.equal(entries.filter((e) => e.kind === "note").length, 0);
  });

  test("a redirect while the approval window is open withdraws the window and stops the run", async () => {
    let popupClosed;
    const { result, popups } = await h.run(
      [
        ...h.header("Place the order"),
        `navigate "${h.home}/hostile/redirect-js.html"`,
        'submit button "Place order"',
      ],
      {
        onPopup: async (popup) => {
          await popup.locator("#details").waitFor();
          popupClosed = popup.waitForEvent("close");
          // The page leaves while the user is looking at the approval window.
          h.signal("redirect-js", "go-away");
          await popupClosed;
        },
      },
    );
    assert.equal(popups.length, 1);
    await assertStopped(result, "a redirect by the page (meta refresh or script)").catch(async () => {
      // Chrome may not mark a script's navigation after load as a client redirect.
      assert.equal(result.error.code, "navigation-blocked");
      assert.match(result.error.message, /^the run was stopped: a (navigation of the run's tab|redirect by the page \(meta refresh or script\)) to `http:\/\/localhost:\d+`/);
    });
    const submit = result.steps.find((s) => s.verb === "submit");
    assert.deepEqual([submit.ok, submit.error], [false, "navigation-blocked"]);
    // The withdrawn window can no longer approve anything.
    assert.equal(popups[0].isClosed(), true);
    const entries = await h.lastRunEntries();
    assert.ok(!entries.some((e) => e.kind === "step" && e.text.startsWith("submit")), "the submit was never started");
  });

  test("a late answer from a withdrawn approval window is refused", async () => {
    // The window's id is no longer pending once the guard stopped the run.
    const { result } = await h.run(
      [
        ...h.header("Place the order"),
        `navigate "${h.home}/hostile/redirect-js.html"`,
        'submit button "Place order"',
      ],
      {
        onPopup: async (popup) => {
          await popup.locator("#details").waitFor();
          const id = new URL(popup.url()).searchParams.get("id");
          const closed = popup.waitForEvent("close");
          h.signal("redirect-js", "go-away");
          await closed;
          const extra = await h.context.newPage();
          await extra.goto(popup.url().split("?")[0]);
          const accepted = await extra.evaluate(
            (requestId) => chrome.runtime.sendMessage({ kind: "approval-answer", id: requestId, choice: "once" }),
            id,
          );
          assert.deepEqual(accepted, { ok: true, accepted: false });
          await extra.close();
        },
      },
    );
    assert.equal(result.error?.code, "navigation-blocked", JSON.stringify(result));

  });
});
