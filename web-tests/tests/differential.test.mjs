// Differential test of roles and accessible names: Bridle's (Rust, executor/src/page/, on the
// content script's snapshot, through `self.bridleTest.describePage`) against
// `dom-accessibility-api` (`getRole`, `computeAccessibleName`: what Testing Library uses) on
// every element of the fixture pages, in the same page of the same browser. Elements are
// matched by their `id` attribute (the test gives one to every element that has none, which
// changes no role or name). Every difference must be one of the documented deliberate ones
// (docs/snapshot.md, "Roles" and "The differential test"); the agreement rate is printed.
//
// Build first: `make dist`. Run: `node --test tests/differential.test.mjs`.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { launchWithExtension, serviceWorker, snapshotOf } from "../lib/browser.mjs";
import { serveFixtures } from "../lib/fixtures.mjs";
import { DIST_CHROME } from "../lib/paths.mjs";
import { referenceScript } from "../lib/reference.mjs";

const PAGES = ["labels.html", "shadow.html", "buttons.html", "shop.html", "verbs.html", "frame-child.html"];

/**
 * Deliberate differences, each with why (docs/snapshot.md). `when(ours, theirs, el)` says
 * whether a difference is this one.
 */
const DELIBERATE = [
  {
    why: "ARIA 1.2 roles dom-accessibility-api 0.7 does not assign (generic, paragraph, meter, and the other text-level roles); the names agree",
    when: (o, t) => t.role === null && ARIA_12.has(o.role ?? "") && o.name === t.name,
  },
  {
    why: "`caption` is named by nobody: ARIA 1.2 prohibits a name on it; the library names it from content",
    when: (o, t, el) => el.tag === "caption" && o.role === "caption" && o.name === "",
  },
  {
    why: "`presentation` and `none` are synonyms: Bridle reports `none`",
    when: (o, t) => o.role === "none" && t.role === "presentation" && o.name === t.name,
  },
  {
    why: "<legend> has no ARIA 1.2 role (the library gives it the draft `legend` role); Bridle uses it to name its fieldset",
    when: (o, t, el) => el.tag === "legend" && o.role === null && t.role === "legend",
  },
  {
    why: "a text field's placeholder (or aria-placeholder) is its name when nothing else names it (HTML-AAM, as Chromium does); the library leaves it out",
    when: (o, t, el) => o.role === t.role && t.name === "" && o.name !== "" && ["input", "textarea"].includes(el.tag),
  },
  {
    why: "a <figure> is named by its <figcaption> (HTML-AAM); the library does not",
    when: (o, t, el) => el.tag === "figure" && o.role === "figure" && t.role === "figure" && t.name === "",
  },
  {
    why: "an <option> with a `label` attribute is named by it (HTML-AAM, as Chromium does); the library reads the content",
    when: (o, t, el) => el.tag === "option" && o.role === "option" && t.role === "option",
  },
  {
    why: "an unnamed <aside> inside sectioning content (here a <section>) is generic (HTML-AAM); the library says complementary",
    when: (o, t, el) => el.tag === "aside" && o.role === "generic" && t.role === "complementary",
  },
  {
    why: "<input type=password> is a textbox, as Chromium and Firefox expose it; dom-accessibility-api gives it no role",
    when: (o, t, el) => el.tag === "input" && el.type === "password" && o.role === "textbox" && t.role === null && o.name === t.name,
  },
  {
    why: "<summary> is a button, as Chromium exposes it (HTML-AAM has no role for it)",
    when: (o, t, el) => el.tag === "summary" && o.role === "button",
  },
  {
    why: "<form> is a form with or without a name (html-aria#402); the older rule needs a name",
    when: (o, t, el) => el.tag === "form" && o.role === "form" && t.role === null,
  },
];

/** Roles of ARIA 1.2 (and HTML-AAM) that dom-accessibility-api 0.7 predates. */
const ARIA_12 = new Set([
  "generic", "paragraph", "meter", "time", "code", "emphasis", "strong", "deletion", "insertion", "mark",
  "subscript", "superscript", "term", "definition", "blockquote", "caption",
]);

