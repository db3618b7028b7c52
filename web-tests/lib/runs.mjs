// What the approval, hostile-page and navigation-guard suites share: the fixture servers (a
// home origin on 127.0.0.1 and a foreign one, the same machine named `localhost` on another
// port), a fresh browser per test, runs with tokens minted by the CLI, the approval windows
// each run opens, and the audit log checked with `bridle audit verify`.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchWithExtension, serviceWorker } from "./browser.mjs";
import { bridle, buildCli, mintToken, newKeyPair, policyTrusting } from "./cli.mjs";
import { DIST_CHROME, ROOT } from "./paths.mjs";

export const PLANNER_NAME = "test-planner";
const HOSTILE = join(ROOT, "web-tests/fixtures/hostile");

function listen(handler) {
  const server = createServer((req, res) => {
    handler(req, res).catch((error) => {
      res.writeHead(500).end(String(error));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/**
 * What every fixture page gets in place of `{{REPORT}}`: `report(what)` tells the server what
 * the page did, and a loop asks the server for the test's signals (`onSignal({name: fn})`
 * adds handlers; `dump` posts the page's #log). The tests read the page through its server
 * rather than through Playwright, which can lose track of a tab the extension navigated.
 */
function reportScript(name) {
  return `<script>
  (() => {
    const page = ${JSON.stringify(name)};
    const handlers = {
      dump: () => fetch("/dump?page=" + page, { method: "POST", body: document.getElementById("log")?.textContent ?? "" }),
    };
    window.report = (what) => { fetch("/log?page=" + page + "&what=" + encodeURIComponent(what), { keepalive: true }).catch(() => {}); };
    window.onSignal = (more) => Object.assign(handlers, more);
    (async () => {
      for (;;) {
        let signal;
        try { signal = await (await fetch("/signal?page=" + page)).text(); } catch { return; }
        handlers[signal]?.();
      }
    })();
  })();
  </script>`;
}

/**
 * Two servers on 127.0.0.1, ephemeral ports. `home` (http://127.0.0.1:P) serves
 * fixtures/hostile/NAME.html at /hostile/NAME.html with `{{HOME}}`, `{{FOREIGN}}` and
 * `{{REPORT}}` filled in, and /hostile/redirect, a 302 to the foreign landing page; it keeps
 * the pages' reports and passes the test's signals to them. `foreign` (http://localhost:Q: a
 * different origin) serves the landing page and records every request's path in `hits`.
 */
export async function serveFixtures() {
  const foreign = { hits: [] };
  const home = { reports: [], waiting: new Map(), queued: new Map(), dumps: new Map() };
  const page = async (res, name) => {
    if (!/^[a-z-]+\.html$/.test(name)) return res.writeHead(404).end("not found");
    const text = (await readFile(join(HOSTILE, name), "utf8"))
      .replaceAll("{{REPORT}}", reportScript(name.replace(/\.html$/, "")))
      .replaceAll("{{HOME}}", home.base)
      .replaceAll("{{FOREIGN}}", foreign.base);
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(text);
  };
  const list = (map, key) => {
    if (!map.has(key)) map.set(key, []);
    return map.get(key);
  };
  /** Sends `signal` to a page named `name` (now, or when it next asks). */
  home.signal = (name, signal) => {
    const waiting = list(home.waiting, name);
    // A page that went away leaves its request behind, closed.
    while (waiting.length > 0 && (waiting[0].socket === null || waiting[0].socket.destroyed)) waiting.shift();
    const waiter = waiting.shift();
    if (waiter) waiter.writeHead(200, { "content-type": "text/plain" }).end(signal);
    else list(home.queued, name).push(signal);
  };
  /** The #log of the page named `name`, as the page itself reports it. */
  home.dump = (name) =>
    new Promise((resolve) => {
      list(home.dumps, name).push(resolve);
      home.signal(name, "dump");
    });
  home.server = await listen(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    if (path === "/hostile/redirect") {
      res.writeHead(302, { location: `${foreign.base}/hostile/landing.html?from=server&token=s3cret` }).end();
      return;
    }
    if (path === "/favicon.ico") return res.writeHead(204).end();
    const name = url.searchParams.get("page") ?? "";
    if (path === "/log") {
      home.reports.push({ page: name, what: url.searchParams.get("what") });
      return res.writeHead(204).end();
    }
    if (path === "/signal") {
      const queued = list(home.queued, name).shift();
      if (queued !== undefined) return res.writeHead(200, { "content-type": "text/plain" }).end(queued);
      list(home.waiting, name).push(res);
      return undefined;
    }
    if (path === "/dump") {
      let body = "";
      for await (const chunk of req) body += chunk;
      list(home.dumps, name).shift()?.(body);
      return res.writeHead(204).end();
    }
    if (path.startsWith("/hostile/")) return page(res, path.slice("/hostile/".length));
    res.writeHead(404).end("not found");
  });
  foreign.server = await listen(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    foreign.hits.push(path);
    if (path === "/hostile/landing.html") return page(res, "landing.html");
    res.writeHead(204).end();
  });
  home.base = `http://127.0.0.1:${home.server.address().port}`;
  foreign.base = `http://localhost:${foreign.server.address().port}`;
  return {
    home,
    foreign,
    close: () => {
      home.server.closeAllConnections();
      foreign.server.closeAllConnections();
      home.server.close();
      foreign.server.close();
    },
  };
}

/** The approval window of `page`'s fields, as the user sees them. */
export async function readPopup(popup) {
  await popup.locator("#details").waitFor();
  const text = async (id) => (await popup.locator(`#${id}`).textContent()).trim();
  const items = async (id) => (await popup.locator(`#${id} > li`).allTextContents()).map((t) => t.trim());
  return {
    origin: await text("origin"),
    step: await text("step"),
    element: await text("element"),
    values: await items("values"),
    amount: await text("amount"),
    risk: await text("risk"),
    reasons: await items("reasons"),
    goal: await text("goal"),
    goalLabel: (await popup.locator("dt", { hasText: "Goal" }).textContent()).trim(),
    plan: await items("plan"),
    current: (await popup.locator("#plan > li[aria-current=step]").allTextContents()).map((t) => t.trim()),
    status: await text("status"),
    body: await popup.locator("body").textContent(),
  };
}

/** Clicks the approval window's `name` button once it is enabled. The window closes itself
 * once the answer is sent, possibly before Playwright's click returns. */
export async function clickPopup(popup, name) {
  await popup.waitForFunction((label) => {
    const b = [...document.querySelectorAll("button")].find((x) => x.textContent.trim() === label);
    return b !== undefined && !b.disabled;
  }, name);
  await popup
    .getByRole("button", { name, exact: true })
    .click({ noWaitAfter: true })
    .catch((error) => {
      if (!/closed/.test(error.message)) throw error;
    });
}

/**
 * One suite's state: call `setup()` in `before`, `launch()` in `beforeEach` (a fresh browser
 * per test: a second run in one browser can find its tab `unloaded`), `close()` in
 * `afterEach`, `teardown()` in `after`.
 */
export class Harness {
  async setup() {
    assert.ok(existsSync(join(DIST_CHROME, "manifest.json")), `no ${DIST_CHROME}: run \`make dist\` first`);
    this.dir = await mkdtemp(join(tmpdir(), "bridle-hostile-"));
    buildCli(this.dir);
    this.planner = newKeyPair();
    this.sites = await serveFixtures();
    this.home = this.sites.home.base;
    this.foreign = this.sites.foreign.base;
  }

  /** A fresh browser whose policy trusts the test planner, plus `policyExtra`. */
  async launch(policyExtra = "") {
    this.browser = await launchWithExtension(DIST_CHROME);
    this.context = this.browser.context;
    this.worker = await serviceWorker(this.context);
    this.instance = await this.worker.evaluate(() => self.bridle.instanceId());
    const policy = policyTrusting(this.planner, PLANNER_NAME) + policyExtra;
    await this.worker.evaluate((t) => self.bridle.setPolicy(t), policy);
    this.sites.foreign.hits.length = 0;
    this.sites.home.reports.length = 0;
    // Signals and dumps of the last test's pages are dropped with its browser.
    for (const map of [this.sites.home.waiting, this.sites.home.queued, this.sites.home.dumps]) map.clear();
  }

  async close() {
    await this.browser?.close();
    this.browser = undefined;
  }

  async teardown() {
    this.sites?.close();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  /** The standard script header. */
  header(goal, origins = [this.home]) {
    return ["bridle 1", `goal "${goal}"`, `origins ${origins.map((o) => `"${o}"`).join(", ")}`, ""];
  }

  /**
   * Mints a token for `lines` (the whole script) and runs it. `onPopup(popup, n)` is called
   * for each approval window as it opens (n from 0); without it, a window is left to time out
   * or be closed by the run. `secrets`: vault entries the token lets the script fill.
   * Returns {result, popups}: the windows seen.
   */
  async run(lines, { verbs, origins = [this.home], secrets = [], onPopup } = {}) {
    const script = `${lines.join("\n")}\n`;
    const scriptFile = join(this.dir, `script-${Date.now()}-${Math.random()}.bridle`);
    await writeFile(scriptFile, script);
    const token = secrets.length === 0
      ? mintToken({
          planner: this.planner,
          iss: PLANNER_NAME,
          instance: this.instance,
          scriptFile,
          origins,
          verbs: verbs ?? ["navigate", "click", "fill", "submit"],
        })
      : this.mintWithSecrets(scriptFile, origins, verbs ?? ["navigate", "fill"], secrets);
    const seen = new Set();
    const popups = [];
    const handlers = [];
    let running = true;
    // Approval windows are found by URL (the page may first report an empty one).
    const watcher = (async () => {
      while (running) {
        for (const p of this.context.pages()) {
          if (seen.has(p) || !p.url().includes("/popup.html")) continue;
          seen.add(p);
          popups.push(p);
          if (onPopup) handlers.push(onPopup(p, popups.length - 1));
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    let result;
    try {
      result = await this.worker.evaluate(([s, t]) => self.bridle.run(s, t), [script, token]);
    } finally {
      running = false;
      await watcher;
    }
    try {
      await Promise.all(handlers);
    } catch (error) {
      throw new Error(`${error.message}; the run ended: ${JSON.stringify(result)}`);
    }
    return { result, popups };
  }

  /** What the page `name` (fixtures/hostile/NAME.html) logged, as it reports it now. */
  async pageLog(name) {
    const text = await this.sites.home.dump(name);
    return text.split(";").filter((s) => s !== "");
  }

  /** Resolves once the page `name` has reported `what`. */
  async reported(name, what) {
    for (let tries = 0; tries < 400; tries += 1) {
      if (this.sites.home.reports.some((r) => r.page === name && r.what === what)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.fail(`the page ${name} never reported ${what}`);
  }

  /** Sends the page `name` a signal (`swap`, `go-away`, `press-fakes`). */
  signal(name, what) {
    this.sites.home.signal(name, what);
  }

  /** `bridle token mint` with `--secret` for each entry (lib/cli.mjs mints without). */
  mintWithSecrets(scriptFile, origins, verbs, secrets) {
    const args = ["token", "mint", `--key=${this.planner.secret_key}`, "--iss", PLANNER_NAME, "--aud", this.instance];
    args.push("--script", scriptFile);
    for (const origin of origins) args.push("--origin", origin);
    for (const verb of verbs) args.push("--verb", verb);
    for (const secret of secrets) args.push("--secret", secret);
    const out = bridle(args);
    assert.equal(out.status, 0, `bridle token mint failed: ${out.stderr}`);
    return out.stdout.trim();
  }

  /** The audit log, verified with `bridle audit verify --instance`; its entries parsed. */
  async auditEntries() {
    const log = await this.worker.evaluate(() => self.bridle.auditLog());
    const file = join(this.dir, `audit-${Date.now()}.jsonl`);
    await writeFile(file, log);
    const verified = bridle(["audit", "verify", "--json", "--instance", this.instance, file]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    return log
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
  }

  /** The last run's entries: from its run-start on. */
  async lastRunEntries() {
    const entries = await this.auditEntries();
    const start = entries.findLastIndex((e) => e.kind === "run-start");
    return entries.slice(start);
  }
}
