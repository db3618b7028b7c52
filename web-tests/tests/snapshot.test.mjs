// The content script's snapshots in a real page: the service worker asks a tab's content
// script for its frame, and the Rust resolver (wasm, through the `self.bridleTest` hooks)
// finds elements by role and name in it. Fixture pages (../fixtures/) are served on 127.0.0.1
// by a server started here.
//
// Build first: `make dist`. Run: `npm test`.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { extensionOrigin, launchWithExtension, serviceWorker, snapshotOf } from "../lib/browser.mjs";
import { DIST_CHROME, ROOT } from "../lib/paths.mjs";

const FIXTURES = join(ROOT, "web-tests/fixtures");
const PAGES = new Set(["labels.html", "shadow.html", "buttons.html"]);

/** Serves the fixture pages on an ephemeral port of 127.0.0.1. */
async function serveFixtures() {
  const server = createServer(async (req, res) => {
    const name = new URL(req.url ?? "/", "http://127.0.0.1").pathname.slice(1);
    if (!PAGES.has(name)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(await readFile(join(FIXTURES, name)));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

function resolve(worker, snapshot, target, purpose = "observe") {
  return worker.evaluate(([s, t, p]) => self.bridleTest.resolveTarget(s, t, p), [snapshot, target, purpose]);
}

describe("page snapshots in Chromium", { timeout: 240_000 }, () => {
  let browser;
  let worker;
  let fixtures;

  before(async () => {
    assert.ok(existsSync(join(DIST_CHROME, "manifest.json")), `no ${DIST_CHROME}: run \`make dist\` first`);
    fixtures = await serveFixtures();
    browser = await launchWithExtension(DIST_CHROME);
    worker = await serviceWorker(browser.context);
  });

  after(async () => {
    await browser?.close();
    fixtures?.server.close();
  });

  /** Opens `name` in a new tab; returns {page, url}. */
  async function open(name) {
    const page = await browser.context.newPage();
    const url = `${fixtures.base}/${name}`;
    await page.goto(url);
    return { page, url };
  }

  test("the test hooks are apart from the four stable functions", async () => {
    const keys = await worker.evaluate(() => [Object.keys(self.bridle).sort(), Object.keys(self.bridleTest).sort()]);
    assert.deepEqual(keys, [
      ["auditLog", "instanceId", "run", "setPolicy"],
      ["applySnapshot", "describePage", "replayVectors", "resolveTarget", "resolveTargets", "setApprovalTimeout", "snapshotTab"],
    ]);
  });

  test("labelled controls resolve to their role and name; secrets are never sent", async () => {
    const { page, url } = await open("labels.html");
    const password = "hunter2-PASSWORD-7f3a";
    const card = "4111-CARD-1111-9d2c";
    await page.fill("#pw", password);
    await page.fill('[autocomplete="cc-number"]', card);
    await page.fill("#email", "ann@example.com");
    const snapshot = await snapshotOf(worker, url);

    // The frame's identity comes from the browser, not the page.
    const frame = JSON.parse(snapshot).frames[0];
    assert.equal(frame.id, 0);
    assert.equal(frame.origin, fixtures.base);
    assert.equal(frame.url, url);
    assert.equal(frame.truncated, false);

    const expected = [
      ['textbox "Email address"', "textbox", "Email address"],
      ['textbox "Full name"', "textbox", "Full name"],
      ['searchbox "Search the shop"', "searchbox", "Search the shop"],
      ['spinbutton "Quantity"', "spinbutton", "Quantity"],
      ['textbox "Promo code"', "textbox", "Promo code"],
      ['textbox "Your city"', "textbox", "Your city"],
      ['img "Company logo"', "img", "Company logo"],
      ['group "Shipping"', "group", "Shipping"],
      ['radio "Express"', "radio", "Express"],
      ['table "Prices"', "table", "Prices"],
      ['textbox "Password"', "textbox", "Password"],
      ['textbox "Card number"', "textbox", "Card number"],
      ['heading "Checkout"', "heading", "Checkout"],
    ];
    for (const [target, role, name] of expected) {
      const found = await resolve(worker, snapshot, target, "act");
      assert.equal(found.ok, true, `${target}: ${found.message}`);
      assert.deepEqual([found.role, found.name, found.handle.frame, found.hit], [role, name, 0, true], target);
    }

    // The live value of an ordinary field is sent; the password and card number are not.
    assert.ok(snapshot.includes('"value":"ann@example.com"'));
    assert.ok(!snapshot.includes(password), "the password reached the snapshot");
    assert.ok(!snapshot.includes(card), "the card number reached the snapshot");
    const pw = await resolve(worker, snapshot, 'textbox "Password"');
    const node = frame.nodes.find((n) => n.id === pw.handle.node);
    assert.equal(node.value_redacted, true);
    assert.equal(node.value, undefined);
    await page.close();
  });

  test("a button in an open shadow root resolves", async () => {
    const { page, url } = await open("shadow.html");
    const snapshot = await snapshotOf(worker, url);
    const found = await resolve(worker, snapshot, 'button "Open cart"', "act");
    assert.equal(found.ok, true, found.message);
    assert.deepEqual([found.role, found.name, found.hit], ["button", "Open cart", true]);
    const host = JSON.parse(snapshot).frames[0].nodes.find((n) => n.tag === "cart-widget");
    assert.equal(host.shadow.length, 1);
    await page.close();
  });

  test("covered, hidden and duplicate buttons give typed errors", async () => {
    const { page, url } = await open("buttons.html");
    const snapshot = await snapshotOf(worker, url);
    const nodes = JSON.parse(snapshot).frames[0].nodes;

    // Covered: seen, but not hit at its centre; reading works, acting is refused.
    const pay = await resolve(worker, snapshot, 'button "Pay now"');
    assert.equal(pay.ok, true, pay.message);
    assert.equal(pay.hit, false);
    const payNode = nodes.find((n) => n.id === pay.handle.node);
    const overlay = nodes.find((n) => n.attrs?.id === "overlay");
    assert.equal(payNode.hit_by, overlay.id);
    const act = await resolve(worker, snapshot, 'button "Pay now"', "act");
    assert.equal(act.ok, false);
    assert.equal(act.code, "covered");
    assert.match(act.message, /^`button "Pay now"` is covered by /);

    // display: none is out of the accessibility tree: not found, for reading or acting.
    const hidden = await resolve(worker, snapshot, 'button "Secret option"');
    assert.equal(hidden.code, "not-found");
    assert.equal(hidden.message, 'no element matches `button "Secret option"`');
    assert.equal(nodes.find((n) => n.kids?.[0] === "Secret option").hidden, true);

    // Two buttons of the same name: ambiguous, listing both.
    const twice = await resolve(worker, snapshot, 'button "Delete"', "act");
    assert.equal(twice.code, "ambiguous");
    assert.match(twice.message, /^`button "Delete"` matches 2 elements: /);
    assert.equal(twice.candidates.length, 2);
    for (const line of twice.candidates) assert.match(line, /^button "Delete" at \(\d+, \d+\)$/);
    const second = await resolve(worker, snapshot, 'button "Delete" nth 2', "act");
    assert.equal(second.ok, true, second.message);
    await page.close();
  });

  test("a frame sends only its changes since the snapshot the asker holds, which rebuild the same page", async () => {
    // A page of its own: the change below must not reach the other tests' tab.
    const { page, url } = await open("buttons.html?changes");
    const first = await snapshotOf(worker, url);
    const held = JSON.parse(first).frames;
    assert.ok(held.every((f) => typeof f.doc === "string" && f.version >= 1 && f.base === undefined));
    // One text changes, one element leaves, one arrives, one attribute changes (attributes
    // are read again only where the content script's MutationObserver saw them change).
    await page.evaluate(() => {
      document.querySelector("button").textContent = "Pay later";
      document.querySelectorAll("li")[1].remove();
      document.body.append(Object.assign(document.createElement("button"), { textContent: "Added" }));
      document.querySelectorAll("li button")[0].setAttribute("aria-label", "Delete the cable");
    });
    const bases = held.map((f) => ({ frame: f.id, doc: f.doc, version: f.version }));
    const [update, whole] = await worker.evaluate(
      async ([wanted, b]) => {
        for (const tab of await chrome.tabs.query({})) {
          try {
            const next = await self.bridleTest.snapshotTab(tab.id, b);
            if (JSON.parse(next).frames[0].url === wanted) return [next, await self.bridleTest.snapshotTab(tab.id)];
          } catch {
            // Not that tab.
          }
        }
        throw new Error("the tab is gone");
      },
      [url, bases],
    );
    const top = JSON.parse(update).frames[0];
    assert.equal(top.base, held[0].version);
    assert.equal(top.version, held[0].version + 1);
    // Only what changed is sent: the changed button, the list without its item, the body
    // that gained a child, and the new button; the removed item and its subtree are named.
    const before = held[0].nodes.length;
    assert.ok(top.nodes.length < before / 2, `${top.nodes.length} of ${before} nodes sent`);
    assert.ok(top.nodes.some((n) => n.kids?.includes("Pay later")));
    assert.ok(top.nodes.some((n) => n.kids?.includes("Added")));
    assert.ok(top.removed.length >= 2, JSON.stringify(top.removed));
    // Applied to the held snapshot in Rust, the changes give the page a whole snapshot shows
    // (taken right after; it differs only in its number and hit tests).
    const apply = (p, n) => worker.evaluate(([a, b]) => self.bridleTest.applySnapshot(a, b), [p, n]);
    const rebuilt = JSON.parse(await apply(first, update));
    // The whole snapshot through the same Rust parse and serialisation (its frames replace all).
    const expected = JSON.parse(await apply(first, whole));
    const plain = (frames) => frames.map(({ version, ...f }) => ({ ...f, nodes: f.nodes.map(({ hit, hit_by, ...n }) => n) }));
    assert.deepEqual(plain(rebuilt.frames), plain(expected.frames));
    assert.equal(rebuilt.frames[0].version, held[0].version + 1);
    const relabelled = await resolve(worker, JSON.stringify(rebuilt), 'button "Delete the cable"');
    assert.equal(relabelled.ok, true, JSON.stringify(relabelled));
    // An update of a snapshot not held is refused.
    const stale = JSON.parse(update);
    stale.frames[0].base = 999;
    await assert.rejects(
      worker.evaluate(([p, n]) => self.bridleTest.applySnapshot(p, n), [first, JSON.stringify(stale)]),
      /stale-base/,
    );
    await page.close();
  });

  test("a text run is cut at MAX_TEXT_CHARS and the frame marked truncated", async () => {
    const { page, url } = await open("shadow.html");
    const run = (n) => page.evaluate((count) => {
      document.querySelector("p").textContent = "x".repeat(count);
    }, n);
    await run(2048);
    let frame = JSON.parse(await snapshotOf(worker, url)).frames[0];
    assert.equal(frame.truncated, false);
    assert.equal(frame.nodes.find((n) => n.tag === "p").kids[0].length, 2048);
    await run(2049);
    frame = JSON.parse(await snapshotOf(worker, url)).frames[0];
    assert.equal(frame.truncated, true);
    assert.equal(frame.nodes.find((n) => n.tag === "p").kids[0].length, 2048);
    await page.close();
  });

  test("the service worker refuses snapshot messages not from a tab's content script", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${extensionOrigin(worker)}/options.html`);
    const replies = await page.evaluate(async () => {
      const frame = { root: 1, scroll: [0, 0], viewport: [10, 10], truncated: false, nodes: [{ id: 1, tag: "html" }], title: "", children: [] };
      const send = (m) => chrome.runtime.sendMessage(m);
      // A well-formed snapshot, but from an extension page rather than a tab's web page.
      return [await send({ kind: "snapshot", protocol: 1, request: "abc", frame })];
    });
    assert.deepEqual(replies, [{ ok: false, error: "message refused" }]);
    await page.close();
  });

  test("describePage lists roles and names", async () => {
    const { page, url } = await open("buttons.html");
    const all = await worker.evaluate(async (s) => self.bridleTest.describePage(s), await snapshotOf(worker, url));
    const buttons = all.filter((d) => d.role === "button" && d.in_tree).map((d) => d.name);
    assert.deepEqual(buttons, ["Pay now", "Delete", "Delete"]);
    await page.close();
  });
});
