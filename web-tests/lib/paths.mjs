// Where the tests find the repository, the built extension and the `bridle` command.

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const DIST_CHROME = join(ROOT, "dist/chrome");
export const TARGET_DIR = process.env.CARGO_TARGET_DIR
  ? resolve(process.env.CARGO_TARGET_DIR)
  : join(ROOT, "target");
export const BRIDLE_BIN = join(TARGET_DIR, "debug/bridle");
export const CHROMIUM = process.env.BRIDLE_CHROMIUM ?? "/usr/bin/chromium";
export const DIST_FIREFOX = join(ROOT, "dist/firefox");
/** The unsigned package `make dist` writes from dist/firefox/; the Firefox tests install it. */
export const FIREFOX_XPI = join(ROOT, "dist/bridle-firefox.xpi");
export const FIREFOX = process.env.BRIDLE_FIREFOX ?? "/usr/bin/firefox-esr";
