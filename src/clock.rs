//! Owns time: the `Clock` trait, the system clock, and a manual clock tests can move.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

/// A source of the current instant. Everything in vcmock that needs "now" asks one of these,
/// so expiry and file times can be driven by a test.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The machine's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        #[expect(
            clippy::disallowed_methods,
            reason = "the one place that reads the wall clock"
        )]
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to. Clones share the same instant.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

/// The earliest instant vcmock's clocks show: 1970-01-01T00:00:00Z.
pub const EARLIEST: OffsetDateTime = time::macros::datetime!(1970-01-01 00:00:00 UTC);

/// The latest instant vcmock's clocks show: 9999-01-01T00:00:00Z, a year before the end of
/// representable time, so that every expiry vcmock computes from "now" stays in range.
pub const LATEST: OffsetDateTime = time::macros::datetime!(9999-01-01 00:00:00 UTC);

/// A clock move that would leave [`EARLIEST`]..=[`LATEST`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange;

impl std::fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the clock must stay between {} and {}",
            format_millis(EARLIEST),
            format_millis(LATEST)
        )
    }
}

impl std::error::Error for OutOfRange {}

/// `to`, or why it is out of range.
fn in_range(to: OffsetDateTime) -> Result<OffsetDateTime, OutOfRange> {
    if (EARLIEST..=LATEST).contains(&to) {
        Ok(to)
    } else {
        Err(OutOfRange)
    }
}

/// The instant a [`ManualClock`] starts at unless told otherwise: 2024-01-01T00:00:00Z.
pub const DEFAULT_MANUAL_START: OffsetDateTime = time::macros::datetime!(2024-01-01 00:00:00 UTC);

impl Default for ManualClock {
    fn default() -> Self {
        Self::new(DEFAULT_MANUAL_START)
    }
}

impl ManualClock {
    /// A manual clock standing at `start` (held within [`EARLIEST`]..=[`LATEST`]).
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start.clamp(EARLIEST, LATEST))),
        }
    }

    /// Moves the clock forward by `by`, stopping at [`LATEST`].
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now
            .checked_add(time::Duration::try_from(by).unwrap_or(time::Duration::MAX))
            .unwrap_or(LATEST)
            .min(LATEST);
    }

    /// Moves the clock forward by `by`, or refuses a move past [`LATEST`] and leaves it.
    pub fn try_advance(&self, by: Duration) -> Result<(), OutOfRange> {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        let to = time::Duration::try_from(by)
            .ok()
            .and_then(|d| now.checked_add(d))
            .ok_or(OutOfRange)?;
        *now = in_range(to)?;
        Ok(())
    }

    /// Puts the clock at `to` (which may be in the past), held within [`EARLIEST`]..=[`LATEST`].
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to.clamp(EARLIEST, LATEST);
    }

    /// Puts the clock at `to`, or refuses an instant out of range and leaves it.
    pub fn try_set(&self, to: OffsetDateTime) -> Result<(), OutOfRange> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = in_range(to)?;
        Ok(())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Which kind of clock a [`SwitchableClock`] currently follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockMode {
    /// The wall clock.
    System,
    /// A manual clock that moves only on request.
    Manual,
}

/// The server's clock: follows the system clock or a manual one, and can be switched at run
/// time (the admin API's `clock` endpoint). Switching to manual freezes the current instant.
#[derive(Debug, Clone)]
pub struct SwitchableClock {
    inner: Arc<Mutex<(ClockMode, ManualClock)>>,
}

impl SwitchableClock {
    /// A clock that follows the system clock.
    pub fn system() -> Self {
        Self {
            inner: Arc::new(Mutex::new((ClockMode::System, ManualClock::default()))),
        }
    }

    /// A clock that follows `manual` (and so moves when any clone of it moves).
    pub fn manual(manual: ManualClock) -> Self {
        Self {
            inner: Arc::new(Mutex::new((ClockMode::Manual, manual))),
        }
    }

    /// The mode currently followed.
    pub fn mode(&self) -> ClockMode {
        self.lock().0
    }

    /// Switches mode. Going to manual starts the manual clock at the current instant.
    pub fn set_mode(&self, mode: ClockMode) {
        let now = self.now();
        let mut inner = self.lock();
        if mode == ClockMode::Manual && inner.0 == ClockMode::System {
            inner.1.set(now);
        }
        inner.0 = mode;
    }

