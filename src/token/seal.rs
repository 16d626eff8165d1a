//! Fernet encryption for the tokens this service issues
//! (<https://github.com/fernet/spec>): the version byte 0x80, the time as
//! 64-bit big-endian seconds, a 16-byte IV, the payload in AES-128-CBC with
//! PKCS#7 padding, and an HMAC-SHA256 of all of that.
//!
//! The fernet crate's `encrypt` draws each IV with a `getrandom` system
//! call and reads the clock itself. A node issuing a token for every signed
//! request it verifies showed the system call in its profile, so here the
//! caller gives both (the IV from the thread's CSPRNG). Opening tokens
//! stays the crate's. Pure: no clock, no randomness, no I/O.

use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

const VERSION: u8 = 0x80;
/// Version, time and IV.
const HEADER: usize = 1 + 8 + 16;
const TAG: usize = 32;
const BLOCK: usize = 16;

/// A Fernet key's two halves: the first 16 bytes sign, the last 16
/// encrypt.
pub struct SealingKey {
    signing: Zeroizing<[u8; 16]>,
    encryption: Zeroizing<[u8; 16]>,
}

impl SealingKey {
    /// A key file's text (URL-safe base64 of 32 bytes, padded or not), read
    /// as `fernet::Fernet::new` reads it.
    pub fn from_text(text: &str) -> Option<Self> {
        let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?);
        if bytes.len() != 2 * BLOCK {
            return None;
        }
        let mut signing = Zeroizing::new([0u8; 16]);
        let mut encryption = Zeroizing::new([0u8; 16]);
        signing.copy_from_slice(&bytes[..BLOCK]);
        encryption.copy_from_slice(&bytes[BLOCK..]);
        Some(SealingKey {
            signing,
            encryption,
        })
    }

    /// The token of `plaintext` made at `at` (Unix seconds) with `iv`, in
    /// URL-safe base64 without padding, as Keystone issues tokens. `None`
    /// only if the cipher refuses its own buffer, which its size rules out.
    pub fn seal(&self, plaintext: &[u8], at: u64, iv: &[u8; 16]) -> Option<String> {
        let padded = (plaintext.len() / BLOCK + 1) * BLOCK;
        let mut token = Vec::with_capacity(HEADER + padded + TAG);
        token.push(VERSION);
        token.extend_from_slice(&at.to_be_bytes());
        token.extend_from_slice(iv);
        token.resize(HEADER + padded, 0);
        let cipher = cbc::Encryptor::<aes::Aes128>::new((&*self.encryption).into(), iv.into());
        let written = cipher
            .encrypt_padded_b2b_mut::<Pkcs7>(plaintext, &mut token[HEADER..])
            .ok()?
            .len();
        if written != padded {
            return None;
        }
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&*self.signing).ok()?;
        mac.update(&token);
        token.extend_from_slice(&mac.finalize().into_bytes());
        Some(URL_SAFE_NO_PAD.encode(&token))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The spec's own vector (`generate.json` of fernet/spec).
    #[test]
    fn the_spec_vector() {
        let key = SealingKey::from_text("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=").unwrap();
        let iv: [u8; 16] = std::array::from_fn(|i| i as u8);
        assert_eq!(
            key.seal(b"hello", 499_162_800, &iv).unwrap(),
            "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA"
        );
    }

    /// Whatever it seals, the fernet crate opens, at the time given, for
    /// every length around the block boundaries.
    #[test]
    fn the_crate_opens_what_it_seals() {
        for round in 0..8u8 {
            let text = fernet::Fernet::generate_key();
            let key = SealingKey::from_text(&text).unwrap();
            let theirs = fernet::Fernet::new(&text).unwrap();
            for len in 0..70usize {
                let plaintext: Vec<u8> = (0..len).map(|i| (i as u8) ^ round).collect();
                let iv: [u8; 16] = std::array::from_fn(|i| (i as u8).wrapping_mul(round + 3));
                let at = 1_700_000_000 + u64::from(round);
                let token = key.seal(&plaintext, at, &iv).unwrap();
                assert!(!token.contains('='));
                assert_eq!(crate::token::fernet_timestamp(&token), Some(at as i64));
                assert_eq!(theirs.decrypt(&token).unwrap(), plaintext, "length {len}");
            }
        }
    }

    #[test]
    fn keys_that_are_not_32_bytes_are_refused() {
        assert!(SealingKey::from_text("").is_none());
        assert!(SealingKey::from_text("c2hvcnQ=").is_none());
        assert!(SealingKey::from_text("not base64 at all!").is_none());
        let long = URL_SAFE_NO_PAD.encode([7u8; 33]);
        assert!(SealingKey::from_text(&long).is_none());
    }
}
