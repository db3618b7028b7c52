// Frames in Chromium: ../fixtures/frames.html on 127.0.0.1 embeds frame-child.html from the
// same origin, from localhost on another port (cross-origin), and once more hidden. The
// snapshot holds every frame, each joined to its parent frame (from the browser) and to the
// <iframe> element holding it (the hello-token protocol); `in frame` targets resolve in
// them; steps act inside a cross-origin frame; every frame's content script answers by the
// time the browser reports its load; a wait wakes when a frame arrives late; a frame whose
// document was replaced after the decision is not acted on; about:blank and srcdoc frames
// are read and acted in too.
//
// Build first: `make dist`. Run: `node --test tests/frames.test.mjs`.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { snapshotOf } from "../lib/browser.mjs";
import { answerApproval, freshBrowser, runScript, runSuite, script, verifiedLog } from "../lib/fixtures.mjs";

/** `probe()`'s first non-null value, asked every 50 ms (a test's own polling, for at most 10 s). */
async function waitUntil(probe, ms = 10_000) {
  for (const until = Date.now() + ms; Date.now() < until; ) {
    const got = await probe();
    if (got !== null) return got;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not within ${ms} ms`);
}

/**
 * What the browser and a fresh snapshot say about every tab's frames, printed when a run that
 * needed the cross-origin frame failed. That is how the frame Playwright left paused was found
 * (`IN_PROCESS`): still `about:blank`, its tab `loading`.
 */
async function printFrames(worker) {
  const seen = await worker.evaluate(async () => {
    const out = [];
    for (const t of await chrome.tabs.query({})) {
      const frames = await chrome.webNavigation.getAllFrames({ tabId: t.id });
      out.push({ tab: t.id, url: t.url, status: t.status, active: t.active, frames });
      try {
        const snap = JSON.parse(await self.bridleTest.snapshotTab(t.id));
        out.push({ snapFrames: snap.frames.map((f) => [f.id, f.url, f.nodes.length]) });
      } catch (e) {
        out.push({ snapError: String(e) });
      }
    }
    return out;
  });
  console.log("frames on failure:", JSON.stringify(seen));
}

/** The text directly inside the element with id `id` in snapshot frame `frame` ("" if none). */
function textOf(frame, id) {
  const node = frame.nodes.find((n) => n.attrs?.id === id);
  return (node?.kids ?? []).filter((k) => typeof k === "string").join("");
}

/** For runs of pages with cross-origin iframes: no out-of-process iframes, which Playwright can
 * leave paused for good in the extension's windows (`freshBrowser` in lib/fixtures.mjs). The
 * tests that open their page themselves keep site isolation. */
const IN_PROCESS = { siteIsolation: false };

const NAME = "frames-planner";

const resolve = (worker, snapshot, target, purpose = "act") =>
  worker.evaluate(([s, t, p]) => self.bridleTest.resolveTarget(s, t, p), [snapshot, target, purpose]);

describe("frames in Chromium", { timeout: 600_000 }, () => {
  let dir;
  let planner;
  let site;
  let b;
  runSuite("frames", (s) => ({ dir, planner, site } = s), () => b);

  const framesUrl = () => `${site.base}/frames.html?cross=${encodeURIComponent(site.cross)}`;
  /** Runs `lines` in the current browser `b`, with a token for `origins`; the result. */
  const run = (origins, lines) =>
    runScript({ ...b, dir, planner, name: NAME, origins, script: script(origins, lines) });

  test("every frame is in the snapshot, joined to its parent and to its <iframe>", { timeout: 120_000 }, async () => {
    b = await freshBrowser(planner, NAME);
    const page = await b.browser.context.newPage();
    await page.goto(framesUrl());
    const snapshot = await snapshotOf(b.worker, framesUrl(), 3);
    const frames = JSON.parse(snapshot).frames;
    assert.equal(frames.length, 4);
    const [top, ...children] = frames;
    assert.equal(top.id, 0);
    assert.equal(top.parent, undefined);
    assert.equal(top.title, "Frames");
    const iframeTitle = (f) => top.nodes.find((n) => n.id === f.owner)?.attrs?.title;
    const byTitle = Object.fromEntries(children.map((f) => [iframeTitle(f), f]));
    assert.deepEqual(Object.keys(byTitle).sort(), ["Hidden", "Payment", "Same-origin widget"]);
    for (const f of children) {
      assert.equal(f.parent, 0);
      assert.equal(top.nodes.find((n) => n.id === f.owner).tag, "iframe");
      assert.ok(f.id > 0);
    }
    // Origins come from the browser.
    assert.equal(byTitle.Payment.origin, site.cross);
    assert.equal(byTitle["Same-origin widget"].origin, site.base);

    // Three visible "Pay" buttons (the hidden frame's is out of the tree): ambiguous, listed
    // with their frames.
    const all = await resolve(b.worker, snapshot, 'button "Pay"');
    assert.equal(all.code, "ambiguous", JSON.stringify(all));
    assert.equal(all.candidates.length, 3);
    assert.ok(all.candidates.some((c) => c.includes(`in frame ${site.cross}`)), all.candidates.join("\n"));

    // `in frame` picks the cross-origin one, which may be acted on (its frame is placed).
    const cross = await resolve(b.worker, snapshot, `button "Pay" in frame "${site.cross}"`);
    assert.equal(cross.ok, true, JSON.stringify(cross));
    assert.equal(cross.handle.frame, byTitle.Payment.id);
    // A scope inside a frame: the same-origin frame's form, not the top page's button.
    const same = await resolve(b.worker, snapshot, `textbox "Card holder" in form "Card" in frame "${site.base}"`);
    assert.equal(same.ok, true, JSON.stringify(same));
    assert.equal(same.handle.frame, byTitle["Same-origin widget"].id);
  });

  test("steps act inside a cross-origin iframe and read from it", { timeout: 120_000 }, async () => {
    // "Pay" is a sensitive word: standing click grants on both origins let the clicks run unasked.
    const standing = (origin) => `\n[[site]]\norigin = "${origin}"\nstanding = [{ verb = "click" }]\n`;
    b = await freshBrowser(planner, NAME, standing(site.base) + standing(site.cross), IN_PROCESS);
    const result = await run([site.base, site.cross], [
      `navigate "${framesUrl()}"`,
      `wait for button "Pay" in frame "${site.cross}" to be visible timeout 10s`,
      `fill textbox "Card holder" in frame "${site.cross}" with "Ada"`,
      `click button "Pay" in frame "${site.cross}"`,
      `fill textbox "Card holder" in form "Card" in frame "${site.base}" with "Bob"`,
      `click button "Pay" in form "Card" in frame "${site.base}"`,
      `wait for text "cross paid by Ada" to be visible timeout 5s`,
      `let s = text of status in frame "${site.cross}"`,
      "return s",
    ]);
    if (result.outcome !== "completed") await printFrames(b.worker);
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.value, "cross paid by Ada");
    // Every frame's status as the extension reads it (Playwright's view of the extension's
    // windows is not to be trusted: `freshBrowser`).
    const [top, ...children] = JSON.parse(await snapshotOf(b.worker, framesUrl(), 3)).frames;
    const got = Object.fromEntries(children.map((f) => [new URL(f.url).searchParams.get("who"), textOf(f, "status")]));
    assert.deepEqual(got, { same: "same paid by Bob", cross: "cross paid by Ada", hidden: "" });
    // The top page's own "Pay" was never clicked.
    assert.equal(textOf(top, "top-log"), "");
    await verifiedLog(b.worker, dir, b.instance);
  });

  test("every frame's content script listens by the time the browser reports its load", { timeout: 120_000 }, async () => {
    // A wait wakes on the tab's and the frames' load events from the browser and then reads
    // every frame: that only works if each frame can answer by then. `run_at: document_end`
    // injects before the load; document_idle may inject after it.
    b = await freshBrowser(planner, NAME);
    await b.worker.evaluate(() => {
      self.probes = [];
      chrome.webNavigation.onCompleted.addListener((d) => {
        if (!d.url.startsWith("http")) return;
        // An empty late hit test: any content script answers it with [].
        const probe = { kind: "hit-request", protocol: 1, nodes: [] };
        chrome.tabs.sendMessage(d.tabId, probe, { frameId: d.frameId }).then(
          (reply) => self.probes.push([new URL(d.url).search, JSON.stringify(reply)]),
          (error) => self.probes.push([new URL(d.url).search, String(error)]),
        );
      });
    });
    const page = await b.browser.context.newPage();
    await page.goto(framesUrl());
    // The top page and its three frames.
    const probes = await waitUntil(() => b.worker.evaluate(() => (self.probes.length >= 4 ? self.probes : null)));
    assert.deepEqual(
      probes.map(([query, reply]) => [new URLSearchParams(query).get("who") ?? "top", reply]).sort(),
      [["cross", "[]"], ["hidden", "[]"], ["same", "[]"], ["top", "[]"]],
    );
  });

  test("a wait wakes when a frame arrives, even when the page hides its load", { timeout: 120_000 }, async () => {
    // The frame is inserted after the page loaded, its document comes 1.5 s late, and the page
    // swallows element `load` events, so the content script's watcher never hears the frame
    // come; the frame is removed 8 s after it was inserted. Only the browser can wake the
    // wait in time: here the tab's status (Chromium reports subframe loads there too) and the
    // frame's `webNavigation.onCompleted`; firefox.test.mjs runs the same page, where only
    // the latter comes.
    b = await freshBrowser(planner, NAME, "", IN_PROCESS);
    const url = `${site.base}/late-frame.html?cross=${encodeURIComponent(site.cross)}`;
    const result = await run([site.base, site.cross], [
      `navigate "${url}"`,
      `wait for button "Pay" in frame "${site.cross}" to be visible timeout 12s`,
      `let s = text of button "Pay" in frame "${site.cross}"`,
      "return s",
    ]);
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.value, "Pay");
  });

  test("about:blank and srcdoc frames are read, joined and acted in", { timeout: 120_000 }, async () => {
    b = await freshBrowser(planner, NAME, `\n[[site]]\norigin = "${site.base}"\nstanding = [{ verb = "click" }]\n`);
    const url = `${site.base}/inline-frames.html`;
    const page = await b.browser.context.newPage();
    await page.goto(url);
    const frames = JSON.parse(await snapshotOf(b.worker, url, 2)).frames;
    const [top, ...children] = frames;
    const owner = (f) => top.nodes.find((n) => n.id === f.owner)?.attrs?.title;
    assert.deepEqual(
      children.map((f) => [owner(f), f.url, f.origin, f.parent]).sort(),
      [
        ["Blank widget", "about:blank", site.base, 0],
        ["Inline widget", "about:srcdoc", site.base, 0],
      ],
    );
    await page.close();
    const result = await run([site.base], [
      `navigate "${url}"`,
      `click button "Confirm inline"`,
      `wait for text "inline clicked" to be visible timeout 5s`,
      `click button "Confirm blank"`,
      `wait for text "blank clicked" to be visible timeout 5s`,
      `let s = text of css "#log"`,
      "return s",
    ]);
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.value, "the parent saw the click");
    await verifiedLog(b.worker, dir, b.instance);
  });

  test("a frame whose document was replaced after the decision is not acted on", { timeout: 120_000 }, async () => {
    // Clicks in the cross-origin frame ask: while the approval window is open, the frame
    // navigates to another document of the same origin with the same layout.
    b = await freshBrowser(planner, NAME, `\n[[site]]\norigin = "${site.cross}"\nask = ["click"]\n`, IN_PROCESS);
    const url = `${framesUrl()}&swap=1`;
    const swap = async () => {
      // The page swaps the frame on the server's cue; the new document's content script is
      // ready once the extension reads the frame.
      site.signal("swap");
      const seen = async () => (await snapshotOf(b.worker, url)).includes("who=swapped") || null;
      const swapped = await waitUntil(seen).catch(() => false);
      assert.ok(swapped, `the frame was not swapped; served: ${site.served.join(" ")}`);
    };
    // Swap while the window is open, then approve.
    const approval = answerApproval(b.browser.context, "Approve once", undefined, swap);
    const result = await run([site.base, site.cross], [`navigate "${url}"`, `click button "Pay" in frame "${site.cross}"`]);
    await approval.catch(() => undefined);
    if (result.error?.code !== "act-failed") await printFrames(b.worker);
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "act-failed", JSON.stringify(result.error));
    assert.match(result.error.message, /gone|changed|no longer/, result.error.message);
    const frames = JSON.parse(await snapshotOf(b.worker, url, 3)).frames;
    const swapped = frames.find((f) => f.url.includes("who=swapped"));
    assert.equal(textOf(swapped, "status"), "");
    assert.ok(site.served.some((u) => u.includes("who=swapped")));
  });
});
