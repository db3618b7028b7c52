// The reference implementations the differential test and the benchmark compare Bridle with,
// bundled for the page: `dom-accessibility-api` (computeAccessibleName, getRole) and
// `@testing-library/dom` (queryAllByRole), exposed as `window.__bridleReference`. Bundled with
// the extension's esbuild, so nothing is downloaded at test time.

import { createRequire } from "node:module";
import { join } from "node:path";
import { ROOT } from "./paths.mjs";

const require = createRequire(join(ROOT, "extension/package.json"));

let bundled;

/** The IIFE source to add to a page with `page.addScriptTag({content})`. */
export async function referenceScript() {
  if (bundled !== undefined) return bundled;
  const esbuild = require("esbuild");
  const result = await esbuild.build({
    stdin: {
      contents: [
        'import { computeAccessibleName, getRole } from "dom-accessibility-api";',
        'import { queryAllByRole, configure } from "@testing-library/dom";',
        "window.__bridleReference = { computeAccessibleName, getRole, queryAllByRole, configure };",
      ].join("\n"),
      resolveDir: join(ROOT, "web-tests"),
      loader: "js",
    },
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
    define: { "process.env.NODE_ENV": '"production"', "process.env.COLORS": "false" },
  });
  bundled = result.outputFiles[0].text;
  return bundled;
}
