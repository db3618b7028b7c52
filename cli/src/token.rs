//! `bridle token`: mint capability tokens (the planner's side) and inspect them, unverified.

use crate::keys::fail;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bridle_dsl::Verb;
use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::keys::{key_id, parse_secret_key};
use bridle_executor::time::format_description::well_known::Rfc3339;
use bridle_executor::time::{Duration, OffsetDateTime};
use bridle_executor::token::{
    mint, Claims, Grant, MaxAmount, Memory, SandboxTier, ScriptHash, TokenError, UnverifiedToken,
};
use rand_core::RngCore as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The label every `inspect` output starts with: nothing shown has been verified.
pub const UNVERIFIED: &str = "UNVERIFIED: signature not checked";

#[derive(Debug, clap::Subcommand)]
pub enum TokenCmd {
    /// Mint a token: sign claims with a planner's secret key for one executor instance
    Mint(Box<MintArgs>),
    /// Decode a token and print its footer and claims WITHOUT verifying anything
    Inspect(InspectArgs),
}

#[derive(Debug, clap::Args)]
pub struct MintArgs {
    /// The planner's secret key: a file holding it, or the base64url text itself
    #[arg(long, value_name = "SECRET_KEY_FILE_OR_VALUE")]
    key: String,
    /// The key id for the footer [default: the key's derived `k1_…` id]
    #[arg(long)]
    kid: Option<String>,
    /// The planner's name, as the local policy names it
    #[arg(long, value_name = "NAME")]
    iss: String,
    /// The executor instance id the token is for (also the implicit assertion)
    #[arg(long, value_name = "INSTANCE_ID")]
    aud: String,
    /// Lifetime, from `iat` to `exp`: `90s`, `5m`, `1h`, `1h30m`
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    ttl: Duration,
    /// Issued-at time, RFC 3339 [default: now]
    #[arg(long, value_parser = parse_time)]
    iat: Option<OffsetDateTime>,
    /// Not-before time, RFC 3339 [default: iat]
    #[arg(long, value_parser = parse_time)]
    nbf: Option<OffsetDateTime>,
    /// The token's unique id [default: 128 random bits, base64url]
    #[arg(long)]
    jti: Option<String>,
    /// How many scripts the token may run
    #[arg(long, default_value_t = 1)]
    uses: u32,
    /// Bind the token to this exact script file (its SHA-256)
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// A whole grant as JSON (repeatable), e.g. '{"origins":["https://shop.example"]}'
    #[arg(long = "grant", value_name = "JSON", value_parser = parse_grant)]
    grants: Vec<Grant>,
    #[command(flatten)]
    grant: GrantFlags,
}

/// Flags that build one more grant; the grant is added when any of them is given.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "One grant from flags")]
pub struct GrantFlags {
    /// An origin, exact or `https://*.example.com` (repeatable)
    #[arg(long = "origin", value_name = "ORIGIN")]
    origins: Vec<String>,
    /// A path prefix glob like `/checkout/*` (repeatable)
    #[arg(long = "path", value_name = "GLOB")]
    paths: Vec<String>,
    /// A verb as scripts write it, e.g. `click` or `scroll to` (repeatable)
    #[arg(long = "verb", value_name = "VERB", value_parser = parse_verb)]
    verbs: Vec<Verb>,
    /// The most steps a script may have
    #[arg(long, value_name = "N")]
    max_steps: Option<u32>,
    /// The largest amount, like `20EUR` or `19.99 USD`
    #[arg(long, value_name = "AMOUNT", value_parser = parse_amount)]
    max_amount: Option<MaxAmount>,
    /// A secret's name the script may fill (repeatable)
    #[arg(long = "secret", value_name = "NAME")]
    secrets: Vec<String>,
    /// A job runtime allowed (repeatable)
    #[arg(long = "runtime", value_name = "NAME")]
    runtimes: Vec<String>,
    /// The minimum sandbox tier for jobs: `container` or `microvm`
    #[arg(long, value_name = "TIER", value_parser = parse_sandbox)]
    sandbox: Option<SandboxTier>,
    /// The most CPU cores a job may use (may be fractional)
    #[arg(long, value_name = "CORES")]
    cpu: Option<f64>,
    /// The most memory a job may use, like `256MB`
    #[arg(long, value_name = "SIZE", value_parser = parse_memory)]
    memory: Option<Memory>,
    /// Whether jobs may use the network (`--network` alone means true)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    network: Option<bool>,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The token text, or `-` to read it from standard input
    token: String,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: TokenCmd) -> ExitCode {
    match cmd {
        TokenCmd::Mint(args) => run_mint(*args),
        TokenCmd::Inspect(args) => inspect(args),
    }
}

