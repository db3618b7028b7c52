//! Validation of the single tables: `[defaults]`, `[dataflow]` and `[jobs]`.

use super::*;

impl Validator<'_> {
    pub(super) fn defaults(&mut self, raw: &RawDefaults) -> Defaults {
        let mut out = Defaults::default();
        if let Some(risk) = self.approval(raw.approval.as_ref(), "defaults.approval") {
            out.approval = risk;
        }

        let path = "defaults.blocked_schemes";
        let items = self.items(raw.blocked_schemes.as_ref(), path, MAX_LIST_ITEMS);
        let mut schemes = Vec::new();
        for item in &items {
            let scheme = item.text.to_ascii_lowercase();
            let valid = scheme.len() <= MAX_SCHEME_BYTES
                && scheme
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic())
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
            if valid {
                schemes.push((scheme, item));
            } else {
                let help = match scheme.strip_suffix(':') {
                    Some(bare) => format!("write the scheme without `:`, as `{bare}`"),
                    None => "a scheme is the part of a URL before `:`, as in `ftp`".to_owned(),
                };
                self.fail(
                    K::InvalidScheme {
                        scheme: shown(&item.text),
                    },
                    item.path.clone(),
                    item.span.clone(),
                    help,
                );
            }
        }
        self.no_duplicates(&schemes, path);
        out.blocked_schemes
            .extend(schemes.into_iter().map(|(s, _)| s));
        out.blocked_schemes.sort();
        out.blocked_schemes.dedup();

        let path = "defaults.never_read";
        let items = self.items(raw.never_read.as_ref(), path, MAX_LIST_ITEMS);
        let mut kinds = Vec::new();
        for item in &items {
            match FieldKind::parse(&item.text) {
                Some(kind) => kinds.push((kind, item)),
                None => {
                    let words: Vec<&str> = FieldKind::ALL.iter().map(|k| k.as_str()).collect();
                    let help = suggest::did_you_mean(&item.text, &words);
                    self.fail(
                        K::UnknownFieldKind {
                            value: shown(&item.text),
                        },
                        item.path.clone(),
                        item.span.clone(),
                        help,
                    );
                }
            }
        }
        self.no_duplicates(&kinds, path);
        out.never_read.extend(kinds.into_iter().map(|(k, _)| k));
        out.never_read.sort();
        out.never_read.dedup();

        out.sensitive_words =
            self.sensitive_words(raw.sensitive_words.as_ref(), "defaults.sensitive_words");

        if let Some(steps) = &raw.max_steps {
            let value = *steps.get_ref();
            match u64::try_from(value) {
                Ok(v) if (1..=MAX_STEPS_CEILING).contains(&v) => out.max_steps = v,
                _ => self.fail(
                    K::OutOfRange {
                        key: "max_steps".to_owned(),
                        value: value.to_string(),
                        min: "1".to_owned(),
                        max: MAX_STEPS_CEILING.to_string(),
                    },
                    "defaults.max_steps",
                    steps.span(),
                    format!("write a whole number from 1 to {MAX_STEPS_CEILING}"),
                ),
            }
        }
        if let Some(d) = &raw.max_duration {
            if let Some(d) = self.duration(
                d,
                "defaults.max_duration",
                Duration::milliseconds(1),
                MAX_RUN_DURATION,
            ) {
                out.max_duration = d;
            }
        }
        if let Some(css) = raw.allow_css_targets {
            out.allow_css_targets = css;
        }
        out
    }

    pub(super) fn dataflow(&mut self, raw: &RawDataflow) -> Dataflow {
        let mut out = Dataflow::default();
        if let Some(value) = &raw.cross_origin {
            match value.get_ref().as_str() {
                "ask" => out.cross_origin = Outcome::Ask,
                "deny" => out.cross_origin = Outcome::Deny,
                "allow" => self.fail(
                    K::CrossOriginAllow,
                    "dataflow.cross_origin",
                    value.span(),
                    "data read on one site would reach any other without asking; add a \
                     `[[dataflow.rule]]` with `action = \"allow\"` for one exact pair instead",
                ),
                other => {
                    let help = suggest::did_you_mean(other, &["ask", "deny"]);
                    self.fail(
                        K::UnknownFlowAction {
                            key: "cross_origin".to_owned(),
                            value: shown(other),
                        },
                        "dataflow.cross_origin",
                        value.span(),
                        help,
                    );
                }
            }
        }
        if raw.rule.len() > MAX_FLOW_RULES {
            self.fail(
                K::TooMany {
                    key: "dataflow.rule".to_owned(),
                    count: raw.rule.len(),
                    limit: MAX_FLOW_RULES,
                },
                format!("dataflow.rule[{MAX_FLOW_RULES}]"),
                raw.rule[MAX_FLOW_RULES].from.span(),
                format!("keep at most {MAX_FLOW_RULES} data-flow rules"),
            );
        }
        for (i, rule) in raw.rule.iter().enumerate() {
            let path = format!("dataflow.rule[{i}]");
            let from = self.origin(&rule.from, &format!("{path}.from"));
            let to = self.origin(&rule.to, &format!("{path}.to"));
            let action = match rule.action.get_ref().as_str() {
                "allow" => Some(Outcome::Allow),
                "ask" => Some(Outcome::Ask),
                "deny" => Some(Outcome::Deny),
                other => {
                    let help = suggest::did_you_mean(other, &["allow", "ask", "deny"]);
                    self.fail(
                        K::UnknownFlowAction {
                            key: "action".to_owned(),
                            value: shown(other),
                        },
                        format!("{path}.action"),
                        rule.action.span(),
                        help,
                    );
                    None
                }
            };
            let (Some(from), Some(to), Some(action)) = (from, to, action) else {
                continue;
            };
            if from.is_exact() && from == to {
                self.fail(
                    K::FlowSameOrigin {
                        origin: from.to_string(),
                    },
                    format!("{path}.to"),
                    rule.to.span(),
                    "data moving within one origin is always allowed; a rule is for two \
                     different origins",
                );
                continue;
            }
            if action == Outcome::Allow {
                let wild = [(&from, &rule.from, "from"), (&to, &rule.to, "to")]
                    .into_iter()
                    .find(|(p, _, _)| !p.is_exact());
                if let Some((pattern, spanned, key)) = wild {
                    self.fail(
                        K::FlowAllowWildcard {
                            origin: pattern.to_string(),
                        },
                        format!("{path}.{key}"),
                        spanned.span(),
                        "allowing a flow is a standing approval: name both origins exactly, \
                         or use `action = \"ask\"` or `\"deny\"` with wildcards",
                    );
                    continue;
                }
            }
            out.rules.push(FlowRule {
                from,
                to,
                action,
                line: self.line(&rule.from.span()),
            });
        }
        out
    }

    pub(super) fn jobs(&mut self, raw: &RawJobs) -> Jobs {
        let mut out = Jobs::default();
        let path = "jobs.runtimes";
        let items = self.items(raw.runtimes.as_ref(), path, MAX_LIST_ITEMS);
        let mut runtimes = Vec::new();
        for item in &items {
            let name = &item.text;
            if name.is_empty() {
                self.fail(
                    K::Empty {
                        key: item.path.clone(),
                    },
                    item.path.clone(),
                    item.span.clone(),
                    "name a runtime, as in `python3`",
                );
            } else if name.len() > MAX_RUNTIME_BYTES {
                self.fail(
                    K::TooLong {
                        key: item.path.clone(),
                        len: name.len(),
                        limit: MAX_RUNTIME_BYTES,
                    },
                    item.path.clone(),
                    item.span.clone(),
                    "name a runtime, as in `python3`",
                );
            } else if !name.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            }) {
                self.fail(
                    K::InvalidRuntime {
                        runtime: shown(name),
                    },
                    item.path.clone(),
                    item.span.clone(),
                    "name the runtime as jobs do, as in `python3`, `sh` or `node`",
                );
            } else {
                runtimes.push((name.clone(), item));
            }
        }
        self.no_duplicates(&runtimes, path);
        out.runtimes = runtimes.into_iter().map(|(r, _)| r).collect();
        out.runtimes.dedup();

        if let Some(tier) = &raw.min_tier {
            match parse_tier(tier.get_ref()) {
                Some(t) => out.min_tier = t,
                None => {
                    let help = suggest::did_you_mean(tier.get_ref(), &["container", "microvm"]);
                    self.fail(
                        K::UnknownTier {
                            value: shown(tier.get_ref()),
                        },
                        "jobs.min_tier",
                        tier.span(),
                        help,
                    );
                }
            }
        }
        if let Some(cpu) = &raw.max_cpu {
            let Number(value) = *cpu.get_ref();
            if value.is_finite() && (MIN_JOB_CPU..=MAX_JOB_CPU).contains(&value) {
                out.max_cpu = value;
            } else {
                self.fail(
                    K::OutOfRange {
                        key: "max_cpu".to_owned(),
                        value: value.to_string(),
                        min: MIN_JOB_CPU.to_string(),
                        max: MAX_JOB_CPU.to_string(),
                    },
                    "jobs.max_cpu",
                    cpu.span(),
                    format!("write a number of CPUs from {MIN_JOB_CPU} to {MAX_JOB_CPU}, as in `0.5` or `2`"),
                );
            }
        }
        if let Some(m) = &raw.max_memory {
            if let Some(m) = self.size(
                m,
                "jobs.max_memory",
                MIN_JOB_MEMORY_BYTES,
                MAX_JOB_MEMORY_BYTES,
            ) {
                out.max_memory = m;
            }
        }
        if let Some(w) = &raw.max_wall {
            if let Some(w) =
                self.duration(w, "jobs.max_wall", Duration::milliseconds(1), MAX_JOB_WALL)
            {
                out.max_wall = w;
            }
        }
        if let Some(o) = &raw.max_output {
            if let Some(o) = self.size(o, "jobs.max_output", 1, MAX_JOB_OUTPUT_BYTES) {
                out.max_output = o;
            }
        }
        if let Some(network) = raw.network {
            out.network = network;
        }
        out
    }
}
