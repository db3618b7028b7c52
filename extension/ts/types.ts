// The shapes the wasm executor returns (extension/src/report.rs) and the automation interface
// the service worker exposes as `self.bridle`. Keep in step with the Rust serde types.

/** `allow`, `ask` or `deny`. */
export type Decision = "allow" | "ask" | "deny";

/** One step of the plan preview, decided before the run without page facts. */
export interface PlannedStep {
  index: number;
  line: number;
  verb: string;
  risk: "low" | "medium" | "high";
  decision: Decision;
  reasons: string[];
  /** The step's canonical text. */
  text: string;
}

/** One diagnostic of a script that does not check (the JSON shape planners read). */
export interface ScriptDiagnostic {
  file: string;
  code: string;
  severity: "error";
  message: string;
  line: number;
  column: number;
  end_line: number;
  end_column: number;
  offset: number;
  length: number;
  label: string | null;
  help: string | null;
}

export interface ScriptReport {
  ok: boolean;
  diagnostics: ScriptDiagnostic[];
  /** The planner's claim of what the script is for. */
  goal: string | null;
  steps: number;
}

export interface TokenReport {
  valid: boolean;
  error: string | null;
  /** The error's stable code (`expired`, `bad-signature`, `replayed` …). */
  code: string | null;
}

export interface ErrorReport {
  code: string;
  message: string;
  help: string | null;
  /** `not-found` and `ambiguous`: the elements the page offered, one line each. */
  candidates: string[];
}

/**
 * `refused`: the script, the token or the audit write failed, and nothing ran. Otherwise the
 * engine's outcomes: `completed`, `failed`, `denied`, `cancelled`. (`not-executed` comes only
 * from the plan-only `Instance::run` of the Rust crate's tests, never from `self.bridle.run`.)
 */
export type RunOutcome = "not-executed" | "refused" | "completed" | "failed" | "denied" | "cancelled";

/** One step execution (`StepRecord` of executor/src/engine/effect.rs). */
export interface StepRecord {
  index: number;
  line: number;
  verb: string;
  decision: "allow" | "ask" | "deny" | "confirm" | "handoff" | null;
  reasons: string[];
  approval: "once" | "script" | "remembered" | "deny" | "timeout" | "closed" | null;
  ok: boolean;
  error: string | null;
}

/** What `self.bridle.run()` resolves to. */
export interface RunResult {
  outcome: RunOutcome;
  /** What `return` gave, as plain JSON; null without a `return`. */
  value: unknown;
  error: ErrorReport | null;
  script: ScriptReport;
  token: TokenReport;
  goal: string | null;
  plan: PlannedStep[];
  /** Every step execution, in order. */
  steps: StepRecord[];
  warnings: string[];
  steps_done: number;
  /** Each file an `upload` handed to a page (never its bytes); absent when there were none. */
  uploads?: { step: number; name: string; size: number; sha256: string }[];
}

export interface PolicyDiagnostic {
  line: number;
  column: number;
  /** The key path, as in `site[1].allow[2]`; empty for the whole file. */
  path: string;
  message: string;
  help: string | null;
}

export interface PolicyReport {
  ok: boolean;
  /** Every problem rendered for people: `policy.toml:2:12: error: …`. */
  message: string;
  diagnostics: PolicyDiagnostic[];
}

/** The automation interface on the service worker's global scope. Stable: keep it. */
export interface BridleApi {
  instanceId(): Promise<string>;
  /** Rejects with a {@link BridlePolicyError} when the policy is invalid. */
  setPolicy(toml: string): Promise<void>;
  run(script: string, token: string): Promise<RunResult>;
  /** The audit log, JSON Lines. */
  auditLog(): Promise<string>;
}

/** `setPolicy`'s rejection: the message holds every problem with its line. */
export class BridlePolicyError extends Error {
  override readonly name = "BridlePolicyError";
  readonly diagnostics: PolicyDiagnostic[];

  constructor(report: PolicyReport) {
    super(report.message);
    this.diagnostics = report.diagnostics;
  }
}

