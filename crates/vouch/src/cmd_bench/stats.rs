//! Percentiles of latency samples and the process figures the benches print.

use serde_json::{json, Value};

/// Latency samples in microseconds.
#[derive(Default)]
pub struct Samples(Vec<u32>);

impl Samples {
    pub fn push(&mut self, micros: u128) {
        self.0.push(u32::try_from(micros).unwrap_or(u32::MAX));
    }

    pub fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `{"p50","p90","p99","p99_9","max"}` in milliseconds (3 decimals); nulls without samples.
    pub fn summary_ms(mut self) -> Value {
        self.0.sort_unstable();
        let at = |q: f64| -> Value {
            if self.0.is_empty() {
                return Value::Null;
            }
            // Nearest rank: the smallest sample with at least q of all samples at or below it.
            let rank = ((q * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
            ms(self.0[rank - 1])
        };
        json!({
            "p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "p99_9": at(0.999),
            "max": self.0.last().map_or(Value::Null, |m| ms(*m)),
        })
    }
}

fn ms(micros: u32) -> Value {
    json!(f64::from(micros) / 1000.0)
}

/// Rounds to `places` decimals for printing.
pub fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// The build profile of this binary, printed with every figure.
pub fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s = Samples::default();
        for v in 1..=1000u128 {
            s.push(v * 1000);
        }
        let v = s.summary_ms();
        assert_eq!(v["p50"], json!(500.0));
        assert_eq!(v["p99"], json!(990.0));
        assert_eq!(v["p99_9"], json!(999.0));
        assert_eq!(v["max"], json!(1000.0));
        assert_eq!(Samples::default().summary_ms()["p50"], Value::Null);
    }
}
