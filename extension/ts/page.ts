// Helpers for the extension's own pages (approval window, options page): typed messages to
// the service worker and DOM lookups. Text from outside is only ever set as textContent.

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
