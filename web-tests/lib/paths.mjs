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