const NAME_FROM_CONTENT = new Set([
  "button", "cell", "checkbox", "columnheader", "gridcell", "heading", "link", "menuitem", "menuitemcheckbox",
  "menuitemradio", "option", "radio", "row", "rowheader", "switch", "tab", "tooltip", "treeitem",
]);

describe("roles and names against dom-accessibility-api", { timeout: 240_000 }, () => {
  let site;
  let browser;
  let worker;
  let reference;

  before(async () => {
    assert.ok(existsSync(join(DIST_CHROME, "manifest.json")), `no ${DIST_CHROME}: run \`make dist\` first`);
    site = await serveFixtures();
    browser = await launchWithExtension(DIST_CHROME);
    worker = await serviceWorker(browser.context);
    reference = await referenceScript();
  });

  after(async () => {
    await browser?.close();
    site?.close();
  });

  /** Bridle's and the library's role and name for every element of `name`, by id. */
  async function compare(name) {
    const page = await browser.context.newPage();
    const url = `${site.base}/${name}`;
    await page.goto(url);
    await page.waitForLoadState("load");
    // Let timers of the fixture (late content) run first.
    await page.waitForTimeout(1000);
    await page.addScriptTag({ content: reference });
    const theirs = await page.evaluate(() => {
      const { getRole, computeAccessibleName } = window.__bridleReference;
      const all = [];
      const walk = (root) => {
        for (const el of root.querySelectorAll("*")) {
          all.push(el);
          if (el.shadowRoot) walk(el.shadowRoot);
        }
      };
      walk(document);
      let n = 0;
      const out = {};
      for (const el of all) {
        if (el.id === "") el.id = `dx-${(n += 1)}`;
      }
      for (const el of all) {
        const tag = el.localName;
        if (["script", "style", "head", "meta", "title", "html", "body", "template"].includes(tag)) continue;
        if (out[el.id] !== undefined) {
          out[el.id] = null; // the same id twice (in different shadow roots): left out
          continue;
        }
        out[el.id] = { tag, type: el.getAttribute("type"), role: getRole(el), name: computeAccessibleName(el) };
      }
      return out;
    });
    const snapshot = await snapshotOf(worker, url);
    const described = await worker.evaluate((s) => self.bridleTest.describePage(s), snapshot);
    const top = JSON.parse(snapshot).frames[0];
    const idOf = new Map(top.nodes.map((n) => [n.id, n.attrs?.id]));
    const rows = [];
    for (const d of described) {
      if (d.handle.frame !== top.id || !d.in_tree) continue;
      const id = idOf.get(d.handle.node);
      const t = id === undefined ? undefined : theirs[id];
      if (t === undefined || t === null) continue;
      rows.push({ id, el: t, ours: { role: d.role ?? null, name: d.name }, theirs: { role: t.role || null, name: t.name } });
    }
    await page.close();
    return rows;
  }

  test("every role and name agrees, or differs in a documented, deliberate way", async () => {
    let total = 0;
    let agree = 0;
    const unexplained = [];
    const explained = new Map();
    for (const name of PAGES) {
      for (const row of await compare(name)) {
        total += 1;
        const { ours, theirs, el } = row;
        if (ours.role === theirs.role && ours.name === theirs.name) {
          agree += 1;
          continue;
        }
        const why = process.env.DIFF_RAW ? undefined : DELIBERATE.find((d) => d.when(ours, theirs, el))?.why;
        const line = `${name} #${row.id} <${el.tag}>: ours ${ours.role} "${ours.name}", dom-accessibility-api ${theirs.role} "${theirs.name}"`;
        if (why === undefined) unexplained.push(line);
        else explained.set(why, [...(explained.get(why) ?? []), line]);
      }
    }
    const rate = ((100 * agree) / total).toFixed(1);
    console.log(`differential: ${agree}/${total} elements agree exactly (${rate}%)`);
    for (const [why, lines] of explained) console.log(`  deliberate (${lines.length}): ${why}\n    ${lines.slice(0, 3).join("\n    ")}`);
    assert.ok(total > 150, `only ${total} elements compared`);
    assert.deepEqual(unexplained, [], `unexplained differences:\n${unexplained.join("\n")}`);
  });
});
