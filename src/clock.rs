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

/// The instant a [`ManualClock`] starts at unless told otherwise: 2024-01-01T00:00:00Z.
pub const DEFAULT_MANUAL_START: OffsetDateTime = time::macros::datetime!(2024-01-01 00:00:00 UTC);

impl Default for ManualClock {
    fn default() -> Self {
        Self::new(DEFAULT_MANUAL_START)
    }
}

impl ManualClock {
    /// A manual clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Puts the clock at `to` (which may be in the past).
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
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

    /// Advances the manual clock (switching to manual first if needed).
    pub fn advance(&self, by: Duration) {
        self.set_mode(ClockMode::Manual);
        self.lock().1.advance(by);
    }

    /// Sets the manual clock to `to` (switching to manual first if needed).
    pub fn set(&self, to: OffsetDateTime) {
        self.set_mode(ClockMode::Manual);
        self.lock().1.set(to);
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

/// Renders an instant in UTC with milliseconds, `YYYY-MM-DDTHH:MM:SS.sssZ`, the form vAPI uses
/// and the journal and fixtures write.
pub fn format_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
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
