//! Second pass: the raw, spanned file becomes a typed [`Policy`], or every problem found,
//! each pointing at the value it is about. This module holds the shared checks (lists,
//! verbs, units, amounts, origins); one submodule per part of the file uses them.

mod planners;
mod sections;
mod sites;

use super::error::{PolicyError, PolicyErrorKind as K};
use super::limits::*;
use super::model::*;
use super::origin::{OriginPattern, OriginProblem};
use super::raw::{List, Number, RawAmount, RawDefaults, RawJobs, RawPlanner, RawSite};
use super::raw::{RawDataflow, RawPolicy};
use super::suggest;
use super::units::{self, UnitProblem};
use super::Policy;
use crate::decision::{Amount, Outcome};
use base64::Engine as _;
use bridle_dsl::{Risk, Verb};
use ed25519_dalek::VerifyingKey;
use std::collections::HashMap;
use std::ops::Range;
use time::Duration;
use toml::Spanned;

/// Longest piece of user input quoted in a message; the rest is elided so that a pasted
/// blob does not flood the terminal.
const MAX_QUOTED_CHARS: usize = 80;

/// User input as quoted in messages.
fn shown(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED_CHARS {
        text.to_owned()
    } else {
        let head: String = text.chars().take(MAX_QUOTED_CHARS).collect();
        format!("{head}…")
    }
}

struct Validator<'s> {
    src: &'s str,
    errors: Vec<PolicyError>,
}

/// A verb list as written (absent, or each verb with its entry), kept until conflicts
/// between the lists have been checked.
type VerbList = Option<Vec<(Verb, Item)>>;

/// A list entry: its text, place and key path.
struct Item {
    text: String,
    span: Range<usize>,
    path: String,
}

