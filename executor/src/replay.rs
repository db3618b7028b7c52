//! Replay protection: a token's `jti` may be used `uses` times and is remembered until the
//! token can no longer be accepted. The store is a trait so the extension can persist it; the
//! in-memory store here is bounded and fails closed when full.

use std::collections::BTreeMap;
use thiserror::Error;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How many unexpired `jti`s [`MemoryReplayStore::new`] remembers. With `jti` at most 128
/// bytes that is under 2 MB, and far more tokens than one browser receives within the
/// longest `max_ttl` a sensible policy grants.
pub const DEFAULT_REPLAY_CAPACITY: usize = 10_000;

/// Why a use could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplayError {
    /// The `jti` has been used as often as its token allows.
    #[error("`{jti}` has already been used {uses} time(s)")]
    Exhausted { jti: String, uses: u32 },
    /// The store holds `capacity` unexpired entries; forgetting one would allow a replay.
    #[error("the replay store is full ({capacity} unexpired tokens)")]
    Full { capacity: usize },
    /// A persistent store failed; the use was not recorded.
    #[error("the replay store is unavailable: {detail}")]
    Unavailable { detail: String },
}

/// Counts uses of token ids.
pub trait ReplayStore {
    /// Records one use of `jti`, whose token allows `uses` uses in all. The entry must be kept
    /// at least until `keep_until` (the token's `exp` plus the clock skew), and may be
    /// forgotten once `now` is past it. Returns how many uses remain after this one.
    fn record_use(
        &mut self,
        jti: &str,
        uses: u32,
        keep_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u32, ReplayError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    used: u32,
    keep_until: OffsetDateTime,
}

/// The version of the saved JSON; a saved state of another version is refused rather than
/// guessed at (forgetting uses would allow replays).
pub const REPLAY_STATE_FORMAT: u32 = 1;

/// Longest saved state read back, in bytes: [`DEFAULT_REPLAY_CAPACITY`] entries of a `jti` of
/// at most 128 bytes plus about 80 bytes of JSON each, with room to spare.
pub const MAX_REPLAY_STATE_BYTES: usize = DEFAULT_REPLAY_CAPACITY * 256 + 1024;

/// Why a saved replay state could not be read. An executor then refuses to run tokens,
/// because running without the record of used ones would let them run again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayStateError {
    #[error("the saved replay state is {len} bytes, more than the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("the saved replay state is not valid: {detail}")]
    Invalid { detail: String },
    #[error("the saved replay state has format {found}, but this version reads only {REPLAY_STATE_FORMAT}")]
    Format { found: u32 },
}

/// The saved form: `{"format": 1, "entries": {"<jti>": {"used": 1, "keep_until": "<RFC 3339>"}}}`.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: u32,
    entries: BTreeMap<String, WireEntry>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEntry {
    used: u32,
    keep_until: String,
}

