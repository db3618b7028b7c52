//! `bridle planner`: the reference planner. `serve` pairs with instances and sends them scripts
//! with tokens it mints; `run` submits one script to a running `serve` and follows it.
//!
//! It is the worked example for planners in other languages: `docs/planner.md` describes
//! everything it does on the wire, and `docs/protocol.md` is the contract it follows.

pub mod control;
pub mod grants;
mod key;
mod run;
mod serve;
mod show;

use crate::keys::fail;
use bridle_executor::keys::{encode_public_key, key_id};
use bridle_executor::policy::edit::add_planner;
use bridle_executor::protocol::Pairing;
use bridle_executor::token::MaxAmount;
use std::path::PathBuf;
use std::process::ExitCode;

/// The address `serve` listens on unless told otherwise, and `run` dials.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

#[derive(Debug, clap::Subcommand)]
pub enum PlannerCmd {
    /// Serve instances: print the pairing string, mint a token per run, send scripts
    Serve(ServeArgs),
    /// Submit a script to a running `bridle planner serve` and follow it to its result
    Run(RunArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The planner's secret key file; created (mode 0600) when missing
    /// [default: $XDG_CONFIG_HOME/bridle/planner.key or ~/.config/bridle/planner.key]
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// The planner's name: the tokens' issuer, and the name the user pairs
    #[arg(long, default_value = "bridle-planner")]
    name: String,
    /// The address to listen on (port 0: any free port)
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    listen: std::net::SocketAddr,
    /// The endpoint the pairing string advertises, when instances reach the planner through a
    /// TLS proxy (`wss://…`) [default: ws://ADDR/bridle]
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Run every `*.bridle` file of this folder, in name order, once an instance connects
    #[arg(long, value_name = "DIR")]
    scripts: Option<PathBuf>,
    /// Lifetime of each token: `90s`, `5m`, `1h`
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    token_ttl: bridle_executor::time::Duration,
    /// The longest token lifetime the pairing asks the user to accept
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    max_ttl: String,
    /// Cap the amount any high-risk step may commit to, in every token: `20EUR`
    #[arg(long, value_name = "AMOUNT", value_parser = parse_amount)]
    max_amount: Option<MaxAmount>,
    /// Print one JSON object per line for every event (after the two first lines)
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The script file, or `-` for standard input
    script: PathBuf,
    /// The planner's address: `ws://HOST:PORT` (its control path is used)
    #[arg(long, value_name = "URL", default_value = "ws://127.0.0.1:7878")]
    planner: String,
    /// How long the planner waits for an instance to connect
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    wait_instance: bridle_executor::time::Duration,
    /// Run on this instance id (default: the one that connected last)
    #[arg(long, value_name = "ID")]
    instance: Option<String>,
    /// Send `cancel` once N progress events have arrived (0: as soon as the run is sent)
    #[arg(long, value_name = "N")]
    cancel_after: Option<u64>,
    /// Print the planner's messages as JSON, one per line
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: PlannerCmd) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}"), ""),
    };
    match cmd {
        PlannerCmd::Serve(args) => runtime.block_on(serve_command(args)),
        PlannerCmd::Run(args) => runtime.block_on(run::run(args)),
    }
}

fn parse_duration(text: &str) -> Result<bridle_executor::time::Duration, String> {
    // The policy's own duration syntax, so `--max-ttl` reads as the pairing's `max_ttl` will.
    match bridle_executor::policy::units::parse_duration(text) {
        Ok(d) if d > bridle_executor::time::Duration::ZERO => Ok(d),
        _ => Err(format!(
            "`{text}` is not a duration like `30s`, `5m` or `1h` (more than zero)"
        )),
    }
}

fn parse_amount(text: &str) -> Result<MaxAmount, String> {
    crate::token::parse_amount(text)
}

/// Exit code 2: the command line cannot work.
fn usage(message: &str, help: &str) -> ExitCode {
    let _ = fail(message, help);
    ExitCode::from(2)
}

async fn serve_command(args: ServeArgs) -> ExitCode {
    let max_ttl = match parse_duration(&args.max_ttl) {
        Ok(d) => d,
        Err(e) => return usage(&e, "pass `--max-ttl 15m` or similar"),
    };
    if args.token_ttl > max_ttl {
        return usage(
            "`--token-ttl` is longer than `--max-ttl`: instances would refuse every token",
            "shorten `--token-ttl` or lengthen `--max-ttl`",
        );
    }
    let scripts = match &args.scripts {
        Some(dir) => match serve::read_scripts(dir) {
            Ok(scripts) => scripts,
            Err(e) => return usage(&e, "pass a folder of `*.bridle` files"),
        },
        None => Vec::new(),
    };
    let key_path = args.key.clone().unwrap_or_else(key::default_key_path);
    let (key, created) = match key::load_or_create(&key_path) {
        Ok(k) => k,
        Err(e) => return fail(&e.to_string(), e.help()),
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            return fail(
                &format!("cannot listen on {}: {e}", args.listen),
                "pick another `--listen` address, or port 0 for any free port",
            )
        }
    };
    let address = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => return fail(&format!("cannot read the listening address: {e}"), ""),
    };
    let listening = format!("ws://{address}{}", control::INSTANCE_PATH);
    let endpoint = args.endpoint.clone().unwrap_or_else(|| listening.clone());
    let public = key.verifying_key();
    let kid = key_id(&public);
    let pairing = Pairing {
        v: 1,
        name: args.name.clone(),
        kid: kid.clone(),
        public_key: encode_public_key(&public),
        endpoint: endpoint.clone(),
        max_ttl: args.max_ttl.clone(),
    };
    // The pairing must be one the extension accepts: check it as the policy would.
    if let Err(e) = add_planner("", &pairing) {
        return usage(
            &format!("the pairing this planner would print is refused by the policy: {e}"),
            "plain `ws://` endpoints must be loopback: listen on 127.0.0.1, or put a TLS proxy in front and pass `--endpoint wss://…`",
        );
    }
    let mut notes = vec![format!(
        "key file: {}{}",
        key_path.display(),
        if created { " (created)" } else { "" }
    )];
    if let Some(dir) = &args.scripts {
        notes.push(format!(
            "{} script(s) from {} will run once an instance connects",
            scripts.len(),
            dir.display()
        ));
    }
    let config = serve::ServeConfig {
        key,
        kid,
        name: args.name,
        listener,
        listening,
        pairing: pairing.encode(),
        scripts,
        token_ttl: args.token_ttl,
        grants: grants::GrantOptions {
            max_amount: args.max_amount,
        },
        json: args.json,
        notes,
    };
    match serve::serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e, ""),
    }
}
