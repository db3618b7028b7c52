// A script's `job` step in Chromium: without the native host the step fails saying how to
// install it; with `bridle host` registered in the test profile (NativeMessagingHosts/), the
// job runs in the container tier after the user approves it, its output lands in the script's
// variable, and the host verifies the job's token itself.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { extensionOrigin, launchWithExtension, serviceWorker } from "../lib/browser.mjs";
import { bridle, buildCli, newKeyPair, policyTrusting } from "../lib/cli.mjs";
// The host runs from the build folder: it starts its sandbox helper (bridle-sandbox-exec)
// from beside its own binary.
import { BRIDLE_BIN, DIST_CHROME } from "../lib/paths.mjs";

const JOBS = '[jobs]\nruntimes = ["sh"]\nmin_tier = "container"\n';
/** A script with one `sh` job in `tier`. */
const scriptIn = (tier) =>
  [
    "bridle 1",
    'goal "Add two numbers"',
    'origins "https://example.com"',
    `let sum = job "sh" sandbox ${tier} timeout 10s <<<`,
    "echo $((40 + 2))",
    ">>>",
    "return sum",
    "",
  ].join("\n");
const SCRIPT = scriptIn("container");

describe("job steps through the native host", { timeout: 240_000 }, () => {
  let dir;
  let planner;
  let browser;
  let worker;
  let instance;

  /** A token for SCRIPT that grants the job. */
  async function token(script = SCRIPT, tier = "container") {
    const scriptFile = join(dir, `job-${tier}.bridle`);
    await writeFile(scriptFile, script);
    const out = bridle([
      "token", "mint", `--key=${planner.secret_key}`, "--iss", "p", "--aud", instance, "--script", scriptFile,
      "--verb", "job", "--runtime", "sh", "--sandbox", tier,
    ]);
    assert.equal(out.status, 0, out.stderr);
    return out.stdout.trim();
  }

  /** Answers the job's approval window once it shows the job. */
  async function approve(running) {
    let ended = null;
    running.then((result) => {
      ended = result;
    });
    let popup;
    for (let tries = 0; popup === undefined; tries += 1) {
      if (ended !== null) throw new Error(`the run ended without asking: ${JSON.stringify(ended)}`);
      if (tries > 1200) throw new Error("no approval window opened");
      popup = browser.context.pages().find((p) => p.url().includes("/popup.html"));
      if (popup === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    await popup.waitForFunction(() => !document.querySelector("#approve-once")?.disabled);
    const step = {
      text: await popup.locator("#step").textContent(),
      job: await popup.locator("#job-runtime").textContent(),
      digest: await popup.locator("#job-digest").textContent(),
      code: await popup.locator("#job-code").textContent(),
    };
    await popup.getByRole("button", { name: "Approve once" }).click({ noWaitAfter: true }).catch(() => undefined);
    return step;
  }

  /** Registers `bridle host` for this profile only, as `bridle host install` would for a user. */
  async function registerHost() {
    const hostPolicy = join(dir, "host-policy.toml");
    await writeFile(hostPolicy, `${policyTrusting(planner, "p")}\n${JOBS}`);
    const launcher = join(dir, "host.sh");
    const state = join(dir, "host-state");
    await writeFile(
      launcher,
      `#!/bin/sh\nBRIDLE_STATE_DIR='${state}' exec '${BRIDLE_BIN}' host --policy '${hostPolicy}' --instance '${instance}' "$@" 2>>'${dir}/host.err'\n`,
    );
    await chmod(launcher, 0o755);
    const manifests = join(browser.profile, "NativeMessagingHosts");
    await mkdir(manifests, { recursive: true });
    await writeFile(
      join(manifests, "dev.bridle.host.json"),
      JSON.stringify({
        name: "dev.bridle.host",
        description: "Bridle's native host (test)",
        path: launcher,
        type: "stdio",
        allowed_origins: [`${extensionOrigin(worker)}/`],
      }),
    );
  }

  before(async () => {
    assert.ok(existsSync(join(DIST_CHROME, "manifest.json")), `no ${DIST_CHROME}: run \`make dist\` first`);
    dir = await mkdtemp(join(tmpdir(), "bridle-jobs-"));
    buildCli(dir);
    planner = newKeyPair();
  });

  beforeEach(async () => {
    browser = await launchWithExtension(DIST_CHROME);
    worker = await serviceWorker(browser.context);
    instance = await worker.evaluate(() => self.bridle.instanceId());
    await worker.evaluate((t) => self.bridle.setPolicy(t), `${policyTrusting(planner, "p")}\n${JOBS}`);
  });

  afterEach(async () => {
    await browser?.close();
  });

  after(async () => {
    if (dir && !process.env.KEEP) await rm(dir, { recursive: true, force: true });
  });

  test("without a native host the job step fails and says how to install one", async () => {
    const running = worker.evaluate(([s, t]) => self.bridle.run(s, t), [SCRIPT, await token()]);
    await approve(running);
    const result = await running;
    assert.equal(result.outcome, "failed");
    assert.equal(result.error.code, "job-failed");
    assert.match(result.error.message, /native host, which is not installed/);
    assert.match(result.error.message, /bridle host install/);
  });

  test("with the host installed the approved job runs in a container and its output is the value", async () => {
    await registerHost();
    const running = worker.evaluate(([s, t]) => self.bridle.run(s, t), [SCRIPT, await token()]);
    const step = await approve(running);
    const result = await running;
    // The approval shows the runtime, tier and limits, the code's digest and its first lines.
    assert.match(step.text, /job "sh"/);
    assert.equal(step.job, "sh in a container sandbox, at most 10 s, default memory");
    assert.match(step.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(step.code, "echo $((40 + 2))");
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.value, "42\n");
    const job = result.steps.find((s) => s.verb === "job");
    assert.deepEqual([job.decision, job.approval, job.ok], ["ask", "once", true]);
  });

  test("the same job runs in a microVM when the script asks for one", async () => {
    await registerHost();
    const script = scriptIn("microvm");
    const running = worker.evaluate(([s, t]) => self.bridle.run(s, t), [script, await token(script, "microvm")]);
    const step = await approve(running);
    const result = await running;
    assert.equal(step.job, "sh in a microvm sandbox, at most 10 s, default memory");
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.value, "42\n");
  });
});
