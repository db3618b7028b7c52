// The PEP's conformance vectors (tests/vectors/decisions.json) replayed by the wasm build
// inside the real extension: the service worker's `self.bridleTest.replayVectors` runs the
// same replay (`bridle_executor::vectors`) as the native `cargo test --test vectors`, and
// every vector must come out with the decisions, risks, reasons and token verdict the file
// holds — a native-versus-wasm differential test of the decision code.
//
// Build first: `make dist`. Run: `node --test tests/vectors.test.mjs`.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { launchWithExtension, serviceWorker } from "../lib/browser.mjs";
import { DIST_CHROME, ROOT } from "../lib/paths.mjs";

const VECTORS = join(ROOT, "tests/vectors/decisions.json");

const replay = (worker, json) => worker.evaluate((j) => self.bridleTest.replayVectors(j), json);

describe("conformance vectors in the wasm build (Chromium)", { timeout: 240_000 }, () => {
  let browser;
  let worker;
  let text;
  let stored;

  before(async () => {
    assert.ok(existsSync(join(DIST_CHROME, "manifest.json")), `no ${DIST_CHROME}: run \`make dist\` first`);
    text = await readFile(VECTORS, "utf8");
    stored = JSON.parse(text);
    browser = await launchWithExtension(DIST_CHROME);
    worker = await serviceWorker(browser.context);
  });

  after(async () => {
    await browser?.close();
  });

  test("every vector gets the native decisions", async (t) => {
    // The native generator asserts at least 20; an empty or truncated file must not pass.
    assert.ok(stored.length >= 20, `only ${stored.length} vectors in ${VECTORS}`);
    const log = await worker.evaluate(() => self.bridle.auditLog());
    const replayed = await replay(worker, text);
    assert.equal(replayed.length, stored.length, "one result per vector");
    let steps = 0;
    for (const [i, v] of stored.entries()) {
      assert.equal(replayed[i].name, v.name);
      // Compared here as well as in the wasm: the file's expectation against what wasm decided.
      assert.deepStrictEqual(replayed[i].got, v.expected, `vector \`${v.name}\``);
      assert.equal(replayed[i].agrees, true, `vector \`${v.name}\``);
      steps += v.expected.decisions.length;
    }
    // The replay uses only the vectors' own inputs: the instance's log is untouched.
    assert.equal(await worker.evaluate(() => self.bridle.auditLog()), log);
    t.diagnostic(`${replayed.length} vectors (${steps} step decisions) agree with the native build`);
  });

  test("a changed expectation is caught, and the wasm's own decision is reported", async () => {
    // The test can fail: each vector's first decision flipped in turn must disagree, while
    // what the wasm decided stays the file's original expectation (it is computed, not copied).
    const tampered = structuredClone(stored);
    for (const v of tampered) {
      const step = v.expected.decisions[0];
      step.decision = step.decision === "deny" ? "allow" : "deny";
    }
    const replayed = await replay(worker, JSON.stringify(tampered));
    assert.equal(replayed.length, stored.length);
    for (const [i, v] of stored.entries()) {
      assert.equal(replayed[i].agrees, false, `tampered vector \`${v.name}\``);
      assert.deepStrictEqual(replayed[i].got, v.expected, `vector \`${v.name}\``);
    }
  });

  test("a broken or oversized file is an error, not a decision", async () => {
    const broken = structuredClone(stored.slice(0, 1));
    broken[0].policy = "[[site]\n";
    await assert.rejects(replay(worker, JSON.stringify(broken)), /vector `shop-preview`: the policy does not load/);
    await assert.rejects(replay(worker, "{}"), /not a JSON array of vectors/);
    await assert.rejects(replay(worker, " ".repeat((1 << 20) + 1)), /over the limit of 1048576/);
    await assert.rejects(replay(worker, 42), /`json` must be a string/);
  });
});
