//! The new-series rate limit (`Options::new_series_per_second_max`): a token bucket refilled
//! continuously at the limit, holding at most one second's worth, so a burst of that size is
//! allowed and the long-run rate is bounded. Protects the head from metric storms (a label
//! with a request id, say) that would otherwise create series without bound.

use parking_lot::Mutex;
use std::time::Instant;

pub struct SeriesRateLimiter {
    per_second: f64,
    limit: u64,
    state: Mutex<(f64, Instant)>,
}

impl SeriesRateLimiter {
    pub fn new(per_second: u64) -> Self {
        let limit = per_second;
        let per_second = per_second as f64;
        SeriesRateLimiter { per_second, limit, state: Mutex::new((per_second, Instant::now())) }
    }

    /// The configured limit (series per second).
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Takes one token if available.
    pub fn try_take(&self) -> bool {
        self.try_take_at(Instant::now())
    }

    fn try_take_at(&self, now: Instant) -> bool {
        let mut s = self.state.lock();
        let elapsed = now.saturating_duration_since(s.1).as_secs_f64();
        s.0 = (s.0 + elapsed * self.per_second).min(self.per_second);
        s.1 = now;
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill() {
        let l = SeriesRateLimiter::new(3);
        let t0 = Instant::now();
        assert!(l.try_take_at(t0));
        assert!(l.try_take_at(t0));
        assert!(l.try_take_at(t0));
        assert!(!l.try_take_at(t0), "the burst is one second's worth");
        assert!(!l.try_take_at(t0 + Duration::from_millis(100)), "0.3 tokens are not enough");
        assert!(l.try_take_at(t0 + Duration::from_millis(400)), "1.2 tokens after 400 ms");
        assert!(!l.try_take_at(t0 + Duration::from_millis(400)));
    }
}
