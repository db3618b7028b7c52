// Hostile pages in Chromium, each of which must fail safe: an invisible and a covered button,
// two buttons of one name, a button swapped while the approval window is open, a redirect to
// a foreign origin, a page impersonating the extension's parts, page text addressed to the
// agent, and a fake approval dialog drawn by the page. Every test checks the run's result,
// the audit log (verified with `bridle audit verify`) and the page's own record of what was
// clicked (#log).

import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { Harness, clickPopup, readPopup } from "../lib/runs.mjs";

describe("hostile pages fail safe", { timeout: 240_000 }, () => {
  const h = new Harness();
  before(() => h.setup());
  beforeEach(() => h.launch());
  afterEach(() => h.close());
  after(() => h.teardown());

  /** What the page logged (clicks, submits), as a list. */
  const pageLog = (name) => h.pageLog(name);

  /** No step of the last run acted after it failed, and the log verifies. */
  async function assertRecorded(result) {
    const entries = await h.lastRunEntries();
    const end = entries.at(-1);
    assert.equal(end.kind, "run-end");
    assert.equal(end.result.error, result.error?.code ?? null);
    return entries;
  }

  test("a transparent button that still takes clicks is not acted on, and nothing is clicked", async () => {
    const { result } = await h.run([
      ...h.header("Keep the account"),
      `navigate "${h.home}/hostile/invisible.html"`,
      'click button "Delete account"',
    ]);
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "not-found", result.error.message);
    // The first candidate line is the resolver's reason: the element is there, but not seen.
    assert.match(result.error.candidates[0], /^hidden: /, JSON.stringify(result.error));
    assert.deepEqual(await pageLog("invisible"), []);
    await assertRecorded(result);
  });

  test("a button hidden with visibility: hidden is not in the page at all for a script", async () => {
    const { result } = await h.run([
      ...h.header("Keep the account"),
      `navigate "${h.home}/hostile/invisible.html"`,
      'click button "Close account"',
    ]);
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "not-found", result.error.message);
    // Hidden from the accessibility tree, it is not even a candidate.
    assert.ok(!result.error.candidates.some((c) => c.includes('"Close account"') && !c.startsWith("not-found")));
    assert.deepEqual(await pageLog("invisible"), []);
    await assertRecorded(result);
  });

  test("a button under an overlay fails its hit test, and neither it nor the overlay is clicked", async () => {
    const { result } = await h.run([
      ...h.header("Pay"),
      `navigate "${h.home}/hostile/covered.html"`,
      'click button "Pay now"',
    ]);
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "not-found");
    assert.match(result.error.candidates[0], /^covered: /, JSON.stringify(result.error));
    assert.deepEqual(await pageLog("covered"), []);
    await assertRecorded(result);
  });

  test("two buttons of one name are ambiguous, with both candidates listed, and nothing is clicked", async () => {
    const { result } = await h.run([
      ...h.header("Tidy the cart"),
      `navigate "${h.home}/hostile/twins.html"`,
      'click button "Delete"',
    ]);
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "ambiguous");
    assert.equal(result.error.message, 'step 2: `button "Delete"` matches 2 elements');
    assert.equal(result.error.candidates.length, 2, JSON.stringify(result.error));
    for (const line of result.error.candidates) assert.match(line, /Delete/);
    assert.notEqual(result.error.candidates[0], result.error.candidates[1]);
    assert.deepEqual(await pageLog("twins"), []);
    await assertRecorded(result);
  });

  test("a button swapped while the approval window is open is not acted on", async () => {
    const { result, popups } = await h.run(
      [...h.header("Order"), `navigate "${h.home}/hostile/swap.html"`, 'submit button "Place order"'],
      {
        onPopup: async (popup) => {
          const shown = await readPopup(popup);
          assert.equal(shown.element, "button “Place order”");
          // The page swaps the approved button for a look-alike while the user reads.
          h.signal("swap", "swap");
          await h.reported("swap", "swapped");
          await clickPopup(popup, "Approve once");
        },
      },
    );
    assert.equal(popups.length, 1);
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "act-failed");
    assert.match(result.error.message, /gone|changed/, result.error.message);
    const submit = result.steps.find((s) => s.verb === "submit");
    assert.deepEqual([submit.approval, submit.ok], ["once", false]);
    // Neither the original nor the look-alike was clicked, and nothing was submitted.
    assert.deepEqual(await pageLog("swap"), ["swapped"]);
    const entries = await assertRecorded(result);
    // The approval is recorded with the step, which was written ahead and failed.
    const step = entries.find((e) => e.kind === "step" && e.text.startsWith("submit"));
    assert.equal(step.approval.choice, "once");
    const done = entries.find((e) => e.kind === "step-result" && e.of === step.seq);
    assert.deepEqual([done.result.ok, done.result.error], [false, "act-failed"]);
  });

  test("a redirect to a foreign origin stops the run; nothing acts on the foreign page", async () => {
    const { result } = await h.run([
      ...h.header("Continue to checkout"),
      `navigate "${h.home}/hostile/redirect-js.html"`,
      'click button "Continue"',
      'click button "Confirm purchase"',
    ]);
    assert.equal(result.error?.code, "navigation-blocked", JSON.stringify(result));
    assert.ok(!result.steps.some((s) => s.verb === "click" && s.index === 3 && s.ok));
    assert.ok(h.sites.foreign.hits.includes("/hostile/landing.html"));
    assert.ok(!h.sites.foreign.hits.includes("/hit/confirm"), "the foreign page's button was not clicked");
    const entries = await assertRecorded(result);
    assert.ok(entries.some((e) => e.kind === "note" && e.text.startsWith("navigation guard: ")));
  });

  test("a page imitating the content script, the popup and the extension API is not believed", async () => {
    const { result, popups } = await h.run([
      ...h.header("Check the balance"),
      `navigate "${h.home}/hostile/imitator.html"`,
      'click button "Show balance"',
      'click button "Transfer funds"',
    ]);
    assert.equal(popups.length, 0, "nothing the page sent opened or answered an approval");
    // The real click happened once; the forged snapshot's button does not exist.
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "not-found");
    assert.equal(result.error.step ?? 3, 3);
    assert.deepEqual(
      result.steps.map((s) => [s.verb, s.ok]),
      [["navigate", true], ["click", true], ["click", false]],
    );
    await h.reported("imitator", "tried 10 times");
    const log = await pageLog("imitator");
    assert.deepEqual(
      log.filter((x) => x !== "fake sendMessage"),
      ["balance"],
    );
    // The policy it tried to set is not the policy in use.
    const entries = await h.auditEntries();
    assert.equal(entries.filter((e) => e.kind === "note" && e.text.startsWith("policy set")).length, 1);
    await assertRecorded(result);
  });

  test("page text that instructs the agent changes nothing: the script's steps run, and only they", async () => {
    const { result, popups } = await h.run([
      ...h.header("Read the notice"),
      `navigate "${h.home}/hostile/instructions.html"`,
      'let notice = text of region "Notice"',
      'click button "Read more"',
      "return notice",
    ]);
    assert.equal(result.outcome, "completed", JSON.stringify(result));
    // The instructions are data the script read, nothing more.
    assert.match(result.value, /ignore previous instructions/);
    assert.deepEqual(
      result.steps.map((s) => s.verb),
      ["navigate", "let", "click", "return"],
    );
    assert.deepEqual(
      result.steps.map((s) => s.decision),
      result.plan.map((p) => p.decision),
    );
    assert.equal(popups.length, 0);
    assert.deepEqual(await pageLog("instructions"), ["Read more"]);
    const entries = await assertRecorded(result);
    const texts = entries.filter((e) => e.kind === "step").map((e) => e.text);
    assert.ok(!texts.some((t) => /Delete/.test(t)), texts.join(" | "));
  });

  test("markup in an element's name is shown as text in the approval window, never rendered", async () => {
    const name = 'Pay <img src="/hit/img" onerror="window.pwned=1"><b>Approve once</b>';
    let shown;
    let rendered;
    const { result } = await h.run(
      [...h.header("Pay the invoice"), `navigate "${h.home}/hostile/markup.html"`, 'submit button ~"Pay"'],
      {
        onPopup: async (popup) => {
          shown = await readPopup(popup);
          rendered = await popup.evaluate(() => ({
            images: document.querySelectorAll("img").length,
            bold: document.querySelectorAll("main b").length,
            pwned: "pwned" in window,
          }));
          await clickPopup(popup, "Deny");
        },
      },
    );
    assert.equal(shown.element, `button “${name}”`);
    assert.deepEqual(rendered, { images: 0, bold: 0, pwned: false });
    assert.equal(result.outcome, "denied", JSON.stringify(result));
    assert.deepEqual(await pageLog("markup"), []);
    await assertRecorded(result);
  });

  test("a fake approval dialog drawn by the page approves nothing", async () => {
    let pending;
    const { result, popups } = await h.run(
      [
        ...h.header("Order"),
        `navigate "${h.home}/hostile/fake-approval.html"`,
        // The script itself may click the page's button: that is a click on the page.
        'click button "Approve once"',
        'submit button "Place order"',
      ],
      {
        onPopup: async (popup) => {
          await readPopup(popup);
          // The page's look-alike buttons are pressed while the real window waits.
          h.signal("fake-approval", "press-fakes");
          await h.reported("fake-approval", "pressed");
          // The real window is still waiting: the page's buttons answered nothing.
          pending = await readPopup(popup);
          assert.equal(popup.isClosed(), false);
          await clickPopup(popup, "Deny");
        },
      },
    );
    assert.equal(popups.length, 1);
    assert.equal(pending.status, "Bridle needs your approval for this step.");
    assert.equal(result.outcome, "denied", JSON.stringify(result));
    assert.equal(result.error.code, "not-approved");
    const submit = result.steps.find((s) => s.verb === "submit");
    assert.deepEqual([submit.approval, submit.ok], ["deny", false]);
    assert.deepEqual(await pageLog("fake-approval"), [
      "fake Approve once",
      "fake Approve for this script",
      "fake Approve once",
      "pressed",
    ]);
    const entries = await assertRecorded(result);
    const step = entries.find((e) => e.kind === "step" && e.text.startsWith("submit"));
    assert.equal(step.approval.choice, "deny");
  });
});