/** What an approval shows of a `job` step. */
export interface JobSummary {
  runtime: string;
  sandbox: string;
  timeout_ms: number | null;
  memory_bytes: number | null;
  /** `sha256:…` of the code. */
  code_digest: string;
  first_lines: string[];
  lines: number;
}

/** The user's answer in the approval window. */
export type ApprovalChoice = "once" | "script" | "deny";

/** One step of the plan preview as the approval window lists it. */
export interface PlanLine {
  index: number;
  text: string;
  decision: Decision;
  risk: "low" | "medium" | "high";
}

/** What the approval window shows for one `ask`. Text from the page is shown as text only. */
export interface ApprovalRequest {
  /** The step that asks (1-based, as in the plan). */
  index: number;
  /** Every step of the script with its decision before the run. */
  plan: PlanLine[];
  /** The origin the step acts on. */
  origin: string;
  /** The step's canonical text. */
  step: string;
  /** The element's role and accessible name, as read from the page. */
  role: string | null;
  name: string | null;
  /** Values to be typed; secrets arrive masked. */
  values: string[];
  amount: string | null;
  risk: "low" | "medium" | "high";
  /** The rules that made the step ask. */
  reasons: string[];
  /** The planner's claim of what the script is for: shown labelled as such. */
  goal: string;
  /** For a `job` step: what will run and where (`engine::JobSummary`). */
  job: JobSummary | null;
}

/** How the service worker's last start went, kept in `chrome.storage.session`. */
export interface StartupTiming {
  /** Milliseconds from the service worker's start to the compiled wasm. */
  wasmMs: number;
  /** Milliseconds from the service worker's start to the executor loaded from storage. */
  readyMs: number;
}

/** The result of `bridleTest.resolveTarget` (extension/src/page.rs, `TargetReport`). */
export type TargetReport =
  | { ok: true; role: string; name: string; handle: { frame: number; node: number }; hit: boolean | null }
  | { ok: false; code: string; message: string; help: string; candidates: string[] };

/** One element of `bridleTest.describePage` (`page::describe`). */
export interface DescribedElement {
  handle: { frame: number; node: number };
  role: string | null;
  name: string;
  in_tree: boolean;
}

/** Test hooks on the service worker's global scope (`self.bridleTest`), apart from the stable
 * `self.bridle`: they read pages and resolve targets, and decide and run nothing for the
 * instance (`replayVectors` decides only the vectors' own inputs). */
export interface BridleTestApi {
  /** Every frame's snapshot of tab `tabId` from the content scripts, as JSON, with hit tests;
   * with `bases` (`[{frame, doc, version}]` of a snapshot read before), frames answer with
   * their changes since. */
  snapshotTab(tabId: number, bases?: { frame: number; doc: string; version: number }[]): Promise<string>;
  /** `next` read after `prev` as a run reads it (whole frames and updates), as whole JSON. */
  applySnapshot(prev: string, next: string): Promise<string>;
  resolveTarget(snapshot: string, target: string, purpose: "act" | "observe"): Promise<TargetReport>;
  describePage(snapshot: string): Promise<DescribedElement[]>;
  /** Many targets on one parsed snapshot (the in-browser benchmark). */
  resolveTargets(snapshot: string, targets: string[], purpose: "act" | "observe"): Promise<TargetReport[]>;
  /** How long approval windows wait before they deny, in ms (100 to the 5-minute default;
   * `null`: the default). In memory only: a service-worker restart restores the default. */
  setApprovalTimeout(ms: number | null): Promise<void>;
  /** Replays the conformance vectors (tests/vectors/decisions.json, as text) through the
   * wasm build's PEP (`bridle_executor::vectors`), touching none of the instance's state;
   * one result per vector, in order. */
  replayVectors(json: string): Promise<VectorReplay[]>;
}

/** One vector replayed by `bridleTest.replayVectors` (`bridle_executor::vectors::CaseResult`). */
export interface VectorReplay {
  name: string;
  agrees: boolean;
  got: {
    token_valid: boolean;
    token_error: string | null;
    decisions: { index: number; verb: string; risk: string; decision: string; reasons: string[] }[];
  };
}