// --- value parsers (their errors are usage errors: exit 2) ---------------------------------

/// `90s`, `5m`, `2h`, `1d`, or a sum like `1h30m`; more than zero.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration like `30s`, `5m` or `1h30m`");
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit = rest[digits..].chars().next().ok_or_else(bad)?;
        let part = match unit {
            's' => Duration::seconds(n),
            'm' => Duration::minutes(n),
            'h' => Duration::hours(n),
            'd' => Duration::days(n),
            _ => return Err(bad()),
        };
        total = total.checked_add(part).ok_or_else(bad)?;
        rest = &rest[digits + 1..];
    }
    if total <= Duration::ZERO {
        return Err(format!("`{text}` must be longer than zero"));
    }
    Ok(total)
}

fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| format!("`{text}` is not an RFC 3339 time like `2025-01-31T12:00:00Z`"))
}

fn parse_verb(text: &str) -> Result<Verb, String> {
    Verb::parse(text).ok_or_else(|| {
        let words: Vec<&str> = Verb::ALL.iter().map(|v| v.as_str()).collect();
        format!("unknown verb `{text}`; the verbs are: {}", words.join(", "))
    })
}

fn parse_sandbox(text: &str) -> Result<SandboxTier, String> {
    match text {
        "container" => Ok(SandboxTier::Container),
        "microvm" => Ok(SandboxTier::Microvm),
        _ => Err(format!(
            "`{text}` is not a sandbox tier: `container` or `microvm`"
        )),
    }
}

fn parse_memory(text: &str) -> Result<Memory, String> {
    text.parse()
}

/// `20EUR`, `19.99 EUR`: a non-negative number, then a three-letter currency code.
pub(crate) fn parse_amount(text: &str) -> Result<MaxAmount, String> {
    let bad = || format!("`{text}` is not an amount like `20EUR` or `19.99 USD`");
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(bad)?;
    let (number, currency) = text.split_at(split);
    let number = number.trim();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad());
    }
    Ok(MaxAmount {
        currency: currency.to_owned(),
        value,
    })
}

fn parse_grant(text: &str) -> Result<Grant, String> {
    serde_json::from_str(text).map_err(|e| format!("not a grant: {e}"))
}

// --- mint ----------------------------------------------------------------------------------

/// The `--key` argument: a file's contents when it names a file, the text itself otherwise.
fn read_secret_key(arg: &str) -> Result<SigningKey, (String, &'static str)> {
    let help = "pass a file written by `bridle keys new --out`, or the secret key's base64url text";
    let path = Path::new(arg);
    let text = if path.is_file() {
        std::fs::read_to_string(path)
            .map_err(|e| (format!("cannot read `{}`: {e}", path.display()), help))?
    } else {
        arg.to_owned()
    };
    parse_secret_key(text.trim()).map_err(|e| {
        let source = if path.is_file() {
            format!("`{}`", path.display())
        } else {
            "`--key`".to_owned()
        };
        (format!("{source}: {e}"), help)
    })
}

fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl GrantFlags {
    fn into_grant(self) -> Option<Grant> {
        let list = |v: Vec<String>| if v.is_empty() { None } else { Some(v) };
        let grant = Grant {
            origins: list(self.origins),
            paths: list(self.paths),
            verbs: if self.verbs.is_empty() {
                None
            } else {
                Some(self.verbs)
            },
            max_steps: self.max_steps,
            max_amount: self.max_amount,
            secrets: list(self.secrets),
            runtimes: list(self.runtimes),
            sandbox: self.sandbox,
            cpu: self.cpu,
            memory: self.memory,
            network: self.network,
        };
        (grant != Grant::default()).then_some(grant)
    }
}

fn token_error(e: &TokenError) -> ExitCode {
    fail(&e.to_string(), e.help())
}

fn run_mint(args: MintArgs) -> ExitCode {
    let key = match read_secret_key(&args.key) {
        Ok(key) => key,
        Err((message, help)) => return fail(&message, help),
    };
    let kid = args.kid.unwrap_or_else(|| key_id(&key.verifying_key()));
    let script = match &args.script {
        Some(path) => match std::fs::read(path) {
            Ok(bytes) => Some(ScriptHash::of(&bytes)),
            Err(e) => {
                return fail(
                    &format!("cannot read `{}`: {e}", path.display()),
                    "pass the exact script file the token is for",
                )
            }
        },
        None => None,
    };
    // Whole seconds: the RFC 3339 text stays short and every planner can reproduce it.
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let iat = args.iat.unwrap_or(now);
    let nbf = args.nbf.unwrap_or(iat);
    let Some(exp) = iat.checked_add(args.ttl) else {
        return fail(
            "`--iat` plus `--ttl` is past the end of time",
            "use a shorter `--ttl`",
        );
    };
    let mut grants = args.grants;
    grants.extend(args.grant.into_grant());
    if grants.is_empty() {
        eprintln!("warning: the token has no grants, so it allows no step");
    }
    let claims = Claims {
        v: 1,
        iss: args.iss,
        aud: args.aud.clone(),
        iat,
        nbf,
        exp,
        jti: args.jti.unwrap_or_else(random_jti),
        uses: args.uses,
        script,
        grants,
    };
    match mint(&claims, &kid, &key, &args.aud) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => token_error(&e),
    }
}

