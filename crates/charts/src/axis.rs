//! Round tick values for a value axis: steps of 1, 2 or 5 times a power of ten.

/// Ticks from at most `min` (or 0) to at least `max`, about `wanted` of them.
pub fn nice_ticks(min: f64, max: f64, wanted: usize) -> Vec<f64> {
    let low = min.min(0.0);
    let high = if max > low { max } else { low + 1.0 };
    let raw_step = (high - low) / wanted.max(1) as f64;
    let power = 10f64.powf(raw_step.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw_step)
        .unwrap_or(10.0 * power);
    let first = (low / step).floor() * step;
    let mut ticks = Vec::new();
    let mut tick = first;
    while tick < high + step * 0.999 && ticks.len() < 50 {
        ticks.push(if tick.abs() < step * 1e-9 { 0.0 } else { tick });
        tick += step;
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::nice_ticks;

    #[test]
    fn ticks_are_round_and_cover_the_values() {
        assert_eq!(nice_ticks(0.0, 97.0, 5), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(nice_ticks(3.0, 4.2, 4), vec![0.0, 2.0, 4.0, 6.0]);
        let negative = nice_ticks(-30.0, 10.0, 4);
        assert!(negative[0] <= -30.0 && *negative.last().expect("ticks") >= 10.0);
        assert_eq!(nice_ticks(0.0, 0.0, 4), vec![0.0, 0.5, 1.0]);
    }
}
