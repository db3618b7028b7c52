//! The grants a planner asks for, derived from the script it sends: the narrowest token that
//! still lets that script run.
//!
//! A token is bound to its script's hash, so its grants are a second fence, not the first: they
//! say in the token itself (and so in the audit log) what the planner meant the script to do,
//! and they bound the run if the instance's policy is broad. The derivation:
//! - `origins`: the script header's `origins`, which the checker already requires every
//!   navigation and page step to stay within;
//! - `verbs`: the acting verbs the script uses (reading, waiting and control flow need none);
//! - `max_steps`: the most step executions the script can reach (loops at their bounds);
//! - `secrets`: the vault entries the script fills, by entry name;
//! - for jobs: their runtimes, the weakest sandbox tier they ask for, the most memory they
//!   ask for when every job states it, and no network (the language cannot ask for it);
//! - `max_amount`: only when the planner was told an amount, since a script cannot state one.

use bridle_dsl::{CheckOptions, Checked, Verb};
use bridle_executor::decide::job_of;
use bridle_executor::token::{check_origin_pattern, Grant, MaxAmount, Memory};

/// What the planner adds beyond what the script says.
#[derive(Debug, Clone, Default)]
pub struct GrantOptions {
    /// The largest amount a high-risk step may commit to (`planner serve --max-amount`).
    pub max_amount: Option<MaxAmount>,
}

/// Why no grant could be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeriveError {
    /// A header origin that a grant cannot hold (grants are stricter than headers about form).
    #[error("the script's origin `{origin}` cannot be written in a grant: {reason}")]
    Origin { origin: String, reason: String },
}

/// The grants for a checked script: one grant, or none when the script acts nowhere and runs
/// no job (a token without grants allows no acting step, and such a script needs none).
pub fn derive_grants(checked: &Checked, options: &GrantOptions) -> Result<Vec<Grant>, DeriveError> {
    let mut verbs: Vec<Verb> = Vec::new();
    let mut secrets: Vec<String> = Vec::new();
    let mut runtimes: Vec<String> = Vec::new();
    let mut weakest_tier = None;
    let mut most_memory: Option<u64> = Some(0);
    let mut jobs = 0usize;
    for step in &checked.steps {
        if step.verb.acts() && !verbs.contains(&step.verb) {
            verbs.push(step.verb);
        }
        if let Some(variable) = &step.secret {
            // Grants name vault entries, never the script's variable names.
            let entry = checked
                .secrets
                .iter()
                .find(|s| &s.name == variable)
                .map_or(variable.as_str(), |s| s.entry.as_str());
            if !secrets.iter().any(|s| s == entry) {
                secrets.push(entry.to_owned());
            }
        }
        if step.verb == Verb::Job {
            if let Some(job) = job_of(checked, step) {
                jobs += 1;
                if !runtimes.contains(&job.runtime.node) {
                    runtimes.push(job.runtime.node.clone());
                }
                let tier = job
                    .sandbox
                    .as_ref()
                    .map_or(bridle_executor::decide::DEFAULT_JOB_SANDBOX, |s| s.node);
                weakest_tier =
                    Some(weakest_tier.map_or(tier, |t: bridle_dsl::ast::SandboxTier| t.min(tier)));
                most_memory = match (most_memory, &job.memory) {
                    (Some(most), Some(memory)) => Some(most.max(memory.node.bytes)),
                    _ => None,
                };
            }
        }
    }
    if verbs.is_empty() && jobs == 0 {
        return Ok(Vec::new());
    }
    for origin in &checked.origins {
        check_origin_pattern(origin).map_err(|reason| DeriveError::Origin {
            origin: origin.clone(),
            reason,
        })?;
    }
    verbs.sort_by_key(|v| v.as_str());
    secrets.sort();
    runtimes.sort();
    let reach = checked
        .expanded_steps
        .max(checked.steps.len() as u64)
        .max(1);
    let non_empty = |list: Vec<String>| (!list.is_empty()).then_some(list);
    let grant = Grant {
        origins: non_empty(checked.origins.clone()),
        verbs: Some(verbs),
        max_steps: Some(u32::try_from(reach).unwrap_or(u32::MAX)),
        secrets: non_empty(secrets),
        runtimes: non_empty(runtimes),
        sandbox: weakest_tier,
        memory: if jobs > 0 {
            most_memory.filter(|&m| m > 0).map(Memory::from_bytes)
        } else {
            None
        },
        network: (jobs > 0).then_some(false),
        max_amount: options.max_amount.clone(),
        ..Grant::default()
    };
    Ok(vec![grant])
}

/// The grants for a script's bytes. A script that does not check gets no grants: it is sent
/// anyway, so the instance's checker reports its diagnostics back for the planner to repair,
/// and a token without grants can authorise nothing even if it did run.
pub fn grants_for_script(bytes: &[u8], options: &GrantOptions) -> Result<Vec<Grant>, DeriveError> {
    match bridle_dsl::check_bytes(bytes, &CheckOptions::default()) {
        Ok(checked) => derive_grants(&checked, options),
        Err(_) => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(script: &str) -> Vec<Grant> {
        grants_for_script(script.as_bytes(), &GrantOptions::default()).unwrap()
    }

    #[test]
    fn origins_verbs_secrets_and_steps_come_from_the_script() {
        let script = "bridle 1\ngoal \"buy\"\norigins \"https://shop.example\"\nsecret card = \"visa-personal\"\nnavigate \"https://shop.example/\"\nclick button \"Add\"\nfill textbox \"Card\" with card\nlet t = text of heading \"Total\"\nreturn t\n";
        let g = grants(script);
        assert_eq!(g.len(), 1, "{g:?}");
        let g = &g[0];
        assert_eq!(
            g.origins.as_deref(),
            Some(&["https://shop.example".to_owned()][..])
        );
        assert_eq!(
            g.verbs.as_deref(),
            Some(&[Verb::Click, Verb::Fill, Verb::Navigate][..])
        );
        assert_eq!(
            g.secrets.as_deref(),
            Some(&["visa-personal".to_owned()][..])
        );
        assert_eq!(g.max_steps, Some(5));
        assert_eq!(g.runtimes, None);
        assert_eq!(g.network, None);
    }

    #[test]
    fn jobs_get_their_runtime_tier_memory_and_no_network() {
        let script = include_str!("../../../examples/job_sum_prices.bridle");
        let g = &grants(script)[0];
        assert_eq!(g.runtimes.as_deref(), Some(&["python3".to_owned()][..]));
        assert_eq!(g.sandbox, Some(bridle_dsl::ast::SandboxTier::Microvm));
        assert_eq!(g.memory, Some(Memory::from_bytes(256 * 1024 * 1024)));
        assert_eq!(g.network, Some(false));
        assert_eq!(g.verbs.as_deref(), Some(&[Verb::Job, Verb::Navigate][..]));
    }

    #[test]
    fn a_script_that_does_not_check_gets_no_grants() {
        assert!(grants("bridle 1\nclick\n").is_empty());
        assert!(grants("").is_empty());
    }

    #[test]
    fn an_amount_is_granted_only_when_the_planner_was_given_one() {
        let script =
            "bridle 1\ngoal \"g\"\norigins \"https://shop.example\"\nclick button \"Pay\"\n";
        assert_eq!(grants(script)[0].max_amount, None);
        let options = GrantOptions {
            max_amount: Some(MaxAmount {
                currency: "EUR".into(),
                value: 20.0,
            }),
        };
        let g = grants_for_script(script.as_bytes(), &options).unwrap();
        assert_eq!(g[0].max_amount, options.max_amount);
    }
}
