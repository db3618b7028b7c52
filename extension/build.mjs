// Assembles one browser's unpacked extension: bundles the TypeScript with esbuild, copies the
// pages and the wasm, and derives the manifest from the root manifest.json.
//
//   node extension/build.mjs <browser> <out-dir> [<archive>]
//
// With <archive>, the directory is also written as a zip there (dist/bridle-chrome.zip,
// dist/bridle-firefox.xpi; the .xpi is unsigned, for Firefox ESR, Developer Edition or Nightly
// with `xpinstall.signatures.required` off, or a temporary install).
//
// Run by scripts/build-extension.sh after the wasm build, wasm-bindgen and tsc. Both browsers
// get the same bundles from the same sources; the manifest's differences live in `forBrowser`,
// the code's in ts/compat.ts behind the `BRIDLE_BROWSER` define (docs/browsers.md).

import * as esbuild from "esbuild";
import { zipSync } from "fflate";
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const BROWSERS = ["chrome", "firefox"];

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

/** Firefox's add-on id: fixed, so storage, native messaging and updates find the same add-on. */
const GECKO_ID = "bridle@bridle.dev";

/**
 * Firefox's manifest from Chrome's: Firefox has no extension service workers, so the same
 * module runs as a module background script (an event page); Firefox wants its own id and
 * minimum version and, since Firefox 140, the data-collection declaration.
 */
function forFirefox(manifest) {
  const { minimum_chrome_version: _chromeOnly, background, ...rest } = manifest;
  if (background?.service_worker === undefined) throw new Error("manifest.json: no background.service_worker to convert");
  return {
    ...rest,
    background: { scripts: [background.service_worker], type: background.type ?? "classic" },
    browser_specific_settings: {
      gecko: {
        id: GECKO_ID,
        strict_min_version: "140.0",
        data_collection_permissions: { required: ["none"] },
      },
      // Firefox for Android reads data_collection_permissions from 142 on (web-ext lint).
      gecko_android: { strict_min_version: "142.0" },
    },
  };
}

/** The manifest for one browser. */
function forBrowser(source, browser) {
  const manifest = stripComments(source);
  switch (browser) {
    case "chrome":
      return manifest;
    case "firefox":
      return forFirefox(manifest);
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
    // The one build-time difference in the code: ts/compat.ts reads it.
    define: { BRIDLE_BROWSER: JSON.stringify(browser) },
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
    entryPoints: ["popup", "options", "content", "handoff", "upload"].map((name) => join(here, `ts/${name}.ts`)),
    outdir: outDir,
    format: "iife",
    tsconfig: join(here, "tsconfig.json"),
  });
  for (const file of ["popup.html", "options.html", "handoff.html", "upload.html", "pages.css"]) {
    await copyFile(join(here, "static", file), join(outDir, file));
  }
  await copyFile(join(here, "pkg/bridle_extension_bg.wasm"), join(outDir, "wasm/bridle_extension_bg.wasm"));
  await writeFile(join(outDir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Every file under `dir`, as sorted paths relative to it with `/` separators. */
async function filesUnder(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .sort();
}

/** The date every archived file gets, so the same sources give the same archive. */
const ARCHIVE_DATE = new Date(1980, 0, 1);

/**
 * Writes `dir` as a zip archive (the Chrome Web Store's .zip, Firefox's unsigned .xpi: both
 * are zips with manifest.json at the root), with fflate. Reproducible: sorted entries, every
 * date 1980-01-01, deflate at level 9.
 */
async function writeArchive(dir, file) {
  const entries = {};
  for (const name of await filesUnder(dir)) {
    entries[name] = [new Uint8Array(await readFile(join(dir, name))), { level: 9, mtime: ARCHIVE_DATE }];
  }
  await writeFile(file, zipSync(entries));
}

const [browser, outDir, archive] = process.argv.slice(2);
if (browser === undefined || outDir === undefined) {
  console.error("usage: node extension/build.mjs <browser> <out-dir> [<archive.zip|.xpi>]");
  process.exit(2);
}
try {
  await build(browser, resolve(outDir));
  if (archive !== undefined) await writeArchive(resolve(outDir), resolve(archive));
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
