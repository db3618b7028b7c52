// The handoff window: the planner asks the user to do something by hand in the run's tab
// (sign in, solve a challenge). "Continue" resumes the script; "Abort", closing the window or
// the timeout stop the run (the service worker watches for the last two).

import type { HandoffChoice } from "./messages";
import { byId, offerChoices, send } from "./page";

const status = byId("status", HTMLParagraphElement);
const buttons: Record<HandoffChoice, HTMLButtonElement> = {
  continue: byId("continue", HTMLButtonElement),
  abort: byId("abort", HTMLButtonElement),
};

async function main(): Promise<void> {
  const id = new URLSearchParams(location.search).get("id") ?? "";
  const reply = id === "" ? { handoff: null } : await send({ kind: "handoff-get", id });
  if (reply.handoff === null) {
    status.textContent = "This request is no longer pending.";
    return;
  }
  byId("origin", HTMLElement).textContent = reply.handoff.origin;
  byId("message", HTMLElement).textContent = reply.handoff.message;
  byId("details", HTMLElement).hidden = false;
  status.textContent = "The script waits for you.";
  offerChoices(buttons, status, (choice) => send({ kind: "handoff-answer", id, choice }));
}

main().catch((error: unknown) => {
  status.textContent = `The request could not be loaded: ${String(error)}`;
});
