//! The deployment's rules for a key's life, shared by AK/SK pairs and
//! application credentials: how long a key may live, when it counts as
//! expiring soon, when an unused key is disabled, and how long a rotated
//! key keeps working. Pure functions over microsecond times.

use crate::error::Error;

const MICROS: i64 = 1_000_000;

/// The longest grace period a rotation may give the old key: a year.
pub const MAX_GRACE_SECONDS: i64 = 366 * 24 * 3600;

/// When a rotated-out key stops working: `grace` seconds from `now`, or
/// its own expiry if sooner (a rotation never lengthens a key's life).
pub fn retired_expiry(now: i64, expires_at: Option<i64>, grace: i64) -> Result<i64, Error> {
    if !(0..=MAX_GRACE_SECONDS).contains(&grace) {
        return Err(Error::BadRequest(format!(
            "grace_period must be between 0 and {MAX_GRACE_SECONDS} seconds."
        )));
    }
    let cutoff = now + grace * MICROS;
    Ok(expires_at.map_or(cutoff, |t| t.min(cutoff)))
}

/// What happens to a key reported leaked (IBM Cloud's
/// `action_when_leaked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakAction {
    /// Only marked leaked; it keeps working.
    None,
    /// Stops working at once (an application credential, which has no
    /// enabled flag, expires now); its owner sees it marked leaked.
    Disable,
    /// Deleted, with its tokens.
    Delete,
}

impl LeakAction {
    pub const NAMES: &'static str = "none, disable or delete";

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "none" => Some(LeakAction::None),
            "disable" => Some(LeakAction::Disable),
            "delete" => Some(LeakAction::Delete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LeakAction::None => "none",
            LeakAction::Disable => "disable",
            LeakAction::Delete => "delete",
        }
    }
}

/// `[credential]` lifetime settings, in seconds; 0 turns a rule off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lifetime {
    /// Every key must expire within this long of its creation.
    pub max_seconds: i64,
    /// A key expiring within this long is listed as `expires_soon`.
    pub warning_seconds: i64,
    /// A key unused (or never used) for this long is disabled.
    pub disable_unused_seconds: i64,
}

impl Lifetime {
    fn max_micros(&self) -> Option<i64> {
        (self.max_seconds > 0).then(|| self.max_seconds.saturating_mul(MICROS))
    }

    /// The expiry of a new key whose creator asked for `asked`: with a
    /// maximum lifetime, one is required and may not lie beyond it.
    pub fn for_new_key(&self, now: i64, asked: Option<i64>) -> Result<Option<i64>, Error> {
        self.within(now, asked)
    }

    /// A key's new expiry, changed after it was created at `created_at`:
    /// the maximum counts from creation, so no change can lengthen a key
    /// past it, and with a maximum the expiry cannot be cleared.
    pub fn for_change(&self, created_at: i64, asked: Option<i64>) -> Result<Option<i64>, Error> {
        self.within(created_at, asked)
    }

    fn within(&self, since: i64, asked: Option<i64>) -> Result<Option<i64>, Error> {
        let Some(max) = self.max_micros() else {
            return Ok(asked);
        };
        let limit = since.saturating_add(max);
        match asked {
            None => Err(Error::BadRequest(format!(
                "An expiry (expires_at) is required: keys live at most {} seconds here.",
                self.max_seconds
            ))),
            Some(t) if t > limit => Err(Error::BadRequest(format!(
                "The expiry (expires_at) is too far ahead: keys live at most {} seconds here, so this one must expire by {}.",
                self.max_seconds,
                format_micros(limit)
            ))),
            Some(t) => Ok(Some(t)),
        }
    }

    /// The expiry of a key made through an API that cannot ask for one
    /// (Keystone's OS-EC2 and `/v3/credentials`): the longest allowed.
    pub fn implied(&self, now: i64) -> Option<i64> {
        self.max_micros().map(|max| now.saturating_add(max))
    }

    /// The expiry of a rotation's replacement: the old key's when still
    /// ahead, else (with a maximum) the longest allowed from now.
    pub fn for_replacement(&self, now: i64, old: Option<i64>) -> Option<i64> {
        old.filter(|t| *t > now).or_else(|| self.implied(now))
    }

    /// Expiring within the warning window (and not yet expired).
    pub fn expires_soon(&self, now: i64, expires_at: Option<i64>) -> bool {
        self.warning_seconds > 0
            && expires_at
                .is_some_and(|t| t > now && t - now <= self.warning_seconds.saturating_mul(MICROS))
    }

    /// The time before which a key's last use (or creation, if never used)
    /// makes it unused; `None` when the rule is off.
    pub fn unused_before(&self, now: i64) -> Option<i64> {
        (self.disable_unused_seconds > 0)
            .then(|| now.saturating_sub(self.disable_unused_seconds.saturating_mul(MICROS)))
    }
}

