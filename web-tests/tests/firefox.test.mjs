// The same extension in Firefox ESR (dist/bridle-firefox.xpi, built from the same sources as
// dist/chrome): web-ext lint, and runs executed end to end through `self.bridle` in the
// background page (reached as web-tests/lib/firefox.mjs explains): a checkout approved in the
// approval window, the same denied, a hostile page whose two buttons share the target's name
// (ambiguous: nothing is clicked), the tab verbs with steps in srcdoc and about:blank frames,
// a wait for a cross-origin frame that arrives late,
// a handoff answered in its window, an upload whose file is picked in Bridle's window,
// and every run's audit log verified by `bridle audit verify`;
// then the planner channel: paired on the options page, a run from the planner with approval,
// the connection kept while idle, and redialled after the planner and the background restart.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { bridle, buildCli, mintToken, newKeyPair, policyTrusting } from "../lib/cli.mjs";
import { SHOP_STEPS_APPROVED, script as scriptOf, serveFixtures, shopScript, stepTable } from "../lib/fixtures.mjs";
import { answerApproval, launchFirefox } from "../lib/firefox.mjs";
import { DIST_FIREFOX, FIREFOX_XPI, ROOT } from "../lib/paths.mjs";
import { startTestPlanner } from "../lib/planner.mjs";

const PLANNER_NAME = "test-planner";


test("web-ext lint: the Firefox package has no errors", async () => {
  assert.ok(existsSync(join(DIST_FIREFOX, "manifest.json")), `no ${DIST_FIREFOX}: run \`make dist\` first`);
  const out = execFileSync(
    "npx",
    ["--no-install", "web-ext", "lint", "--source-dir", DIST_FIREFOX, "--output", "json", "--no-config-discovery"],
    { cwd: join(ROOT, "web-tests"), encoding: "utf8" },
  );
  const report = JSON.parse(out);
  const lines = (kind) => report[kind].map((m) => `${m.code} ${m.file ?? ""}: ${m.message}`);
  assert.deepEqual(lines("errors"), []);
  assert.deepEqual(lines("warnings"), []);
  // The manifest is derived from the one root manifest.json (extension/build.mjs).
  const manifest = JSON.parse(await readFile(join(DIST_FIREFOX, "manifest.json"), "utf8"));
  assert.deepEqual(manifest.background, { scripts: ["background.js"], type: "module" });
  assert.equal(manifest.browser_specific_settings.gecko.id, "bridle@bridle.dev");
  assert.deepEqual(manifest.browser_specific_settings.gecko.data_collection_permissions, { required: ["none"] });
  assert.equal(manifest.minimum_chrome_version, undefined);
});

