//! Validation of `[[planner]]` tables: names, key ids, public keys, lifetimes, endpoints.

use super::*;

impl Validator<'_> {
    pub(super) fn planners(&mut self, raw: &[RawPlanner]) -> Vec<Planner> {
        if raw.len() > MAX_PLANNERS {
            self.fail(
                K::TooMany {
                    key: "planner".to_owned(),
                    count: raw.len(),
                    limit: MAX_PLANNERS,
                },
                format!("planner[{MAX_PLANNERS}]"),
                raw[MAX_PLANNERS].name.span(),
                format!("keep at most {MAX_PLANNERS} planners; remove the ones you no longer use"),
            );
        }
        let mut kids: HashMap<String, usize> = HashMap::new();
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::new();
        for (i, p) in raw.iter().enumerate() {
            let path = format!("planner[{i}]");
            let name = self.planner_name(&p.name, &format!("{path}.name"), &mut names);
            let kid = self.kid(&p.kid, &format!("{path}.kid"), &mut kids);
            let key = self.public_key(&p.public_key, &format!("{path}.public_key"));
            let ttl = self.duration(
                &p.max_ttl,
                &format!("{path}.max_ttl"),
                Duration::milliseconds(1),
                MAX_PLANNER_TTL,
            );
            let endpoint = match &p.endpoint {
                Some(e) => self.endpoint(e, &format!("{path}.endpoint")).map(Some),
                None => Some(None),
            };
            if let (Some(name), Some(kid), Some(verifying_key), Some(max_ttl), Some(endpoint)) =
                (name, kid, key, ttl, endpoint)
            {
                out.push(Planner {
                    name,
                    kid,
                    verifying_key,
                    max_ttl,
                    endpoint,
                    line: self.line(&p.name.span()),
                });
            }
        }
        out
    }

    fn planner_name(
        &mut self,
        value: &Spanned<String>,
        path: &str,
        seen: &mut HashMap<String, usize>,
    ) -> Option<String> {
        let name = value.get_ref();
        if name.trim().is_empty() {
            self.fail(
                K::Empty {
                    key: path.to_owned(),
                },
                path,
                value.span(),
                "name the planner as its tokens' `iss` claim does",
            );
            return None;
        }
        if name.len() > MAX_NAME_BYTES {
            self.fail(
                K::TooLong {
                    key: path.to_owned(),
                    len: name.len(),
                    limit: MAX_NAME_BYTES,
                },
                path,
                value.span(),
                "use a shorter name",
            );
            return None;
        }
        if name.chars().any(char::is_control) {
            self.fail(
                K::InvalidPlannerName { name: shown(name) },
                path,
                value.span(),
                "remove tabs, line breaks and other control characters",
            );
            return None;
        }
        if let Some(first_line) = seen.get(name) {
            let first_line = *first_line;
            self.fail(
                K::DuplicatePlannerName {
                    name: shown(name),
                    first_line,
                },
                path,
                value.span(),
                format!("give each planner its own name; the first is on line {first_line}"),
            );
            return None;
        }
        seen.insert(name.clone(), self.line(&value.span()));
        Some(name.clone())
    }

    fn kid(
        &mut self,
        value: &Spanned<String>,
        path: &str,
        seen: &mut HashMap<String, usize>,
    ) -> Option<String> {
        let kid = value.get_ref();
        if kid.is_empty() {
            self.fail(
                K::Empty {
                    key: path.to_owned(),
                },
                path,
                value.span(),
                "copy the key id that `bridle keys new` printed",
            );
            return None;
        }
        if kid.len() > MAX_KID_BYTES {
            self.fail(
                K::TooLong {
                    key: path.to_owned(),
                    len: kid.len(),
                    limit: MAX_KID_BYTES,
                },
                path,
                value.span(),
                "copy the key id that `bridle keys new` printed",
            );
            return None;
        }
        // The same rule as a token footer's `kid`: an id no token could carry is a mistake.
        if !crate::keys::is_valid_kid(kid) {
            self.fail(
                K::InvalidKid { kid: shown(kid) },
                path,
                value.span(),
                "copy the key id that `bridle keys new` printed",
            );
            return None;
        }
        if let Some(first_line) = seen.get(kid) {
            let first_line = *first_line;
            self.fail(
                K::DuplicateKid {
                    kid: shown(kid),
                    first_line,
                },
                path,
                value.span(),
                format!(
                    "a key id must pick exactly one planner; the first is on line {first_line}"
                ),
            );
            return None;
        }
        seen.insert(kid.clone(), self.line(&value.span()));
        Some(kid.clone())
    }

    fn public_key(&mut self, value: &Spanned<String>, path: &str) -> Option<VerifyingKey> {
        const HELP: &str = "paste the public key as `bridle keys new` prints it: 43 characters \
                            of base64url, without `=` padding";
        let text = value.get_ref();
        // A 32-byte key is 43 characters; anything far longer is refused before decoding.
        let decoded = if text.len() > 128 {
            Err(())
        } else {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| ())
        };
        let Ok(bytes) = decoded else {
            self.fail(
                K::PublicKeyEncoding { key: shown(text) },
                path,
                value.span(),
                HELP,
            );
            return None;
        };
        let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice()) else {
            self.fail(
                K::PublicKeyLength { len: bytes.len() },
                path,
                value.span(),
                HELP,
            );
            return None;
        };
        let Ok(key) = VerifyingKey::from_bytes(&bytes) else {
            self.fail(K::PublicKeyInvalid, path, value.span(), HELP);
            return None;
        };
        if key.is_weak() {
            self.fail(
                K::PublicKeyWeak,
                path,
                value.span(),
                "a weak key lets anyone forge signatures; generate a new pair with `bridle keys new`",
            );
            return None;
        }
        Some(key)
    }

    fn endpoint(&mut self, value: &Spanned<String>, path: &str) -> Option<String> {
        const HELP: &str =
            "use `wss://host/path`, or `ws://` only to `127.0.0.1`, `[::1]` or `localhost`";
        let text = value.get_ref();
        if text.len() > MAX_ENDPOINT_BYTES {
            self.fail(
                K::TooLong {
                    key: path.to_owned(),
                    len: text.len(),
                    limit: MAX_ENDPOINT_BYTES,
                },
                path,
                value.span(),
                HELP,
            );
            return None;
        }
        let endpoint = shown(text);
        let Ok(url) = url::Url::parse(text) else {
            self.fail(K::EndpointNotUrl { endpoint }, path, value.span(), HELP);
            return None;
        };
        let host = url.host_str().unwrap_or_default();
        let kind = match url.scheme() {
            _ if !url.username().is_empty()
                || url.password().is_some()
                || url.fragment().is_some() =>
            {
                Some(K::EndpointExtra { endpoint })
            }
            "wss" if !host.is_empty() => None,
            "ws" if crate::policy::origin::is_loopback_host(host) => None,
            "ws" => Some(K::EndpointInsecure { endpoint }),
            _ => Some(K::EndpointScheme { endpoint }),
        };
        match kind {
            Some(kind) => {
                self.fail(kind, path, value.span(), HELP);
                None
            }
            None => Some(url.to_string()),
        }
    }
}
