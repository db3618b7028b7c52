// PLACEHOLDER content script. The real one — a thin sensor and actuator that sends semantic
// snapshots and performs single authorised primitives, with no decisions in it — is written
// separately (issue 4). It is bundled so the build has its entry point, and it is not
// registered in the manifest yet, so it runs on no page.

import { CONTENT_PROTOCOL, type Message } from "./messages";

const hello: Message = { kind: "content-ready", protocol: CONTENT_PROTOCOL };
void chrome.runtime.sendMessage(hello).catch(() => undefined);
