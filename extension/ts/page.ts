// Helpers for the extension's own pages (approval, handoff and upload windows, options page):
// typed messages to the service worker, DOM lookups and a window's answer buttons. Text from outside is only ever set as textContent.

import type { Message, MessageKind, Replies, Reply } from "./messages";

/** Sends `message` and returns the service worker's successful reply, or throws its error. */
export async function send<K extends MessageKind>(
  message: Extract<Message, { kind: K }>,
): Promise<Replies[K]> {
  const reply = (await chrome.runtime.sendMessage(message)) as Reply<K> | undefined;
  if (reply === undefined) throw new Error("the service worker did not answer");
  if (!reply.ok) throw new Error(reply.error);
  return reply;
}

/** The element with `id`, which the page's HTML must have. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
  return element;
}

/** Replaces `list`'s items with one `<li>` per text. */
export function fillList(list: HTMLElement, items: readonly string[]): void {
  list.replaceChildren(
    ...items.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }),
  );
}

/** Says how an answer ended, and closes the window once the service worker took it. */
export function answered(status: HTMLElement, reply: { accepted: boolean }): void {
  status.textContent = reply.accepted ? "Answer sent." : "This request is no longer pending.";
  if (reply.accepted) window.close();
}

/**
 * Enables the choice `buttons` of a window that answers one request: a click disables them
 * all and sends its choice with `answer` (see {@link answered}).
 */
export function offerChoices<C extends string>(
  buttons: Record<C, HTMLButtonElement>,
  status: HTMLElement,
  answer: (choice: C) => Promise<{ accepted: boolean }>,
): void {
  const choose = async (choice: C): Promise<void> => {
    for (const button of Object.values<HTMLButtonElement>(buttons)) button.disabled = true;
    answered(status, await answer(choice));
  };
  for (const [choice, button] of Object.entries(buttons) as [C, HTMLButtonElement][]) {
    button.disabled = false;
    button.addEventListener("click", () => {
      choose(choice).catch((error: unknown) => {
        status.textContent = `The answer could not be sent: ${String(error)}`;
      });
    });
  }
}
