//! The value types inside claims that have their own text form: memory sizes (`256MB`) and
//! script hashes (`sha256:<hex>`).

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// A memory size, written as a string: a whole number and a unit, `B`, `KB`, `MB`, `GB` or
/// `KiB`, `MiB`, `GiB`. The units are binary, as in the language's `memory` (1 KB = 1024 B),
/// so `KB`/`MB`/`GB` mean exactly the same as `KiB`/`MiB`/`GiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Memory {
    bytes: u64,
}

const MEMORY_UNITS: &[(&str, u64)] = &[
    ("GiB", 1 << 30),
    ("GB", 1 << 30),
    ("MiB", 1 << 20),
    ("MB", 1 << 20),
    ("KiB", 1 << 10),
    ("KB", 1 << 10),
    ("B", 1),
];

impl Memory {
    /// A size in bytes.
    pub fn from_bytes(bytes: u64) -> Memory {
        Memory { bytes }
    }

    pub fn bytes(self) -> u64 {
        self.bytes
    }
}

impl FromStr for Memory {
    type Err = String;

    /// Parses `"256MB"`, `"1GiB"`, `"512B"`: digits, then a unit, no spaces.
    fn from_str(text: &str) -> Result<Memory, String> {
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        let (number, unit) = text.split_at(digits);
        let bad = || {
            format!(
                "`{text}` is not a memory size like `256MB` (units: B, KB, MB, GB, KiB, MiB, GiB)"
            )
        };
        if number.is_empty() || number.len() > 20 {
            return Err(bad());
        }
        let scale = MEMORY_UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, scale)| *scale)
            .ok_or_else(bad)?;
        let bytes = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .ok_or_else(|| format!("`{text}` is too large"))?;
        Ok(Memory { bytes })
    }
}

impl fmt::Display for Memory {
    /// The largest unit that divides the size exactly, spelled as the language does (`256MB`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, scale) in MEMORY_UNITS {
            if name.ends_with("iB") {
                continue;
            }
            if self.bytes != 0 && self.bytes % scale == 0 {
                return write!(f, "{}{name}", self.bytes / scale);
            }
        }
        write!(f, "{}B", self.bytes)
    }
}

impl Serialize for Memory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Memory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Memory, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Memory;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a memory size string like `256MB`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Memory, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// The SHA-256 of the exact script bytes a token is bound to, written `sha256:<64 hex>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScriptHash(pub [u8; 32]);

impl ScriptHash {
    /// The hash of `script`'s bytes, exactly as given (no normalisation).
    pub fn of(script: &[u8]) -> ScriptHash {
        ScriptHash(Sha256::digest(script).into())
    }
}

impl fmt::Display for ScriptHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl FromStr for ScriptHash {
    type Err = String;

    /// Only the canonical form: `sha256:` and 64 lowercase hex digits.
    fn from_str(text: &str) -> Result<ScriptHash, String> {
        let bad = || format!("`{text}` is not `sha256:` followed by 64 lowercase hex digits");
        let digits = text.strip_prefix("sha256:").ok_or_else(bad)?;
        if digits.len() != 64
            || !digits
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(digits, &mut out).map_err(|_| bad())?;
        Ok(ScriptHash(out))
    }
}

impl Serialize for ScriptHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ScriptHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ScriptHash, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ScriptHash;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a script hash like `sha256:<64 hex digits>`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ScriptHash, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}