describe("runs executed in Firefox ESR", { timeout: 240_000 }, () => {
  let firefox;
  let dir;
  let planner;
  let instance;
  let site;
  const answered = new Set();

  /** Writes `script`, mints a token for it and runs it; `approve` is the approval window's
   * button to click ("approve-once", "deny") or null when no window is expected, after
   * `meanwhile()` (if given). */
  async function run(script, approve, meanwhile, verbs = ["navigate", "fill", "click", "submit"], origins = [site.base]) {
    const scriptFile = join(dir, `script-${Date.now()}.bridle`);
    await writeFile(scriptFile, script);
    const token = mintToken({ planner, iss: PLANNER_NAME, instance, scriptFile, origins, verbs });
    const approval = approve === null ? null : answerApproval(firefox, approve, answered, meanwhile);
    // Awaited below, after the run; a failure before then must not count as unhandled.
    approval?.catch(() => undefined);
    const result = await firefox.background.evaluate((bg, [s, t]) => bg.bridle.run(s, t), [script, token]);
    try {
      return { result, approval: await approval };
    } catch (error) {
      throw new Error(`${error.message}; the run ended: ${JSON.stringify(result)}`);
    }
  }

  /** The run's tab showing `path` (an http page: its URL reads normally). */
  async function sitePage(path) {
    const pages = await firefox.pages();
    return pages.filter(({ url }) => url.startsWith(site.base) && new URL(url).pathname === path).at(-1)?.page;
  }

  /** The audit log holds exactly one run and verifies with `bridle audit verify --instance`. */
  async function assertLogVerifies() {
    const log = await firefox.background.evaluate((bg) => bg.bridle.auditLog());
    const kinds = log.trimEnd().split("\n").map((line) => JSON.parse(line).kind);
    assert.equal(kinds.filter((k) => k === "run-start").length, 1);
    assert.equal(kinds.filter((k) => k === "run-end").length, 1);
    const file = join(dir, `audit-${Date.now()}.jsonl`);
    await writeFile(file, log);
    const verified = bridle(["audit", "verify", "--json", "--instance", instance, file]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  }

  before(async () => {
    assert.ok(existsSync(FIREFOX_XPI), `no ${FIREFOX_XPI}: run \`make dist\` first`);
    dir = await mkdtemp(join(tmpdir(), "bridle-firefox-"));
    buildCli(dir);
    planner = newKeyPair();
    site = await serveFixtures();
  });

  /** (Re)starts Firefox with the add-on and the test planner trusted; `prefs` for Firefox. */
  async function start(prefs = {}) {
    await firefox?.close();
    firefox = await launchFirefox(FIREFOX_XPI, prefs);
    instance = await firefox.background.evaluate((bg) => bg.bridle.instanceId());
    await firefox.background.evaluate((bg, t) => bg.bridle.setPolicy(t), policyTrusting(planner, PLANNER_NAME));
  }

  // A fresh browser and temporary add-on for every test, as in Chromium.
  beforeEach(() => start());

  afterEach(async () => {
    await firefox?.close();
    firefox = undefined;
  });

  after(async () => {
    site?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("the automation interface is the same four frozen functions, and the state is out of content scripts' reach", async () => {
    assert.match(instance, /^bx1_[0-9a-f]{32}$/);
    const shape = await firefox.background.evaluate((bg) => ({
      keys: Object.keys(bg.bridle).sort(),
      frozen: Object.isFrozen(bg.bridle),
      writable: Object.getOwnPropertyDescriptor(bg, "bridle")?.writable ?? null,
    }));
    assert.deepEqual(shape, { keys: ["auditLog", "instanceId", "run", "setPolicy"], frozen: true, writable: false });
    // Firefox lets content scripts use storage.local and cannot restrict it (no
    // setAccessLevel), so nothing of Bridle's may be there: the key, policy, replay record and
    // log live in the extension origin's IndexedDB (ts/compat.ts).
    const local = await firefox.background.evaluate(async (bg) => ({
      setAccessLevel: typeof bg.chrome.storage.local.setAccessLevel,
      keys: Object.keys(await bg.chrome.storage.local.get(null)),
    }));
    assert.deepEqual(local, { setAccessLevel: "undefined", keys: [] });
    const policy = await firefox.background.evaluate(
      (bg) =>
        new Promise((resolve, reject) => {
          const open = bg.indexedDB.open("bridle-state");
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const get = open.result.transaction("state").objectStore("state").get("bridle.policy");
            get.onsuccess = () => resolve(get.result ?? null);
            get.onerror = () => reject(get.error);
          };
        }),
    );
    assert.equal(policy, policyTrusting(planner, PLANNER_NAME));
  });

  test("a checkout runs end to end: fill, click, submit after approval in the popup, wait, read, return", async () => {
    const { result, approval } = await run(shopScript(site.base), "approve-once");
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.value, "Thank you, Ada");
    assert.equal(approval.origin, site.base);
    assert.deepEqual(stepTable(result), SHOP_STEPS_APPROVED);
    const page = await sitePage("/shop.html");
    assert.ok(page, "the run's tab shows the shop");
    const state = await page.evaluate(() => ({
      count: document.getElementById("count")?.textContent,
      q: document.getElementById("q")?.value,
      submitted: document.getElementById("submitted")?.checkVisibility(),
    }));
    assert.deepEqual(state, { count: "1", q: "cable", submitted: true });
    await assertLogVerifies();
  });

  test("a denied submit ends the run as denied, and the form is not submitted", async () => {
    const { result } = await run(shopScript(site.base), "deny");
    assert.equal(result.outcome, "denied");
    assert.equal(result.error.code, "not-approved");
    const submit = result.steps.find((s) => s.verb === "submit");
    assert.deepEqual([submit.decision, submit.approval, submit.ok], ["ask", "deny", false]);
    const page = await sitePage("/shop.html");
    assert.ok(page, "the run's tab shows the shop");
    const state = await page.evaluate(() => ({
      name: document.getElementById("name")?.value,
      submitted: document.getElementById("submitted")?.checkVisibility(),
    }));
    assert.deepEqual(state, { name: "Ada", submitted: false });
    await assertLogVerifies();
  });

  test("a hostile page with two buttons of the target's name: ambiguous, nothing clicked", async () => {
    const script = [
      "bridle 1",
      'goal "Confirm"',
      `origins "${site.base}"`,
      "",
      `navigate "${site.base}/twins.html"`,
      'click button "Confirm"',
      'return "clicked"',
      "",
    ].join("\n");
    const { result } = await run(script, null);
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "ambiguous", JSON.stringify(result.error));
    const click = result.steps.find((s) => s.verb === "click");
    assert.equal(click.ok, false);
    const page = await sitePage("/twins.html");
    assert.ok(page, "the run's tab shows the twins");
    assert.equal(await page.evaluate(() => document.getElementById("clicks")?.textContent), "0");
    await assertLogVerifies();
  });

  test("tab verbs, and steps in srcdoc and about:blank frames", async () => {
    const script = [
      "bridle 1",
      'goal "Work in two tabs"',
      `origins "${site.base}"`,
      "",
      `navigate "${site.base}/tabs-alpha.html"`,
      `open tab "${site.base}/inline-frames.html"`,
      'click button "Confirm inline"',
      'wait for text "inline clicked" to be visible timeout 5s',
      'click button "Confirm blank"',
      'wait for text "blank clicked" to be visible timeout 5s',
      'let log = text of css "#log"',
      'switch tab ~"Tab Alpha"',
      'click button "Count"',
      'let n = text of heading ~"Alpha clicks"',
      "close tab",
      "let t = title",
      'return "{log} | {n} | {t}"',
      "",
    ].join("\n");
    // "Confirm" is a sensitive word: a standing click grant lets the clicks run unasked.
    const standing = `\n[[site]]\norigin = "${site.base}"\nstanding = [{ verb = "click" }]\n`;
    await firefox.background.evaluate((bg, t) => bg.bridle.setPolicy(t), policyTrusting(planner, PLANNER_NAME) + standing);
    const verbs = ["navigate", "click", "open tab", "switch tab", "close tab"];
    const { result } = await run(script, null, undefined, verbs);
    assert.equal(result.outcome, "completed", JSON.stringify(result.error ?? result));
    assert.equal(result.value, "the parent saw the click | Alpha clicks: 1 | Inline frames");
    await assertLogVerifies();
  });

  test("a wait wakes when a cross-origin frame arrives late, though the page hides its load", async () => {
    // As in frames.test.mjs: only the browser's report of the frame's load can wake the wait
    // before the page removes the frame again.
    const origins = [site.base, site.cross];
    const script = scriptOf(origins, [
      `navigate "${site.base}/late-frame.html?cross=${encodeURIComponent(site.cross)}"`,
      `wait for button "Pay" in frame "${site.cross}" to be visible timeout 12s`,
      `let s = text of button "Pay" in frame "${site.cross}"`,
      "return s",
    ]);
    const { result } = await run(script, null, undefined, ["navigate"], origins);
    assert.equal(result.outcome, "completed", JSON.stringify(result.error ?? result));
    assert.equal(result.value, "Pay");
    await assertLogVerifies();
  });

  test("a handoff: the user types in the page while the window is open, presses Continue, and the script sees it", async () => {
    const script = [
      "bridle 1",
      'goal "Let the user type the name"',
      `origins "${site.base}"`,
      "",
      `navigate "${site.base}/shop.html"`,
      'handoff "Type your name, then press Continue"',
      'let v = value of textbox "Name"',
      "return v",
      "",
    ].join("\n");
    const scriptFile = join(dir, `script-${Date.now()}.bridle`);
    await writeFile(scriptFile, script);
    const token = mintToken({ planner, iss: PLANNER_NAME, instance, scriptFile, origins: [site.base], verbs: ["navigate", "handoff"] });
    const typed = async () => {
      const page = await sitePage("/shop.html");
      await page.evaluate(() => {
        const field = document.getElementById("name");
        field.value = "typed by hand";
        field.dispatchEvent(new Event("input", { bubbles: true }));
      });
    };
    const answering = answerApproval(firefox, "continue", answered, typed, "/handoff.html");
    answering.catch(() => undefined);
    const result = await firefox.background.evaluate((bg, [s, t]) => bg.bridle.run(s, t), [script, token]);
    const shown = await answering;
    assert.equal(shown.origin, site.base);
    assert.equal(result.outcome, "completed", JSON.stringify(result.error ?? result));
    assert.equal(result.value, "typed by hand");
    await assertLogVerifies();
  });

  test("an upload: approved, the file picked in Bridle's window reaches the page byte for byte", async () => {
    const script = [
      "bridle 1",
      'goal "Attach the receipt"',
      `origins "${site.base}"`,
      "",
      `navigate "${site.base}/receipt.html"`,
      'upload css "#receipt"',
      'wait for text ~"sha256:" to be visible timeout 5s',
      'let shown = text of css "#chosen"',
      "return shown",
      "",
    ].join("\n");
    const bytes = Buffer.from("receipt bytes for Firefox\n");
    const file = join(dir, "receipt.txt");
    await writeFile(file, bytes);
    const pick = async () => {
      const win = await firefox.extensionPage("/upload.html", answered);
      answered.add(win);
      await win.waitForFunction(() => document.getElementById("file")?.disabled === false, { timeout: 30_000 });
      const input = await win.$("#file");
      await input.uploadFile(file);
      await win.click("#upload").catch((error) => {
        if (!/close|detached|destroyed|discarded|no such/i.test(error.message)) throw error;
      });
    };
    // Upload is high risk: the approval window comes first, then Bridle's own file window.
    const picking = pick();
    picking.catch(() => undefined);
    const { result } = await run(script, "approve-once", undefined, ["navigate", "upload"]);
    await picking;
    assert.equal(result.outcome, "completed", JSON.stringify(result.error ?? result));
    const digest = createHash("sha256").update(bytes).digest("hex");
    assert.equal(result.value, `receipt.txt ${bytes.length} sha256:${digest}`);
    // The log keeps the file's digest, never its bytes.
    const log = await firefox.background.evaluate((bg) => bg.bridle.auditLog());
    assert.ok(log.includes(digest));
    assert.ok(!log.includes("receipt bytes for Firefox"));
    await assertLogVerifies();
  });

  test("a run waiting for approval longer than the idle timeout keeps its background page", async () => {
    // Firefox stops an event page after `extensions.background.idle.timeout` without events
    // or extension calls (30 s by default; here 9 s, well above KEEP_AWAKE_MS). Measured: without the keep-awake calls
    // (ts/compat.ts, every KEEP_AWAKE_MS = 5 s while a run is in flight), the page is stopped
    // while the approval window waits and the run never ends.
    const IDLE_MS = 9_000;
    await start({ "extensions.background.idle.timeout": IDLE_MS });
    await firefox.background.evaluate((bg) => {
      bg.bridleTestMarker = true;
    });
    const { result } = await run(shopScript(site.base), "approve-once", () => new Promise((r) => setTimeout(r, 2 * IDLE_MS)));
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.value, "Thank you, Ada");
    // The same page throughout: a marker set in its global scope before the run is still there.
    assert.equal(await firefox.background.evaluate((bg) => bg.bridleTestMarker ?? null), true);
    await assertLogVerifies();
  });
});

