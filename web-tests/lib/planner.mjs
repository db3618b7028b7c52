// A planner for the tests: a WebSocket server on 127.0.0.1 speaking docs/protocol.md, which
// records what the extension sends and can send anything, well-formed or hostile. Tokens are
// minted by the real CLI (lib/cli.mjs); this side only moves messages.

import { WebSocketServer } from "ws";

/** Starts the test planner on `port` (0: an ephemeral port). */
export async function startTestPlanner(port = 0) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port, path: "/bridle", maxPayload: 8 * 1024 * 1024 });
  await new Promise((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  const received = [];
  const waiters = [];
  let socket = null;
  let connections = 0;

  const settle = () => {
    for (let i = waiters.length - 1; i >= 0; i -= 1) {
      const w = waiters[i];
      const found = received.find((m, at) => at >= w.from && w.match(m));
      if (found !== undefined) {
        waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(found);
      }
    }
  };

  wss.on("connection", (ws) => {
    connections += 1;
    socket = ws;
    ws.on("message", (data, binary) => {
      received.push(binary ? { type: "<binary>" } : JSON.parse(data.toString("utf8")));
      settle();
    });
    ws.on("close", () => {
      if (socket === ws) socket = null;
    });
  });

  const endpoint = `ws://127.0.0.1:${wss.address().port}/bridle`;
  return {
    endpoint,
    port: wss.address().port,
    received,
    get connections() {
      return connections;
    },
    get connected() {
      return socket !== null && socket.readyState === socket.OPEN;
    },
    /** Sends a message (an object is sent as JSON, a string as is). */
    send(message) {
      if (socket === null) throw new Error("no instance is connected");
      socket.send(typeof message === "string" ? message : JSON.stringify(message));
    },
    /** The first message from index `from` on that `match` accepts, waiting up to `ms`. */
    next(match, { from = 0, ms = 60_000 } = {}) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(entry);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`no matching message in ${ms} ms; got ${JSON.stringify(received.slice(from)).slice(0, 2000)}`));
        }, ms);
        const entry = { match, from, resolve, timer };
        waiters.push(entry);
        settle();
      });
    },
    /** Closes the server and every connection. */
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}
