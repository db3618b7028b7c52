// The planner channel (docs/protocol.md) in Chromium with the built extension: pairing on the
// options page, the extension dialling out to a planner on 127.0.0.1, a run with progress and
// approval, hostile planners refused with their reasons, malformed messages answered with
// errors, cancellation, and reconnection after the planner and the service worker restart.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { extensionOrigin, launchWithExtension, restartServiceWorker, serviceWorker } from "../lib/browser.mjs";
import { bridle, buildCli, mintToken, newKeyPair } from "../lib/cli.mjs";
import { answerApproval, serveFixtures } from "../lib/fixtures.mjs";
import { DIST_CHROME } from "../lib/paths.mjs";
import { startTestPlanner } from "../lib/planner.mjs";

const PLANNER_NAME = "test-planner";
const VERBS = ["navigate", "fill", "click", "submit"];

function shopScript(base, { submit = true } = {}) {
  return [
    "bridle 1",
    'goal "Buy a cable"',
    `origins "${base}"`,
    "",
    `navigate "${base}/shop.html"`,
    'fill textbox "Search" with "cable"',
    'click button "Add to cart" nth 1',
    ...(submit ? ['fill textbox "Name" with "Ada"', 'submit button "Place order"'] : []),
    'let n = text of heading "Test shop"',
    "return n",
    "",
  ].join("\n");
}

/** `bridle-pair:` + base64url(JSON), as a planner prints it. */
function pairingString(keys, endpoint) {
  const json = JSON.stringify({ v: 1, name: PLANNER_NAME, kid: keys.kid, public_key: keys.public_key, endpoint, max_ttl: "15m" });
  return `bridle-pair:${Buffer.from(json).toString("base64url")}`;
}

