// Smoke test of the built extension (dist/chrome) in headless Chromium: the service worker
// loads the wasm executor, `self.bridle` answers, state survives a service-worker restart,
// runs are decided exactly as the native `bridle authorize` decides them, the audit log
// verifies with `bridle audit verify`, and the extension pages answer only well-formed
// messages from the right page.
//
// Build first: `make dist` (the Makefile's `web-test` target does). Run: `npm test`.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { launchWithExtension, restartServiceWorker, serviceWorker, extensionOrigin } from "../lib/browser.mjs";
import { authorize, bridle, buildCli, mintToken, newKeyPair, policyTrusting } from "../lib/cli.mjs";
import { DIST_CHROME } from "../lib/paths.mjs";

const PLANNER_NAME = "test-planner";
const SCRIPT = [
  "bridle 1",
  'goal "Find a cable"',
  'origins "https://shop.example"',
  "",
  'click button "Search"',
  'click button "Buy now"',
  "",
].join("\n");

/** How many times the cold start is measured. */
const RESTARTS = 3;

/** The service worker's record of its start (kept in chrome.storage.session once loaded). */
function startupTiming(worker) {
  return worker.evaluate(async () => {
    // Recorded once the executor is loaded, just after instanceId() can answer.
    for (let tries = 0; tries < 100; tries += 1) {
      const { startup } = await chrome.storage.session.get("startup");
      if (startup && startup.readyMs < performance.now()) return startup;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("no startup timing recorded");
  });
}

describe("the extension in Chromium", { timeout: 240_000 }, () => {
  let browser;
  let worker;
  let dir;
  let scriptFile;
  let policyFile;
  let planner;
  let instance;
  let token;
  const startups = [];
  let firstStart;

  before(async () => {
    assert.ok(existsSync(join(DIST_CHROME, "manifest.json")), `no ${DIST_CHROME}: run \`make dist\` first`);
    dir = await mkdtemp(join(tmpdir(), "bridle-smoke-"));
    buildCli(dir);
    scriptFile = join(dir, "script.bridle");
    policyFile = join(dir, "policy.toml");
    await writeFile(scriptFile, SCRIPT);
    planner = newKeyPair();
    await writeFile(policyFile, policyTrusting(planner, PLANNER_NAME));
    browser = await launchWithExtension(DIST_CHROME);
  });

  after(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (firstStart) {
      console.log(
        `service-worker first start (fresh profile, key generated) to ready: ${firstStart.readyMs.toFixed(1)} ms; wasm compiled at ${firstStart.wasmMs.toFixed(1)} ms`,
      );
    }
    if (startups.length > 0) {
      const ready = startups.map((s) => s.readyMs.toFixed(1)).join(", ");
      const wasm = startups.map((s) => s.wasmMs.toFixed(1)).join(", ");
      console.log(`service-worker restart to ready (ms): ${ready}; wasm compiled at (ms): ${wasm}`);
    }
  });

  test("the service worker starts and has a bx1_ instance id", async () => {
    worker = await serviceWorker(browser.context);
    assert.match(worker.url(), /^chrome-extension:\/\/[a-p]{32}\/background\.js$/);
    instance = await worker.evaluate(() => self.bridle.instanceId());
    assert.match(instance, /^bx1_[0-9a-f]{32}$/);
    // The interface is exactly the four functions, and cannot be replaced.
    const shape = await worker.evaluate(() => ({
      keys: Object.keys(self.bridle).sort(),
      frozen: Object.isFrozen(self.bridle),
      writable: Object.getOwnPropertyDescriptor(self, "bridle").writable,
    }));
    assert.deepEqual(shape, { keys: ["auditLog", "instanceId", "run", "setPolicy"], frozen: true, writable: false });
    firstStart = await startupTiming(worker);
  });

  test("setPolicy rejects an invalid policy with its line, and accepts a valid one", async () => {
    const refused = await worker.evaluate(async () => {
      try {
        await self.bridle.setPolicy('[defaults]\napproval = "sometimes"\n');
        return null;
      } catch (error) {
        return { name: error.name, message: error.message, diagnostics: error.diagnostics };
      }
    });
    assert.ok(refused, "an invalid policy must be rejected");
    assert.equal(refused.name, "BridlePolicyError");
    assert.match(refused.message, /^policy\.toml:2:12: error: unknown approval threshold `sometimes`/);
    assert.deepEqual(
      refused.diagnostics.map((d) => [d.line, d.column, d.path, d.message]),
      [[2, 12, "defaults.approval", "unknown approval threshold `sometimes`"]],
    );
    const toml = policyTrusting(planner, PLANNER_NAME);
    assert.equal(await worker.evaluate((t) => self.bridle.setPolicy(t), toml), undefined);
  });

  test("run() decides the plan exactly as `bridle authorize` does, then executes in its own tab", async () => {
    token = mintToken({
      planner,
      iss: PLANNER_NAME,
      instance,
      scriptFile,
      origins: ["https://shop.example"],
      verbs: ["click"],
    });
    const result = await worker.evaluate(([s, t]) => self.bridle.run(s, t), [SCRIPT, token]);
    // The script never navigates: its run tab stays blank, so the first target is not found
    // (tests/run.test.mjs runs scripts on a real page).
    assert.equal(result.outcome, "failed");
    assert.equal(result.error.code, "not-found");
    assert.deepEqual(result.token, { valid: true, error: null, code: null });
    assert.equal(result.goal, "Find a cable");
    assert.deepEqual(
      result.steps.map((s) => [s.index, s.verb, s.ok, s.error]),
      [[1, "click", false, "not-found"]],
    );
    assert.equal(result.steps_done, 0);
    assert.deepEqual(
      result.plan.map((s) => [s.index, s.verb, s.risk, s.decision]),
      [
        [1, "click", "medium", "allow"],
        [2, "click", "high", "ask"],
      ],
    );
    // The same decisions, reasons included, as the native PEP (a fresh replay store there).
    const native = authorize({ policyFile, token, instance, scriptFile });
    assert.equal(native.token.valid, true);
    assert.deepEqual(result.plan, native.steps);
  });

  test("a restarted service worker keeps its key, policy and record of used tokens", async () => {
    for (let i = 0; i < RESTARTS; i += 1) {
      worker = await restartServiceWorker(browser.context, worker);
      assert.equal(await worker.evaluate(() => self.bridle.instanceId()), instance);
      startups.push(await startupTiming(worker));
    }
    // The token was used before the restarts: refused now, its use remembered.
    const replay = await worker.evaluate(([s, t]) => self.bridle.run(s, t), [SCRIPT, token]);
    assert.equal(replay.outcome, "refused");
    assert.equal(replay.token.code, "replayed");
    assert.match(replay.error.message, /^token `[^`]+` has already been used 1 time\(s\)$/);
    assert.ok(replay.plan.every((s) => s.decision === "deny"));
    // A fresh token still runs: the policy trusting the planner survived too (the default
    // policy trusts no planner).
    const fresh = mintToken({
      planner, iss: PLANNER_NAME, instance, scriptFile, origins: ["https://shop.example"], verbs: ["click"],
    });
    const again = await worker.evaluate(([s, t]) => self.bridle.run(s, t), [SCRIPT, fresh]);
    assert.equal(again.outcome, "failed");
    assert.equal(again.token.valid, true);
  });

  test("run() refuses a script that does not check, with JSON diagnostics", async () => {
    const bad = "bridle 1\ngoal \"x\"\norigins \"https://shop.example\"\n\nclick\n";
    const result = await worker.evaluate(([s, t]) => self.bridle.run(s, t), [bad, token]);
    assert.equal(result.outcome, "refused");
    assert.equal(result.error.code, "script-invalid");
    assert.equal(result.script.ok, false);
    assert.equal(result.script.diagnostics[0].file, "script.bridle");
    assert.equal(result.script.diagnostics[0].line, 5);
    assert.deepEqual(result.plan, []);
  });

  test("the audit log holds every run and verifies with `bridle audit verify`", async () => {
    const log = await worker.evaluate(() => self.bridle.auditLog());
    const kinds = log.trimEnd().split("\n").map((line) => JSON.parse(line).kind);
    assert.deepEqual(kinds, [
      "log-start",
      "note", // the policy set
      "run-start", "run-end", // executed: the first target not found
      "run-start", "run-end", // replayed
      "run-start", "run-end", // fresh token: not found again
      "run-start", "run-end", // script invalid
    ]);
    const file = join(dir, "audit.jsonl");
    await writeFile(file, log);
    const verified = bridle(["audit", "verify", "--json", "--instance", instance, file]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  });

  test("the options page shows the instance, the policy and the audit log", async () => {
    const page = await browser.context.newPage();
    try {
      await page.goto(`${extensionOrigin(worker)}/options.html`);
      await page.getByText(instance, { exact: true }).waitFor();
      assert.match(await page.getByLabel("Policy (TOML)").inputValue(), /name = "test-planner"/);
      assert.match(await page.getByLabel("Audit log entries").textContent(), /"kind":"log-start"/);
      assert.ok(await page.getByRole("button", { name: "Export audit log" }).isEnabled());
      // A policy with a mistake is refused on the page too, with its line.
      await page.getByLabel("Policy (TOML)").fill('[defaults]\napproval = "sometimes"\n');
      await page.getByRole("button", { name: "Save policy" }).click();
      await page.getByText(/policy\.toml:2:12: error/).waitFor();
    } finally {
      await page.close();
    }
  });

  test("the approval window has the three stable buttons and refuses a stale request", async () => {
    const page = await browser.context.newPage();
    try {
      await page.goto(`${extensionOrigin(worker)}/popup.html?id=not-pending`);
      await page.getByText("This request is no longer pending.").waitFor();
      for (const name of ["Approve once", "Approve for this script", "Deny"]) {
        const button = page.getByRole("button", { name, exact: true });
        assert.equal(await button.count(), 1, name);
        assert.equal(await button.isDisabled(), true, name);
      }
    } finally {
      await page.close();
    }
  });

  test("the service worker refuses malformed messages and messages from the wrong page", async () => {
    const page = await browser.context.newPage();
    try {
      await page.goto(`${extensionOrigin(worker)}/options.html`);
      const replies = await page.evaluate(async () => {
        const send = (m) => chrome.runtime.sendMessage(m);
        return {
          wellFormed: (await send({ kind: "options-get" })).ok,
          extraKey: await send({ kind: "options-get", extra: 1 }),
          badChoice: await send({ kind: "approval-answer", id: "x", choice: "yes" }),
          // Well-formed, but only the approval window may answer approvals.
          wrongPage: await send({ kind: "approval-answer", id: "x", choice: "once" }),
          notAnObject: await send("options-get"),
        };
      });
      const refused = { ok: false, error: "message refused" };
      assert.equal(replies.wellFormed, true);
      assert.deepEqual(replies.extraKey, refused);
      assert.deepEqual(replies.badChoice, refused);
      assert.deepEqual(replies.wrongPage, refused);
      assert.deepEqual(replies.notAnObject, refused);

      // Text fields are capped at MAX_TEXT_CHARS (2 MiB, ts/messages.ts) before the executor
      // sees them; at the cap the message reaches the executor, which refuses the policy by
      // its own, smaller limit.
      const atLimit = await page.evaluate(async (n) => {
        const send = (m) => chrome.runtime.sendMessage(m);
        return {
          at: await send({ kind: "policy-set", toml: "#".repeat(n) }),
          over: await send({ kind: "policy-set", toml: "#".repeat(n + 1) }),
        };
      }, 2 * 1024 * 1024);
      assert.equal(atLimit.at.ok, true);
      assert.equal(atLimit.at.accepted, false);
      assert.match(atLimit.at.message, /^policy\.toml:1:1: error: policy is 2097152 bytes, more than the limit of 262144 bytes/);
      assert.deepEqual(atLimit.over, refused);
    } finally {
      await page.close();
    }
    // Approval ids are capped at MAX_ID_CHARS (64); only the approval window may ask.
    const popup = await browser.context.newPage();
    try {
      await popup.goto(`${extensionOrigin(worker)}/popup.html`);
      const ids = await popup.evaluate(async () => {
        const send = (m) => chrome.runtime.sendMessage(m);
        return {
          at: await send({ kind: "approval-get", id: "a".repeat(64) }),
          over: await send({ kind: "approval-get", id: "a".repeat(65) }),
          badChars: await send({ kind: "approval-get", id: "a/b" }),
        };
      });
      assert.deepEqual(ids.at, { ok: true, request: null });
      assert.deepEqual(ids.over, { ok: false, error: "message refused" });
      assert.deepEqual(ids.badChars, { ok: false, error: "message refused" });
    } finally {
      await popup.close();
    }
  });
});
