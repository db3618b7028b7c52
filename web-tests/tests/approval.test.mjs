// The approval window in Chromium: what it shows (origin, the element's role and name as read
// from the page, values to be typed with secrets masked, the amount, the risk and the rules
// that made it ask, the planner's goal labelled as its claim, the whole plan with decisions)
// and every way it ends: approve once, approve for this script (later identical asks are not
// asked again, and that is recorded), deny, closing the window, and the timeout. Every answer
// is checked in the run's result, the page, and the audit log verified by `bridle audit verify`.

import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { Harness, clickPopup, readPopup } from "../lib/runs.mjs";

const PAGE = "/hostile/approvals.html";

describe("the approval window", { timeout: 240_000 }, () => {
  const h = new Harness();
  before(() => h.setup());
  afterEach(() => h.close());
  after(() => h.teardown());

  describe("with a policy that asks before filling and caps amounts", () => {
    // Asking for `fill` here makes a typed value reach the window; the ceiling makes the
    // engine read the page's amount.
    beforeEach(() =>
      h.launch(
        [
          "[[site]]",
          `origin = "${h.home}"`,
          'ask = ["fill"]',
          'max_amount = { currency = "EUR", value = 100 }',
          "",
        ].join("\n"),
      ),
    );

    test("shows origin, element, values, amount, risk, reasons, the goal as a claim, and the plan", async () => {
      const shown = [];
      const { result, popups } = await h.run(
        [
          ...h.header("Pay the gas bill"),
          `navigate "${h.home}${PAGE}"`,
          'fill textbox "Name" with "Ada Lovelace"',
          'submit button "Pay now"',
        ],
        {
          onPopup: async (popup, n) => {
            shown[n] = await readPopup(popup);
            await clickPopup(popup, n === 0 ? "Approve once" : "Deny");
          },
        },
      );
      assert.equal(popups.length, 2);
      const [fill, pay] = shown;

      assert.equal(fill.origin, h.home);
      assert.equal(fill.step, 'fill textbox "Name" with "Ada Lovelace"');
      assert.equal(fill.element, "textbox “Name”");
      assert.deepEqual(fill.values, ["Ada Lovelace"]);
      // The rule that made it ask, as the policy states it.
      assert.ok(fill.reasons.some((r) => /site rule .* always asks/.test(r)), fill.reasons.join(" | "));

      assert.equal(pay.origin, h.home);
      assert.equal(pay.element, "button “Pay now”");
      assert.deepEqual(pay.values, ["none"]);
      assert.equal(pay.amount, "20 EUR");
      assert.equal(pay.risk, "high");
      assert.ok(pay.reasons.some((r) => /high/.test(r)), pay.reasons.join(" | "));
      // The goal is the planner's words, labelled as such.
      assert.equal(pay.goal, "Pay the gas bill");
      assert.match(pay.goalLabel, /the planner's claim/);
      // The plan: every step with its decision before the run, this one marked.
      assert.equal(pay.plan.length, 3);
      assert.deepEqual(
        pay.plan.map((line) => line.replace(/ ← this step$/, "")),
        result.plan.map((p) => `${p.text} — ${p.decision} (${p.risk} risk)`),
      );
      assert.deepEqual(pay.current, [`submit button "Pay now" — ask (high risk) ← this step`]);
      assert.deepEqual(fill.current.length, 1);
      assert.match(fill.current[0], /^fill textbox "Name"/);

      assert.equal(result.outcome, "denied", JSON.stringify(result));
      assert.deepEqual(
        result.steps.map((s) => [s.verb, s.decision, s.approval, s.ok]),
        [
          ["navigate", "allow", null, true],
          ["fill", "ask", "once", true],
          ["submit", "ask", "deny", false],
        ],
      );
      assert.deepEqual(await h.pageLog("approvals"), ["name=Ada Lovelace"]);
      const entries = await h.lastRunEntries();
      const choices = entries.filter((e) => e.kind === "step" && e.approval).map((e) => e.approval.choice);
      assert.deepEqual(choices, ["once", "deny"]);
    });
  });

  describe("with the default policy", () => {
    beforeEach(() => h.launch());

    test("masks a secret to be typed; neither the window nor the log names its vault entry", async () => {
      let shown;
      const { result } = await h.run(
        [
          ...h.header("Sign in"),
          'secret pw = "bank-password"',
          `navigate "${h.home}${PAGE}"`,
          "fill textbox \"Password\" with pw",
        ],
        {
          secrets: ["bank-password"],
          onPopup: async (popup) => {
            shown = await readPopup(popup);
            await clickPopup(popup, "Deny");
          },
        },
      );
      assert.ok(shown, `no approval window: ${JSON.stringify(result)}`);
      assert.deepEqual(shown.values, ["••••"]);
      assert.equal(shown.element, "textbox “Password”");
      assert.ok(!shown.body.includes("bank-password"));
      assert.equal(result.outcome, "denied", JSON.stringify(result));
      assert.deepEqual(await h.pageLog("approvals"), []);
      const log = await h.worker.evaluate(() => self.bridle.auditLog());
      assert.ok(!log.includes("bank-password"));
      await h.lastRunEntries();
    });

    test("approve once lets the step act once", async () => {
      const { result, popups } = await h.run(
        [...h.header("Pay"), `navigate "${h.home}${PAGE}"`, 'submit button "Pay now"', 'return "paid"'],
        { onPopup: (popup) => clickPopup(popup, "Approve once") },
      );
      assert.equal(popups.length, 1);
      assert.equal(result.outcome, "completed", JSON.stringify(result));
      assert.equal(result.value, "paid");
      assert.equal(result.steps.find((s) => s.verb === "submit").approval, "once");
      assert.deepEqual(await h.pageLog("approvals"), ["paid"]);
      const entries = await h.lastRunEntries();
      assert.deepEqual(
        entries.filter((e) => e.kind === "step" && e.approval).map((e) => e.approval.choice),
        ["once"],
      );
    });

    test("approve for this script: the same ask later in the run is not asked again, and is recorded", async () => {
      const { result, popups } = await h.run(
        [
          ...h.header("Send the reminders"),
          `navigate "${h.home}${PAGE}"`,
          'repeat at most 5 until visible text "All sent" { click button "Send reminder" }',
          'return "sent"',
        ],
        { onPopup: (popup) => clickPopup(popup, "Approve for this script") },
      );
      assert.equal(result.outcome, "completed", JSON.stringify(result));
      assert.equal(popups.length, 1, "one window for three identical asks");
      const clicks = result.steps.filter((s) => s.verb === "click");
      assert.deepEqual(
        clicks.map((s) => [s.decision, s.approval, s.ok]),
        [
          ["ask", "script", true],
          ["ask", "remembered", true],
          ["ask", "remembered", true],
        ],
      );
      assert.deepEqual(await h.pageLog("approvals"), ["reminder 1", "reminder 2", "reminder 3"]);
      // The log records every execution with the user's "this script" answer.
      const entries = await h.lastRunEntries();
      const asked = entries.filter((e) => e.kind === "step" && e.text.startsWith("click"));
      assert.equal(asked.length, 3);
      assert.deepEqual(
        asked.map((e) => [e.decision, e.approval.choice]),
        [
          ["ask", "script"],
          ["ask", "script"],
          ["ask", "script"],
        ],
      );
    });

    test("deny stops the run before the step acts, and is recorded", async () => {
      const { result } = await h.run(
        [...h.header("Pay"), `navigate "${h.home}${PAGE}"`, 'submit button "Pay now"'],
        { onPopup: (popup) => clickPopup(popup, "Deny") },
      );
      assert.equal(result.outcome, "denied");
      assert.equal(result.error.code, "not-approved");
      assert.equal(result.steps.at(-1).approval, "deny");
      assert.deepEqual(await h.pageLog("approvals"), []);
      const entries = await h.lastRunEntries();
      const step = entries.find((e) => e.kind === "step" && e.text.startsWith("submit"));
      assert.equal(step.approval.choice, "deny");
      assert.ok(!entries.some((e) => e.kind === "step-result" && e.of === step.seq), "a refused step never acts");
    });

    test("closing the window denies, and is recorded as closed", async () => {
      const { result } = await h.run(
        [...h.header("Pay"), `navigate "${h.home}${PAGE}"`, 'submit button "Pay now"'],
        {
          onPopup: async (popup) => {
            await readPopup(popup);
            await popup.close();
          },
        },
      );
      assert.equal(result.outcome, "denied", JSON.stringify(result));
      assert.equal(result.error.code, "not-approved");
      assert.equal(result.steps.at(-1).approval, "closed");
      assert.deepEqual(await h.pageLog("approvals"), []);
      const entries = await h.lastRunEntries();
      assert.equal(entries.find((e) => e.kind === "step" && e.text.startsWith("submit")).approval.choice, "closed");
    });

    test("no answer within the timeout denies, closes the window, and is recorded as timeout", async () => {
      // The timeout is a test hook (self.bridleTest, never self.bridle), which can only
      // shorten it; out-of-range values are refused.
      const refused = await h.worker.evaluate(async () => {
        const out = [];
        for (const ms of [99, 100, 300_000, 300_001, 1.5, Number.NaN, null]) {
          out.push(await self.bridleTest.setApprovalTimeout(ms).then(() => "set", (e) => e.name));
        }
        return out;
      });
      assert.deepEqual(refused, ["RangeError", "set", "set", "RangeError", "RangeError", "RangeError", "set"]);
      await h.worker.evaluate(() => self.bridleTest.setApprovalTimeout(300));
      let closed;
      const { result, popups } = await h.run(
        [...h.header("Pay"), `navigate "${h.home}${PAGE}"`, 'submit button "Pay now"'],
        {
          onPopup: async (popup) => {
            closed = popup.isClosed() ? Promise.resolve() : popup.waitForEvent("close");
          },
        },
      );
      assert.equal(popups.length, 1);
      await closed;
      assert.equal(result.outcome, "denied", JSON.stringify(result));
      assert.equal(result.steps.at(-1).approval, "timeout");
      assert.deepEqual(await h.pageLog("approvals"), []);
      const entries = await h.lastRunEntries();
      assert.equal(entries.find((e) => e.kind === "step" && e.text.startsWith("submit")).approval.choice, "timeout");
    });
  });
});
