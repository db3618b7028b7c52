//! Validation of `[[site]]` tables: origins, verb lists and their conflicts, read-only sites,
//! amounts and standing grants.

use super::*;

impl Validator<'_> {
    pub(super) fn sites(&mut self, raw: &[RawSite]) -> Vec<SiteRule> {
        if raw.len() > MAX_SITES {
            self.fail(
                K::TooMany {
                    key: "site".to_owned(),
                    count: raw.len(),
                    limit: MAX_SITES,
                },
                format!("site[{MAX_SITES}]"),
                raw[MAX_SITES].origin.span(),
                format!(
                    "keep at most {MAX_SITES} site rules; a wildcard can cover many subdomains"
                ),
            );
        }
        let mut seen: HashMap<OriginPattern, usize> = HashMap::new();
        let mut out = Vec::new();
        for (index, s) in raw.iter().enumerate() {
            if let Some(rule) = self.site(s, index, &mut seen) {
                out.push(rule);
            }
        }
        out
    }

    fn site(
        &mut self,
        raw: &RawSite,
        index: usize,
        seen: &mut HashMap<OriginPattern, usize>,
    ) -> Option<SiteRule> {
        let path = format!("site[{index}]");
        let errors_before = self.errors.len();
        let line = self.line(&raw.origin.span());
        let origin = self.origin(&raw.origin, &format!("{path}.origin"));
        if let Some(origin) = &origin {
            if let Some(first_line) = seen.get(origin) {
                let first_line = *first_line;
                self.fail(
                    K::DuplicateSite {
                        origin: origin.to_string(),
                        first_line,
                    },
                    format!("{path}.origin"),
                    raw.origin.span(),
                    format!("merge the two `[[site]]` tables; the first is on line {first_line}"),
                );
            } else {
                seen.insert(origin.clone(), line);
            }
        }

        let allow = self.verbs(raw.allow.as_ref(), &format!("{path}.allow"));
        let ask = self.verbs(raw.ask.as_ref(), &format!("{path}.ask"));
        let deny = self.verbs(raw.deny.as_ref(), &format!("{path}.deny"));
        let lists: [(&'static str, &VerbList); 3] =
            [("allow", &allow), ("ask", &ask), ("deny", &deny)];
        for (i, (first, a)) in lists.iter().enumerate() {
            for (second, b) in &lists[i + 1..] {
                let (Some(a), Some(b)) = (a, b) else { continue };
                for (verb, item) in b {
                    if a.iter().any(|(v, _)| v == verb) {
                        self.fail(
                            K::VerbConflict {
                                verb: verb.to_string(),
                                first,
                                second,
                            },
                            item.path.clone(),
                            item.span.clone(),
                            "keep each verb in one of `allow`, `ask` and `deny`",
                        );
                    }
                }
            }
        }

        let read_only = raw.read_only.as_ref().is_some_and(|r| *r.get_ref());
        if read_only {
            for (list, verbs) in [("allow", &allow), ("ask", &ask)] {
                for (verb, item) in verbs.iter().flatten() {
                    if !READ_ONLY_VERBS.contains(verb) {
                        self.fail(
                            K::ReadOnlyConflict {
                                verb: verb.to_string(),
                                list,
                            },
                            item.path.clone(),
                            item.span.clone(),
                            "remove it, or set `read_only = false`",
                        );
                    }
                }
            }
        }

        let approval = self.approval(raw.approval.as_ref(), &format!("{path}.approval"));
        let sensitive_words = self.sensitive_words(
            raw.sensitive_words.as_ref(),
            &format!("{path}.sensitive_words"),
        );
        let max_amount = raw
            .max_amount
            .as_ref()
            .and_then(|a| self.amount(a, &format!("{path}.max_amount")));

        let standing = self.standing(raw, &path, origin.as_ref(), read_only, &ask, &deny);

        let origin = origin?;
        if self.errors.len() > errors_before {
            return None;
        }
        let only_verbs =
            |list: VerbList| list.map(|l| l.into_iter().map(|(v, _)| v).collect::<Vec<_>>());
        Some(SiteRule {
            origin,
            allow: only_verbs(allow),
            ask: only_verbs(ask).unwrap_or_default(),
            deny: only_verbs(deny).unwrap_or_default(),
            read_only,
            approval,
            sensitive_words,
            max_amount,
            standing,
            allow_css: raw.allow_css,
            index,
            line,
        })
    }

    fn standing(
        &mut self,
        raw: &RawSite,
        path: &str,
        origin: Option<&OriginPattern>,
        read_only: bool,
        ask: &VerbList,
        deny: &VerbList,
    ) -> Vec<StandingGrant> {
        let Some(list) = &raw.standing else {
            return Vec::new();
        };
        let entries = list.get_ref();
        let path = format!("{path}.standing");
        if entries.len() > MAX_LIST_ITEMS {
            self.fail(
                K::TooMany {
                    key: path.clone(),
                    count: entries.len(),
                    limit: MAX_LIST_ITEMS,
                },
                format!("{path}[{MAX_LIST_ITEMS}]"),
                entries[MAX_LIST_ITEMS].verb.span(),
                format!("keep at most {MAX_LIST_ITEMS} entries"),
            );
        }
        let in_list = |list: &VerbList, verb: Verb| list.iter().flatten().any(|(v, _)| *v == verb);
        let mut out = Vec::new();
        let mut verbs = Vec::new();
        for (i, grant) in entries.iter().enumerate() {
            let item = Item {
                text: grant.verb.get_ref().clone(),
                span: grant.verb.span(),
                path: format!("{path}[{i}].verb"),
            };
            let Some(verb) = Verb::parse(&item.text) else {
                self.unknown_verb(&item);
                continue;
            };
            let conflict = if let Some(o) = origin.filter(|o| !o.is_exact()) {
                Some((
                    K::StandingOnWildcard {
                        origin: o.to_string(),
                    },
                    "write a `[[site]]` table for each exact origin, as in \
                     `https://shop.example`"
                        .to_owned(),
                ))
            } else if NEVER_STANDING.contains(&verb) {
                Some((
                    K::StandingForbidden {
                        verb: verb.to_string(),
                    },
                    format!("`{verb}` exists to ask you; remove this grant"),
                ))
            } else if in_list(deny, verb) || in_list(ask, verb) {
                let first = if in_list(deny, verb) { "deny" } else { "ask" };
                Some((
                    K::VerbConflict {
                        verb: verb.to_string(),
                        first,
                        second: "standing",
                    },
                    format!("remove the grant, or remove `{verb}` from `{first}`"),
                ))
            } else if read_only && !READ_ONLY_VERBS.contains(&verb) {
                Some((
                    K::ReadOnlyConflict {
                        verb: verb.to_string(),
                        list: "standing",
                    },
                    "remove the grant, or set `read_only = false`".to_owned(),
                ))
            } else {
                None
            };
            if let Some((kind, help)) = conflict {
                self.fail(kind, item.path.clone(), item.span.clone(), help);
                continue;
            }
            let max_amount = match &grant.max_amount {
                Some(a) => match self.amount(a, &format!("{path}[{i}].max_amount")) {
                    Some(a) => Some(a),
                    None => continue,
                },
                None => None,
            };
            out.push(StandingGrant { verb, max_amount });
            verbs.push((verb, item));
        }
        let keyed: Vec<(Verb, &Item)> = verbs.iter().map(|(v, i)| (*v, i)).collect();
        self.no_duplicates(&keyed, &path);
        out
    }
}
