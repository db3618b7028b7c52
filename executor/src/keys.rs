//! Ed25519 key encodings and the two ids derived from public keys: a planner's key id (`kid`,
//! `k1_…`) and an executor instance's id (`bx1_…`, the tokens' audience and implicit
//! assertion). Both derivations are part of Bridle's stable interface: see docs/tokens.md.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{SigningKey, VerifyingKey, PUBLIC_KEY_LENGTH, SECRET_KEY_LENGTH};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The prefix of Bridle-derived key ids; the `1` is the derivation's version.
pub const KEY_ID_PREFIX: &str = "k1_";

/// The prefix of executor instance ids; the `1` is the derivation's version.
pub const INSTANCE_ID_PREFIX: &str = "bx1_";

/// Domain separation, so a key's id and its instance id are unrelated strings even when the
/// same key pair served as both.
const KEY_ID_DOMAIN: &[u8] = b"bridle key id v1\n";
const INSTANCE_ID_DOMAIN: &[u8] = b"bridle instance id v1\n";

/// How many bytes of the SHA-256 an id keeps: 128 bits, ample against collisions among the
/// handful of keys one policy trusts, and short enough to read aloud.
const ID_BYTES: usize = 16;

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// Not unpadded base64url.
    #[error("{what} is not base64url without padding")]
    Encoding { what: &'static str },
    /// Decoded to the wrong number of bytes; checked before any key is built.
    #[error("{what} is {found} bytes, but must be {expected}")]
    Length {
        what: &'static str,
        expected: &'static str,
        found: usize,
    },
    /// The 32 bytes are not a point on the curve.
    #[error("public key is not a valid ed25519 point")]
    NotAPoint,
    /// A small-order point: signatures under it prove nothing.
    #[error("public key is a weak (small-order) ed25519 key")]
    Weak,
    /// A 64-byte secret key whose second half is not the public key of its first half.
    #[error("secret key's public half does not match its seed")]
    Mismatch,
}

/// The base64url (unpadded) text of the 32 raw public key bytes.
pub fn encode_public_key(key: &VerifyingKey) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// The base64url (unpadded) text of the 32-byte secret seed.
pub fn encode_secret_key(key: &SigningKey) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// Reads a public key: base64url of exactly 32 bytes, a valid, non-weak curve point.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let what = "public key";
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| KeyError::Encoding { what })?;
    let bytes: [u8; PUBLIC_KEY_LENGTH] =
        bytes.as_slice().try_into().map_err(|_| KeyError::Length {
            what,
            expected: "32",
            found: bytes.len(),
        })?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::NotAPoint)?;
    if key.is_weak() {
        return Err(KeyError::Weak);
    }
    Ok(key)
}

/// Reads a secret key: base64url of the 32-byte seed, or of 64 bytes seed ‖ public key (the
/// form PASETO libraries use), in which case the public half must match.
pub fn parse_secret_key(text: &str) -> Result<SigningKey, KeyError> {
    let what = "secret key";
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| KeyError::Encoding { what })?;
    let (seed, public) = match bytes.len() {
        SECRET_KEY_LENGTH => (&bytes[..], None),
        64 => (
            &bytes[..SECRET_KEY_LENGTH],
            Some(&bytes[SECRET_KEY_LENGTH..]),
        ),
        found => {
            return Err(KeyError::Length {
                what,
                expected: "32 (seed) or 64 (seed and public key)",
                found,
            })
        }
    };
    let mut buf = [0u8; SECRET_KEY_LENGTH];
    buf.copy_from_slice(seed);
    let key = SigningKey::from_bytes(&buf);
    if let Some(public) = public {
        if public != key.verifying_key().as_bytes() {
            return Err(KeyError::Mismatch);
        }
    }
    Ok(key)
}

fn derive(prefix: &str, domain: &[u8], key: &VerifyingKey) -> String {
    let digest = Sha256::new()
        .chain_update(domain)
        .chain_update(key.as_bytes())
        .finalize();
    format!("{prefix}{}", hex::encode(&digest[..ID_BYTES]))
}

/// A planner key's id: `k1_` + lowercase hex of the first 16 bytes of
/// SHA-256(`"bridle key id v1\n"` ‖ the 32 public key bytes). `bridle keys new` prints it; the
/// policy lists each planner's `kid` explicitly, so a planner may also use any other id.
pub fn key_id(key: &VerifyingKey) -> String {
    derive(KEY_ID_PREFIX, KEY_ID_DOMAIN, key)
}

/// An executor instance's id: `bx1_` + lowercase hex of the first 16 bytes of
/// SHA-256(`"bridle instance id v1\n"` ‖ the 32 public key bytes). Tokens name it as `aud`
/// and sign its UTF-8 bytes as the implicit assertion.
pub fn instance_id(key: &VerifyingKey) -> String {
    derive(INSTANCE_ID_PREFIX, INSTANCE_ID_DOMAIN, key)
}

