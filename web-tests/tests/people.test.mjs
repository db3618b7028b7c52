// People in the loop in Chromium, with the real built extension: the handoff window (the
// planner's message labelled as its words, the run's tab's origin; "Continue" resumes and the
// next step sees what the user did meanwhile; "Abort", closing the window and the timeout stop
// the run) and the upload window (the user picks the file in Bridle's own window; the page's
// file input gets exactly those bytes; "Cancel", a file over the limit and a target that is not
// a file input fail the step; the audit log and the result record the file's name, size and
// SHA-256, never its bytes). The page is read through its fixture server (lib/runs.mjs).

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { mintToken } from "../lib/cli.mjs";
import { answerApproval } from "../lib/fixtures.mjs";
import { startTestPlanner } from "../lib/planner.mjs";
import { Harness, PLANNER_NAME, clickPopup } from "../lib/runs.mjs";

const PAGE = "/hostile/people.html";
/** MAX_UPLOAD_BYTES of extension/src/session/people.rs and extension/ts/messages.ts. */
const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** Windows of `page` (handoff.html, upload.html) already handled. */
const handled = new WeakSet();

/** The next window of the extension page `page` to open, once its buttons are enabled. */
async function nextWindow(h, page, button, ended) {
  for (let tries = 0; tries < 1200 && !ended(); tries += 1) {
    const win = h.context.pages().find((p) => p.url().includes(`/${page}`) && !handled.has(p));
    if (win !== undefined) {
      handled.add(win);
      await win.waitForFunction((label) => {
        const b = [...document.querySelectorAll("button")].find((x) => x.textContent.trim() === label);
        return b !== undefined && !b.disabled;
      }, button);
      return win;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no ${page} window opened`);
}

/** Starts the run of `lines` and, meanwhile, `meanwhile(window)` on the next `page` window. */
async function runWith(h, lines, page, button, meanwhile, options = {}) {
  let error;
  let over = false;
  const handler = nextWindow(h, page, button, () => over)
    .then(meanwhile)
    .catch((e) => {
      error = e;
    });
  const { result, popups } = await h.run(lines, options).finally(() => {
    over = true;
  });
  await handler;
  if (error !== undefined) throw new Error(`${error.message}; the run ended: ${JSON.stringify(result)}`);
  return { result, popups };
}

describe("people in the loop", { timeout: 300_000 }, () => {
  const h = new Harness();
  before(() => h.setup());
  beforeEach(() => h.launch());
  afterEach(() => h.close());
  after(() => h.teardown());

  describe("handoff", () => {
    const lines = () => [
      ...h.header("File the claim"),
      `navigate "${h.home}${PAGE}"`,
      'handoff "Please type a note, then press Continue"',
      'let typed = value of textbox "Note"',
      "return typed",
    ];

    test("shows the planner's words and the tab's origin; Continue resumes and the next step sees the user's change", async () => {
      let shown;
      const { result } = await runWith(h, lines(), "handoff.html", "Continue", async (win) => {
        shown = {
          origin: (await win.locator("#origin").textContent()).trim(),
          message: (await win.locator("#message").textContent()).trim(),
          label: (await win.locator("dt", { hasText: "Message" }).textContent()).trim(),
        };
        // The user acts in the page while the script waits.
        h.signal("people", "type-note");
        await h.reported("people", "typed");
        await clickPopup(win, "Continue");
      });
      assert.deepEqual(shown, {
        origin: h.home,
        message: "Please type a note, then press Continue",
        label: "Message (the planner's words, not checked by Bridle)",
      });
      assert.equal(result.outcome, "completed", JSON.stringify(result));
      assert.equal(result.value, "typed by hand");
      const handoff = result.steps.find((s) => s.verb === "handoff");
      assert.equal(handoff.ok, true);
      await h.lastRunEntries();
    });

    test("Abort stops the run before the next step", async () => {
      const { result } = await runWith(h, lines(), "handoff.html", "Abort", (win) => clickPopup(win, "Abort"));
      assert.equal(result.outcome, "cancelled", JSON.stringify(result));
      assert.ok(!result.steps.some((s) => s.verb === "let"), JSON.stringify(result.steps));
      await h.lastRunEntries();
    });

    test("closing the window aborts", async () => {
      const { result } = await runWith(h, lines(), "handoff.html", "Continue", (win) => win.close());
      assert.equal(result.outcome, "cancelled", JSON.stringify(result));
      assert.ok(!result.steps.some((s) => s.verb === "let"));
      await h.lastRunEntries();
    });

    test("a tab leaving the script's origins during a handoff stops the run and withdraws the window", async () => {
      let closed;
      const { result } = await runWith(h, lines(), "handoff.html", "Continue", (win) => {
        closed = win.waitForEvent("close");
        h.signal("people", "go-away");
      });
      await closed;
      assert.equal(result.outcome, "failed", JSON.stringify(result));
      assert.equal(result.error.code, "navigation-blocked");
      assert.ok(!result.steps.some((s) => s.verb === "let"));
    });

    test("only the handoff window answers a handoff, and its messages are parsed strictly", async () => {
      const { result } = await runWith(h, lines(), "handoff.html", "Abort", async (win) => {
        const id = new URL(win.url()).searchParams.get("id");
        const refused = { ok: false, error: "message refused" };
        // Another extension page, well-formed message: refused (a page of the wrong kind).
        const options = await h.context.newPage();
        await options.goto(new URL("/options.html", win.url()).href);
        const fromOptions = await options.evaluate(
          (i) => chrome.runtime.sendMessage({ kind: "handoff-answer", id: i, choice: "continue" }),
          id,
        );
        assert.deepEqual(fromOptions, refused);
        // The approval window's kinds do not reach a handoff, even with its id.
        const popup = await h.context.newPage();
        await popup.goto(new URL(`/popup.html?id=${id}`, win.url()).href);
        const fromPopup = await popup.evaluate(async (i) => ({
          get: await chrome.runtime.sendMessage({ kind: "approval-get", id: i }),
          answer: await chrome.runtime.sendMessage({ kind: "approval-answer", id: i, choice: "once" }),
        }), id);
        assert.deepEqual(fromPopup, { get: { ok: true, request: null }, answer: { ok: true, accepted: false } });
        await popup.close();
        await options.close();
        // In the handoff window itself, anything but exactly a choice is refused.
        const malformed = await win.evaluate(async (i) => {
          const send = (m) => chrome.runtime.sendMessage(m);
          return [
            await send({ kind: "handoff-answer", id: i, choice: "yes" }),
            await send({ kind: "handoff-answer", id: i, choice: "continue", extra: 1 }),
            await send({ kind: "upload-answer", id: i, answer: { outcome: "cancelled" } }),
          ];
        }, id);
        assert.deepEqual(malformed, [refused, refused, refused]);
        await clickPopup(win, "Abort");
      });
      assert.equal(result.outcome, "cancelled", JSON.stringify(result));
    });

    test("no answer within the (approval) timeout aborts and closes the window", async () => {
      await h.worker.evaluate(() => self.bridleTest.setApprovalTimeout(500));
      let closed;
      const { result } = await runWith(h, lines(), "handoff.html", "Continue", (win) => {
        closed = win.isClosed() ? Promise.resolve() : win.waitForEvent("close");
      });
      await closed;
      assert.equal(result.outcome, "cancelled", JSON.stringify(result));
      assert.ok(!result.steps.some((s) => s.verb === "let"));
    });
  });

  describe("upload", () => {
    const uploadLines = (target = 'css "#receipt"') => [
      ...h.header("Attach the receipt"),
      `navigate "${h.home}${PAGE}"`,
      `upload ${target}`,
      'return "attached"',
    ];
    const run = (meanwhile, target) =>
      runWith(h, uploadLines(target), "upload.html", "Upload", meanwhile, {
        verbs: ["navigate", "upload"],
        onPopup: (popup) => clickPopup(popup, "Approve once"),
      });
    /** Picks `file` ({name, mimeType, buffer}) in Bridle's window and presses `button`. */
    const pick = (file, button = "Upload", seen = {}) => async (win) => {
      seen.heading = (await win.locator("h1").textContent()).trim();
      await win.getByLabel("File to upload").setInputFiles(file);
      await clickPopup(win, button);
    };

    test("the user's file reaches the page's file input byte for byte; the log keeps its digest, never its bytes", async () => {
      const marker = `BRIDLE-UPLOAD-${randomBytes(8).toString("hex")}`;
      const buffer = Buffer.concat([Buffer.from(marker), randomBytes(3000), Buffer.from([0, 255, 1, 254])]);
      const sha = createHash("sha256").update(buffer).digest("hex");
      const seen = {};
      const { result, popups } = await run(pick({ name: "receipt.bin", mimeType: "application/octet-stream", buffer }, "Upload", seen));
      assert.equal(popups.length, 1, "the upload is approved first, as any high-risk step");
      assert.equal(seen.heading, `Choose a file for the element “Receipt” on ${h.home}`);
      assert.equal(result.outcome, "completed", JSON.stringify(result));
      assert.deepEqual(result.uploads, [{ step: 2, name: "receipt.bin", size: buffer.length, sha256: `sha256:${sha}` }]);
      // The page got exactly these bytes, through `input` and `change`.
      assert.deepEqual(await h.pageLog("people"), [
        "input",
        `change receipt.bin ${buffer.length} application/octet-stream sha256:${sha}`,
      ]);
      // The audit log records the digest as the step's observation; neither the bytes nor
      // their base64 appear in it.
      const entries = await h.lastRunEntries();
      const log = JSON.stringify(entries);
      assert.ok(log.includes(sha), "the file's SHA-256 is in the audit log");
      assert.ok(!log.includes(marker));
      assert.ok(!log.includes(buffer.toString("base64").slice(0, 40)));
      assert.ok(!JSON.stringify(result).includes(marker));
    });

    test("the upload window's answers are parsed strictly: no path, no extra field, no lie about the size", async () => {
      const { result } = await run(async (win) => {
        const id = new URL(win.url()).searchParams.get("id");
        const replies = await win.evaluate(
          async ([i, max]) => {
            const send = (answer) => chrome.runtime.sendMessage({ kind: "upload-answer", id: i, answer });
            const file = { name: "a.txt", type: "text/plain", data: "QUJD" };
            return [
              await send({ outcome: "chosen", file: { ...file, path: "/etc/passwd" } }),
              await send({ outcome: "chosen", file: { ...file, name: "../../etc/passwd" } }),
              await send({ outcome: "chosen", file: { ...file, name: "" } }),
              await send({ outcome: "chosen", file: { ...file, data: "not base64!" } }),
              await send({ outcome: "chosen", file: { ...file, type: "text/plain; x=<y>" } }),
              await send({ outcome: "chosen", file: { ...file, data: "A".repeat(4 * Math.ceil(max / 3) + 4) } }),
              await send({ outcome: "too-large", name: "a.txt", size: max }),
              await send({ outcome: "cancelled", why: "x" }),
            ];
          },
          [id, MAX_UPLOAD_BYTES],
        );
        for (const reply of replies) assert.deepEqual(reply, { ok: false, error: "message refused" });
        await clickPopup(win, "Cancel");
      });
      assert.equal(result.outcome, "failed", JSON.stringify(result));
      assert.match(result.error.message, /cancelled/);
      assert.deepEqual(await h.pageLog("people"), []);
    });

    test("Cancel fails the step and the page gets nothing", async () => {
      const { result } = await run(async (win) => clickPopup(win, "Cancel"));
      assert.equal(result.outcome, "failed", JSON.stringify(result));
      assert.equal(result.error.code, "act-failed");
      assert.match(result.error.message, /cancelled/);
      assert.equal(result.uploads, undefined);
      assert.deepEqual(await h.pageLog("people"), []);
      await h.lastRunEntries();
    });

    test("closing the upload window fails the step", async () => {
      const { result } = await run((win) => win.close());
      assert.equal(result.outcome, "failed", JSON.stringify(result));
      assert.match(result.error.message, /closed/);
      assert.deepEqual(await h.pageLog("people"), []);
    });

    test("a file over the limit is refused with a clear error, and the page gets nothing", async () => {
      const buffer = Buffer.alloc(MAX_UPLOAD_BYTES + 1, 7);
      const { result } = await run(pick({ name: "big.bin", mimeType: "application/octet-stream", buffer }));
      assert.equal(result.outcome, "failed", JSON.stringify(result));
      assert.equal(result.error.code, "act-failed");
      assert.match(result.error.message, /too large to upload: 10485761 bytes, above the limit of 10485760 bytes/);
      assert.deepEqual(await h.pageLog("people"), []);
    });

    test("a file exactly at the limit goes through", async () => {
      const buffer = Buffer.alloc(MAX_UPLOAD_BYTES, 9);
      const sha = createHash("sha256").update(buffer).digest("hex");
      const { result } = await run(pick({ name: "max.bin", mimeType: "application/octet-stream", buffer }));
      assert.equal(result.outcome, "completed", JSON.stringify(result));
      assert.equal(result.uploads[0].sha256, `sha256:${sha}`);
      const log = await h.pageLog("people");
      assert.equal(log.at(-1), `change max.bin ${MAX_UPLOAD_BYTES} application/octet-stream sha256:${sha}`);
    });

    test("a target that is not a file input fails the step and is left alone", async () => {
      const buffer = Buffer.from("not for a text field");
      const { result } = await run(pick({ name: "note.txt", mimeType: "text/plain", buffer }), 'textbox "Note"');
      assert.equal(result.outcome, "failed", JSON.stringify(result));
      assert.equal(result.error.code, "act-failed");
      assert.match(result.error.message, /not a file input/);
      assert.deepEqual(await h.pageLog("people"), []);
      await h.lastRunEntries();
    });
  });

  describe("a run cancelled by its planner", () => {
    test("withdraws its handoff window and its upload window", async () => {
      const planner = await startTestPlanner();
      try {
        // The planner's table with its endpoint: the extension dials it.
        await h.close();
        await h.launch(`endpoint = "${planner.endpoint}"\n`);
        await planner.next((m) => m.type === "hello");
        // A handoff is cancelled as such. The upload step was written to the log as started
        // before its window opened (the window opens at act time), so the engine records it
        // as interrupted: it cannot know that nothing reached the page.
        const cases = [
          ["handoff", "handoff.html", ['handoff "Please wait for the cancel"', 'return "resumed"'], ["navigate"], ["cancelled", "cancelled"]],
          ["upload", "upload.html", ['upload css "#receipt"', 'return "attached"'], ["navigate", "upload"], ["failed", "interrupted"]],
        ];
        for (const [run, page, steps, verbs, [outcome, code]] of cases) {
          const text = [...h.header("Be cancelled"), `navigate "${h.home}${PAGE}"`, ...steps, ""].join("\n");
          const scriptFile = join(h.dir, `cancel-${run}.bridle`);
          await writeFile(scriptFile, text);
          const token = mintToken({ planner: h.planner, iss: PLANNER_NAME, instance: h.instance, scriptFile, origins: [h.home], verbs });
          const from = planner.received.length;
          planner.send({ type: "run", run, script: text, token });
          if (run === "upload") await answerApproval(h.context, "Approve once");
          const win = await nextWindow(h, page, page === "handoff.html" ? "Continue" : "Upload", () => false);
          const closed = win.waitForEvent("close");
          planner.send({ type: "cancel", run });
          const { result } = await planner.next((m) => m.type === "result" && m.run === run, { from });
          await closed;
          assert.deepEqual([result.outcome, result.error?.code], [outcome, code], `${run}: ${JSON.stringify(result)}`);
          assert.ok(!result.steps.some((s) => s.verb === "return"), run);
        }
        assert.deepEqual(await h.pageLog("people"), []);
      } finally {
        await planner.close();
      }
    });
  });
});
