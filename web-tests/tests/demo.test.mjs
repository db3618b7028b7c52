// `make demo` keeps working: the demo (web-tests/demo.mjs) runs headless end to end, once
// approving the checkout and once denying it, and its exported audit log verifies.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildCli } from "../lib/cli.mjs";
import { DIST_CHROME, ROOT } from "../lib/paths.mjs";

function demo(flags) {
  const out = spawnSync(process.execPath, [join(ROOT, "web-tests/demo.mjs"), "--headless", ...flags], {
    cwd: join(ROOT, "web-tests"),
    encoding: "utf8",
    timeout: 180_000,
  });
  return { status: out.status, output: `${out.stdout}\n${out.stderr}` };
}

describe("make demo", { timeout: 400_000 }, () => {
  let dir;
  before(async () => {
    assert.ok(existsSync(join(DIST_CHROME, "manifest.json")), `no ${DIST_CHROME}: run \`make dist\` first`);
    dir = await mkdtemp(join(tmpdir(), "bridle-demo-"));
    buildCli(dir);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("places the order after approval and verifies the audit log", () => {
    const { status, output } = demo([]);
    assert.equal(status, 0, output);
    assert.match(output, /outcome: completed/);
    assert.match(output, /pressing "Approve once" in the approval window for you/);
    assert.match(output, /the order was placed after your approval/);
    const log = readFileSync(join(ROOT, "target/demo/audit.jsonl"), "utf8");
    assert.ok(log.length > 0 && !log.includes("4242 4242"), "the card number is not in the log");
  });

  test("with --deny the checkout is denied and not placed", () => {
    const { status, output } = demo(["--deny"]);
    assert.equal(status, 0, output);
    assert.match(output, /not-approved/);
    assert.match(output, /the checkout was denied/);
  });
});