fn format_micros(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// A key's own limit on successful verifications: `per_second` on
/// average, with bursts of up to `burst` at once. Enforced as GCRA (the
/// generic cell rate algorithm): one number per key, its theoretical
/// arrival time (TAT), which makes the limit cheap to share through a
/// database row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

/// The bounds a rate limit must keep.
pub const MIN_RATE: f64 = 0.001;
pub const MAX_RATE: f64 = 1_000_000.0;
pub const MAX_BURST: u32 = 1_000_000;

impl RateLimit {
    /// `{"per_second": r, "burst": b}` (`burst` defaults to `ceil(r)`).
    pub fn parse(value: &serde_json::Value) -> Result<Self, String> {
        let object = value
            .as_object()
            .ok_or_else(|| format!("{value} is not of type 'object'"))?;
        if let Some(unknown) = object.keys().find(|k| *k != "per_second" && *k != "burst") {
            return Err(format!(
                "Additional properties are not allowed ('{unknown}' was unexpected)"
            ));
        }
        let per_second = object
            .get("per_second")
            .and_then(serde_json::Value::as_f64)
            .filter(|r| r.is_finite() && (MIN_RATE..=MAX_RATE).contains(r))
            .ok_or_else(|| format!("per_second must be a number from {MIN_RATE} to {MAX_RATE}"))?;
        let burst = match object.get("burst") {
            None => per_second.ceil() as u32,
            Some(b) => b
                .as_u64()
                .filter(|b| (1..=u64::from(MAX_BURST)).contains(b))
                .map(|b| b as u32)
                .ok_or_else(|| format!("burst must be an integer from 1 to {MAX_BURST}"))?,
        };
        Ok(RateLimit { per_second, burst })
    }

    pub fn to_json(self) -> serde_json::Value {
        serde_json::json!({"per_second": self.per_second, "burst": self.burst})
    }

    /// Microseconds between two requests at the average rate.
    pub fn interval(self) -> i64 {
        ((1_000_000.0 / self.per_second).round() as i64).max(1)
    }

    /// How far ahead of now the TAT may run: a whole burst.
    pub fn tolerance(self) -> i64 {
        self.interval().saturating_mul(i64::from(self.burst))
    }

    /// Admits a request at `now` given the key's TAT (`None`: never used
    /// or long idle): the new TAT, or the microseconds until a request
    /// would be admitted.
    pub fn admit(self, tat: Option<i64>, now: i64) -> Result<i64, i64> {
        let next = tat.unwrap_or(now).max(now).saturating_add(self.interval());
        let ahead = next - now;
        if ahead <= self.tolerance() {
            Ok(next)
        } else {
            Err(ahead - self.tolerance())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 3600 * MICROS;

    #[test]
    fn without_rules_anything_goes() {
        let off = Lifetime::default();
        assert_eq!(off.for_new_key(0, None).ok(), Some(None));
        assert_eq!(
            off.for_new_key(0, Some(400 * DAY)).ok(),
            Some(Some(400 * DAY))
        );
        assert_eq!(off.implied(0), None);
        assert!(!off.expires_soon(0, Some(1)));
        assert_eq!(off.unused_before(10 * DAY), None);
    }

    #[test]
    fn a_maximum_lifetime_requires_and_caps_the_expiry() {
        let capped = Lifetime {
            max_seconds: 90 * 24 * 3600,
            ..Default::default()
        };
        assert!(capped.for_new_key(0, None).is_err());
        assert!(capped.for_new_key(0, Some(91 * DAY)).is_err());
        assert_eq!(
            capped.for_new_key(0, Some(90 * DAY)).ok(),
            Some(Some(90 * DAY))
        );
        // Counted from creation: a later change cannot extend it.
        assert!(capped.for_change(0, Some(95 * DAY)).is_err());
        assert!(capped.for_change(0, None).is_err());
        assert_eq!(capped.implied(DAY), Some(91 * DAY));
        assert_eq!(capped.for_replacement(DAY, Some(2 * DAY)), Some(2 * DAY));
        assert_eq!(capped.for_replacement(DAY, Some(DAY / 2)), Some(91 * DAY));
    }

    #[test]
    fn warnings_and_unused_keys() {
        let rules = Lifetime {
            warning_seconds: 14 * 24 * 3600,
            disable_unused_seconds: 30 * 24 * 3600,
            ..Default::default()
        };
        assert!(rules.expires_soon(0, Some(13 * DAY)));
        assert!(!rules.expires_soon(0, Some(15 * DAY)));
        assert!(!rules.expires_soon(DAY, Some(DAY)), "already expired");
        assert!(!rules.expires_soon(0, None));
        assert_eq!(rules.unused_before(40 * DAY), Some(10 * DAY));
    }

    #[test]
    fn grace_periods() {
        assert_eq!(retired_expiry(0, None, 60).ok(), Some(60 * MICROS));
        assert_eq!(retired_expiry(0, Some(MICROS), 60).ok(), Some(MICROS));
        assert!(retired_expiry(0, None, -1).is_err());
        assert!(retired_expiry(0, None, MAX_GRACE_SECONDS + 1).is_err());
    }

    #[test]
    fn a_rate_limit_admits_a_burst_then_the_rate() {
        let limit = RateLimit::parse(&serde_json::json!({"per_second": 10, "burst": 3})).unwrap();
        let (mut tat, now) = (None, 1_000_000_000);
        for _ in 0..3 {
            tat = Some(limit.admit(tat, now).unwrap());
        }
        let wait = limit.admit(tat, now).unwrap_err();
        assert_eq!(wait, 100_000, "one interval until the next");
        assert!(limit.admit(tat, now + wait).is_ok());
        // Idle time refills the burst, no more.
        let later = now + 60_000_000;
        for _ in 0..3 {
            tat = Some(limit.admit(tat, later).unwrap());
        }
        assert!(limit.admit(tat, later).is_err());
    }

    #[test]
    fn rate_limits_are_checked() {
        for bad in [
            serde_json::json!({"per_second": 0}),
            serde_json::json!({"per_second": -1}),
            serde_json::json!({"per_second": "10"}),
            serde_json::json!({"burst": 10}),
            serde_json::json!({"per_second": 10, "burst": 0}),
            serde_json::json!({"per_second": 10, "burst": 1.5}),
            serde_json::json!({"per_second": 10, "extra": 1}),
            serde_json::json!(10),
        ] {
            assert!(RateLimit::parse(&bad).is_err(), "{bad}");
        }
        let default_burst = RateLimit::parse(&serde_json::json!({"per_second": 2.5})).unwrap();
        assert_eq!(default_burst.burst, 3);
        assert_eq!(default_burst.interval(), 400_000);
    }
}
