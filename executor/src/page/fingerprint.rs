//! Element fingerprints: what the user approved, so the actuator can refuse when the page
//! swapped the element afterwards.
//!
//! The fingerprint is SHA-256 (hex, first [`FINGERPRINT_HEX_CHARS`] characters) over the
//! role, the accessible name, the frame's origin, the origins of the frames around it (for an
//! element inside an iframe: the page that embeds it is part of what the user approved) and
//! the element's box, with the box's centre and size cut into [`FINGERPRINT_BUCKET_PX`]
//! buckets. An element of the top frame has no enclosing frames, and its digest is the one
//! it had before frames were hashed. Boxes are page coordinates (the frame's
//! document), so scrolling changes nothing; a `position: fixed` element's box is in viewport
//! coordinates and is marked so in the hashed input.
//!
//! A hash cannot be compared with a tolerance, and any bucketing has edges: a 1 px reflow
//! across a bucket edge changes the bucket. So [`fingerprint_matches`] accepts the expected
//! digest when it equals the fingerprint of the current box moved by up to one bucket in each
//! of the four quantities (3⁴ = 81 digests, a few microseconds). The effect: when each of the
//! centre's x and y, the width and the height changed by less than one bucket (8 px), it
//! always matches; when any of them changed by 16 px or more, it never does; any change of
//! role, name or origin never does. A different element swapped in
//! at the same place with the same role and name matches — it is the same thing to the user,
//! and the actuator also checks that the element handle is still the same node.

use super::wire::Rect;
use sha2::{Digest, Sha256};

/// Size of the position buckets, in CSS pixels.
pub const FINGERPRINT_BUCKET_PX: f64 = 8.0;

/// Hex characters kept of the SHA-256 digest: 128 bits, plenty against accidental equality
/// (nobody can choose a page that collides with a digest they never see change).
pub const FINGERPRINT_HEX_CHARS: usize = 32;

/// What a fingerprint covers.
#[derive(Debug, Clone, Copy)]
pub struct FingerprintInput<'a> {
    pub role: &'a str,
    pub name: &'a str,
    pub origin: &'a str,
    /// The origins of the frames enclosing the element's frame, innermost first, each
    /// followed by a line break; empty in the top frame.
    pub frame_path: &'a str,
    pub rect: Option<Rect>,
    /// The box is in viewport coordinates (`position: fixed`).
    pub fixed: bool,
}

fn bucket(v: f64) -> i64 {
    // Finite and bounded by MAX_COORD (validated), so the cast cannot overflow.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "coordinates are validated finite and within ±2^25"
    )]
    let b = (v / FINGERPRINT_BUCKET_PX).floor() as i64;
    b
}

fn buckets(rect: &Rect) -> [i64; 4] {
    let (cx, cy) = rect.center();
    [bucket(cx), bucket(cy), bucket(rect.w), bucket(rect.h)]
}

fn digest(input: &FingerprintInput<'_>, b: Option<[i64; 4]>) -> String {
    let mut h = Sha256::new();
    // Length-prefixed fields: no name can imitate a field boundary.
    h.update(b"bridle-fingerprint-v1\n");
    for field in [input.role, input.name, input.origin] {
        h.update(field.len().to_string().as_bytes());
        h.update(b":");
        h.update(field.as_bytes());
        h.update(b"\n");
    }
    if !input.frame_path.is_empty() {
        h.update(format!("in:{}:", input.frame_path.len()).as_bytes());
        h.update(input.frame_path.as_bytes());
        h.update(b"\n");
    }
    h.update(if input.fixed { "fixed\n" } else { "page\n" });
    match b {
        Some([cx, cy, w, hh]) => h.update(format!("{cx},{cy},{w},{hh}").as_bytes()),
        None => h.update(b"no-box"),
    }
    let mut hex = hex::encode(h.finalize());
    hex.truncate(FINGERPRINT_HEX_CHARS);
    hex
}

/// The fingerprint of an element.
pub fn fingerprint(input: &FingerprintInput<'_>) -> String {
    digest(input, input.rect.as_ref().map(buckets))
}

