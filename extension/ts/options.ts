// The options page: the instance's id and key, the policy in use (editable), and the audit
// log with an export.

import type { OptionsState } from "./messages";
import { byId, fillList, send } from "./page";

const status = byId("status", HTMLParagraphElement);
const policy = byId("policy", HTMLTextAreaElement);
const problems = byId("policy-problems", HTMLPreElement);
let auditLog = "";
let instanceId = "";

function render(state: OptionsState): void {
  instanceId = state.instanceId;
  auditLog = state.auditLog;
  byId("instance-id", HTMLElement).textContent = state.instanceId;
  byId("public-key", HTMLElement).textContent = state.publicKey;
  byId("startup", HTMLElement).textContent =
    state.startup === null
      ? "not measured"
      : `ready ${state.startup.readyMs.toFixed(0)} ms after the service worker started (wasm ${state.startup.wasmMs.toFixed(0)} ms)`;
  fillList(byId("warnings", HTMLUListElement), state.warnings);
  byId("policy-source", HTMLParagraphElement).textContent = state.policyIsDefault
    ? "The shipped default policy: it trusts no planner yet."
    : "Your policy.";
  policy.value = state.policy;
  byId("audit-log", HTMLPreElement).textContent = state.auditLog;
}

async function refresh(): Promise<void> {
  const reply = await send({ kind: "options-get" });
  render(reply.state);
  status.textContent = "";
}

async function savePolicy(): Promise<void> {
  const reply = await send({ kind: "policy-set", toml: policy.value });
  problems.textContent = reply.message;
  if (reply.accepted) {
    await refresh();
    status.textContent = "Policy saved.";
  } else {
    status.textContent = "The policy was not saved: see the problems below.";
  }
}

function exportAudit(): void {
  const url = URL.createObjectURL(new Blob([auditLog], { type: "application/jsonl" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = `bridle-audit-${instanceId}.jsonl`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function report(action: string) {
  return (error: unknown): void => {
    status.textContent = `${action} failed: ${String(error)}`;
  };
}

byId("save-policy", HTMLButtonElement).addEventListener("click", () => {
  savePolicy().catch(report("Saving the policy"));
});
byId("export-audit", HTMLButtonElement).addEventListener("click", exportAudit);
refresh().catch(report("Loading"));
