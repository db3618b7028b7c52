//! The replay store the extension persists: the same rules as the executor's
//! `MemoryReplayStore` (a differential test below keeps them equal), in a form that serialises
//! to the JSON the service worker keeps in extension storage, so a restarted service worker
//! still refuses a token it has already run.

use bridle_executor::replay::{ReplayError, ReplayStore, DEFAULT_REPLAY_CAPACITY};
use bridle_executor::time::format_description::well_known::Rfc3339;
use bridle_executor::time::{OffsetDateTime, UtcOffset};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the stored JSON; a stored state of another version is refused rather than
/// guessed at (forgetting uses would allow replays).
pub const REPLAY_STATE_FORMAT: u32 = 1;

/// Longest stored state read back, in bytes: [`DEFAULT_REPLAY_CAPACITY`] entries of a
/// `jti` of at most 128 bytes plus about 80 bytes of JSON each, with room to spare. A larger
/// stored value was not written by this code.
pub const MAX_REPLAY_STATE_BYTES: usize = DEFAULT_REPLAY_CAPACITY * 256 + 1024;

/// Why a stored replay state could not be read. The executor then refuses to start, because
/// running without the record of used tokens would let them run again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayStateError {
    #[error("the stored replay state is {len} bytes, more than the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("the stored replay state is not valid: {detail}")]
    Invalid { detail: String },
    #[error("the stored replay state has format {found}, but this version reads only {REPLAY_STATE_FORMAT}")]
    Format { found: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    used: u32,
    keep_until: OffsetDateTime,
}

/// A bounded replay store that can be saved and loaded. Fails closed when full, like the
/// executor's in-memory store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReplay {
    entries: BTreeMap<String, Entry>,
    capacity: usize,
}

impl Default for StoredReplay {
    fn default() -> Self {
        StoredReplay::with_capacity(DEFAULT_REPLAY_CAPACITY)
    }
}

/// The JSON form: `{"format": 1, "entries": {"<jti>": {"used": 1, "keep_until": "<RFC 3339>"}}}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: u32,
    entries: BTreeMap<String, WireEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEntry {
    used: u32,
    keep_until: String,
}

impl StoredReplay {
    pub fn with_capacity(capacity: usize) -> Self {
        StoredReplay {
            entries: BTreeMap::new(),
            capacity,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets every entry whose `keep_until` is before `now`; returns how many.
    pub fn purge_expired(&mut self, now: OffsetDateTime) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, e| e.keep_until >= now);
        before - self.entries.len()
    }

    /// The JSON to store.
    pub fn to_json(&self) -> String {
        let wire = Wire {
            format: REPLAY_STATE_FORMAT,
            entries: self
                .entries
                .iter()
                .map(|(jti, e)| {
                    let keep_until = e
                        .keep_until
                        .to_offset(UtcOffset::UTC)
                        .format(&Rfc3339)
                        // Times come from verified tokens (years 0000 to 9999), which RFC 3339
                        // can always write; the fallback keeps the entry, one second short of
                        // forever, rather than dropping it.
                        .unwrap_or_else(|_| "9999-12-31T23:59:59Z".to_owned());
                    (
                        jti.clone(),
                        WireEntry {
                            used: e.used,
                            keep_until,
                        },
                    )
                })
                .collect(),
        };
        // Serialising strings and numbers cannot fail; an empty object would only lose
        // entries, so the (unreachable) fallback is the format's smallest valid state.
        serde_json::to_string(&wire)
            .unwrap_or_else(|_| format!("{{\"format\":{REPLAY_STATE_FORMAT},\"entries\":{{}}}}"))
    }

    /// Reads a stored state, with the default capacity.
    pub fn from_json(text: &str) -> Result<Self, ReplayStateError> {
        if text.len() > MAX_REPLAY_STATE_BYTES {
            return Err(ReplayStateError::TooLarge {
                len: text.len(),
                max: MAX_REPLAY_STATE_BYTES,
            });
        }
        let wire: Wire = serde_json::from_str(text).map_err(|e| ReplayStateError::Invalid {
            detail: e.to_string(),
        })?;
        if wire.format != REPLAY_STATE_FORMAT {
            return Err(ReplayStateError::Format { found: wire.format });
        }
        let mut store = StoredReplay::default();
        for (jti, entry) in wire.entries {
            let keep_until = OffsetDateTime::parse(&entry.keep_until, &Rfc3339).map_err(|_| {
                ReplayStateError::Invalid {
                    detail: format!("`{}` of `{jti}` is not an RFC 3339 time", entry.keep_until),
                }
            })?;
            store.entries.insert(
                jti,
                Entry {
                    used: entry.used,
                    keep_until,
                },
            );
        }
        Ok(store)
    }
}

