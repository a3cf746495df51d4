//! Unix milliseconds ↔ UTC calendar dates, without a date crate: the proleptic Gregorian
//! calendar by Howard Hinnant's `civil_from_days` / `days_from_civil` algorithms, exact for
//! every date an `i64` of milliseconds reaches. What the console shows, what the email
//! channel writes into tickets (RFC 3339) and what the audit search reads all go through it.

/// A moment in UTC, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcDateTime {
    /// Year (e.g. 2026).
    pub year: i64,
    /// Month, 1–12.
    pub month: i64,
    /// Day of the month, 1–31.
    pub day: i64,
    /// Hour, 0–23.
    pub hour: i64,
    /// Minute, 0–59.
    pub minute: i64,
    /// Second, 0–59.
    pub second: i64,
}

const DAY_MS: i64 = 86_400_000;

impl UtcDateTime {
    /// The moment `ms` milliseconds after 1970-01-01T00:00:00Z (before it when negative).
    pub fn from_unix_ms(ms: i64) -> UtcDateTime {
        let days = ms.div_euclid(DAY_MS);
        let seconds = ms.rem_euclid(DAY_MS) / 1000;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        UtcDateTime {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: seconds / 3600,
            minute: seconds / 60 % 60,
            second: seconds % 60,
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339).
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `YYYY-MM-DD HH:MM:SS`, for people.
    pub fn readable(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Unix milliseconds of 00:00 UTC on `year`-`month`-`day` (month 1–12, day 1–31; not checked
/// against the month's length).
pub fn day_start_ms(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * DAY_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_across_leap_days_and_eras() {
        assert_eq!(
            UtcDateTime::from_unix_ms(0).rfc3339(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            UtcDateTime::from_unix_ms(1_796_375_700_000).rfc3339(),
            "2026-12-04T09:15:00Z"
        );
        assert_eq!(
            UtcDateTime::from_unix_ms(951_782_400_000).readable(),
            "2000-02-29 00:00:00"
        );
        assert_eq!(
            UtcDateTime::from_unix_ms(-1).rfc3339(),
            "1969-12-31T23:59:59Z"
        );
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (2026, 12, 4), (2100, 3, 1)] {
            let at = UtcDateTime::from_unix_ms(day_start_ms(y, m, d));
            assert_eq!((at.year, at.month, at.day, at.hour), (y, m, d, 0));
        }
    }
}
