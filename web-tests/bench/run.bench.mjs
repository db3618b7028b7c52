// The in-browser benchmark (web-tests/bench/RESULTS.md): on a generated page of about 5,200
// elements (big.html) in the same Chromium,
//
//   1. target resolution by role and name: Bridle (the content script's snapshot, then the
//      Rust resolver in the service worker's wasm, parsing and indexing the snapshot once for
//      all targets) against `@testing-library/dom`'s `queryAllByRole` (what `getByRole` runs)
//      for the same targets in the page;
//   2. one authorised click step (snapshot of every frame, resolution, decision, audit write,
//      fingerprint re-check, the content script's click and its postcondition) against
//      Playwright's own `click()` on the same elements.
//
// Prints the medians and the ratios. Run: `npm run bench` in web-tests/ (after `make dist`),
// or `make web-bench`. Timing lives here, never in the tests.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCli, newKeyPair } from "../lib/cli.mjs";
import { freshBrowser, runScript, script, serveFixtures } from "../lib/fixtures.mjs";
import { ROOT } from "../lib/paths.mjs";
import { referenceScript } from "../lib/reference.mjs";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const CLICKS = Number(process.env.BENCH_CLICKS ?? 10);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const fmt = (ms) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;

/** 40 targets spread over the page and the four roles. */
function targets() {
  const out = [];
  for (let k = 0; k < 10; k += 1) {
    const i = 1 + ((k * 37) % 400);
    out.push(["button", `Add item ${i}`], ["link", `Details ${i + 1}`], ["spinbutton", `Quantity ${i + 2}`], ["cell", `Item ${i + 3}`]);
  }
  return out;
}

const dir = await mkdtemp(join(tmpdir(), "bridle-bench-"));
buildCli(dir);
const planner = newKeyPair();
const site = await serveFixtures({ "/big.html": join(ROOT, "web-tests/bench/big.html") });
const url = `${site.base}/big.html`;
const list = targets();
const lines = [];
const say = (line) => {
  console.log(line);
  lines.push(line);
};

try {
  // ---- 1. resolution ----
  let b = await freshBrowser(planner, "bench");
  const page = await b.browser.context.newPage();
  await page.goto(url);
  const count = await page.evaluate(() => document.querySelectorAll("*").length);
  await page.addScriptTag({ content: await referenceScript() });

  const theirs = [];
  for (let r = 0; r < REPEATS; r += 1) {
    theirs.push(
      await page.evaluate((ts) => {
        const { queryAllByRole } = window.__bridleReference;
        const t0 = performance.now();
        for (const [role, name] of ts) {
          const found = queryAllByRole(document.body, role, { name });
          if (found.length !== 1) throw new Error(`${role} "${name}": ${found.length} matches`);
        }
        return performance.now() - t0;
      }, list),
    );
  }

  const ours = await b.worker.evaluate(
    async ([wanted, ts, repeats]) => {
      let tab;
      for (const t of await chrome.tabs.query({})) if (t.url === wanted || t.pendingUrl === wanted) tab = t;
      const tabs = tab ? [tab] : await chrome.tabs.query({});
      let json;
      for (const t of tabs) {
        try {
          const j = await self.bridleTest.snapshotTab(t.id);
          if (JSON.parse(j).frames[0].url === wanted) {
            json = j;
            tab = t;
          }
        } catch {
          // not this tab
        }
      }
      const snapshotMs = [];
      const resolveMs = [];
      const texts = ts.map(([role, name]) => `${role} "${name}"`);
      for (let r = 0; r < repeats; r += 1) {
        let t0 = performance.now();
        json = await self.bridleTest.snapshotTab(tab.id);
        snapshotMs.push(performance.now() - t0);
        t0 = performance.now();
        const reports = await self.bridleTest.resolveTargets(json, texts, "observe");
        resolveMs.push(performance.now() - t0);
        const bad = reports.filter((x) => !x.ok);
        if (bad.length > 0) throw new Error(JSON.stringify(bad[0]));
      }
      return { snapshotMs, resolveMs, bytes: json.length };
    },
    [url, list, REPEATS],
  );
  const tl = median(theirs);
  const res = median(ours.resolveMs);
  const snap = median(ours.snapshotMs);
  say(`page: ${count} elements, snapshot ${(ours.bytes / 1024).toFixed(0)} KiB of JSON; ${list.length} targets, median of ${REPEATS}`);
  say(`resolution: Bridle ${fmt(res)} (parse + index + ${list.length} targets, wasm) vs Testing Library queryAllByRole ${fmt(tl)}: ratio ${(res / tl).toFixed(4)}`);
  say(`with the snapshot: Bridle ${fmt(snap + res)} (content script ${fmt(snap)} + resolution) vs ${fmt(tl)}: ratio ${((snap + res) / tl).toFixed(4)}`);
  await b.browser.close();

  // ---- 2. one authorised click ----
  const runMs = async (pageUrl, steps) => {
    b = await freshBrowser(planner, "bench");
    const t0 = Date.now();
    const result = await runScript({ ...b, dir, planner, name: "bench", script: script([site.base], [`navigate "${pageUrl}"`, ...steps]), origins: [site.base] });
    const ms = Date.now() - t0;
    if (result.outcome !== "completed") throw new Error(JSON.stringify(result.error));
    // Playwright clicks the same page in a tab of its own (it can lose track of the tab the
    // extension navigated).
    const runPage = await b.browser.context.newPage();
    await runPage.goto(pageUrl);
    return { ms, b, runPage };
  };
  /** Per click: a run of CLICKS clicks minus a run without, against Playwright's click on
   * the same buttons of the same page afterwards. */
  const clickBench = async (label, pageUrl, names) => {
    const perClick = [];
    const pwClick = [];
    for (let r = 0; r < Math.max(1, Math.floor(REPEATS / 2)); r += 1) {
      const base = await runMs(pageUrl, []);
      await base.b.browser.close();
      const withClicks = await runMs(pageUrl, names.map((n) => `click button "${n}"`));
      perClick.push((withClicks.ms - base.ms) / names.length);
      const t0 = performance.now();
      for (const name of names) await withClicks.runPage.getByRole("button", { name, exact: true }).click();
      pwClick.push((performance.now() - t0) / names.length);
      await withClicks.b.browser.close();
    }
    const ours1 = median(perClick);
    const pw = median(pwClick);
    say(`one click step, ${label}: Bridle ${fmt(ours1)} vs Playwright click ${fmt(pw)}: ratio ${(ours1 / pw).toFixed(2)}`);
  };
  await clickBench(`${count}-element page`, url, Array.from({ length: CLICKS }, (_, k) => `Add item ${1 + k * 40}`));
  await clickBench("verbs.html (about 90 elements)", `${site.base}/verbs.html`, Array.from({ length: CLICKS }, () => "Add to cart"));
} finally {
  site.close();
  await rm(dir, { recursive: true, force: true });
}