/// Whether `expected` is the fingerprint of this element, allowing its box to have moved or
/// changed size by up to one bucket (see the module documentation).
pub fn fingerprint_matches(expected: &str, input: &FingerprintInput<'_>) -> bool {
    let Some(rect) = input.rect.as_ref() else {
        return digest(input, None) == expected;
    };
    let base = buckets(rect);
    for i in 0..81 {
        let mut b = base;
        let mut k = i;
        for v in &mut b {
            *v += (k % 3) - 1;
            k /= 3;
        }
        if digest(input, Some(b)) == expected {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(rect: Rect) -> FingerprintInput<'static> {
        FingerprintInput {
            role: "button",
            name: "Pay 10 EUR",
            origin: "https://shop.example",
            frame_path: "",
            rect: Some(rect),
            fixed: false,
        }
    }

    #[test]
    fn fingerprints_are_short_stable_hex() {
        let a = fingerprint(&input(Rect::new(100.0, 200.0, 80.0, 30.0)));
        assert_eq!(a.len(), FINGERPRINT_HEX_CHARS);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, fingerprint(&input(Rect::new(100.0, 200.0, 80.0, 30.0))));
    }

    #[test]
    fn small_moves_match_and_big_ones_do_not() {
        let at = Rect::new(100.0, 200.0, 80.0, 30.0);
        let fp = fingerprint(&input(at));
        for dx in [-7.9, -1.0, 1.0, 7.9] {
            let moved = Rect::new(at.x + dx, at.y - dx, at.w, at.h);
            assert!(fingerprint_matches(&fp, &input(moved)), "{dx}");
            // A resize that keeps the centre, and one that moves it by half as much.
            let resized = Rect::new(at.x - dx / 2.0, at.y, at.w + dx, at.h);
            assert!(fingerprint_matches(&fp, &input(resized)), "{dx}");
            let grown = Rect::new(at.x, at.y, at.w, at.h + dx.abs());
            assert!(fingerprint_matches(&fp, &input(grown)), "{dx}");
        }
        for dx in [17.0, -17.0, 40.0] {
            let moved = Rect::new(at.x + dx, at.y, at.w, at.h);
            assert!(!fingerprint_matches(&fp, &input(moved)), "{dx}");
        }
        let bigger = Rect::new(at.x, at.y, at.w + 40.0, at.h);
        assert!(!fingerprint_matches(&fp, &input(bigger)));
    }

    #[test]
    fn role_name_origin_and_fixedness_count() {
        let at = Rect::new(0.0, 0.0, 10.0, 10.0);
        let fp = fingerprint(&input(at));
        let mut other = input(at);
        other.name = "Pay 1000 EUR";
        assert!(!fingerprint_matches(&fp, &other));
        let mut other = input(at);
        other.role = "link";
        assert!(!fingerprint_matches(&fp, &other));
        let mut other = input(at);
        other.origin = "https://evil.example";
        assert!(!fingerprint_matches(&fp, &other));
        let mut other = input(at);
        other.fixed = true;
        assert!(!fingerprint_matches(&fp, &other));
        // The same frame embedded by another page.
        let mut other = input(at);
        other.frame_path = "https://evil.example\n";
        assert!(!fingerprint_matches(&fp, &other));
        let mut inside = input(at);
        inside.frame_path = "https://shop.example\n";
        let fp_inside = fingerprint(&inside);
        assert!(fingerprint_matches(&fp_inside, &inside));
        let mut elsewhere = inside;
        elsewhere.frame_path = "https://evil.example\n";
        assert!(!fingerprint_matches(&fp_inside, &elsewhere));
        let mut none = input(at);
        none.rect = None;
        let fp_none = fingerprint(&none);
        assert!(fingerprint_matches(&fp_none, &none));
        assert!(!fingerprint_matches(&fp_none, &input(at)));
    }

    #[test]
    fn field_boundaries_cannot_be_imitated() {
        let at = Rect::new(0.0, 0.0, 10.0, 10.0);
        let a = FingerprintInput {
            role: "button",
            name: "a\n1:b",
            origin: "o",
            frame_path: "",
            rect: Some(at),
            fixed: false,
        };
        let b = FingerprintInput {
            name: "a",
            origin: "b\n1:o",
            ..a
        };
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }
}
