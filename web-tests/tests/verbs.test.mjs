// Every verb and every target form of the language (docs/dsl.md §4–5) executed by the built
// extension in Chromium on ../fixtures/verbs.html, labels.html and shadow.html, served on
// 127.0.0.1: the actuator's postconditions (a framework-controlled input commits; a click
// that does nothing is reported), reads (title, table, css, count, attribute …), waits driven
// by the page's changes, the amount a page shows against the policy's ceiling, and secrets
// kept out of the audit log and of observations.
//
// Build first: `make dist`. Run: `node --test tests/verbs.test.mjs`. A fresh browser per
// test (a second run in one browser can find its tab `unloaded`: extension/README.md).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { answerApproval, freshBrowser, runScript, runSuite, script, tabShowing, verifiedLog } from "../lib/fixtures.mjs";

const NAME = "verbs-planner";

describe("every verb and target form in Chromium", { timeout: 1_200_000 }, () => {
  let dir;
  let planner;
  let site;
  let b;
  runSuite("verbs", (s) => ({ dir, planner, site } = s), () => b);

  const run = (lines, policyExtra = "") =>
    (async () => {
      b = await freshBrowser(planner, NAME, policyExtra);
      return runScript({ ...b, dir, planner, name: NAME, script: script([site.base], lines), origins: [site.base] });
    })();

  test("acting verbs: fill, clear, select, check, uncheck, hover, press, click, scroll to, submit", { timeout: 120_000 }, async () => {
    const result = await run(
      [
        `navigate "${site.base}/verbs.html"`,
        'fill textbox "Name" with "Ada"',
        'fill textbox "Notes" with "two\\nlines"',
        'clear textbox "Nickname"',
        'fill textbox /^E-?mail$/i with "ada@example.com"',
        'fill textbox "Controlled email" with "ada@react.dev"',
        'select combobox "Size" option "Extra large"',
        'check checkbox "I agree"',
        'uncheck checkbox "Newsletter"',
        'hover menuitem "Help"',
        'wait for tooltip "Ask us anything" to be visible timeout 3s',
        'fill textbox "Command" with "go"',
        'press "Enter" on textbox "Command"',
        'click button "Add to cart"',
        'click button "Remove" in row ~"USB-C" in table "Cart"',
        'submit form "Return request"',
        'assert text of status "Committed" contains "ada@react.dev"',
        // The page inserts "Ready" above the footer 900 ms after it loads: wait for it, or
        // the footer may move between the decision and the act (which fails the step).
        'wait for text "Ready" to be visible timeout 3s',
        "scroll to contentinfo",
      ],
      // `press "Enter"`, `submit` and clicking "Remove" (a sensitive word) are high risk:
      // standing grants let them run unasked.
      `\n[[site]]\norigin = "${site.base}"\nstanding = [{ verb = "submit" }, { verb = "press" }, { verb = "click" }]\n`,
    );
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.ok(result.steps.every((s) => s.ok), JSON.stringify(result.steps.filter((s) => !s.ok)));
    const tab = await tabShowing(b.browser.context, "/verbs.html");
    const page = await tab.evaluate(() => {
      const $ = (id) => document.getElementById(id);
      return {
        name: $("name").value,
        notes: $("notes").value,
        nick: $("nick").value,
        email: $("email").value,
        // The framework's state took the value, not only the DOM.
        committed: $("committed").textContent,
        size: $("size").value,
        agree: $("agree").checked,
        news: $("news").checked,
        tip: $("tip").checkVisibility({ visibilityProperty: true }),
        count: $("count").textContent,
        log: [...document.querySelectorAll("#log li")].map((li) => li.textContent),
        // Scrolled to the footer.
        scrolled: window.scrollY > 1000,
      };
    });
    assert.deepEqual(page, {
      name: "Ada",
      notes: "two\nlines",
      nick: "",
      email: "ada@example.com",
      committed: "ada@react.dev",
      size: "XL",
      agree: true,
      news: false,
      tip: true,
      count: "1",
      log: ["size XL", "agree true", "news false", "command go", "removed USB-C cable", "request A-17"],
      scrolled: true,
    });
    await verifiedLog(b.worker, dir, b.instance);
  });

  test("a framework-controlled input ignores a plain assignment: only the native setter commits", { timeout: 120_000 }, async () => {
    b = await freshBrowser(planner, NAME);
    const page = await b.browser.context.newPage();
    await page.goto(`${site.base}/verbs.html`);
    const committed = await page.evaluate(() => {
      const el = document.getElementById("controlled");
      el.value = "naive";
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
      return new Promise((r) => setTimeout(() => r([document.getElementById("committed").textContent, el.value]), 50));
    });
    assert.deepEqual(committed, ["(empty)", ""]);
  });

  test("reads and target forms: title, table, css, count, exists, visible, attribute, text, nth, scopes", { timeout: 120_000 }, async () => {
    const result = await run([
      `navigate "${site.base}/verbs.html"`,
      "let t = title",
      'assert t == "Verbs fixture"',
      'let price = text of css "#price"',
      'assert price == "5.00 EUR"',
      'let n = count of button "Remove"',
      "assert n == 2",
      'assert exists text ~"free shipping"',
      'assert not exists button "Nothing like this"',
      'assert visible heading "Verbs"',
      'let href = attribute "href" of link ~"terms"',
      'assert href == ""',
      "let second = text of cell nth 4",
      'assert second == "HDMI cable"',
      'let rm = text of button "Remove" in row ~"HDMI" in table "Cart"',
      'assert rm == "Remove"',
      'assert exists element "Size"',
      'assert exists textbox /^e-?mail$/i',
      'let rows = table table "Cart"',
      "return rows",
    ]);
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.deepEqual(result.value, [
      { Item: "USB-C cable", Price: "5.00 EUR", Action: "Remove" },
      { Item: "HDMI cable", Price: "7.50 EUR", Action: "Remove" },
    ]);
  });

  test("ambiguous and missing targets are typed errors listing candidates", { timeout: 120_000 }, async () => {
    const result = await run([`navigate "${site.base}/verbs.html"`, 'click button "Remove"']);
    assert.equal(result.outcome, "failed");
    assert.equal(result.error.code, "ambiguous", JSON.stringify(result.error));
    assert.match(JSON.stringify(result.error), /Remove/);
  });

  test("waits follow the page: late content is waited for, and a wait that never holds times out", { timeout: 120_000 }, async () => {
    const result = await run([
      `navigate "${site.base}/verbs.html"`,
      'wait for text "Ready" to be visible timeout 5s',
      'click button "Load more"',
      'wait for button "Late button" to be visible timeout 5s',
      'click button "Late button"',
      'wait for button "Late button" to be enabled timeout 2s',
      // The page logged the click: read through the extension, since Playwright can lose
      // track of a tab the extension navigated.
      'wait for text "late clicked" to be visible timeout 2s',
      'wait for button "Add to cart" to be gone timeout 1s',
    ]);
    assert.equal(result.outcome, "failed", JSON.stringify(result));
    assert.equal(result.error.code, "wait-timed-out", JSON.stringify(result.error));
    assert.deepEqual(
      result.steps.map((s) => s.ok),
      [true, true, true, true, true, true, true, false],
    );
  });

  test("a wait wakes when an image loads, though no node or attribute changed", { timeout: 120_000 }, async () => {
    // The image comes 1.5 s after the page loaded and is removed 2 s later; its arrival changes
    // no node and no attribute. Element `load` events stop at the document, never reaching the
    // window: the content script's change watcher listens at the document, or this wait slept
    // through the image and read the page only once it was gone.
    const result = await run([
      `navigate "${site.base}/late-image.html"`,
      'wait for img "Logo" to be visible timeout 5s',
      'let n = count of img "Logo"',
      "return n",
    ]);
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.value, 1);
  });

  test("a click the page takes and ignores is reported as having no effect", { timeout: 120_000 }, async () => {
    const result = await run([`navigate "${site.base}/verbs.html"`, 'click button "Does nothing"']);
    assert.equal(result.outcome, "failed");
    assert.equal(result.error.code, "no-effect", JSON.stringify(result.error));
  });

  test("open shadow DOM: a label and a slotted button inside shadow roots", { timeout: 120_000 }, async () => {
    const result = await run([
      `navigate "${site.base}/shadow.html"`,
      'fill textbox "Shadow name" with "Lin"',
      'fill textbox "Tagged" with "tag"',
      'click button "Slotted label"',
      'wait for text "slotted clicked" to be visible timeout 3s',
      'click button "Open cart"',
      'let v = value of textbox "Shadow name"',
      "return v",
    ]);
    // "Open cart" has no handler: reported as no effect only if the page cancelled it.
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    assert.equal(result.value, "Lin");
  });

  test("the amount the page shows: a standing submit up to 20 EUR runs without asking at 12.50 EUR", { timeout: 120_000 }, async () => {
    const rule = (max) =>
      `\n[[site]]\norigin = "${site.base}"\nstanding = [{ verb = "submit", max_amount = { currency = "EUR", value = ${max} } }]\n`;
    const result = await run([`navigate "${site.base}/verbs.html"`, 'submit form "Return request"'], rule(20));
    assert.equal(result.outcome, "completed", JSON.stringify(result.error));
    const submit = result.steps.find((s) => s.verb === "submit");
    assert.equal(submit.decision, "allow");
  });

  test("the amount the page shows: over the site's ceiling of 10 EUR, the submit is denied", { timeout: 120_000 }, async () => {
    const result = await run(
      [`navigate "${site.base}/verbs.html"`, 'submit form "Return request"'],
      `\n[[site]]\norigin = "${site.base}"\nmax_amount = { currency = "EUR", value = 10 }\n`,
    );
    assert.equal(result.outcome, "denied", JSON.stringify(result));
    const submit = result.steps.find((s) => s.verb === "submit");
    assert.equal(submit.decision, "deny");
    assert.match(JSON.stringify(submit), /12\.5/);
  });

  test("secrets: a typed password is never observed nor logged, and a secret fill without a vault entry fails", { timeout: 120_000 }, async () => {
    const password = "hunter2-VERBS-PASSWORD-51c0";
    const lines = [
      `navigate "${site.base}/labels.html"`,
      'fill textbox "Password" with card',
      'let v = value of textbox "Password"',
      "return v",
    ];
    b = await freshBrowser(planner, NAME);
    const text = ["bridle 1", 'goal "Pay"', `origins "${site.base}"`, 'secret card = "visa-personal"', "", ...lines, ""].join(
      "\n",
    );
    // The secret fill asks: approve it, so the failure comes from the service worker itself
    // (the vault has no entry `visa-personal`; a filled secret is the lead's test).
    let over = false;
    const approval = answerApproval(b.browser.context, "Approve once", () => over).catch(() => null);
    const result = await runScript({ ...b, dir, planner, name: NAME, script: text, origins: [site.base] });
    over = true;
    await approval;
    const fill = result.steps.find((s) => s.verb === "fill");
    assert.equal(fill?.ok, false, JSON.stringify(result.steps));
    assert.notEqual(result.outcome, "completed", JSON.stringify(result));
    assert.match(JSON.stringify(result.error), /vault|secret/i, JSON.stringify(result.error));
    const log = await verifiedLog(b.worker, dir, b.instance);
    assert.ok(!log.includes("visa-personal") || !/"value":"visa-personal"/.test(log));

    // Reading a password field the user typed into is denied (never-read), and the password
    // is in neither the result nor the log. (`?typed=1`: the page fills the field itself, as
    // a user would; Playwright can lose track of the run's tab.)
    await b.browser.close();
    b = undefined;
    const read = await run([`navigate "${site.base}/labels.html?typed=1"`, 'let v = value of textbox "Password"', "return v"]);
    assert.equal(read.outcome, "denied", JSON.stringify(read));
    assert.equal(read.value, null);
    assert.ok(!JSON.stringify(read).includes(password));
    assert.ok(!(await verifiedLog(b.worker, dir, b.instance)).includes(password));
  });
});
