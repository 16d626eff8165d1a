//! The time of a signed request, taken only from what its signature
//! covers, and the window in which it may be used.
//!
//! Every version reports its time through [`SignedTime`], built from the
//! same bytes that go into its string to sign. A field the signature does
//! not cover (an extra `x-amz-date` header, a `Timestamp` parameter next to
//! an S3 V2 `Date`) can therefore never move the clock check.

/// The times a verified signature vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignedTime {
    /// When the request says it was signed (Unix seconds).
    pub signed_at: Option<i64>,
    /// The last second it may be used (Unix seconds): a signed `Expires`,
    /// or `X-Amz-Date + X-Amz-Expires` for presigned SigV4.
    pub expires_at: Option<i64>,
    /// A signed time field was present but could not be read.
    pub unreadable: bool,
}

impl SignedTime {
    /// A signing time from signed text; unreadable text is remembered.
    pub fn signed(text: Option<&str>) -> Self {
        let mut t = SignedTime::default();
        t.set_signed_at(text);
        t
    }

    pub(crate) fn set_signed_at(&mut self, text: Option<&str>) {
        if let Some(text) = text {
            match parse_request_time(text) {
                Some(at) => self.signed_at = Some(at),
                None => self.unreadable = true,
            }
        }
    }

    /// An expiry given as a time (EC2 `Expires`, ISO 8601).
    pub(crate) fn set_expires_text(&mut self, text: Option<&str>) {
        if let Some(text) = text {
            match parse_request_time(text) {
                Some(at) => self.expires_at = Some(at),
                None => self.unreadable = true,
            }
        }
    }

    /// An expiry given as Unix seconds (S3 V2 presigned `Expires`).
    pub(crate) fn set_expires_unix(&mut self, text: Option<&str>) {
        if let Some(text) = text {
            match text.trim().parse::<i64>() {
                Ok(at) => self.expires_at = Some(at),
                Err(_) => self.unreadable = true,
            }
        }
    }

    /// An expiry given as seconds after the signing time (`X-Amz-Expires`).
    pub(crate) fn set_expires_after(&mut self, seconds: Option<&str>) {
        let Some(seconds) = seconds else {
            return;
        };
        match (seconds.trim().parse::<i64>(), self.signed_at) {
            (Ok(s), Some(at)) if s >= 0 => self.expires_at = Some(at.saturating_add(s)),
            _ => self.unreadable = true,
        }
    }
}

/// Parses the request times signers write: `20240101T000000Z`, ISO 8601
/// (with or without a zone; none means UTC) and RFC 1123. Unix seconds.
pub fn parse_request_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Some(at) = basic_utc(t) {
        return Some(at);
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%SZ") {
        return Some(dt.and_utc().timestamp());
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp());
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc2822(t) {
        return Some(dt.timestamp());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.fZ",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, format) {
            return Some(dt.and_utc().timestamp());
        }
    }
    None
}

/// `20240101T000000Z` (SigV4's `X-Amz-Date`) read without a format
/// interpreter: every v4 verification reads one. `None` when the text is
/// not exactly that shape or not a valid time, and the general parser
/// decides.
fn basic_utc(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        b[range].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(number(0..4)?).ok()?,
        number(4..6)?,
        number(6..8)?,
    )?;
    let time = date.and_hms_opt(number(9..11)?, number(11..13)?, number(13..15)?)?;
    Some(time.and_utc().timestamp())
}

/// The limits a signed request's time is held to.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Unix seconds.
    pub now: i64,
    /// How far the signing time may be from now, either way.
    pub max_skew: i64,
    /// How far past its signing time (or past now, without one) a
    /// presigned request may stay valid.
    pub max_lifetime: i64,
    /// Refuse requests whose signature covers no time at all.
    pub require_time: bool,
}

/// Why a request's time is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockError {
    Missing,
    Unreadable,
    /// Signed too long ago, or too far in the future.
    Skewed,
    /// Past its signed expiry.
    Expired,
    /// An expiry further away than `max_lifetime`.
    TooLong,
}

impl ClockError {
    pub fn message(self, w: &Window) -> String {
        match self {
            ClockError::Missing => {
                "The signature covers no time (X-Amz-Date, Date, Timestamp or Expires).".into()
            }
            ClockError::Unreadable => "The signed request's time cannot be parsed.".into(),
            ClockError::Skewed => format!(
                "The signed request's time is outside the allowed skew of {} seconds.",
                w.max_skew
            ),
            ClockError::Expired => "The signed request has expired.".into(),
            ClockError::TooLong => format!(
                "The signed request's expiry is more than {} seconds away.",
                w.max_lifetime
            ),
        }
    }
}