// --- inspect -------------------------------------------------------------------------------

fn read_token_arg(arg: &str) -> Result<String, String> {
    if arg != "-" {
        return Ok(arg.trim().to_owned());
    }
    let mut text = String::new();
    std::io::stdin()
        .take(bridle_executor::token::MAX_TOKEN_BYTES as u64 + 2)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the token from standard input: {e}"))?;
    Ok(text.trim().to_owned())
}

/// The payload as JSON when it is JSON, otherwise as (lossy) text.
fn payload_value(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

fn inspect(args: InspectArgs) -> ExitCode {
    let text = match read_token_arg(&args.token) {
        Ok(text) => text,
        Err(message) => return fail(&message, ""),
    };
    let token = match UnverifiedToken::parse(&text) {
        Ok(token) => token,
        Err(e) => return token_error(&e),
    };
    let footer = payload_value(token.footer());
    let payload = payload_value(token.payload());
    let claims = token.claims_unverified();
    if args.json {
        let out = serde_json::json!({
            "verified": false,
            "warning": UNVERIFIED,
            "kid": token.kid(),
            "footer": footer,
            "claims": payload,
            "error": claims.as_ref().err().map(|e| serde_json::json!({
                "code": e.code(),
                "message": e.to_string(),
                "help": e.help(),
            })),
        });
        match serde_json::to_string_pretty(&out) {
            Ok(text) => println!("{text}"),
            Err(e) => return fail(&format!("cannot write JSON: {e}"), ""),
        }
    } else {
        // Valid claims print through their type, so keys come in the documented order.
        let pretty = match &claims {
            Ok(claims) => serde_json::to_string_pretty(claims),
            Err(_) => serde_json::to_string_pretty(&payload),
        };
        println!("{UNVERIFIED}");
        println!("footer: {}", String::from_utf8_lossy(token.footer()));
        println!("kid: {}", token.kid());
        println!("claims:");
        println!("{}", pretty.unwrap_or_else(|_| payload.to_string()));
    }
    match claims {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => token_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::minutes(5)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_duration("1d"), Ok(Duration::days(1)));
        assert_eq!(
            parse_duration("0s"),
            Err("`0s` must be longer than zero".into())
        );
        for bad in ["", "5", "m", "5 m", "-5m", "5x", "1.5h", "9999999999s"] {
            assert_eq!(
                parse_duration(bad),
                Err(format!(
                    "`{bad}` is not a duration like `30s`, `5m` or `1h30m`"
                )),
                "{bad}"
            );
        }
    }

    #[test]
    fn amounts() {
        let a = parse_amount("20EUR").unwrap();
        assert_eq!((a.currency.as_str(), a.value), ("EUR", 20.0));
        let a = parse_amount("19.99 USD").unwrap();
        assert_eq!((a.currency.as_str(), a.value), ("USD", 19.99));
        for bad in ["EUR", "20", "20eur", "-1EUR", "20EURO", "1e3EUR"] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grant_flags_build_a_grant_only_when_given() {
        assert_eq!(GrantFlags::default().into_grant(), None);
        let g = GrantFlags {
            verbs: vec![Verb::Click],
            network: Some(false),
            ..GrantFlags::default()
        }
        .into_grant()
        .unwrap();
        assert_eq!(g.verbs, Some(vec![Verb::Click]));
        assert_eq!(g.network, Some(false));
        assert_eq!(g.origins, None);
    }

    #[test]
    fn verbs_and_tiers() {
        assert_eq!(
            parse_verb("scroll to"),
            Ok(Verb::parse("scroll to").unwrap())
        );
        assert!(parse_verb("fly")
            .unwrap_err()
            .starts_with("unknown verb `fly`; the verbs are: "));
        assert_eq!(parse_sandbox("microvm"), Ok(SandboxTier::Microvm));
        assert!(parse_sandbox("vm").is_err());
    }
}
