//! Serde helpers for the claims: RFC 3339 times, verbs and sandbox tiers by their words, and
//! whole numbers, each with an error message that names no Rust type.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serializer};
use std::fmt;

/// RFC 3339 times, parsed and printed with the `time` crate.
pub(super) mod rfc3339 {
    use serde::de::{self, Deserializer, Visitor};
    use serde::{ser, Serializer};
    use std::fmt;
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        let text = t
            .format(&Rfc3339)
            .map_err(|e| ser::Error::custom(format!("time cannot be written as RFC 3339: {e}")))?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = OffsetDateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time like `2025-01-31T12:00:00Z`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OffsetDateTime, E> {
                OffsetDateTime::parse(v, &Rfc3339)
                    .map_err(|_| E::custom(format!("`{v}` is not an RFC 3339 time")))
            }
        }
        d.deserialize_str(V)
    }
}

/// Sandbox tiers by their words in the language: `container`, `microvm`.
pub(super) mod sandbox_tier {
    use bridle_dsl::ast::SandboxTier;
    use serde::de::{self, Deserializer, Visitor};
    use serde::{Deserialize, Serializer};
    use std::fmt;

    pub fn word(tier: SandboxTier) -> &'static str {
        match tier {
            SandboxTier::Container => "container",
            SandboxTier::Microvm => "microvm",
        }
    }

    pub fn serialize<S: Serializer>(tier: &Option<SandboxTier>, s: S) -> Result<S::Ok, S::Error> {
        match tier {
            Some(tier) => s.serialize_str(word(*tier)),
            None => s.serialize_none(),
        }
    }

    struct Tier(SandboxTier);

    impl<'de> Deserialize<'de> for Tier {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Tier, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Tier;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("`container` or `microvm`")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Tier, E> {
                    match v {
                        "container" => Ok(Tier(SandboxTier::Container)),
                        "microvm" => Ok(Tier(SandboxTier::Microvm)),
                        other => Err(E::custom(format!(
                            "unknown sandbox tier `{other}`, expected `container` or `microvm`"
                        ))),
                    }
                }
            }
            d.deserialize_str(V)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SandboxTier>, D::Error> {
        Ok(Option::<Tier>::deserialize(d)?.map(|t| t.0))
    }
}

/// Verbs by the language's words.
pub(super) mod verb_list {
    use bridle_dsl::Verb;
    use serde::de::{self, Deserializer, SeqAccess, Visitor};
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(verbs: &Option<Vec<Verb>>, s: S) -> Result<S::Ok, S::Error> {
        match verbs {
            None => s.serialize_none(),
            Some(verbs) => {
                let mut seq = s.serialize_seq(Some(verbs.len()))?;
                for verb in verbs {
                    seq.serialize_element(verb.as_str())?;
                }
                seq.end()
            }
        }
    }

    /// One verb word, read without allocating.
    struct VerbWord(Verb);

    impl<'de> Deserialize<'de> for VerbWord {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<VerbWord, D::Error> {
            struct W;
            impl Visitor<'_> for W {
                type Value = VerbWord;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a verb like \"click\"")
                }
                fn visit_str<E: de::Error>(self, word: &str) -> Result<VerbWord, E> {
                    Verb::parse(word)
                        .map(VerbWord)
                        .ok_or_else(|| E::custom(format!("unknown verb `{word}` in `verbs`")))
                }
            }
            d.deserialize_str(W)
        }
    }

    /// A present list of verb words; `null` is the same as an absent key, as for every other
    /// optional grant key.
    struct Verbs(Vec<Verb>);

    impl<'de> Deserialize<'de> for Verbs {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Verbs, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Verbs;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a list of verbs like [\"click\", \"fill\"]")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Verbs, A::Error> {
                    let mut verbs = Vec::new();
                    while let Some(VerbWord(verb)) = seq.next_element()? {
                        verbs.push(verb);
                    }
                    Ok(Verbs(verbs))
                }
            }
            d.deserialize_seq(V)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Verb>>, D::Error> {
        Ok(Option::<Verbs>::deserialize(d)?.map(|v| v.0))
    }
}

/// Integers with a message that names no Rust type.
struct WholeNumber;

impl Visitor<'_> for WholeNumber {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("`{v}` is negative")))
    }
}

pub(super) fn whole_number_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_u64(WholeNumber)
}

pub(super) fn whole_number_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = d.deserialize_u64(WholeNumber)?;
    u32::try_from(n).map_err(|_| de::Error::custom(format!("`{n}` is too large")))
}

/// A present whole number that fits 32 bits.
struct WholeU32(u32);

impl<'de> Deserialize<'de> for WholeU32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<WholeU32, D::Error> {
        whole_number_u32(d).map(WholeU32)
    }
}

pub(super) fn opt_whole_number_u32<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<u32>, D::Error> {
    Ok(Option::<WholeU32>::deserialize(d)?.map(|n| n.0))
}

/// Writes whole numbers without a fraction (`20`, not `20.0`), as planners would.
pub(super) fn number<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    // Exact for every whole number below 2^53, the range where doubles are integers.
    if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

pub(super) fn opt_number<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => number(v, s),
        None => s.serialize_none(),
    }
}
