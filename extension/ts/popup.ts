// The approval window: shows one pending `ask` and sends the user's answer. Closing the
// window without answering denies (the service worker watches for it).

import type { ApprovalChoice, ApprovalRequest } from "./types";
import { byId, fillList, offerChoices, send } from "./page";

const status = byId("status", HTMLParagraphElement);
const buttons: Record<ApprovalChoice, HTMLButtonElement> = {
  once: byId("approve-once", HTMLButtonElement),
  script: byId("approve-script", HTMLButtonElement),
  deny: byId("deny", HTMLButtonElement),
};

function render(request: ApprovalRequest): void {
  byId("origin", HTMLElement).textContent = request.origin;
  byId("step", HTMLElement).textContent = request.step;
  const element = [request.role, request.name === null ? null : `“${request.name}”`]
    .filter((part) => part !== null)
    .join(" ");
  byId("element", HTMLElement).textContent = element === "" ? "none" : element;
  fillList(byId("values", HTMLUListElement), request.values.length > 0 ? request.values : ["none"]);
  byId("amount", HTMLElement).textContent = request.amount ?? "none";
  byId("risk", HTMLElement).textContent = request.risk;
  fillList(byId("reasons", HTMLUListElement), request.reasons);
  byId("goal", HTMLElement).textContent = request.goal;
  const job = request.job;
  byId("job", HTMLElement).hidden = job === null;
  if (job !== null) {
    const limits = [
      job.timeout_ms === null ? "default time limit" : `at most ${job.timeout_ms / 1000} s`,
      job.memory_bytes === null ? "default memory" : `at most ${Math.round(job.memory_bytes / 1048576)} MiB`,
    ];
    byId("job-runtime", HTMLElement).textContent = `${job.runtime} in a ${job.sandbox} sandbox, ${limits.join(", ")}`;
    byId("job-digest", HTMLElement).textContent = job.code_digest;
    const more = job.lines > job.first_lines.length ? `\n… (${job.lines - job.first_lines.length} more lines)` : "";
    byId("job-code", HTMLElement).textContent = job.first_lines.join("\n") + more;
  }
  const plan = byId("plan", HTMLOListElement);
  plan.replaceChildren(
    ...request.plan.map((line) => {
      const item = document.createElement("li");
      item.value = line.index;
      item.textContent = `${line.text} — ${line.decision} (${line.risk} risk)`;
      if (line.index === request.index) {
        item.setAttribute("aria-current", "step");
        item.textContent += " ← this step";
      }
      return item;
    }),
  );
  byId("details", HTMLElement).hidden = false;
}

async function main(): Promise<void> {
  const id = new URLSearchParams(location.search).get("id") ?? "";
  const reply = id === "" ? { request: null } : await send({ kind: "approval-get", id });
  if (reply.request === null) {
    status.textContent = "This request is no longer pending.";
    return;
  }
  render(reply.request);
  status.textContent = "Bridle needs your approval for this step.";
  offerChoices(buttons, status, (choice) => send({ kind: "approval-answer", id, choice }));
}

main().catch((error: unknown) => {
  status.textContent = `The request could not be loaded: ${String(error)}`;
});