describe("the planner channel in Firefox ESR", { timeout: 240_000 }, () => {
  /** Firefox's idle timeout for the background, shortened from 30 s so that the tests can show
   * the page kept awake while connected, and stopped (then woken) while not. */
  const IDLE_MS = 9_000;
  let dir;
  let keys;
  let site;
  let planner;
  let firefox;
  let instance;
  const answered = new Set();

  /** The pairing string a planner prints (docs/protocol.md). */
  const pairingString = () =>
    `bridle-pair:${Buffer.from(
      JSON.stringify({ v: 1, name: PLANNER_NAME, kid: keys.kid, public_key: keys.public_key, endpoint: planner.endpoint, max_ttl: "15m" }),
    ).toString("base64url")}`;

  /** A token for `script`, as the paired planner mints it. */
  async function token(script) {
    const scriptFile = join(dir, `s-${Date.now()}-${Math.random()}.bridle`);
    await writeFile(scriptFile, script);
    return mintToken({ planner: keys, iss: PLANNER_NAME, instance, scriptFile, origins: [site.base], verbs: ["navigate", "fill", "click", "submit"] });
  }

  async function auditVerifies() {
    const file = join(dir, `audit-${Date.now()}.jsonl`);
    await writeFile(file, await firefox.background.evaluate((bg) => bg.bridle.auditLog()));
    const verified = bridle(["audit", "verify", "--json", "--instance", instance, file]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  before(async () => {
    assert.ok(existsSync(FIREFOX_XPI), `no ${FIREFOX_XPI}: run \`make dist\` first`);
    dir = await mkdtemp(join(tmpdir(), "bridle-firefox-planner-"));
    buildCli(dir);
    keys = newKeyPair();
    site = await serveFixtures();
  });

  // The user pastes the pairing string on the options page (the one the temporary add-on
  // opened) and presses "Pair planner".
  beforeEach(async () => {
    planner = await startTestPlanner();
    firefox = await launchFirefox(FIREFOX_XPI, { "extensions.background.idle.timeout": IDLE_MS });
    instance = await firefox.background.evaluate((bg) => bg.bridle.instanceId());
    const options = firefox.background.page;
    await options.locator("#pairing-string").fill(pairingString());
    await options.click("#pair-planner");
    await options.waitForFunction(
      (name) => document.getElementById("status")?.textContent === `Planner ${name} paired.`,
      { timeout: 30_000 },
      PLANNER_NAME,
    );
  });

  afterEach(async () => {
    await firefox?.close();
    await planner?.close();
    firefox = undefined;
  });

  after(async () => {
    site?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("the extension dials the planner, stays connected while idle, and runs its script with approval", async () => {
    const hello = await planner.next((m) => m.type === "hello");
    assert.equal(hello.instance, instance);
    assert.equal(hello.browser, "firefox");
    // Firefox stops an idle event page even with a WebSocket open (measured): the background
    // keeps itself awake while a planner is connected, so the first connection stays.
    await firefox.background.evaluate((bg) => {
      bg.bridleTestMarker = true;
    });
    await sleep(2 * IDLE_MS);
    assert.equal(planner.connections, 1, "the first connection stayed");
    assert.equal(planner.connected, true);

    const script = shopScript(site.base);
    const from = planner.received.length;
    planner.send({ type: "run", run: "ff1", script, token: await token(script) });
    const waiting = await planner.next((m) => m.type === "progress" && m.event === "approval-waiting", { from });
    assert.equal(waiting.step, 5);
    await answerApproval(firefox, "approve-once", answered);
    const { result } = await planner.next((m) => m.type === "result" && m.run === "ff1", { from });
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.value, "Thank you, Ada");
    const records = planner.received.slice(from).filter((m) => m.type === "progress" && m.event === "step").map((m) => m.record);
    assert.deepEqual(records, result.steps);
    assert.ok(!JSON.stringify(records).includes("Ada"), "typed values stay out of the records");
    assert.equal(await firefox.background.evaluate((bg) => bg.bridleTestMarker ?? null), true);
    await auditVerifies();
  });

  test("the extension redials after the planner restarts, and after its idle background was stopped", async () => {
    const first = await planner.next((m) => m.type === "hello");
    const port = planner.port;
    // A planner restart while the background runs: redialled with backoff.
    await planner.close();
    planner = await startTestPlanner(port);
    const again = await planner.next((m) => m.type === "hello", { ms: 30_000 });
    assert.equal(again.instance, first.instance);

    // Disconnected for longer than the idle timeout, nothing keeps the background awake:
    // Firefox stops it; the channel's periodic alarm starts it again, and it redials.
    await firefox.background.evaluate((bg) => {
      bg.bridleTestMarker = true;
    });
    await planner.close();
    await sleep(2 * IDLE_MS);
    planner = await startTestPlanner(port);
    await planner.next((m) => m.type === "hello", { ms: 90_000 });
    assert.equal(
      await firefox.background.evaluate((bg) => bg.bridleTestMarker ?? null),
      null,
      "the background page was stopped and started again",
    );
    // And it still runs scripts.
    const script = [
      "bridle 1",
      'goal "Search"',
      `origins "${site.base}"`,
      "",
      `navigate "${site.base}/shop.html"`,
      'fill textbox "Search" with "cable"',
      'return "done"',
      "",
    ].join("\n");
    const from = planner.received.length;
    planner.send({ type: "run", run: "ff2", script, token: await token(script) });
    const { result } = await planner.next((m) => m.type === "result" && m.run === "ff2", { from });
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    await auditVerifies();
  });
});
