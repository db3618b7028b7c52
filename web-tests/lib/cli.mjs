// The `bridle` command as the tests use it: built once with cargo, then keys, tokens,
// authorize (the native decisions to compare the extension's with) and audit verify.

import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { BRIDLE_BIN, ROOT } from "./paths.mjs";

/** The binary the tests run: a private copy, so that another cargo build replacing
 * target/debug/bridle mid-run (the target directory is shared) cannot disturb a test. */
let binary = BRIDLE_BIN;

/** Builds the CLI (quick when it is up to date) and copies it into `dir`. */
export function buildCli(dir) {
  const env = { ...process.env, PATH: `${join(homedir(), ".cargo/bin")}:${process.env.PATH ?? ""}` };
  execFileSync(process.env.CARGO ?? "cargo", ["build", "--quiet", "-p", "bridle-cli"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  binary = join(dir, "bridle");
  copyFileSync(BRIDLE_BIN, binary);
}

/** Runs `bridle args…`; returns {status, stdout, stderr}. */
export function bridle(args) {
  const out = spawnSync(binary, args, { encoding: "utf8" });
  if (out.error) throw out.error;
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

/** `bridle keys new --json`: {kid, instance_id, public_key, secret_key}. */
export function newKeyPair() {
  const out = bridle(["keys", "new", "--json"]);
  if (out.status !== 0) throw new Error(`bridle keys new failed: ${out.stderr}`);
  return JSON.parse(out.stdout);
}

/** `bridle token mint …`: a token for `instance`, bound to the script file. */
export function mintToken({ planner, iss, instance, scriptFile, origins, verbs, kid, secrets = [] }) {
  // `--key=…`: a base64url key may begin with `-`, which would read as an option.
  const args = ["token", "mint", `--key=${planner.secret_key}`, "--iss", iss, "--aud", instance];
  // A footer key id other than the key's own (a hostile planner's token, in the tests).
  if (kid !== undefined) args.push("--kid", kid);
  args.push("--script", scriptFile);
  for (const origin of origins) args.push("--origin", origin);
  for (const verb of verbs) args.push("--verb", verb);
  for (const secret of secrets) args.push("--secret", secret);
  const out = bridle(args);
  if (out.status !== 0) throw new Error(`bridle token mint failed: ${out.stderr}`);
  return out.stdout.trim();
}

/** A policy trusting `planner` under the name `name`. */
export function policyTrusting(planner, name) {
  return [
    "[[planner]]",
    `name = "${name}"`,
    `kid = "${planner.kid}"`,
    `public_key = "${planner.public_key}"`,
    'max_ttl = "15m"',
    "",
  ].join("\n");
}

/** `bridle authorize --json`: the native plan preview, for comparison. */
export function authorize({ policyFile, token, instance, scriptFile }) {
  const out = bridle([
    "authorize", "--json", "--policy", policyFile, "--token", token, "--instance", instance, scriptFile,
  ]);
  return JSON.parse(out.stdout);
}
