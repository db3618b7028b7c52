// Assembles one browser's unpacked extension: bundles the TypeScript with esbuild, copies the
// pages and the wasm, and derives the manifest from the root manifest.json.
//
//   node extension/build.mjs <browser> <out-dir>
//
// Run by scripts/build-extension.sh after the wasm build, wasm-bindgen and tsc. Per-browser
// differences live in `forBrowser` only; "chrome" is the one browser so far (Firefox comes
// with its own issue and is added there).

import * as esbuild from "esbuild";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const BROWSERS = ["chrome"];

/** Keys starting with `//` are comments in the source manifest. */
function stripComments(value) {
  if (Array.isArray(value)) return value.map(stripComments);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => !key.startsWith("//"))
        .map(([key, inner]) => [key, stripComments(inner)]),
    );
  }
  return value;
}

/** Every permission must say why it is needed, and every note must name a permission. */
function checkPermissionNotes(source) {
  const notes = source["//permissions"] ?? {};
  const granted = [
    ...(source.permissions ?? []),
    ...(source.optional_permissions ?? []),
    ...(source.host_permissions ?? []),
    ...(source.optional_host_permissions ?? []),
  ];
  const problems = [];
  for (const p of granted) {
    if (typeof notes[p] !== "string" || notes[p].trim() === "") {
      problems.push(`permission \`${p}\` has no note in \`//permissions\` saying why it is needed`);
    }
  }
  for (const p of Object.keys(notes)) {
    if (!granted.includes(p)) problems.push(`\`//permissions\` explains \`${p}\`, which is not requested`);
  }
  if (source.web_accessible_resources !== undefined) {
    problems.push("`web_accessible_resources` is not allowed: no extension file needs to be reachable from web pages");
  }
  if (problems.length > 0) throw new Error(`manifest.json: ${problems.join("; ")}`);
}

/** The manifest for one browser. */
function forBrowser(source, browser) {
  const manifest = stripComments(source);
  switch (browser) {
    case "chrome":
      return manifest;
    default:
      throw new Error(`unknown browser \`${browser}\`: expected one of ${BROWSERS.join(", ")}`);
  }
}

async function build(browser, outDir) {
  const source = JSON.parse(await readFile(join(root, "manifest.json"), "utf8"));
  checkPermissionNotes(source);
  const manifest = forBrowser(source, browser);

  await rm(outDir, { recursive: true, force: true });
  await mkdir(join(outDir, "wasm"), { recursive: true });

  const common = {
    bundle: true,
    target: "es2022",
    legalComments: "none",
    sourcemap: "linked",
    logLevel: "warning",
  };
  // The service worker is an ES module (static import of the glue); the pages and the content
  // script are classic scripts (content scripts cannot be modules).
  await esbuild.build({
    ...common,
    entryPoints: [join(here, "ts/background.ts")],
    outfile: join(outDir, "background.js"),
    format: "esm",
    tsconfig: join(here, "tsconfig.worker.json"),
  });
  await esbuild.build({
    ...common,
    entryPoints: ["popup", "options", "content"].map((name) => join(here, `ts/${name}.ts`)),
    outdir: outDir,
    format: "iife",
    tsconfig: join(here, "tsconfig.json"),
  });
  for (const file of ["popup.html", "options.html", "pages.css"]) {
    await copyFile(join(here, "static", file), join(outDir, file));
  }
  await copyFile(join(here, "pkg/bridle_extension_bg.wasm"), join(outDir, "wasm/bridle_extension_bg.wasm"));
  await writeFile(join(outDir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}

const [browser, outDir] = process.argv.slice(2);
if (browser === undefined || outDir === undefined) {
  console.error("usage: node extension/build.mjs <browser> <out-dir>");
  process.exit(2);
}
try {
  await build(browser, resolve(outDir));
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
