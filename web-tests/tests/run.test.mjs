// Runs executed end to end in Chromium: `self.bridle.run` drives the engine from the service
// worker in a tab of its own, resolves every target on the content script's snapshots,
// decides in Rust, asks the approval window for the high-risk `submit`, and acts through the
// content script. The fixture shop (../fixtures/shop.html) is served on 127.0.0.1.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { launchWithExtension, serviceWorker } from "../lib/browser.mjs";
import { bridle, buildCli, mintToken, newKeyPair, policyTrusting } from "../lib/cli.mjs";
import { SHOP_STEPS_APPROVED, answerApproval, shopScript, stepTable } from "../lib/fixtures.mjs";
import { DIST_CHROME, ROOT } from "../lib/paths.mjs";

const PLANNER_NAME = "test-planner";
const FIXTURE = join(ROOT, "web-tests/fixtures/shop.html");

/** Serves the shop at `/shop.html` on an ephemeral port of 127.0.0.1. */
async function serveShop() {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    if (path !== "/shop.html") {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(await readFile(FIXTURE));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}


/** The run's tab: the newest page showing the shop (each run opens a tab of its own). */
function shopPage(context) {
  return context.pages().filter((p) => p.url().includes("/shop.html")).at(-1);
}

describe("runs executed in Chromium", { timeout: 240_000 }, () => {
  let browser;
  let worker;
  let dir;
  let planner;
  let instance;
  let shop;

  /** Writes `script`, mints a token for it and runs it; `approve` answers the approval window. */
  async function run(script, approve, meanwhile) {
    const scriptFile = join(dir, `script-${Date.now()}.bridle`);
    await writeFile(scriptFile, script);
    const token = mintToken({
      planner,
      iss: PLANNER_NAME,
      instance,
      scriptFile,
      origins: [shop.base],
      verbs: ["navigate", "fill", "click", "submit"],
    });
    const approval = approve === null ? null : answerApproval(browser.context, approve, () => false, meanwhile);
    const result = await worker.evaluate(([s, t]) => self.bridle.run(s, t), [script, token]);
    try {
      return { result, approval: await approval };
    } catch (error) {
      throw new Error(`${error.message}; the run ended: ${JSON.stringify(result)}`);
    }
  }

  before(async () => {
    assert.ok(existsSync(join(DIST_CHROME, "manifest.json")), `no ${DIST_CHROME}: run \`make dist\` first`);
    dir = await mkdtemp(join(tmpdir(), "bridle-run-"));
    buildCli(dir);
    planner = newKeyPair();
    shop = await serveShop();
  });

  // A fresh browser for every run: a second run's new tab in the same browser can stay
  // `unloaded` (a known problem of this phase, see extension/README.md).
  beforeEach(async () => {
    browser = await launchWithExtension(DIST_CHROME);
    worker = await serviceWorker(browser.context);
    instance = await worker.evaluate(() => self.bridle.instanceId());
    await worker.evaluate((t) => self.bridle.setPolicy(t), policyTrusting(planner, PLANNER_NAME));
  });

  afterEach(async () => {
    await browser?.close();
    browser = undefined;
  });

  after(async () => {
    shop?.server.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The audit log verifies with `bridle audit verify --instance`. */
  async function assertLogVerifies() {
    const log = await worker.evaluate(() => self.bridle.auditLog());
    const kinds = log.trimEnd().split("\n").map((line) => JSON.parse(line).kind);
    assert.equal(kinds.filter((k) => k === "run-start").length, 1);
    assert.equal(kinds.filter((k) => k === "run-end").length, 1);
    assert.ok(kinds.includes("step") && kinds.includes("step-result"), kinds.join(","));
    const file = join(dir, `audit-${Date.now()}.jsonl`);
    await writeFile(file, log);
    const verified = bridle(["audit", "verify", "--json", "--instance", instance, file]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  }

  test("a checkout runs end to end: fill, click, submit after approval, wait, read, return", async () => {
    const { result, approval } = await run(shopScript(shop.base), "Approve once");
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.error, null);
    assert.equal(result.value, "Thank you, Ada");
    assert.equal(approval.origin, shop.base);
    assert.deepEqual(stepTable(result), SHOP_STEPS_APPROVED);
    // The page shows what the actions did.
    const page = shopPage(browser.context);
    assert.ok(page, "the run's tab shows the shop");
    assert.equal(await page.locator("#count").textContent(), "1");
    assert.equal(await page.locator("#q").inputValue(), "cable");
    assert.equal(await page.locator("#submitted").isVisible(), true);
    await assertLogVerifies();
  });

  test("a denied submit ends the run as denied, and the form is not submitted", async () => {
    const { result } = await run(shopScript(shop.base), "Deny");
    assert.equal(result.outcome, "denied");
    assert.equal(result.error.code, "not-approved");
    const submit = result.steps.find((s) => s.verb === "submit");
    assert.deepEqual([submit.decision, submit.approval, submit.ok], ["ask", "deny", false]);
    const page = shopPage(browser.context);
    assert.ok(page, "the run's tab shows the shop");
    assert.equal(await page.locator("#name").inputValue(), "Ada");
    assert.equal(await page.locator("#submitted").isVisible(), false);
    assert.equal(await page.getByRole("button", { name: "Place order" }).count(), 1);
    await assertLogVerifies();
  });
});
