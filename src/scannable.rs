//! Secrets that secret scanners recognise, GitHub's scheme: a prefix that
//! names the kind of secret, a base62 body from the OS CSPRNG, and a
//! CRC32 checksum, so a scanner finds a leaked Ironstone secret with one
//! regular expression and confirms it offline, with no false positives
//! and no call to us. Pure functions.
//!
//! `<prefix><body><checksum>`: the checksum is CRC-32 (IEEE 802.3, zlib's
//! `crc32`) of the prefix and body, written as 6 base62 digits
//! (`0-9A-Za-z`, most significant first, zero-padded).

use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;

/// The kinds of secret Ironstone generates in this format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The secret key of an AK/SK pair (SODA's or OS-EC2's).
    PairSecret,
    /// An application credential's secret (also an OAuth 2.0 client secret).
    AppCredSecret,
}

const KINDS: [Kind; 2] = [Kind::PairSecret, Kind::AppCredSecret];

/// Base62 digits in value order.
const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Checksum digits: 62^6 > 2^32, so any CRC-32 fits.
pub const CHECKSUM_LEN: usize = 6;

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::PairSecret => "irsk_",
            Kind::AppCredSecret => "irac_",
        }
    }

    /// Random base62 characters: 32 (about 190 bits, SODA's secret size)
    /// and 43 (about 256 bits, Keystone's 64 random bytes' worth).
    pub fn body_len(self) -> usize {
        match self {
            Kind::PairSecret => 32,
            Kind::AppCredSecret => 43,
        }
    }

    /// The whole secret's length.
    pub fn secret_len(self) -> usize {
        self.prefix().len() + self.body_len() + CHECKSUM_LEN
    }

    /// The regular expression a scanner matches (then checks the checksum).
    pub fn pattern(self) -> String {
        format!(
            r"\b{}[0-9A-Za-z]{{{}}}\b",
            self.prefix(),
            self.body_len() + CHECKSUM_LEN
        )
    }
}

/// A new secret of `kind`.
pub fn generate(kind: Kind) -> String {
    let mut text = String::with_capacity(kind.secret_len());
    text.push_str(kind.prefix());
    text.push_str(&Alphanumeric.sample_string(&mut OsRng, kind.body_len()));
    let sum = checksum(&text);
    text.push_str(&sum);
    text
}

/// The 6-digit base62 CRC-32 of `text`.
pub fn checksum(text: &str) -> String {
    let mut value = crc32fast::hash(text.as_bytes());
    let mut digits = [b'0'; CHECKSUM_LEN];
    for slot in digits.iter_mut().rev() {
        *slot = DIGITS[(value % 62) as usize];
        value /= 62;
    }
    digits.iter().map(|&b| b as char).collect()
}

/// What a presented string is, as far as the format tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Not in this format (a secret from before, or in Keystone's).
    Foreign,
    /// Well formed, with a matching checksum.
    Valid(Kind),
    /// Carries one of our prefixes but is not one of our secrets: a typo,
    /// a truncation, or a guess. Refused before any lookup.
    Malformed,
}

/// Classifies `text`; cheap, and the same work whatever the stores hold.
pub fn classify(text: &str) -> Shape {
    let Some(kind) = KINDS.iter().copied().find(|k| text.starts_with(k.prefix())) else {
        return Shape::Foreign;
    };
    let well_formed = text.len() == kind.secret_len()
        && text[kind.prefix().len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric());
    if !well_formed {
        return Shape::Malformed;
    }
    let (head, sum) = text.split_at(text.len() - CHECKSUM_LEN);
    if checksum(head) == sum {
        Shape::Valid(kind)
    } else {
        Shape::Malformed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_carry_their_kind_and_a_valid_checksum() {
        for kind in KINDS {
            let secret = generate(kind);
            assert_eq!(secret.len(), kind.secret_len());
            assert!(secret.starts_with(kind.prefix()));
            assert_eq!(classify(&secret), Shape::Valid(kind));
            assert_ne!(generate(kind), secret);
        }
    }

    #[test]
    fn the_checksum_is_zlib_crc32_in_base62() {
        // Python: zlib.crc32(b"irsk_" + b"A" * 32) == 0x75a80675, which is
        // "29aTWH" in base62: a vector for scanners written from the README.
        let head = format!("irsk_{}", "A".repeat(32));
        assert_eq!(crc32fast::hash(head.as_bytes()), 0x75a8_0675);
        assert_eq!(checksum(&head), "29aTWH");
        assert_eq!(
            classify(&format!("{head}29aTWH")),
            Shape::Valid(Kind::PairSecret)
        );
        assert_eq!(checksum(""), "000000");
        // The README's scanner rules.
        assert_eq!(Kind::PairSecret.pattern(), r"\birsk_[0-9A-Za-z]{38}\b");
        assert_eq!(Kind::AppCredSecret.pattern(), r"\birac_[0-9A-Za-z]{49}\b");
    }

    #[test]
    fn any_change_is_caught() {
        let secret = generate(Kind::PairSecret);
        assert_eq!(classify(&secret[..secret.len() - 1]), Shape::Malformed);
        assert_eq!(classify(&format!("{secret}x")), Shape::Malformed);
        let mut bytes = secret.clone().into_bytes();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        assert_eq!(
            classify(&String::from_utf8(bytes).unwrap_or_default()),
            Shape::Malformed
        );
        assert_eq!(classify("irac_not-base62"), Shape::Malformed);
        assert_eq!(classify("RymTqjJUyBZJq6LzlYZgck1e2m4gSloc"), Shape::Foreign);
        assert_eq!(classify(""), Shape::Foreign);
    }
}
