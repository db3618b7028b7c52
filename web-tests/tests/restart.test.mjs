// A service-worker restart in the middle of a run (Chrome stops idle workers, and may stop a
// busy one): nothing is lost. The run, waiting for approval when the worker is stopped, is
// recorded as interrupted on the next start, the log verifies with nothing left open, the used
// token cannot run again, and the options page says what happened.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { extensionOrigin, launchWithExtension, restartServiceWorker, serviceWorker } from "../lib/browser.mjs";
import { bridle, buildCli, mintToken, newKeyPair, policyTrusting } from "../lib/cli.mjs";
import { serveFixtures } from "../lib/fixtures.mjs";
import { DIST_CHROME } from "../lib/paths.mjs";

describe("a service-worker restart during a run", { timeout: 240_000 }, () => {
  let dir;
  let shop;
  let browser;

  before(async () => {
    assert.ok(existsSync(join(DIST_CHROME, "manifest.json")), `no ${DIST_CHROME}: run \`make dist\` first`);
    dir = await mkdtemp(join(tmpdir(), "bridle-restart-"));
    buildCli(dir);
    shop = await serveFixtures();
  });

  after(async () => {
    await browser?.close();
    shop?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("ends the run with a recorded error, and the used token stays used", async () => {
    const base = shop.base;
    const script = [
      "bridle 1",
      'goal "Place an order"',
      `origins "${base}"`,
      `navigate "${base}/shop.html"`,
      'fill textbox "Name" with "Ada"',
      'submit button "Place order"',
      "",
    ].join("\n");
    const scriptFile = join(dir, "run.bridle");
    await writeFile(scriptFile, script);
    const planner = newKeyPair();
    browser = await launchWithExtension(DIST_CHROME);
    let worker = await serviceWorker(browser.context);
    const instance = await worker.evaluate(() => self.bridle.instanceId());
    await worker.evaluate((t) => self.bridle.setPolicy(t), policyTrusting(planner, "p"));
    const token = mintToken({ planner, iss: "p", instance, scriptFile, origins: [base], verbs: ["navigate", "fill", "submit"] });

    // The run goes until the submit's approval window opens, then the worker is stopped.
    const running = worker.evaluate(([s, t]) => self.bridle.run(s, t), [script, token]).then(
      (result) => ({ result }),
      (error) => ({ error }),
    );
    // The window's page may first report an empty URL: look for it until it shows.
    let popup;
    for (let tries = 0; popup === undefined; tries += 1) {
      if (tries > 1200) throw new Error(`no approval window opened; the run: ${JSON.stringify(await running)}`);
      popup = browser.context.pages().find((p) => p.url().includes("/popup.html"));
      if (popup === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    await popup.getByRole("button", { name: "Deny" }).waitFor();
    worker = await restartServiceWorker(browser.context, worker);
    const ended = await running;
    assert.ok(ended.error !== undefined, `the run's call fails with the worker: ${JSON.stringify(ended.result)}`);

    // The new worker closed the run in the log; the log verifies with nothing open.
    const log = await worker.evaluate(() => self.bridle.auditLog());
    const entries = log.trimEnd().split("\n").map((line) => JSON.parse(line));
    const interrupted = entries.filter((e) => JSON.stringify(e).includes("interrupted: the extension's service worker stopped"));
    // The submit was waiting for approval, so it was never announced (a step entry is written
    // once decided and approved, ahead of acting): only the run is left to close.
    assert.deepEqual(interrupted.map((e) => e.kind), ["run-end"]);
    const file = join(dir, "audit.jsonl");
    await writeFile(file, log);
    const verified = bridle(["audit", "verify", "--json", "--instance", instance, file]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    const report = JSON.parse(verified.stdout);
    assert.equal(report.open_runs?.length ?? 0, 0, verified.stdout);

    // The submit never acted (a step acts only after its entry is written, and there is none),
    // and the token cannot start the run again. (The page is not read through Playwright,
    // which can lose track of a tab the extension navigated.)
    assert.ok(!entries.some((e) => e.kind === "step" && /submit/.test(e.text ?? "")), "no submit entry");
    const again = await worker.evaluate(([s, t]) => self.bridle.run(s, t), [script, token]);
    assert.deepEqual([again.outcome, again.token.code], ["refused", "replayed"]);

    // The options page tells the user.
    const options = await browser.context.newPage();
    await options.goto(`${extensionOrigin(worker)}/options.html`);
    await options.getByText(/1 run\(s\) were interrupted/).waitFor();
  });
});