impl ReplayStore for StoredReplay {
    fn record_use(
        &mut self,
        jti: &str,
        uses: u32,
        keep_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u32, ReplayError> {
        if let Some(entry) = self.entries.get_mut(jti) {
            // A stale entry belongs to a token that can no longer be accepted; a new token
            // reusing its `jti` starts afresh.
            if entry.keep_until < now {
                entry.used = 0;
            }
            if entry.used >= uses {
                return Err(ReplayError::Exhausted {
                    jti: jti.to_owned(),
                    uses: entry.used,
                });
            }
            entry.used += 1;
            entry.keep_until = entry.keep_until.max(keep_until);
            return Ok(uses - entry.used);
        }
        if uses == 0 {
            return Err(ReplayError::Exhausted {
                jti: jti.to_owned(),
                uses: 0,
            });
        }
        if self.entries.len() >= self.capacity && self.purge_expired(now) == 0 {
            return Err(ReplayError::Full {
                capacity: self.capacity,
            });
        }
        self.entries.insert(
            jti.to_owned(),
            Entry {
                used: 1,
                keep_until,
            },
        );
        Ok(uses - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridle_executor::replay::MemoryReplayStore;
    use bridle_executor::time::macros::datetime;
    use bridle_executor::time::Duration;

    const NOW: OffsetDateTime = datetime!(2025-01-01 12:00 UTC);

    #[test]
    fn a_saved_and_loaded_store_still_refuses_a_used_token() {
        let mut store = StoredReplay::default();
        let until = NOW + Duration::minutes(5);
        assert_eq!(store.record_use("jti-1", 1, until, NOW), Ok(0));
        let json = store.to_json();
        assert_eq!(
            json,
            r#"{"format":1,"entries":{"jti-1":{"used":1,"keep_until":"2025-01-01T12:05:00Z"}}}"#
        );
        let mut loaded = StoredReplay::from_json(&json).unwrap();
        assert_eq!(loaded, store);
        assert_eq!(
            loaded
                .record_use("jti-1", 1, until, NOW)
                .unwrap_err()
                .to_string(),
            "`jti-1` has already been used 1 time(s)"
        );
    }

    #[test]
    fn damaged_states_are_refused_with_their_reason() {
        assert_eq!(
            StoredReplay::from_json("{").unwrap_err().to_string(),
            "the stored replay state is not valid: EOF while parsing an object at line 1 column 1"
        );
        assert_eq!(
            StoredReplay::from_json(r#"{"format":2,"entries":{}}"#).unwrap_err(),
            ReplayStateError::Format { found: 2 }
        );
        assert_eq!(
            StoredReplay::from_json(
                r#"{"format":1,"entries":{"a":{"used":1,"keep_until":"soon"}}}"#
            )
            .unwrap_err()
            .to_string(),
            "the stored replay state is not valid: `soon` of `a` is not an RFC 3339 time"
        );
        assert!(matches!(
            StoredReplay::from_json(r#"{"format":1,"entries":{},"extra":1}"#),
            Err(ReplayStateError::Invalid { detail }) if detail.contains("unknown field `extra`")
        ));
    }

    #[test]
    fn the_stored_size_limit_holds_at_the_limit() {
        // A state exactly at the limit is read (and fails only on its content); one byte more
        // is refused before parsing.
        let at_limit = " ".repeat(MAX_REPLAY_STATE_BYTES);
        assert!(matches!(
            StoredReplay::from_json(&at_limit),
            Err(ReplayStateError::Invalid { .. })
        ));
        let over = " ".repeat(MAX_REPLAY_STATE_BYTES + 1);
        assert_eq!(
            StoredReplay::from_json(&over).unwrap_err(),
            ReplayStateError::TooLarge {
                len: MAX_REPLAY_STATE_BYTES + 1,
                max: MAX_REPLAY_STATE_BYTES
            }
        );
    }

    #[test]
    fn a_full_store_refuses_rather_than_forgets() {
        let mut store = StoredReplay::with_capacity(2);
        let until = NOW + Duration::minutes(5);
        store.record_use("a", 1, until, NOW).unwrap();
        store.record_use("b", 1, until, NOW).unwrap();
        assert_eq!(
            store.record_use("c", 1, until, NOW),
            Err(ReplayError::Full { capacity: 2 })
        );
    }

    /// A small deterministic generator, so the differential test needs no extra crate.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, bound: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % bound
        }
    }

    #[test]
    fn behaves_exactly_like_the_executors_memory_store_across_saves() {
        let mut rng = Lcg(7);
        let mut reference = MemoryReplayStore::with_capacity(8);
        let mut stored = StoredReplay::with_capacity(8);
        let mut now = NOW;
        for round in 0..5_000 {
            let jti = format!("t{}", rng.next(12));
            let uses = rng.next(4) as u32;
            let keep_until = now + Duration::seconds(rng.next(600) as i64);
            let a = reference.record_use(&jti, uses, keep_until, now);
            let b = stored.record_use(&jti, uses, keep_until, now);
            assert_eq!(a, b, "round {round}: `{jti}` uses {uses}");
            now += Duration::seconds(rng.next(30) as i64);
            if round % 7 == 0 {
                // What the service worker does after each run: save, and later load.
                let capacity = stored.capacity;
                stored = StoredReplay::from_json(&stored.to_json()).unwrap();
                stored.capacity = capacity;
            }
        }
    }
}
