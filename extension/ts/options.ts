// The options page: the instance's id and key, the policy in use (editable), and the audit
// log with an export.

import type { OptionsState, PairingFields, PlannerState } from "./messages";
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
  renderPlanners(state.planners);
  renderVault(state.vault);
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

/** One item per paired planner, with its connection state and a Remove button. */
function renderPlanners(planners: PlannerState[]): void {
  const list = byId("planners", HTMLUListElement);
  if (planners.length === 0) {
    const item = document.createElement("li");
    item.textContent = "No planner is paired.";
    list.replaceChildren(item);
    return;
  }
  list.replaceChildren(
    ...planners.map((planner) => {
      const item = document.createElement("li");
      const state = planner.endpoint === null ? "no endpoint" : planner.connected ? "connected" : "not connected";
      item.textContent = `${planner.name} (key ${planner.kid}) — ${planner.endpoint ?? ""} — ${state} `;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = `Remove ${planner.name}`;
      remove.addEventListener("click", () => {
        unpair(planner.name).catch(report("Removing the planner"));
      });
      item.append(remove);
      return item;
    }),
  );
}

/** One item per vault entry: its name and a Remove button (values are never shown). */
function renderVault(names: string[]): void {
  const list = byId("vault", HTMLUListElement);
  list.replaceChildren(
    ...names.map((name) => {
      const item = document.createElement("li");
      item.textContent = `${name} `;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = `Remove secret ${name}`;
      remove.addEventListener("click", () => {
        changeVault({ kind: "vault-remove", name }).catch(report("Removing the secret"));
      });
      item.append(remove);
      return item;
    }),
  );
}

async function changeVault(
  change: { kind: "vault-set"; name: string; value: string } | { kind: "vault-remove"; name: string },
): Promise<void> {
  const reply = await send(change);
  if (reply.accepted && change.kind === "vault-set") byId("vault-form", HTMLFormElement).reset();
  await refresh();
  status.textContent = reply.accepted
    ? `Secret ${change.name} ${change.kind === "vault-set" ? "saved" : "removed"}.`
    : `The vault was not changed: ${reply.message}`;
}

const PAIRING_PREFIX = "bridle-pair:";

/** Fills the pairing fields from a pasted pairing string. Only a convenience: the service
 * worker checks every value again when the planner is paired. */
function fillFromPairingString(): void {
  const text = byId("pairing-string", HTMLInputElement).value.trim();
  const problems = byId("pair-problems", HTMLPreElement);
  if (text === "") return;
  try {
    if (!text.startsWith(PAIRING_PREFIX)) throw new Error(`a pairing string starts with ${PAIRING_PREFIX}`);
    const body = text.slice(PAIRING_PREFIX.length).replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(body), (c) => c.charCodeAt(0)));
    const fields = JSON.parse(json) as Partial<Record<keyof PairingFields, unknown>>;
    const set = (id: string, value: unknown): void => {
      byId(id, HTMLInputElement).value = typeof value === "string" ? value : "";
    };
    set("planner-name", fields.name);
    set("planner-kid", fields.kid);
    set("planner-key", fields.public_key);
    set("planner-endpoint", fields.endpoint);
    set("planner-ttl", fields.max_ttl);
    problems.textContent = "";
  } catch (error) {
    problems.textContent = `The pairing string cannot be read: ${String(error)}`;
  }
}

async function pair(): Promise<void> {
  const value = (id: string): string => byId(id, HTMLInputElement).value.trim();
  const pairing: PairingFields = {
    v: 1,
    name: value("planner-name"),
    kid: value("planner-kid"),
    public_key: value("planner-key"),
    endpoint: value("planner-endpoint"),
    max_ttl: value("planner-ttl"),
  };
  const reply = await send({ kind: "planner-pair", pairing });
  byId("pair-problems", HTMLPreElement).textContent = reply.message;
  if (reply.accepted) {
    byId("pair-form", HTMLFormElement).reset();
    await refresh();
    status.textContent = `Planner ${pairing.name} paired.`;
  } else {
    status.textContent = "The planner was not paired: see the problems below.";
  }
}

async function unpair(name: string): Promise<void> {
  const reply = await send({ kind: "planner-unpair", name });
  await refresh();
  status.textContent = reply.accepted ? `Planner ${name} removed.` : reply.message;
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
byId("pairing-string", HTMLInputElement).addEventListener("input", fillFromPairingString);
byId("vault-form", HTMLFormElement).addEventListener("submit", (event) => {
  event.preventDefault();
  const name = byId("vault-name", HTMLInputElement).value.trim();
  const value = byId("vault-value", HTMLInputElement).value;
  changeVault({ kind: "vault-set", name, value }).catch(report("Saving the secret"));
});
byId("pair-form", HTMLFormElement).addEventListener("submit", (event) => {
  event.preventDefault();
  pair().catch(report("Pairing"));
});
refresh().catch(report("Loading"));