    /// Advances the manual clock (switching to manual first if needed), stopping at
    /// [`LATEST`].
    pub fn advance(&self, by: Duration) {
        self.set_mode(ClockMode::Manual);
        self.lock().1.advance(by);
    }

    /// Advances the manual clock (switching to manual first if needed), or refuses a move past
    /// [`LATEST`].
    pub fn try_advance(&self, by: Duration) -> Result<(), OutOfRange> {
        self.set_mode(ClockMode::Manual);
        self.lock().1.try_advance(by)
    }

    /// Sets the manual clock to `to` (switching to manual first if needed), held in range.
    pub fn set(&self, to: OffsetDateTime) {
        self.set_mode(ClockMode::Manual);
        self.lock().1.set(to);
    }

    /// Sets the manual clock to `to` (switching to manual first if needed), or refuses an
    /// instant out of range.
    pub fn try_set(&self, to: OffsetDateTime) -> Result<(), OutOfRange> {
        in_range(to)?;
        self.set_mode(ClockMode::Manual);
        self.lock().1.try_set(to)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (ClockMode, ManualClock)> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for SwitchableClock {
    fn now(&self) -> OffsetDateTime {
        let inner = self.lock();
        match inner.0 {
            ClockMode::System => SystemClock.now(),
            ClockMode::Manual => inner.1.now(),
        }
    }
}

/// Measures how long something took (request durations in the journal). Not a source of
/// model time.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(std::time::Instant);

impl Stopwatch {
    /// Starts measuring.
    pub fn start() -> Self {
        #[expect(
            clippy::disallowed_methods,
            reason = "the one place that reads the monotonic clock"
        )]
        Self(std::time::Instant::now())
    }

    /// Milliseconds since start.
    pub fn elapsed_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1000.0
    }
}

/// Reads an instant a client gave (RFC 3339, any offset), in UTC; refuses one outside
/// [`EARLIEST`]..=[`LATEST`], so that no stored time can overflow when it is rendered or
/// compared. Every wire reads client times through this.
pub fn parse_instant(text: &str) -> Result<OffsetDateTime, String> {
    let t = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("'{text}' is not an RFC 3339 datetime ({e})"))?;
    in_utc_range(t)
        .ok_or_else(|| format!("'{text}' is outside the range times may take: {OutOfRange}"))
}

/// `t` in UTC when it lies within [`EARLIEST`]..=[`LATEST`].
pub fn in_utc_range(t: OffsetDateTime) -> Option<OffsetDateTime> {
    t.checked_to_offset(time::UtcOffset::UTC)
        .filter(|t| (EARLIEST..=LATEST).contains(t))
}

/// `t` in UTC, held within time's representable range whatever its offset (renderers are
/// total: no stored value can make them panic).
pub fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.checked_to_offset(time::UtcOffset::UTC)
        .unwrap_or(if t.year() > 0 {
            time::PrimitiveDateTime::MAX.assume_utc()
        } else {
            time::PrimitiveDateTime::MIN.assume_utc()
        })
}

/// Renders an instant in UTC with milliseconds, `YYYY-MM-DDTHH:MM:SS.sssZ`, the form vAPI uses
/// and the journal and fixtures write.
pub fn format_millis(t: OffsetDateTime) -> String {
    format_fraction(t, 3)
}

/// `t` in UTC as RFC 3339 with microseconds and `Z`, as vim25 writes `xsd:dateTime`.
pub fn format_micros(t: OffsetDateTime) -> String {
    format_fraction(t, 6)
}

/// `t` in UTC as RFC 3339 with its fraction of a second in `digits` (3 or 6) digits.
fn format_fraction(t: OffsetDateTime, digits: usize) -> String {
    let t = utc(t);
    let fraction = match digits {
        3 => u32::from(t.millisecond()),
        _ => t.microsecond(),
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{fraction:0digits$}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced_and_clones_share_it() {
        let clock = ManualClock::default();
        let twin = clock.clone();
        assert_eq!(clock.now(), DEFAULT_MANUAL_START);
        twin.advance(Duration::from_secs(601));
        assert_eq!(clock.now(), DEFAULT_MANUAL_START + Duration::from_secs(601));
    }

    #[test]
    fn switching_to_manual_freezes_the_current_instant() {
        let clock = SwitchableClock::system();
        clock.set_mode(ClockMode::Manual);
        let frozen = clock.now();
        assert_eq!(clock.now(), frozen);
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), frozen + Duration::from_secs(5));
    }
}
