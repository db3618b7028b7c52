// The upload window: the user picks the file an `upload` step hands to the page; the script
// never names a path and the page never sees the picker. The file is read whole here and sent
// to the service worker base64-encoded (extension messaging is JSON); a file above the limit
// is not read, only its name and size are sent, and the executor refuses it. "Cancel",
// closing the window and the timeout fail the step.

import type { UploadAnswer } from "./messages";
import { answered, byId, send } from "./page";

const status = byId("status", HTMLParagraphElement);
const input = byId("file", HTMLInputElement);
const upload = byId("upload", HTMLButtonElement);
const cancel = byId("cancel", HTMLButtonElement);

function base64(bytes: Uint8Array): string {
  // In chunks: String.fromCharCode takes its arguments on the stack.
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

async function answer(id: string, got: UploadAnswer): Promise<void> {
  for (const control of [input, upload, cancel]) control.disabled = true;
  answered(status, await send({ kind: "upload-answer", id, answer: got }));
}

async function chosen(maxBytes: number): Promise<UploadAnswer | null> {
  const file = input.files?.[0];
  if (file === undefined) {
    status.textContent = "Choose a file first.";
    return null;
  }
  if (file.size > maxBytes) return { outcome: "too-large", name: file.name, size: file.size };
  status.textContent = "Reading the file…";
  const data = base64(new Uint8Array(await file.arrayBuffer()));
  return { outcome: "chosen", file: { name: file.name, type: file.type, data } };
}

async function main(): Promise<void> {
  const id = new URLSearchParams(location.search).get("id") ?? "";
  const reply = id === "" ? { upload: null } : await send({ kind: "upload-get", id });
  const view = reply.upload;
  if (view === null) {
    status.textContent = "This request is no longer pending.";
    return;
  }
  byId("prompt", HTMLElement).textContent = view.prompt;
  byId("limit", HTMLElement).textContent = `At most ${view.maxBytes / 1048576} MiB.`;
  status.textContent = "The script waits for your file.";
  const fail = (error: unknown): void => {
    status.textContent = `The answer could not be sent: ${String(error)}`;
  };
  input.disabled = false;
  upload.disabled = false;
  cancel.disabled = false;
  upload.addEventListener("click", () => {
    chosen(view.maxBytes)
      .then((got) => (got === null ? undefined : answer(id, got)))
      .catch(fail);
  });
  cancel.addEventListener("click", () => {
    answer(id, { outcome: "cancelled" }).catch(fail);
  });
}

main().catch((error: unknown) => {
  status.textContent = `The request could not be loaded: ${String(error)}`;
});
