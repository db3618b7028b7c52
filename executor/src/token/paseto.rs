//! The PASETO v4.public envelope: pre-authentication encoding (PAE), signing and strict
//! verification. This layer knows nothing of Bridle's claims or footer; it is what the official
//! PASETO test vectors exercise.
//!
//! A token is `v4.public.` + base64url(message ‖ signature) [+ `.` + base64url(footer)], and
//! the signature is Ed25519 over `PAE("v4.public.", message, footer, implicit assertion)`.

use super::error::TokenError;
use super::limits::MAX_TOKEN_BYTES;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey, SIGNATURE_LENGTH};

/// The only header Bridle accepts: version 4, public purpose.
pub const HEADER: &str = "v4.public.";

/// A token split into its parts and decoded, but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The signed message (for Bridle, the claims JSON).
    pub message: Vec<u8>,
    /// The Ed25519 signature over the PAE.
    pub signature: [u8; SIGNATURE_LENGTH],
    /// The decoded footer; empty when the token has none.
    pub footer: Vec<u8>,
}

/// `LE64(n)` of the PASETO spec: little-endian, with the top bit cleared so the value stays
/// a valid signed integer in every language.
fn le64(n: usize) -> [u8; 8] {
    ((n as u64) & (u64::MAX >> 1)).to_le_bytes()
}

/// The pre-authentication encoding: the piece count, then each piece's length and bytes, so
/// that no two different lists of pieces encode to the same bytes.
pub fn pae(pieces: &[&[u8]]) -> Vec<u8> {
    let len = 8 + pieces.iter().map(|p| 8 + p.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&le64(pieces.len()));
    for piece in pieces {
        out.extend_from_slice(&le64(piece.len()));
        out.extend_from_slice(piece);
    }
    out
}

/// The exact bytes a v4.public signature covers.
pub fn signed_bytes(message: &[u8], footer: &[u8], implicit_assertion: &[u8]) -> Vec<u8> {
    pae(&[HEADER.as_bytes(), message, footer, implicit_assertion])
}

/// Joins a message, a signature and a footer into token text (the inverse of [`decode`]).
fn encode(message: &[u8], signature: &[u8; SIGNATURE_LENGTH], footer: &[u8]) -> String {
    let mut body = Vec::with_capacity(message.len() + SIGNATURE_LENGTH);
    body.extend_from_slice(message);
    body.extend_from_slice(signature);
    let mut token = String::with_capacity(HEADER.len() + (body.len() + footer.len()) * 4 / 3 + 4);
    token.push_str(HEADER);
    URL_SAFE_NO_PAD.encode_string(&body, &mut token);
    if !footer.is_empty() {
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(footer, &mut token);
    }
    token
}

/// Signs `message` with `footer` and `implicit_assertion` into a token. Ed25519 is
/// deterministic, so the same inputs always give the same token.
pub fn sign(message: &[u8], footer: &[u8], implicit_assertion: &[u8], key: &SigningKey) -> String {
    let signature = key.sign(&signed_bytes(message, footer, implicit_assertion));
    encode(message, &signature.to_bytes(), footer)
}

/// Splits and decodes a token, checking its length first, then its header, then the encoding
/// of each part, then that the body can hold a signature. Nothing is verified here.
pub fn decode(token: &str) -> Result<Envelope, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLong {
            len: token.len(),
            max: MAX_TOKEN_BYTES,
        });
    }
    let rest = token.strip_prefix(HEADER).ok_or(TokenError::WrongHeader)?;
    let mut parts = rest.split('.');
    let body = parts.next().unwrap_or_default();
    let footer = parts.next();
    if parts.next().is_some() {
        return Err(TokenError::BadEncoding { part: "structure" });
    }
    let body = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenError::BadEncoding { part: "body" })?;
    let footer = match footer {
        // An empty footer is written without the `.`; a trailing `.` is a second spelling of
        // the same token, which we refuse so every token has one text form.
        Some("") => return Err(TokenError::BadEncoding { part: "footer" }),
        Some(f) => URL_SAFE_NO_PAD
            .decode(f)
            .map_err(|_| TokenError::BadEncoding { part: "footer" })?,
        None => Vec::new(),
    };
    let Some(split) = body.len().checked_sub(SIGNATURE_LENGTH) else {
        return Err(TokenError::TooShort { len: body.len() });
    };
    let mut signature = [0u8; SIGNATURE_LENGTH];
    signature.copy_from_slice(&body[split..]);
    let mut message = body;
    message.truncate(split);
    Ok(Envelope {
        message,
        signature,
        footer,
    })
}

