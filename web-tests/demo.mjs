// `make demo`: Bridle end to end on this machine. Starts the reference planner
// (`bridle planner serve`) and a demo shop on 127.0.0.1, launches Chromium with the built
// extension (a window when a display is present, headless otherwise), pairs the two on the
// extension's options page, stores the card number in the extension's vault, and sends a
// shopping script through the planner (`bridle planner run`): searches, a cart, a form with
// the secret, and a checkout that asks for approval. Then exports the audit log to
// target/demo/audit.jsonl and verifies it with `bridle audit verify`.
//
// Usage: node demo.mjs [--deny] [--headless]
//   --deny      deny the checkout in the approval window (the denial path)
//   --headless  no window even when a display is present

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { extensionOrigin, launchWithExtension, serviceWorker } from "./lib/browser.mjs";
import { BRIDLE_BIN, DIST_CHROME, ROOT } from "./lib/paths.mjs";

const args = new Set(process.argv.slice(2));
for (const arg of args) {
  if (arg !== "--deny" && arg !== "--headless") {
    console.error(`usage: node demo.mjs [--deny] [--headless] (unknown: ${arg})`);
    process.exit(2);
  }
}
const DENY = args.has("--deny");
const HEADLESS = args.has("--headless") || !process.env.DISPLAY;
const OUT = join(ROOT, "target/demo");
/** A made-up card number: it is typed into the demo shop only. */
const CARD = "4242 4242 4242 4242";

const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const say = (text) => console.log(`\n${bold(`== ${text}`)}`);

/** Serves the demo shop at /shop.html on an ephemeral port. */
async function serveShop() {
  const page = await readFile(join(ROOT, "examples/demo/shop.html"));
  const server = createServer((req, res) => {
    if (new URL(req.url ?? "/", "http://127.0.0.1").pathname !== "/shop.html") {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

/** Starts `bridle planner serve` and reads its pairing string and address. */
async function startPlanner() {
  const child = spawn(
    BRIDLE_BIN,
    ["planner", "serve", "--key", join(OUT, "planner.key"), "--name", "demo-planner", "--listen", "127.0.0.1:0"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout });
  const first = {};
  for await (const line of lines) {
    const [key, ...rest] = line.split(": ");
    if (key === "pairing" || key === "listening") first[key] = rest.join(": ");
    if (first.pairing !== undefined && first.listening !== undefined) break;
  }
  if (first.pairing === undefined || first.listening === undefined) {
    throw new Error("bridle planner serve did not print its pairing string and address");
  }
  // The planner's own log goes on in the background; keep it out of the demo's output.
  lines.on("line", () => undefined);
  return { child, pairing: first.pairing, endpoint: first.listening };
}

/** Pairs the planner and stores the card on the extension's options page, as a user does. */
async function setUpExtension(context, worker, pairing) {
  const page = await context.newPage();
  await page.goto(`${extensionOrigin(worker)}/options.html`);
  await page.getByLabel("Pairing string (fills the fields below)").fill(pairing);
  await page.getByRole("button", { name: "Pair planner" }).click();
  await page.getByText("Planner demo-planner paired.").waitFor();
  await page.getByLabel("Entry name").fill("demo-card");
  await page.getByLabel("Secret", { exact: true }).fill(CARD);
  await page.getByRole("button", { name: "Save secret" }).click();
  await page.getByText("Secret demo-card saved.").waitFor();
  await page.close();
}

/** Answers approval windows as they open: by pressing the button (headless), or by waiting
 * for the user. Returns a list of what was asked and answered. */
function watchApprovals(context) {
  const answers = [];
  context.on("page", async (popup) => {
    try {
      await popup.waitForURL(/popup\.html/, { timeout: 10_000 });
      await popup.waitForFunction(() => !document.querySelector("#approve-once")?.disabled, null, { timeout: 10_000 });
      const step = (await popup.locator("#step").textContent())?.trim() ?? "";
      const origin = (await popup.locator("#origin").textContent())?.trim() ?? "";
      const values = (await popup.locator("#values").textContent())?.trim() ?? "";
      const button = DENY && /Place order/.test(step) ? "Deny" : "Approve once";
      console.log(`\n${bold("approval asked")} on ${origin}: ${step}${values ? ` (values: ${values})` : ""}`);
      if (HEADLESS) {
        console.log(`  no display: pressing "${button}" in the approval window for you`);
        await popup.getByRole("button", { name: button }).click({ noWaitAfter: true }).catch(() => undefined);
        answers.push({ step, button });
      } else {
        console.log(`  answer in the Bridle approval window (${DENY ? "Deny the checkout to see the denial path" : "Approve once to go on"})`);
        await popup.waitForEvent("close", { timeout: 0 });
        answers.push({ step, button: "(answered by you)" });
      }
    } catch {
      // Not an approval window (the run's tab, the options page).
    }
  });
  return answers;
}

/** Runs a command with its output shown; its exit code. */
function run(command, commandArgs) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

async function main() {
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  const started = Date.now();

  say("a demo shop on 127.0.0.1");
  const shop = await serveShop();
  console.log(`${shop.origin}/shop.html`);

  say("the reference planner: bridle planner serve");
  const planner = await startPlanner();
  console.log(`listening on ${planner.endpoint}\npairing string: ${planner.pairing.slice(0, 48)}…`);

  let browser;
  try {
    say(`Chromium with the extension (${HEADLESS ? "headless: no display" : "a window on your display"})`);
    browser = await launchWithExtension(DIST_CHROME, { headless: HEADLESS });
    const worker = await serviceWorker(browser.context);
    const instance = await worker.evaluate(() => self.bridle.instanceId());
    console.log(`instance ${instance}`);

    say("pairing the planner and storing the card in the extension's vault (options page)");
    await setUpExtension(browser.context, worker, planner.pairing);
    console.log("paired demo-planner; vault entry demo-card saved (the planner never sees it)");

    const template = await readFile(join(ROOT, "examples/demo/checkout.bridle.in"), "utf8");
    const script = join(OUT, "checkout.bridle");
    await writeFile(script, template.replaceAll("SHOP_ORIGIN", shop.origin));
    say(`bridle planner run ${script}${DENY ? " (denying the checkout)" : ""}`);
    const answers = watchApprovals(browser.context);
    const control = planner.endpoint.replace(/\/bridle$/, "");
    const code = await run(BRIDLE_BIN, ["planner", "run", script, "--planner", control, "--wait-instance", "30s"]);

    say("the audit log, exported to target/demo/audit.jsonl and verified");
    const log = await worker.evaluate(() => self.bridle.auditLog());
    const auditFile = join(OUT, "audit.jsonl");
    await writeFile(auditFile, log);
    if (log.includes(CARD)) throw new Error("the card number is in the audit log");
    const verified = await run(BRIDLE_BIN, ["audit", "verify", "--instance", instance, auditFile]);

    say("summary");
    for (const a of answers) console.log(`approval: ${a.step} → ${a.button}`);
    console.log(`planner run exited ${code}; audit verify exited ${verified}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const expected = DENY ? 1 : 0;
    if (code !== expected || verified !== 0) {
      console.error(DENY ? "the checkout was expected to be denied" : "the run was expected to complete");
      process.exitCode = 1;
    } else {
      console.log(DENY ? "the checkout was denied: the order was not placed" : "the order was placed after your approval");
    }
  } finally {
    await browser?.close();
    planner.child.kill();
    shop.server.close();
  }
}

main().catch((error) => {
  console.error(`demo failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
