//! Replay protection: a token's `jti` may be used `uses` times and is remembered until the
//! token can no longer be accepted. The store is a trait so the extension can persist it; the
//! in-memory store here is bounded and fails closed when full.

use std::collections::BTreeMap;
use thiserror::Error;
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

#[derive(Debug, Clone, Copy)]
struct Entry {
    used: u32,
    keep_until: OffsetDateTime,
}

/// A bounded in-memory [`ReplayStore`]. An ordered map keeps lookups `O(log n)` without a
/// hasher that would need OS randomness (the executor also runs in wasm).
#[derive(Debug, Clone)]
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
