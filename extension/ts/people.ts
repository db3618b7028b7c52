// People in the loop, the service worker's side: the handoff window (the user does something
// by hand, then presses "Continue" or "Abort") and the upload window (the user picks the file
// an `upload` step hands to the page). Both use the approval windows' machinery (windows.ts):
// closing a window, withdrawing it (a cancelled run) or its timeout refuse.
//
// A picked file's bytes stay in JavaScript: the executor learns only its name, size and
// SHA-256 (`Input::File`), and the bytes go to the content script with the act request of
// the step they were picked for, once the executor has re-checked the element.

import type { ActAction, HandoffChoice, HandoffView, UploadAnswer, UploadFile, UploadView } from "./messages";
import { MAX_UPLOAD_BYTES } from "./messages";
import { answerWindow, openWindow, shownIn } from "./windows";

/** The window sizes. */
const HANDOFF_SIZE = { width: 460, height: 360 };
const UPLOAD_SIZE = { width: 460, height: 360 };

/** Shows the handoff window; "continue" only when the user pressed "Continue". */
export async function requestHandoff(view: HandoffView, signal?: AbortSignal): Promise<HandoffChoice> {
  const got = await openWindow<HandoffView, HandoffChoice>("handoff.html", view, HANDOFF_SIZE, signal);
  return got === "continue" ? "continue" : "abort";
}

/** The executor's view of the upload window's outcome (`people::FileChoice`). */
export type FileChoice =
  | { outcome: "chosen"; file: { name: string; size: number; sha256: string | null } }
  | { outcome: "cancelled" | "closed" | "timeout" };

/** Decodes canonical base64 (messages.ts checked its shape). */
function base64Bytes(data: string): Uint8Array<ArrayBuffer> {
  const text = atob(data);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
  return bytes;
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `sha256:${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Shows the upload window for `step` and returns what the executor is told, with the file to
 * keep when one was picked. The size and digest are computed here from the very bytes that
 * will be sent, never taken from the window's word.
 */
export async function requestFile(
  view: Omit<UploadView, "maxBytes">,
  signal?: AbortSignal,
): Promise<{ choice: FileChoice; picked: UploadFile | null }> {
  const got = await openWindow<UploadView, UploadAnswer>(
    "upload.html",
    { ...view, maxBytes: MAX_UPLOAD_BYTES },
    UPLOAD_SIZE,
    signal,
  );
  if (got === "timeout" || got === "closed") return { choice: { outcome: got }, picked: null };
  switch (got.outcome) {
    case "cancelled":
      return { choice: { outcome: "cancelled" }, picked: null };
    case "too-large":
      return { choice: { outcome: "chosen", file: { name: got.name, size: got.size, sha256: null } }, picked: null };
    case "chosen": {
      const bytes = base64Bytes(got.file.data);
      const file = { name: got.file.name, size: bytes.length, sha256: await sha256(bytes) };
      return { choice: { outcome: "chosen", file }, picked: got.file };
    }
  }
}

/** The act request's action: an `upload` carries the file of the last upload window, which
 * the executor asks for just before (it never asks for an upload whose file was not
 * picked); `null` when there is none. */
export function withFile(action: ActAction | { type: "upload" }, picked: UploadFile | null): ActAction | null {
  if (action.type !== "upload") return action;
  return picked === null ? null : { type: "upload", file: picked };
}

/** The handoff window `id`'s view, or null. */
export function pendingHandoff(id: string): HandoffView | null {
  return shownIn("handoff.html", id) as HandoffView | null;
}

export function answerHandoff(id: string, choice: HandoffChoice): boolean {
  return answerWindow("handoff.html", id, choice);
}

/** The upload window `id`'s view, or null. */
export function pendingUpload(id: string): UploadView | null {
  return shownIn("upload.html", id) as UploadView | null;
}

export function answerUpload(id: string, answer: UploadAnswer): boolean {
  return answerWindow("upload.html", id, answer);
}