/// Checks a signed time against the window and says until when the
/// signature could verify (Unix seconds): how long a replay record must be
/// kept. It depends only on signed fields, so a replay of a request always
/// yields the same answer.
///
/// - With a signing time and no expiry: `now - skew <= signed_at <= now +
///   skew`; valid until `signed_at + skew`.
/// - With an expiry (presigned): not signed in the future beyond the skew,
///   `now <= expires_at`, and `expires_at` at most `max_lifetime` after the
///   signing time (or after now without one); valid until `expires_at`.
/// - With neither: refused, unless times are optional; then valid until
///   `now + skew` (such a request is only refused as a replay while it is
///   remembered).
pub fn valid_until(t: SignedTime, w: &Window) -> Result<i64, ClockError> {
    if t.unreadable {
        return Err(ClockError::Unreadable);
    }
    if t.signed_at.is_some_and(|at| at > w.now + w.max_skew) {
        return Err(ClockError::Skewed);
    }
    match (t.signed_at, t.expires_at) {
        (_, Some(expires)) => {
            let from = t.signed_at.unwrap_or(w.now);
            if expires.saturating_sub(from) > w.max_lifetime {
                return Err(ClockError::TooLong);
            }
            if w.now > expires {
                return Err(ClockError::Expired);
            }
            Ok(expires)
        }
        (Some(at), None) => {
            if at < w.now - w.max_skew {
                return Err(ClockError::Skewed);
            }
            Ok(at + w.max_skew)
        }
        (None, None) if w.require_time => Err(ClockError::Missing),
        (None, None) => Ok(w.now + w.max_skew),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_times() {
        let t = 1_704_067_200; // 2024-01-01T00:00:00Z
        for text in [
            "20240101T000000Z",
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00.000Z",
            "2024-01-01T00:00:00",
            "2024-01-01T01:00:00+01:00",
            "Mon, 01 Jan 2024 00:00:00 GMT",
            "Mon, 01 Jan 2024 00:00:00 +0000",
        ] {
            assert_eq!(parse_request_time(text), Some(t), "{text}");
        }
        assert_eq!(parse_request_time("yesterday"), None);
        // The fast reading of the basic format agrees with chrono's.
        for text in [
            "20240229T235959Z",
            "20230229T000000Z",
            "20241301T000000Z",
            "20240101T240000Z",
            "20240101T235960Z",
            "2024010AT000000Z",
            "00000101T000000Z",
            "99991231T235959Z",
            "+2024101T000000Z",
        ] {
            let chrono = chrono::NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
                .ok()
                .map(|dt| dt.and_utc().timestamp());
            assert!(basic_utc(text).is_none_or(|t| Some(t) == chrono), "{text}");
            assert_eq!(parse_request_time(text), chrono, "{text}");
        }
    }

    #[test]
    fn windows() {
        let w = Window {
            now: 1_000_000,
            max_skew: 900,
            max_lifetime: 3600,
            require_time: true,
        };
        let at = |s: i64| SignedTime {
            signed_at: Some(s),
            ..Default::default()
        };
        assert_eq!(valid_until(at(w.now - 900), &w), Ok(w.now));
        assert_eq!(valid_until(at(w.now - 901), &w), Err(ClockError::Skewed));
        assert_eq!(valid_until(at(w.now + 901), &w), Err(ClockError::Skewed));
        assert_eq!(
            valid_until(SignedTime::default(), &w),
            Err(ClockError::Missing)
        );
        let optional = Window {
            require_time: false,
            ..w
        };
        assert_eq!(
            valid_until(SignedTime::default(), &optional),
            Ok(w.now + 900)
        );
        // Presigned: valid past the skew until the signed expiry.
        let presigned = SignedTime {
            signed_at: Some(w.now - 1800),
            expires_at: Some(w.now + 1800),
            unreadable: false,
        };
        assert_eq!(valid_until(presigned, &w), Ok(w.now + 1800));
        let expired = SignedTime {
            expires_at: Some(w.now - 1),
            ..Default::default()
        };
        assert_eq!(valid_until(expired, &w), Err(ClockError::Expired));
        let too_long = SignedTime {
            expires_at: Some(w.now + 3601),
            ..Default::default()
        };
        assert_eq!(valid_until(too_long, &w), Err(ClockError::TooLong));
        let unreadable = SignedTime {
            unreadable: true,
            ..at(w.now)
        };
        assert_eq!(valid_until(unreadable, &w), Err(ClockError::Unreadable));
    }
}
