//! Durations and sizes as the policy writes them, with the same unit rules as the language:
//! `500ms`, `30s`, `15m`, `1h`; `512B`, `64KB`, `256MB`, `1GB` (binary multiples, 1 KB = 1024 B).

use time::Duration;

/// Why a duration or size text is not one. The caller turns it into a policy error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitProblem {
    /// No digits before the unit, a sign, a decimal point, spaces …
    Malformed,
    /// Digits fine, but the unit is not one of the allowed ones.
    UnknownUnit,
    /// The number does not fit in 64 bits once converted.
    Overflow,
}

const DURATION_UNITS: &[(&str, u64)] = &[("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)];
const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KB", 1024),
    ("MB", 1024 * 1024),
    ("GB", 1024 * 1024 * 1024),
];

/// Splits `123unit` into the number and the unit, both non-empty, the number plain ASCII
/// digits (no sign, no decimal point, no separators).
fn split(text: &str) -> Result<(u64, &str), UnitProblem> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    if number.is_empty() || unit.is_empty() {
        return Err(UnitProblem::Malformed);
    }
    if !unit.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(UnitProblem::Malformed);
    }
    let value = number.parse::<u64>().map_err(|_| UnitProblem::Overflow)?;
    Ok((value, unit))
}

fn scaled(text: &str, units: &[(&str, u64)]) -> Result<u64, UnitProblem> {
    let (value, unit) = split(text)?;
    let factor = units
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, factor)| *factor)
        .ok_or(UnitProblem::UnknownUnit)?;
    value.checked_mul(factor).ok_or(UnitProblem::Overflow)
}

/// Parses `500ms`, `30s`, `15m`, `1h`. Zero is accepted here; ranges are the caller's.
pub fn parse_duration(text: &str) -> Result<Duration, UnitProblem> {
    let millis = scaled(text, DURATION_UNITS)?;
    let millis = i64::try_from(millis).map_err(|_| UnitProblem::Overflow)?;
    Ok(Duration::milliseconds(millis))
}

/// Parses `512B`, `64KB`, `256MB`, `1GB` into bytes. Zero is accepted here.
pub fn parse_size(text: &str) -> Result<u64, UnitProblem> {
    scaled(text, SIZE_UNITS)
}

/// The shortest exact spelling of a duration in the policy's units (`24h`, `90s`, `1500ms`).
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.whole_milliseconds().max(0);
    for (unit, factor) in DURATION_UNITS.iter().rev() {
        let factor = i128::from(*factor);
        if millis != 0 && millis % factor == 0 {
            return format!("{}{unit}", millis / factor);
        }
    }
    format!("{millis}ms")
}

/// The shortest exact spelling of a size in the policy's units (`16GB`, `1536KB`).
pub fn format_size(bytes: u64) -> String {
    for (unit, factor) in SIZE_UNITS.iter().rev() {
        if bytes != 0 && bytes % factor == 0 {
            return format!("{}{unit}", bytes / factor);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::milliseconds(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::seconds(30)));
        assert_eq!(parse_duration("15m"), Ok(Duration::minutes(15)));
        assert_eq!(parse_duration("1h"), Ok(Duration::hours(1)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn malformed_durations_are_refused() {
        for text in [
            "", "s", "15", "1.5h", "-1s", "+1s", "15 m", " 15m", "1h30m", "1٣s",
        ] {
            assert_eq!(
                parse_duration(text),
                Err(UnitProblem::Malformed),
                "{text:?}"
            );
        }
        for text in ["15min", "1d", "10S", "1H", "5sec"] {
            assert_eq!(
                parse_duration(text),
                Err(UnitProblem::UnknownUnit),
                "{text:?}"
            );
        }
        assert_eq!(
            parse_duration("99999999999999999999h"),
            Err(UnitProblem::Overflow)
        );
        assert_eq!(
            parse_duration("9999999999999999h"),
            Err(UnitProblem::Overflow)
        );
    }

    #[test]
    fn sizes_are_binary_multiples() {
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size("64KB"), Ok(64 * 1024));
        assert_eq!(parse_size("256MB"), Ok(256 * 1024 * 1024));
        assert_eq!(parse_size("1GB"), Ok(1024 * 1024 * 1024));
        assert_eq!(parse_size("1mb"), Err(UnitProblem::UnknownUnit));
        assert_eq!(parse_size("1MiB"), Err(UnitProblem::UnknownUnit));
        assert_eq!(parse_size("1 MB"), Err(UnitProblem::Malformed));
        assert_eq!(
            parse_size("18446744073709551615GB"),
            Err(UnitProblem::Overflow)
        );
    }

    #[test]
    fn formatting_picks_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::hours(24)), "24h");
        assert_eq!(format_duration(Duration::seconds(90)), "90s");
        assert_eq!(format_duration(Duration::milliseconds(1500)), "1500ms");
        assert_eq!(format_duration(Duration::ZERO), "0ms");
        assert_eq!(format_size(16 * 1024 * 1024 * 1024), "16GB");
        assert_eq!(format_size(1536 * 1024), "1536KB");
        assert_eq!(format_size(0), "0B");
    }
}
