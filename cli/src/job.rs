//! `bridle job run`: one job through exactly the host's path — the token checked against the
//! policy's `[jobs]` table by `bridle_host::auth::authorize`, then the tier's sandbox.
//!
//! The `--json` shape is stable: `{"exit": int|null, "signal": str|null, "stdout": str,
//! "stderr": str, "limits_hit": [str], "wall_ms": int}`. Exit status: 0 when the job ran
//! (whatever its own exit code), 1 when it was refused or could not start, 2 on usage errors.

use bridle_executor::time::OffsetDateTime;
use bridle_executor::Policy;
use bridle_host::auth::{authorize, JobRequest, ReplayFile};
use bridle_host::job::{Cancel, JobOutcome, OutputSink, Stream, Tier};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Subcommand)]
pub enum JobCmd {
    /// Run one job in a sandbox, as the native host would
    Run(RunArgs),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The local policy (TOML); its `[jobs]` table sets the ceilings
    #[arg(long)]
    policy: PathBuf,
    /// The capability token (`v4.public.…`), or `@FILE` to read it from a file
    #[arg(long)]
    token: String,
    /// This executor instance's id (the token's audience)
    #[arg(long)]
    instance: String,
    /// The runtime: `python3`, `sh` or `node`
    #[arg(long)]
    runtime: String,
    /// The sandbox tier
    #[arg(long, value_parser = parse_tier)]
    tier: Tier,
    /// The program to run
    #[arg(long)]
    code: PathBuf,
    /// A file handed to the job as its standard input
    #[arg(long)]
    input: Option<PathBuf>,
    /// Wall-clock limit: `10s`, `2m`, `500ms`
    #[arg(long, value_parser = parse_timeout)]
    timeout: Option<Duration>,
    /// Memory limit, like `256MB`
    #[arg(long, value_parser = parse_memory)]
    memory: Option<u64>,
    /// CPU limit in cores, like `0.5` (the token's grant and the policy's `max_cpu` bound it)
    #[arg(long, value_parser = parse_cpu)]
    cpu: Option<f64>,
    /// Ask for network access (the token must grant it and the policy allow it)
    #[arg(long)]
    network: bool,
    /// Print one JSON object instead of the job's output
    #[arg(long)]
    json: bool,
}

fn parse_tier(text: &str) -> Result<Tier, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not `container` or `microvm`"))
}

fn parse_memory(text: &str) -> Result<u64, String> {
    text.parse::<bridle_executor::token::Memory>()
        .map(bridle_executor::token::Memory::bytes)
}

/// A positive, finite number of cores.
fn parse_cpu(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!(
            "`{text}` is not a number of cores like `1` or `0.5`"
        )),
    }
}

/// `500ms`, `10s`, `2m`, `1h`: one number and one unit.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration like `10s`, `500ms` or `2m`");
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return Err(bad());
    }
    let n: u64 = text[..digits].parse().map_err(|_| bad())?;
    let d = match &text[digits..] {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(format!("`{text}` must be longer than zero"));
    }
    Ok(d)
}

fn usage(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// Streams the job's output to this process's stdout and stderr as it comes.
struct Passthrough;

impl OutputSink for Passthrough {
    fn chunk(&mut self, stream: Stream, bytes: &[u8]) {
        let _ = match stream {
            Stream::Stdout => std::io::stdout().write_all(bytes),
            Stream::Stderr => std::io::stderr().write_all(bytes),
        };
    }
}

pub fn run(cmd: JobCmd) -> ExitCode {
    match cmd {
        JobCmd::Run(args) => run_job(args),
    }
}

fn run_job(args: RunArgs) -> ExitCode {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
    };
    let policy_src = match read(&args.policy) {
        Ok(bytes) => bytes,
        Err(e) => return usage(e),
    };
    let code = match read(&args.code) {
        Ok(bytes) => bytes,
        Err(e) => return usage(e),
    };
    let input = match args.input.as_ref().map(read).transpose() {
        Ok(bytes) => bytes.unwrap_or_default(),
        Err(e) => return usage(e),
    };
    let token = match args.token.strip_prefix('@') {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text.trim().to_owned(),
            Err(e) => return usage(format!("cannot read `{path}`: {e}")),
        },
        None => args.token.trim().to_owned(),
    };
    let policy = match Policy::from_bytes(&policy_src) {
        Ok(policy) => policy,
        Err(e) => {
            let name = args.policy.display().to_string();
            eprint!("{}", e.render(&name, &String::from_utf8_lossy(&policy_src)));
            return ExitCode::from(1);
        }
    };
    let Some(replay_path) = ReplayFile::default_path() else {
        return usage("no place for the replay state: set HOME or BRIDLE_STATE_DIR".into());
    };
    let mut replay = ReplayFile::new(replay_path);
    let request = JobRequest {
        token,
        runtime: args.runtime,
        code,
        input,
        tier: Some(args.tier),
        timeout: args.timeout,
        memory: args.memory,
        cpu: args.cpu,
        network: args.network,
        script: None,
    };
    let spec = match authorize(
        &request,
        &policy,
        &args.instance,
        OffsetDateTime::now_utc(),
        &mut replay,
    ) {
        Ok(spec) => spec,
        Err(refusal) => {
            if args.json {
                let out =
                    serde_json::json!({"refused": refusal.code(), "message": refusal.to_string()});
                println!("{out}");
            }
            eprintln!("refused ({}): {refusal}", refusal.code());
            return ExitCode::from(1);
        }
    };
    let outcome = if args.json {
        bridle_host::job::run(&spec, &mut bridle_host::job::NullSink, &Cancel::new())
    } else {
        bridle_host::job::run(&spec, &mut Passthrough, &Cancel::new())
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("error: the job could not run: {e}");
            return ExitCode::from(1);
        }
    };
    if args.json {
        println!("{}", json_line(&outcome));
    } else {
        summary(&outcome);
    }
    ExitCode::SUCCESS
}

/// The stable `--json` object.
fn json_line(outcome: &JobOutcome) -> serde_json::Value {
    serde_json::json!({
        "exit": outcome.exit,
        "signal": outcome.signal,
        "stdout": String::from_utf8_lossy(&outcome.stdout),
        "stderr": String::from_utf8_lossy(&outcome.stderr),
        "limits_hit": outcome.limits_hit.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        "wall_ms": outcome.wall_ms,
    })
}

fn summary(outcome: &JobOutcome) {
    let _ = std::io::stdout().flush();
    let status = match (&outcome.exit, &outcome.signal) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by {sig}"),
        (None, None) => "no status".into(),
    };
    let mut line = format!("job: {status}, {} ms", outcome.wall_ms);
    if !outcome.limits_hit.is_empty() {
        let hit: Vec<&str> = outcome.limits_hit.iter().map(|l| l.as_str()).collect();
        line.push_str(&format!(", limits hit: {}", hit.join(", ")));
    }
    eprintln!("{line}");
}