/// Whether `kid` may appear in a token footer: 1 to [`crate::token::MAX_KID_BYTES`] ASCII
/// letters, digits, `.`, `_` or `-` (Bridle ids and PASERK ids alike).
pub fn is_valid_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= crate::token::MAX_KID_BYTES
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The PASETO v4 test vectors' key pair, so these ids can be recomputed anywhere.
    const SEED_HEX: &str = "b4cbfb43df4ce210727d953e4a713307fa19bb7d9f85041438d9e11b942a3774";
    const PUBLIC_HEX: &str = "1eb9dbbbbc047c03fd70604e0071f0987e16b28b757225c11f00415d0e20b1a2";

    fn vector_key() -> SigningKey {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(SEED_HEX, &mut seed).unwrap();
        SigningKey::from_bytes(&seed)
    }

    #[test]
    fn ids_are_stable() {
        let public = vector_key().verifying_key();
        assert_eq!(hex::encode(public.as_bytes()), PUBLIC_HEX);
        // Changing either derivation breaks every policy and token in the field. The values
        // were cross-checked with an independent implementation (Python hashlib).
        assert_eq!(key_id(&public), "k1_c04d707b8cb4635142f19a0368dc8263");
        assert_eq!(instance_id(&public), "bx1_ee03b2a00fef2b3508d629b88a685863");
    }

    #[test]
    fn keys_roundtrip_through_text() {
        let key = vector_key();
        let secret = encode_secret_key(&key);
        let public = encode_public_key(&key.verifying_key());
        assert_eq!(public, "Hrnbu7wEfAP9cGBOAHHwmH4Wsot1ciXBHwBBXQ4gsaI");
        assert_eq!(
            parse_secret_key(&secret).unwrap().as_bytes(),
            key.as_bytes()
        );
        assert_eq!(parse_public_key(&public).unwrap(), key.verifying_key());
        let mut both = key.as_bytes().to_vec();
        both.extend_from_slice(key.verifying_key().as_bytes());
        let both_text = URL_SAFE_NO_PAD.encode(&both);
        assert_eq!(
            parse_secret_key(&both_text).unwrap().as_bytes(),
            key.as_bytes()
        );
        both[40] ^= 1;
        assert_eq!(
            parse_secret_key(&URL_SAFE_NO_PAD.encode(&both)),
            Err(KeyError::Mismatch)
        );
    }

    #[test]
    fn lengths_are_checked_before_keys_are_built() {
        assert_eq!(
            parse_public_key(&URL_SAFE_NO_PAD.encode([1u8; 31])),
            Err(KeyError::Length {
                what: "public key",
                expected: "32",
                found: 31
            })
        );
        assert_eq!(
            parse_public_key(&URL_SAFE_NO_PAD.encode([1u8; 33]))
                .unwrap_err()
                .to_string(),
            "public key is 33 bytes, but must be 32"
        );
        assert_eq!(
            parse_secret_key(&URL_SAFE_NO_PAD.encode([1u8; 48]))
                .unwrap_err()
                .to_string(),
            "secret key is 48 bytes, but must be 32 (seed) or 64 (seed and public key)"
        );
        assert_eq!(
            parse_public_key("Hrnbu7wEfAP9cGBOAHHwmH4Wsot1ciXBHwBBXQ4gsaI="),
            Err(KeyError::Encoding { what: "public key" })
        );
    }

    #[test]
    fn weak_and_invalid_points_are_refused() {
        // The identity point (y = 1) has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            parse_public_key(&URL_SAFE_NO_PAD.encode(identity)),
            Err(KeyError::Weak)
        );
        // y = 2 is not on the curve.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert_eq!(
            parse_public_key(&URL_SAFE_NO_PAD.encode(off_curve)),
            Err(KeyError::NotAPoint)
        );
    }

    #[test]
    fn kid_charset_and_length_limit() {
        assert!(is_valid_kid("k1_c04d707b8cb4635142f19a0368dc8263"));
        assert!(is_valid_kid(
            "k4.pid.zVhMiPBP9fRf2snEcT7gFTioeA9COcNy9DfgL1W60haN"
        ));
        assert!(is_valid_kid(&"a".repeat(crate::token::MAX_KID_BYTES)));
        assert!(!is_valid_kid(&"a".repeat(crate::token::MAX_KID_BYTES + 1)));
        assert!(!is_valid_kid(""));
        assert!(!is_valid_kid("k 1"));
        assert!(!is_valid_kid("k\"1"));
    }
}