impl Envelope {
    /// The token text for these parts, signature unchanged (tests use it to tamper).
    pub fn encode(&self) -> String {
        encode(&self.message, &self.signature, &self.footer)
    }

    /// Verifies the signature with ed25519-dalek's strict rules (no small-order keys or
    /// non-canonical signatures), over this envelope and `implicit_assertion`.
    pub fn verify(&self, implicit_assertion: &[u8], key: &VerifyingKey) -> Result<(), TokenError> {
        let signature = Signature::from_bytes(&self.signature);
        key.verify_strict(
            &signed_bytes(&self.message, &self.footer, implicit_assertion),
            &signature,
        )
        .map_err(|_| TokenError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_spec_examples() {
        // The examples from the PASETO specification's PAE section.
        assert_eq!(pae(&[]), b"\x00\x00\x00\x00\x00\x00\x00\x00");
        assert_eq!(
            pae(&[b""]),
            b"\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        );
        assert_eq!(
            pae(&[b"test"]),
            b"\x01\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00test"
        );
    }

    #[test]
    fn le64_clears_the_top_bit() {
        assert_eq!(le64(usize::MAX)[7], 0x7f);
        assert_eq!(le64(1)[0], 1);
    }

    #[test]
    fn sign_then_decode_and_verify_roundtrips() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let token = sign(b"{}", b"foot", b"me", &key);
        let env = decode(&token).unwrap();
        assert_eq!(env.message, b"{}");
        assert_eq!(env.footer, b"foot");
        env.verify(b"me", &key.verifying_key()).unwrap();
        assert_eq!(
            env.verify(b"you", &key.verifying_key()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn decode_refuses_each_malformed_shape() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let token = sign(b"{}", b"", b"", &key);
        assert_eq!(decode("v4.local.AAAA"), Err(TokenError::WrongHeader));
        assert_eq!(
            decode(&format!("{token}.")),
            Err(TokenError::BadEncoding { part: "footer" })
        );
        assert_eq!(
            decode(&format!("{token}.e30.e30")),
            Err(TokenError::BadEncoding { part: "structure" })
        );
        assert_eq!(
            decode("v4.public.AAA="),
            Err(TokenError::BadEncoding { part: "body" })
        );
        assert_eq!(decode("v4.public."), Err(TokenError::TooShort { len: 0 }));
        // Non-canonical trailing bits ("AB" and "AA" would decode to the same byte).
        assert_eq!(
            decode("v4.public.AB"),
            Err(TokenError::BadEncoding { part: "body" })
        );
    }

    #[test]
    fn decode_length_limit_is_checked_first() {
        let at_limit = format!("v4.public.{}", "A".repeat(MAX_TOKEN_BYTES - HEADER.len()));
        assert_eq!(at_limit.len(), MAX_TOKEN_BYTES);
        // At the limit the length passes and decoding proceeds (and succeeds: all-zero bytes).
        assert!(matches!(decode(&at_limit), Ok(env) if env.footer.is_empty()));
        let over = format!("{at_limit}A");
        assert_eq!(
            decode(&over),
            Err(TokenError::TooLong {
                len: MAX_TOKEN_BYTES + 1,
                max: MAX_TOKEN_BYTES
            })
        );
    }
}
