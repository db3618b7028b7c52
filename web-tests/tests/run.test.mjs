// Runs executed end to end in Chromium: `self.bridle.run` drives the engine from the service
// worker in a tab of its own, resolves every target on the content script's snapshots,
// decides in Rust, asks the approval window for the high-risk `submit`, and acts through the
// content script. The fixture shop (../fixtures/shop.html) is served on 127.0.0.1.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { buildCli, newKeyPair } from "../lib/cli.mjs";
import {
  SHOP_STEPS_APPROVED,
  answerApproval,
  freshBrowser,
  runScript,
  serveFixtures,
  shopScript,
  stepTable,
  tabShowing,
  verifiedLog,
} from "../lib/fixtures.mjs";

const PLANNER_NAME = "test-planner";

/** What fixtures/shop.html shows, read in the page: its submit replaces the form with "Thank
 * you" (so the "Place order" button goes) and unhides #submitted. */
const shopState = () => ({
  count: document.getElementById("count").textContent,
  query: document.getElementById("q").value,
  name: document.getElementById("name")?.value ?? null,
  thanks: document.querySelector("h2")?.textContent ?? null,
  submitted: !document.getElementById("submitted").hidden,
  orderButtons: [...document.querySelectorAll("button")].filter((b) => b.textContent === "Place order").length,
});

describe("runs executed in Chromium", { timeout: 240_000 }, () => {
  let browser;
  let worker;
  let dir;
  let planner;
  let instance;
  let site;

  /** Runs `script` under a token for the shop's origin and the verbs it uses; `approve`
   * answers the approval window. */
  async function run(script, approve) {
    const approval = answerApproval(browser.context, approve);
    const result = await runScript({
      worker,
      dir,
      planner,
      name: PLANNER_NAME,
      instance,
      script,
      origins: [site.base],
      verbs: ["navigate", "fill", "click", "submit"],
    });
    try {
      return { result, approval: await approval };
    } catch (error) {
      throw new Error(`${error.message}; the run ended: ${JSON.stringify(result)}`);
    }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bridle-run-"));
    buildCli(dir);
    planner = newKeyPair();
    site = await serveFixtures();
  });

  // A fresh browser for every run: a second run's new tab in the same browser can stay
  // `unloaded` (a known problem of this phase, see extension/README.md).
  beforeEach(async () => {
    ({ browser, worker, instance } = await freshBrowser(planner, PLANNER_NAME));
  });

  afterEach(async () => {
    await browser?.close();
    browser = undefined;
  });

  after(async () => {
    site?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The audit log verifies with `bridle audit verify --instance` and holds one run. */
  async function assertLogVerifies() {
    const log = await verifiedLog(worker, dir, instance);
    const kinds = log.trimEnd().split("\n").map((line) => JSON.parse(line).kind);
    assert.equal(kinds.filter((k) => k === "run-start").length, 1);
    assert.equal(kinds.filter((k) => k === "run-end").length, 1);
    assert.ok(kinds.includes("step") && kinds.includes("step-result"), kinds.join(","));
  }

  test("a checkout runs end to end: fill, click, submit after approval, wait, read, return", async () => {
    const { result, approval } = await run(shopScript(site.base), "Approve once");
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.error, null);
    assert.equal(result.value, "Thank you, Ada");
    assert.equal(approval.origin, site.base);
    assert.deepEqual(stepTable(result), SHOP_STEPS_APPROVED);
    // The page shows what the actions did.
    const tab = await tabShowing(browser.context, "/shop.html");
    assert.deepEqual(await tab.evaluate(shopState), { count: "1", query: "cable", name: null, thanks: "Thank you, Ada", submitted: true, orderButtons: 0 });
    await assertLogVerifies();
  });

  test("a denied submit ends the run as denied, and the form is not submitted", async () => {
    const { result } = await run(shopScript(site.base), "Deny");
    assert.equal(result.outcome, "denied");
    assert.equal(result.error.code, "not-approved");
    const submit = result.steps.find((s) => s.verb === "submit");
    assert.deepEqual([submit.decision, submit.approval, submit.ok], ["ask", "deny", false]);
    const tab = await tabShowing(browser.context, "/shop.html");
    assert.deepEqual(await tab.evaluate(shopState), { count: "1", query: "cable", name: "Ada", thanks: null, submitted: false, orderButtons: 1 });
    await assertLogVerifies();
  });
});