/// A bounded in-memory [`ReplayStore`]. An ordered map keeps lookups `O(log n)` without a
/// hasher that would need OS randomness (the executor also runs in wasm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryReplayStore {
    entries: BTreeMap<String, Entry>,
    capacity: usize,
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryReplayStore {
    /// A store holding at most [`DEFAULT_REPLAY_CAPACITY`] unexpired entries.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_REPLAY_CAPACITY)
    }

    /// A store holding at most `capacity` unexpired entries.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryReplayStore {
            entries: BTreeMap::new(),
            capacity,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many entries are held (expired ones included until the next purge).
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

    /// The JSON to save, so that an executor that restarts (a browser's service worker)
    /// still refuses the tokens it has run.
    pub fn to_json(&self) -> String {
        let wire = Wire {
            format: REPLAY_STATE_FORMAT,
            entries: self
                .entries
                .iter()
                .map(|(jti, e)| {
                    let keep_until = e
                        .keep_until
                        .to_offset(time::UtcOffset::UTC)
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
        // Serialising strings and numbers cannot fail; the (unreachable) fallback is the
        // format's smallest valid state.
        serde_json::to_string(&wire)
            .unwrap_or_else(|_| format!("{{\"format\":{REPLAY_STATE_FORMAT},\"entries\":{{}}}}"))
    }

    /// Reads a saved state into a store of the default capacity.
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
        let mut store = MemoryReplayStore::new();
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

impl ReplayStore for MemoryReplayStore {
    fn record_use(
        &mut self,
        jti: &str,
        uses: u32,
        keep_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u32, ReplayError> {
        if let Some(entry) = self.entries.get_mut(jti) {
            // A stale entry belongs to a token that can no longer be accepted; a new token that
            // reuses its `jti` starts afresh.
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
    use time::macros::datetime;
    use time::Duration;

    const NOW: OffsetDateTime = datetime!(2025-01-01 12:00 UTC);

    #[test]
    fn saved_state_round_trips_and_still_refuses_replays() {
        let mut store = MemoryReplayStore::new();
        let until = NOW + Duration::minutes(5);
        assert_eq!(store.record_use("a", 2, until, NOW), Ok(1));
        let saved = store.to_json();
        let mut back = MemoryReplayStore::from_json(&saved).unwrap();
        assert_eq!(back, store);
        assert_eq!(back.record_use("a", 2, until, NOW), Ok(0));
        assert!(matches!(
            back.record_use("a", 2, until, NOW),
            Err(ReplayError::Exhausted { .. })
        ));
    }

    #[test]
    fn bad_saved_states_are_refused() {
        assert!(matches!(
            MemoryReplayStore::from_json(r#"{"format":2,"entries":{}}"#),
            Err(ReplayStateError::Format { found: 2 })
        ));
        assert!(matches!(
            MemoryReplayStore::from_json(r#"{"format":1,"entries":{},"x":1}"#),
            Err(ReplayStateError::Invalid { .. })
        ));
        assert!(matches!(
            MemoryReplayStore::from_json(
                r#"{"format":1,"entries":{"a":{"used":1,"keep_until":"soon"}}}"#
            ),
            Err(ReplayStateError::Invalid { .. })
        ));
        let at_limit = " ".repeat(MAX_REPLAY_STATE_BYTES);
        assert!(matches!(
            MemoryReplayStore::from_json(&at_limit),
            Err(ReplayStateError::Invalid { .. })
        ));
        let over = " ".repeat(MAX_REPLAY_STATE_BYTES + 1);
        assert_eq!(
            MemoryReplayStore::from_json(&over),
            Err(ReplayStateError::TooLarge {
                len: MAX_REPLAY_STATE_BYTES + 1,
                max: MAX_REPLAY_STATE_BYTES
            })
        );
    }

    #[test]
    fn single_use_then_refused() {
        let mut store = MemoryReplayStore::new();
        let until = NOW + Duration::minutes(5);
        assert_eq!(store.record_use("a", 1, until, NOW), Ok(0));
        assert_eq!(
            store.record_use("a", 1, until, NOW),
            Err(ReplayError::Exhausted {
                jti: "a".into(),
                uses: 1
            })
        );
        assert_eq!(store.record_use("b", 1, until, NOW), Ok(0));
    }

    #[test]
    fn uses_counts_down_to_exactly_zero() {
        let mut store = MemoryReplayStore::new();
        let until = NOW + Duration::minutes(5);
        assert_eq!(store.record_use("a", 3, until, NOW), Ok(2));
        assert_eq!(store.record_use("a", 3, until, NOW), Ok(1));
        assert_eq!(store.record_use("a", 3, until, NOW), Ok(0));
        assert_eq!(
            store
                .record_use("a", 3, until, NOW)
                .unwrap_err()
                .to_string(),
            "`a` has already been used 3 time(s)"
        );
    }

    #[test]
    fn remembered_through_keep_until_inclusive() {
        let mut store = MemoryReplayStore::new();
        let until = NOW + Duration::minutes(5);
        store.record_use("a", 1, until, NOW).unwrap();
        assert!(store.record_use("a", 1, until, until).is_err());
        assert_eq!(store.purge_expired(until), 0);
        assert_eq!(store.purge_expired(until + Duration::nanoseconds(1)), 1);
        assert!(store.is_empty());
    }

    #[test]
    fn full_store_refuses_rather_than_forgets() {
        let mut store = MemoryReplayStore::with_capacity(2);
        let until = NOW + Duration::minutes(5);
        store.record_use("a", 1, until, NOW).unwrap();
        // At capacity - 1 a new entry still fits.
        store.record_use("b", 1, until, NOW).unwrap();
        assert_eq!(
            store.record_use("c", 1, until, NOW),
            Err(ReplayError::Full { capacity: 2 })
        );
        // Known entries are still counted (and refused) while full.
        assert!(matches!(
            store.record_use("a", 1, until, NOW),
            Err(ReplayError::Exhausted { .. })
        ));
        // Once the earlier tokens' time has passed, their entries make room.
        let later = until + Duration::seconds(1);
        assert_eq!(
            store.record_use("c", 1, later + Duration::minutes(5), later),
            Ok(0)
        );
        assert_eq!(store.len(), 1);
        assert_eq!(store.capacity(), 2);
    }

    #[test]
    fn zero_uses_is_refused() {
        let mut store = MemoryReplayStore::new();
        assert!(matches!(
            store.record_use("a", 0, NOW, NOW),
            Err(ReplayError::Exhausted { uses: 0, .. })
        ));
        assert!(store.is_empty());
    }
}
