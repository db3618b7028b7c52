// The fixture pages of ../fixtures/, served twice on ephemeral ports of 127.0.0.1: as
// `http://127.0.0.1:A` and as `http://localhost:B`, two origins, so a page can embed a
// cross-origin iframe. Also a browser with a trusted planner, and runs of scripts, for the
// suites that execute steps (verbs, frames).

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import { after, afterEach, before } from "node:test";
import { launchWithExtension, serviceWorker } from "./browser.mjs";
import { bridle, buildCli, mintToken, newKeyPair, policyTrusting } from "./cli.mjs";
import { DIST_CHROME, ROOT } from "./paths.mjs";

export const FIXTURES = join(ROOT, "web-tests/fixtures");

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** The longest `?delay=` the fixture servers honour. */
const MAX_DELAY_MS = 5_000;

/** Serves `FIXTURES` (and `extra`: URL path → absolute file) on 127.0.0.1 and on localhost.
 * `?delay=MS` holds a response back that long (at most 5 s), for pages that arrive late.
 * `/signal?name=N` answers once the test called `signal(N)` (a page waiting for its cue without
 * the test touching the page). `served` lists every URL answered, in order. Returns {base,
 * cross, close, signal, served}. */
export async function serveFixtures(extra = {}) {
  const signalled = new Set();
  const waiting = [];
  const served = [];
  const signal = (name) => {
    signalled.add(name);
    for (const w of waiting.splice(0)) {
      if (w.name === name) w.res.writeHead(204).end();
      else waiting.push(w);
    }
  };
  const handler = async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    res.on("finish", () => served.push(req.url ?? ""));
    if (path === "/signal") {
      const name = url.searchParams.get("name") ?? "";
      if (signalled.has(name)) res.writeHead(204).end();
      else waiting.push({ name, res });
      return;
    }
    const delay = Math.min(Number(url.searchParams.get("delay")) || 0, MAX_DELAY_MS);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const file = extra[path] ?? join(FIXTURES, normalize(path).replace(/^(\.\.[/\\])+/, ""));
    const type = TYPES[file.slice(file.lastIndexOf("."))];
    if (!file.startsWith(FIXTURES) && extra[path] === undefined) {
      res.writeHead(404).end("not found");
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": type ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  };
  const servers = [createServer(handler), createServer(handler)];
  for (const s of servers) await new Promise((resolve) => s.listen(0, "127.0.0.1", resolve));
  return {
    base: `http://127.0.0.1:${servers[0].address().port}`,
    cross: `http://localhost:${servers[1].address().port}`,
    close: () => {
      for (const w of waiting.splice(0)) w.res.destroy();
      servers.forEach((s) => s.close());
    },
    signal,
    served,
  };
}

/** Every verb a script of these suites may use. */
export const ALL_VERBS = [
  "navigate", "click", "fill", "clear", "select", "check", "uncheck", "hover", "press", "scroll to", "submit",
];

/**
 * The hooks a suite of runs shares (call it in the `describe`): before all, a temporary folder
 * with the CLI built, a planner key pair and the fixture servers, handed to `ready` as
 * {dir, planner, site}; after each test, the browser `current()` returns is closed; after all,
 * the servers and the folder are gone.
 */
export function runSuite(prefix, ready, current) {
  let dir;
  let site;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `bridle-${prefix}-`));
    buildCli(dir);
    site = await serveFixtures();
    ready({ dir, planner: newKeyPair(), site });
  });
  afterEach(async () => {
    await current()?.browser.close().catch(() => undefined);
  });
  after(async () => {
    site?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
}

/**
 * A fresh browser with the extension, trusting `planner` as `name`. Returns {browser, worker,
 * instance}. `launch` goes to `launchWithExtension`: `{siteIsolation: false}` for runs whose
 * pages hold cross-origin iframes. Playwright makes every out-of-process iframe wait for it
 * until it has set the frame up, and in the windows the extension opens for its runs it
 * sometimes never does (playwright-core 1.65): the frame then stays `about:blank` and its tab
 * `loading` for good (seen in `frames.test.mjs` about one run of the file in five here; a
 * second debugger session cannot release it). No real browser holds a frame like that: it is
 * the harness, so those runs keep cross-origin frames in their parent's renderer.
 */
export async function freshBrowser(planner, name, policyExtra = "", launch = {}) {
  assert.ok(existsSync(join(DIST_CHROME, "manifest.json")), `no ${DIST_CHROME}: run \`make dist\` first`);
  const browser = await launchWithExtension(DIST_CHROME, launch);
  const worker = await serviceWorker(browser.context);
  const instance = await worker.evaluate(() => self.bridle.instanceId());
  await worker.evaluate((t) => self.bridle.setPolicy(t), policyTrusting(planner, name) + policyExtra);
  return { browser, worker, instance };
}

/** Mints a token for `script` (verbs `verbs`, origins `origins`) and runs it; the result. */
export async function runScript({ worker, dir, planner, name, instance, script, origins, verbs = ALL_VERBS }) {
  const scriptFile = join(dir, `script-${Date.now()}-${Math.random().toString(36).slice(2)}.bridle`);
  await writeFile(scriptFile, script);
  const token = mintToken({ planner, iss: name, instance, scriptFile, origins, verbs });
  return worker.evaluate(([s, t]) => self.bridle.run(s, t), [script, token]);
}

/** The checkout of fixtures/shop.html at `base`: search, add to cart, name, submit (which
 * asks), then the thank-you heading returned. The run suites of both browsers use it. */
export function shopScript(base) {
  return [
    "bridle 1",
    'goal "Buy a cable"',
    `origins "${base}"`,
    "",
    `navigate "${base}/shop.html"`,
    'fill textbox "Search" with "cable"',
    'click button "Add to cart" nth 1',
    'fill textbox "Name" with "Ada"',
    'submit button "Place order"',
    'wait for text ~"Thank you" to be visible timeout 5s',
    'let msg = text of heading ~"Thank you"',
    "return msg",
    "",
  ].join("\n");
}

/** The steps of {@link shopScript} run with its submit approved once, as
 * [index, verb, decision, approval, ok] ({@link stepTable}). */
export const SHOP_STEPS_APPROVED = [
  [1, "navigate", "allow", null, true],
  [2, "fill", "allow", null, true],
  [3, "click", "allow", null, true],
  [4, "fill", "allow", null, true],
  [5, "submit", "ask", "once", true],
  [6, "wait", "allow", null, true],
  [7, "let", "allow", null, true],
  [8, "return", "allow", null, true],
];

/** A run result's steps as [index, verb, decision, approval, ok]. */
export const stepTable = (result) => result.steps.map((s) => [s.index, s.verb, s.decision, s.approval, s.ok]);

/** The script text: header for `origins`, then `lines`. */
export function script(origins, lines, goal = "Exercise the page") {
  return ["bridle 1", `goal "${goal}"`, `origins ${origins.map((o) => `"${o}"`).join(", ")}`, "", ...lines, ""].join(
    "\n",
  );
}

/**
 * The run's tab: the newest page whose URL contains `part`, read over a CDP session of its
 * own. Playwright can lose track of a tab the extension opened (seen on slow machines: it
 * keeps reporting the URL `""` and never answers `page.evaluate`), so each page is asked for
 * its `location.href` over a fresh session, which does not depend on Playwright's view of
 * the page; and it can learn of a tab late, so this is tried for about 5 s. Throws when no
 * page shows `part`.
 * @returns {Promise<TabReader>}
 */
export async function tabShowing(context, part) {
  let seen = [];
  for (let tries = 0; tries < 50; tries += 1) {
    seen = [];
    for (const page of context.pages().filter((p) => !p.isClosed()).toReversed()) {
      const cdp = await context.newCDPSession(page).catch(() => null);
      if (cdp === null) continue;
      const tab = new TabReader(cdp);
      const href = await tab.evaluate(() => location.href).catch((e) => `(${e.message})`);
      seen.push(href);
      if (href.includes(part)) return tab;
      await cdp.detach().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no page shows ${part} (pages: ${seen.map((u) => JSON.stringify(u)).join(", ")})`);
}

/** Reads a tab's main frame over a CDP session: `Runtime.evaluate` in the page's own world. */
class TabReader {
  constructor(cdp) {
    this.cdp = cdp;
  }

  /** `fn(arg)` evaluated in the page (awaited, returned by value); gives up after `ms`. */
  async evaluate(fn, arg = null, ms = 2_000) {
    const call = this.cdp.send("Runtime.evaluate", {
      expression: `(${fn})(${JSON.stringify(arg)})`,
      awaitPromise: true,
      returnByValue: true,
    });
    // A page that is paused never answers; do not wait on it for good.
    let timer;
    const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)));
    const { result, exceptionDetails } = await Promise.race([call, late]).finally(() => clearTimeout(timer));
    if (exceptionDetails !== undefined) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
    return result.value;
  }
}

/** The audit log verifies with `bridle audit verify --instance`; returns its text. */
export async function verifiedLog(worker, dir, instance) {
  const log = await worker.evaluate(() => self.bridle.auditLog());
  const file = join(dir, `audit-${Date.now()}.jsonl`);
  await writeFile(file, log);
  const verified = bridle(["audit", "verify", "--json", "--instance", instance, file]);
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  return log;
}

/** Approval windows already answered (closed windows may linger in `pages()` briefly). */
const answered = new WeakSet();

/** Clicks `button` in the next approval window once it opens; returns its shown origin. */
export async function answerApproval(context, button, stopped = () => false, meanwhile = undefined) {
  let popup;
  for (let tries = 0; popup === undefined; tries += 1) {
    if (tries > 600 || stopped()) throw new Error("no approval window opened");
    popup = context.pages().find((p) => p.url().includes("/popup.html") && !answered.has(p));
    if (popup === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  answered.add(popup);
  const choice = popup.getByRole("button", { name: button });
  await choice.waitFor();
  await popup.waitForFunction((name) => {
    const b = [...document.querySelectorAll("button")].find((x) => x.textContent.trim() === name);
    return b !== undefined && !b.disabled;
  }, button);
  const origin = await popup.locator("#origin").textContent();
  await meanwhile?.();
  await choice.click({ noWaitAfter: true }).catch((error) => {
    if (!/closed/.test(error.message)) throw error;
  });
  return { origin };
}

/** `[index, verb, ok]` of every step. */
export const stepSummary = (result) => result.steps.map((s) => [s.index, s.verb, s.ok]);