impl Validator<'_> {
    fn fail(
        &mut self,
        kind: K,
        path: impl Into<String>,
        span: Range<usize>,
        help: impl Into<String>,
    ) {
        let error = PolicyError::new(kind, path, Some(span), self.src).with_help(help);
        self.errors.push(error);
    }

    fn line(&self, span: &Range<usize>) -> usize {
        super::error::line_column(self.src, span.start).0
    }

    /// The entries of a list, after the count limit.
    fn items(&mut self, list: Option<&List>, path: &str, limit: usize) -> Vec<Item> {
        let Some(list) = list else {
            return Vec::new();
        };
        let entries = list.get_ref();
        if entries.len() > limit {
            let extra = &entries[limit];
            self.fail(
                K::TooMany {
                    key: path.to_owned(),
                    count: entries.len(),
                    limit,
                },
                format!("{path}[{limit}]"),
                extra.span(),
                format!("keep at most {limit} entries"),
            );
        }
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| Item {
                text: e.get_ref().clone(),
                span: e.span(),
                path: format!("{path}[{i}]"),
            })
            .collect()
    }

    /// Reports the second of two equal entries.
    fn no_duplicates<T: Eq + std::hash::Hash + Clone>(
        &mut self,
        entries: &[(T, &Item)],
        key: &str,
    ) {
        let mut seen: HashMap<T, usize> = HashMap::new();
        for (value, item) in entries {
            if let Some(first) = seen.get(value) {
                let first = *first;
                self.fail(
                    K::DuplicateEntry {
                        key: key.to_owned(),
                        value: shown(&item.text),
                    },
                    item.path.clone(),
                    item.span.clone(),
                    format!("remove it; the first is on line {first}"),
                );
            } else {
                let line = self.line(&item.span);
                seen.insert(value.clone(), line);
            }
        }
    }

    fn verbs(&mut self, list: Option<&List>, path: &str) -> VerbList {
        list?;
        let items = self.items(list, path, MAX_LIST_ITEMS);
        let mut verbs = Vec::new();
        for item in items {
            match Verb::parse(&item.text) {
                Some(verb) => verbs.push((verb, item)),
                None => self.unknown_verb(&item),
            }
        }
        let keyed: Vec<(Verb, &Item)> = verbs.iter().map(|(v, i)| (*v, i)).collect();
        self.no_duplicates(&keyed, path);
        Some(verbs)
    }

    fn unknown_verb(&mut self, item: &Item) {
        let words: Vec<&str> = Verb::ALL.iter().map(|v| v.as_str()).collect();
        let help = match suggest::closest(&item.text, words.iter().copied()) {
            Some(word) => format!("did you mean `{word}`?"),
            None => {
                "write verbs as scripts do: `click`, `fill`, `submit`, `scroll to`, `open tab` …"
                    .to_owned()
            }
        };
        self.fail(
            K::UnknownVerb {
                verb: shown(&item.text),
            },
            item.path.clone(),
            item.span.clone(),
            help,
        );
    }

    fn approval(&mut self, value: Option<&Spanned<String>>, path: &str) -> Option<Risk> {
        let value = value?;
        let text = value.get_ref();
        if let Some(risk) = Risk::parse(text) {
            return Some(risk);
        }
        let help = match suggest::closest(text, ["low", "medium", "high"]) {
            Some(word) => format!("did you mean `{word}`?"),
            None => "the threshold can be `low`, `medium` or `high`: steps of that risk or \
                     higher ask you, and high-risk steps always ask unless a standing grant \
                     covers them"
                .to_owned(),
        };
        self.fail(
            K::UnknownApproval { value: shown(text) },
            path,
            value.span(),
            help,
        );
        None
    }

    fn duration(
        &mut self,
        value: &Spanned<String>,
        path: &str,
        min: Duration,
        max: Duration,
    ) -> Option<Duration> {
        let text = value.get_ref();
        let key = path.rsplit('.').next().unwrap_or(path).to_owned();
        match units::parse_duration(text) {
            Ok(d) if d >= min && d <= max => Some(d),
            Ok(_) | Err(UnitProblem::Overflow) => {
                self.fail(
                    K::OutOfRange {
                        key,
                        value: shown(text),
                        min: units::format_duration(min),
                        max: units::format_duration(max),
                    },
                    path,
                    value.span(),
                    format!(
                        "write a duration from `{}` to `{}`",
                        units::format_duration(min),
                        units::format_duration(max)
                    ),
                );
                None
            }
            Err(_) => {
                self.fail(
                    K::InvalidDuration {
                        key,
                        value: shown(text),
                    },
                    path,
                    value.span(),
                    "write a whole number and a unit, as in `500ms`, `30s`, `15m` or `1h`",
                );
                None
            }
        }
    }

    fn size(&mut self, value: &Spanned<String>, path: &str, min: u64, max: u64) -> Option<u64> {
        let text = value.get_ref();
        let key = path.rsplit('.').next().unwrap_or(path).to_owned();
        match units::parse_size(text) {
            Ok(bytes) if bytes >= min && bytes <= max => Some(bytes),
            Ok(_) | Err(UnitProblem::Overflow) => {
                self.fail(
                    K::OutOfRange {
                        key,
                        value: shown(text),
                        min: units::format_size(min),
                        max: units::format_size(max),
                    },
                    path,
                    value.span(),
                    format!(
                        "write a size from `{}` to `{}`",
                        units::format_size(min),
                        units::format_size(max)
                    ),
                );
                None
            }
            Err(_) => {
                self.fail(
                    K::InvalidSize {
                        key,
                        value: shown(text),
                    },
                    path,
                    value.span(),
                    "write a whole number and a unit, as in `512KB`, `256MB` or `1GB` \
                     (binary: 1 KB is 1024 bytes)",
                );
                None
            }
        }
    }

    fn sensitive_words(&mut self, list: Option<&List>, path: &str) -> Vec<String> {
        let items = self.items(list, path, MAX_SENSITIVE_WORDS);
        let mut words = Vec::new();
        for item in &items {
            let normal = item
                .text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            if normal.is_empty() {
                self.fail(
                    K::Empty {
                        key: item.path.clone(),
                    },
                    item.path.clone(),
                    item.span.clone(),
                    "remove the empty word",
                );
            } else if normal.len() > MAX_WORD_BYTES {
                self.fail(
                    K::TooLong {
                        key: item.path.clone(),
                        len: normal.len(),
                        limit: MAX_WORD_BYTES,
                    },
                    item.path.clone(),
                    item.span.clone(),
                    "use a shorter word or phrase",
                );
            } else if !normal.chars().any(char::is_alphanumeric)
                || normal.chars().any(char::is_control)
            {
                self.fail(
                    K::InvalidWord {
                        word: shown(&item.text),
                    },
                    item.path.clone(),
                    item.span.clone(),
                    "a sensitive word is matched against element names, as in `renew` or \
                     `add to cart`",
                );
            } else {
                words.push((normal, item));
            }
        }
        self.no_duplicates(&words, path);
        let mut out: Vec<String> = words.into_iter().map(|(w, _)| w).collect();
        out.dedup();
        out
    }

    fn amount(&mut self, raw: &RawAmount, path: &str) -> Option<Amount> {
        let currency = raw.currency.get_ref();
        let mut ok = true;
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            let help = if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_alphabetic()) {
                format!("did you mean `{}`?", currency.to_ascii_uppercase())
            } else {
                "write the ISO 4217 code in capitals, as in `EUR` or `USD`".to_owned()
            };
            self.fail(
                K::InvalidCurrency {
                    currency: shown(currency),
                },
                format!("{path}.currency"),
                raw.currency.span(),
                help,
            );
            ok = false;
        }
        let Number(value) = *raw.value.get_ref();
        let value_path = format!("{path}.value");
        if !value.is_finite() || !(0.0..=MAX_AMOUNT_VALUE).contains(&value) {
            self.fail(
                K::OutOfRange {
                    key: "value".to_owned(),
                    value: value.to_string(),
                    min: "0".to_owned(),
                    max: MAX_AMOUNT_VALUE.to_string(),
                },
                value_path,
                raw.value.span(),
                "an amount ceiling is a plain non-negative number in the currency's main unit",
            );
            return None;
        }
        let scaled = value * 10f64.powi(MAX_AMOUNT_DECIMALS as i32);
        if (scaled - scaled.round()).abs() > 1e-9 * scaled.abs().max(1.0) {
            self.fail(
                K::AmountPrecision {
                    value: value.to_string(),
                    max: MAX_AMOUNT_DECIMALS,
                },
                value_path,
                raw.value.span(),
                "round the amount to cents (or the currency's smallest unit)",
            );
            return None;
        }
        ok.then(|| Amount {
            currency: currency.clone(),
            value,
        })
    }

    fn origin(&mut self, value: &Spanned<String>, path: &str) -> Option<OriginPattern> {
        let text = value.get_ref();
        if text.len() > MAX_ORIGIN_BYTES {
            self.fail(
                K::TooLong {
                    key: path.to_owned(),
                    len: text.len(),
                    limit: MAX_ORIGIN_BYTES,
                },
                path,
                value.span(),
                "an origin is a scheme and a host, as in `https://shop.example`",
            );
            return None;
        }
        match OriginPattern::parse(text) {
            Ok(pattern) => Some(pattern),
            Err(problem) => {
                let help = match &problem {
                    OriginProblem::NotAUrl | OriginProblem::Scheme(_) => {
                        "write the origin with its scheme, as in `https://shop.example`"
                    }
                    OriginProblem::PlainHttp(_) => {
                        "use `https://`; plain `http://` is only for `localhost`, `127.0.0.1` \
                         and `[::1]`"
                    }
                    OriginProblem::HasPath => {
                        "remove the path: a rule covers a whole origin, as in `https://shop.example`"
                    }
                    OriginProblem::Credentials => "remove the user name and password",
                    OriginProblem::MisplacedWildcard => {
                        "write `https://*.example.com` to cover every subdomain of `example.com`"
                    }
                    OriginProblem::WildcardTooBroad(_) => {
                        "name the site after the `*.`, as in `https://*.example.com`"
                    }
                    OriginProblem::WildcardOnAddress => "name the address exactly",
                    OriginProblem::EmptyLabel => "remove the doubled `.`",
                };
                self.fail(
                    K::InvalidOrigin {
                        origin: shown(text),
                        problem,
                    },
                    path,
                    value.span(),
                    help,
                );
                None
            }
        }
    }
}

/// Validates a deserialised file; every error found, in file order.
pub fn validate(raw: &RawPolicy, src: &str) -> Result<Policy, Vec<PolicyError>> {
    let mut v = Validator {
        src,
        errors: Vec::new(),
    };
    let planners = v.planners(&raw.planner);
    let defaults = v.defaults(&raw.defaults);
    let sites = v.sites(&raw.site);
    let dataflow = v.dataflow(&raw.dataflow);
    let jobs = v.jobs(&raw.jobs);
    if v.errors.is_empty() {
        Ok(Policy {
            planners,
            defaults,
            sites,
            dataflow,
            jobs,
        })
    } else {
        let mut errors = v.errors;
        errors.sort_by_key(|e| e.span.as_ref().map_or(0, |s| s.start));
        Err(errors)
    }
}