describe("the planner channel in Chromium", { timeout: 240_000 }, () => {
  let dir;
  let keys;
  let shop;
  let browser;
  let worker;
  let instance;
  let planner;

  /** Pairs the test planner on the options page, as a user pastes a pairing string. */
  async function pairOnOptionsPage() {
    const page = await browser.context.newPage();
    try {
      await page.goto(`${extensionOrigin(worker)}/options.html`);
      await page.getByLabel("Pairing string (fills the fields below)").fill(pairingString(keys, planner.endpoint));
      assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), PLANNER_NAME);
      await page.getByRole("button", { name: "Pair planner" }).click();
      await page.getByText(`Planner ${PLANNER_NAME} paired.`).waitFor();
      // The pairing is written into the policy the user sees and can edit.
      const policy = await page.getByLabel("Policy (TOML)").inputValue();
      assert.match(policy, /\[\[planner\]\][^[]*name = "test-planner"/s);
      assert.ok(policy.includes(planner.endpoint));
    } finally {
      await page.close();
    }
  }

  /** A token for `script` (written to a file) as the paired planner mints it. */
  async function token(script, { key = keys, aud = instance, scriptFile, secrets = [], verbs = VERBS } = {}) {
    const file = scriptFile ?? join(dir, `s-${Date.now()}-${Math.random()}.bridle`);
    if (scriptFile === undefined) await writeFile(file, script);
    return mintToken({
      planner: key,
      kid: key.kid,
      iss: PLANNER_NAME,
      instance: aud,
      scriptFile: file,
      origins: [shop.base],
      verbs,
      secrets,
    });
  }

  before(async () => {
    assert.ok(existsSync(join(DIST_CHROME, "manifest.json")), `no ${DIST_CHROME}: run \`make dist\` first`);
    dir = await mkdtemp(join(tmpdir(), "bridle-planner-"));
    buildCli(dir);
    keys = newKeyPair();
    shop = await serveFixtures();
  });

  beforeEach(async () => {
    planner = await startTestPlanner();
    browser = await launchWithExtension(DIST_CHROME);
    worker = await serviceWorker(browser.context);
    instance = await worker.evaluate(() => self.bridle.instanceId());
    await pairOnOptionsPage();
  });

  afterEach(async () => {
    await browser?.close();
    await planner?.close();
  });

  after(async () => {
    shop?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("the extension dials the paired planner, runs its script and reports progress and the result", async () => {
    const hello = await planner.next((m) => m.type === "hello");
    assert.equal(hello.protocol, 1);
    assert.equal(hello.instance, instance);
    assert.equal(hello.browser, "chrome");
    assert.deepEqual(hello.language, [1]);

    const script = shopScript(shop.base);
    const from = planner.received.length;
    planner.send({ type: "run", run: "r1", script, token: await token(script) });
    const waiting = await planner.next((m) => m.type === "progress" && m.event === "approval-waiting", { from });
    assert.equal(waiting.run, "r1");
    assert.equal(waiting.step, 5);
    assert.match(waiting.text, /submit button "Place order"/);
    await answerApproval(browser.context, "Approve once");
    const { result } = await planner.next((m) => m.type === "result" && m.run === "r1", { from });
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.value, "Test shop");

    const progress = planner.received.slice(from).filter((m) => m.type === "progress" && m.run === "r1");
    assert.equal(progress[0].event, "started");
    assert.equal(progress[0].plan.length, 7);
    // Every step record arrives once, in order, with its decision; the same as the result's.
    const records = progress.filter((m) => m.event === "step").map((m) => m.record);
    assert.deepEqual(records, result.steps);
    assert.deepEqual(
      records.map((r) => [r.index, r.verb, r.decision, r.approval]),
      [
        [1, "navigate", "allow", null],
        [2, "fill", "allow", null],
        [3, "click", "allow", null],
        [4, "fill", "allow", null],
        [5, "submit", "ask", "once"],
        [6, "let", "allow", null],
        [7, "return", "allow", null],
      ],
    );
    // Step records carry decisions and results, never the values typed or read.
    assert.ok(!JSON.stringify(records).includes("Ada"), "typed values stay out of the records");
  });

  test("a secret from the vault is filled in the page and never reaches the planner or the audit log", async () => {
    await planner.next((m) => m.type === "hello");
    const SECRET = "Ada Lovelace 4111-1111";
    const options = await browser.context.newPage();
    await options.goto(`${extensionOrigin(worker)}/options.html`);
    await options.getByLabel("Entry name").fill("demo-name");
    await options.getByLabel("Secret", { exact: true }).fill(SECRET);
    await options.getByRole("button", { name: "Save secret" }).click();
    await options.getByText("Secret demo-name saved.").waitFor();
    assert.ok(!(await options.content()).includes(SECRET), "the options page never shows a secret back");
    await options.close();

    const script = shopScript(shop.base)
      .replace('fill textbox "Name" with "Ada"', 'fill textbox "Name" with who')
      .replace(`origins "${shop.base}"`, `origins "${shop.base}"\nsecret who = "demo-name"`)
      // The page echoes the secret back; a script reading it gets it redacted.
      .replace('let n = text of heading "Test shop"', 'let n = text of heading ~"Thank you"');
    const from = planner.received.length;
    planner.send({ type: "run", run: "secret", script, token: await token(script, { secrets: ["demo-name"] }) });
    // Filling a secret asks, and so does the submit.
    for (let asked = 0; asked < 2; asked += 1) {
      await planner.next((m) => m.event === "approval-waiting" && m.run === "secret", { from, ms: 60_000 }).then(() => undefined);
      await answerApproval(browser.context, "Approve once");
      await new Promise((r) => setTimeout(r, 300));
    }
    const { result } = await planner.next((m) => m.type === "result" && m.run === "secret", { from });
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    // The page greets with what was typed: the secret, which the run's result shows redacted.
    assert.equal(result.value, "Thank you, [secret]");
    const sent = JSON.stringify(planner.received.slice(from));
    assert.ok(!sent.includes(SECRET) && !sent.includes("4111"), "the secret never reaches the planner");
    const log = await worker.evaluate(() => self.bridle.auditLog());
    assert.ok(!log.includes("4111"), `the secret is not in the audit log: ${log.split("\n").filter((l) => l.includes("4111")).join("\n")}`);
    // The log names the step as the script wrote it (`with who`); the script's hash pins the
    // vault entry it declared.
    assert.ok(log.includes('with who'), "the fill is recorded by the script's variable name");
  });

  test("a hostile planner is refused, each time with its reason", async () => {
    await planner.next((m) => m.type === "hello");
    const script = shopScript(shop.base, { submit: false });
    const runAndWait = async (run, message) => {
      const from = planner.received.length;
      planner.send({ type: "run", run, script, ...message });
      return (await planner.next((m) => (m.type === "result" || m.type === "error") && m.run === run, { from })).result;
    };
    // Signed with a key the user never paired, under the paired key id.
    const stranger = { ...newKeyPair(), kid: keys.kid };
    let result = await runAndWait("wrong-key", { token: await token(script, { key: stranger }) });
    assert.deepEqual([result.outcome, result.token.code], ["refused", "bad-signature"]);
    // A token for another instance.
    result = await runAndWait("other-instance", { token: await token(script, { aud: newKeyPair().instance_id }) });
    assert.equal(result.outcome, "refused");
    assert.equal(result.token.valid, false);
    assert.equal(result.token.code, "bad-signature", "the instance id is the implicit assertion");
    // A script that is not the one the token is bound to.
    const other = join(dir, "other.bridle");
    await writeFile(other, shopScript(shop.base, { submit: true }));
    result = await runAndWait("mismatch", { token: await token(script, { scriptFile: other }) });
    assert.deepEqual([result.outcome, result.token.code], ["refused", "script-mismatch"]);
    // A token used twice: the second run is refused as a replay.
    const once = await token(script);
    // A bad script first: refused before the token is looked at, so the token stays unused.
    result = await runAndWait("bad-script", { script: "bridle 1\nclick button", token: once });
    assert.equal(result.outcome, "refused");
    assert.ok(result.script.diagnostics.length > 0, "the checker's diagnostics come back to the planner");
    assert.equal(typeof result.script.diagnostics[0].line, "number");
    result = await runAndWait("first-use", { token: once });
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    result = await runAndWait("replay", { token: once });
    assert.deepEqual([result.outcome, result.token.code], ["refused", "replayed"]);
  });

  test("a token wider than the policy is narrowed by it: the denied step does not run", async () => {
    await planner.next((m) => m.type === "hello");
    // The user's policy denies submitting on the shop, whatever a token says.
    const policy = await worker.evaluate(async () => (await chrome.storage.local.get("bridle.policy"))["bridle.policy"]);
    await worker.evaluate(
      (t) => self.bridle.setPolicy(t),
      `${policy}\n[[site]]\norigin = "${shop.base}"\ndeny = ["submit"]\n`,
    );
    const script = shopScript(shop.base);
    const from = planner.received.length;
    planner.send({ type: "run", run: "wide", script, token: await token(script) });
    const started = await planner.next((m) => m.type === "progress" && m.event === "started", { from });
    assert.equal(started.plan[4].decision, "deny");
    const { result } = await planner.next((m) => m.type === "result" && m.run === "wide", { from });
    assert.equal(result.outcome, "denied");
    const submit = result.steps.find((s) => s.verb === "submit");
    assert.equal(submit.decision, "deny");
    assert.ok(submit.reasons.some((r) => /policy/.test(r)), submit.reasons.join("; "));
  });

  test("malformed messages get error replies and the connection stays; ping, busy, cancel, user-waiting", async () => {
    await planner.next((m) => m.type === "hello");
    const ask = async (message, match) => {
      const from = planner.received.length;
      planner.send(message);
      return planner.next(match, { from });
    };
    const isError = (m) => m.type === "error";
    assert.equal((await ask("not json", isError)).code, "malformed");
    assert.equal((await ask({ type: "grant", run: "x" }, isError)).code, "unknown-type");
    assert.equal((await ask({ type: "run", run: "x", script: "s", token: "t", policy: "p" }, isError)).code, "malformed");
    assert.equal((await ask({ type: "cancel", run: "bad id" }, isError)).code, "bad-run-id");
    assert.equal((await ask({ type: "cancel", run: "nothing" }, isError)).code, "unknown-run");
    const big = JSON.stringify({ type: "run", run: "big", script: "x".repeat(3 * 1024 * 1024), token: "t" });
    const tooLarge = await ask(big, isError);
    assert.equal(tooLarge.code, "too-large");
    assert.deepEqual(await ask({ type: "ping", nonce: "n1" }, (m) => m.type === "pong"), { type: "pong", nonce: "n1" });

    // A run waiting for approval: a second run is busy; cancelling withdraws the approval.
    const script = shopScript(shop.base);
    const from = planner.received.length;
    planner.send({ type: "run", run: "long", script, token: await token(script) });
    await planner.next((m) => m.event === "approval-waiting" && m.run === "long", { from });
    const busy = await ask({ type: "run", run: "second", script, token: await token(script) }, (m) => m.run === "second");
    assert.deepEqual([busy.type, busy.code], ["error", "busy"]);
    planner.send({ type: "cancel", run: "long" });
    const { result } = await planner.next((m) => m.type === "result" && m.run === "long", { from });
    assert.equal(result.outcome, "cancelled");
    const submit = result.steps.find((s) => s.verb === "submit");
    assert.equal(submit.ok, false);
    // The approval window was withdrawn, and the submit never acted: a step acts only after
    // its audit entry is written, and there is none.
    const log = await worker.evaluate(() => self.bridle.auditLog());
    const entries = log.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.ok(!entries.some((e) => e.kind === "step" && /submit/.test(e.text ?? "")), "no submit entry");
    assert.equal(browser.context.pages().filter((p) => p.url().includes("/popup.html")).length, 0);

    // A run waiting for the user's hands (a handoff) says so, and a cancel withdraws its window.
    const handoff = [
      "bridle 1",
      'goal "Sign in"',
      `origins "${shop.base}"`,
      "",
      `navigate "${shop.base}/shop.html"`,
      'handoff "Please sign in, then press Continue"',
      'return "back"',
      "",
    ].join("\n");
    const at = planner.received.length;
    planner.send({ type: "run", run: "hands", script: handoff, token: await token(handoff, { verbs: [...VERBS, "handoff"] }) });
    const waiting = await planner.next((m) => m.event === "user-waiting" && m.run === "hands", { from: at });
    assert.deepEqual([waiting.step, waiting.what, waiting.text], [2, "handoff", "Please sign in, then press Continue"]);
    planner.send({ type: "cancel", run: "hands" });
    const ended = await planner.next((m) => m.type === "result" && m.run === "hands", { from: at });
    assert.equal(ended.result.outcome, "cancelled", JSON.stringify(ended.result.error));
    assert.equal(browser.context.pages().filter((p) => p.url().includes("/handoff.html")).length, 0);
  });

  test("the extension reconnects after the planner restarts and after the service worker restarts", async () => {
    const first = await planner.next((m) => m.type === "hello");
    const port = planner.port;
    await planner.close();
    planner = await startTestPlanner(port);
    const again = await planner.next((m) => m.type === "hello", { ms: 30_000 });
    assert.equal(again.instance, first.instance);

    const connectionsBefore = planner.connections;
    worker = await restartServiceWorker(browser.context, worker);
    await planner.next((m) => m.type === "hello", { from: 1, ms: 30_000 });
    assert.ok(planner.connections > connectionsBefore, "a new connection from the restarted worker");
    // A planner that restarts while a run waits for approval is greeted at once and gets the
    // run's result on its new connection.
    {
      const script = shopScript(shop.base);
      const from = planner.received.length;
      planner.send({ type: "run", run: "across-restart", script, token: await token(script) });
      await planner.next((m) => m.event === "approval-waiting" && m.run === "across-restart", { from });
      await planner.close();
      planner = await startTestPlanner(port);
      await planner.next((m) => m.type === "hello", { ms: 30_000 });
      await answerApproval(browser.context, "Approve once");
      const { result } = await planner.next((m) => m.type === "result" && m.run === "across-restart");
      assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    }
    // And it still runs scripts.
    const script = shopScript(shop.base, { submit: false });
    const from = planner.received.length;
    planner.send({ type: "run", run: "after-restart", script, token: await token(script) });
    const { result } = await planner.next((m) => m.type === "result" && m.run === "after-restart", { from });
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    const verified = bridle(["audit", "verify", "--json", "--instance", instance, await auditFile()]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);

    // Removing the planner on the options page hangs up, and it is not dialled again.
    const options = await browser.context.newPage();
    await options.goto(`${extensionOrigin(worker)}/options.html`);
    await options.getByRole("button", { name: `Remove ${PLANNER_NAME}` }).click();
    await options.getByText(`Planner ${PLANNER_NAME} removed.`).waitFor();
    assert.doesNotMatch(await options.getByLabel("Policy (TOML)").inputValue(), /^\[\[planner\]\]/m);
    for (let tries = 0; planner.connected; tries += 1) {
      if (tries > 100) throw new Error("the connection stayed open after the planner was removed");
      await new Promise((r) => setTimeout(r, 50));
    }
    const connections = planner.connections;
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal(planner.connections, connections, "a removed planner is not dialled again");
  });

  async function auditFile() {
    const file = join(dir, `audit-${Date.now()}.jsonl`);
    await writeFile(file, await worker.evaluate(() => self.bridle.auditLog()));
    return file;
  }
});
