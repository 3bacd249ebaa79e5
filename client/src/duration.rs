//! Durations as people type them: `45s`, `30m`, `12h`, `7d`, `2w`, or
//! combinations such as `1d12h`. One parser for every flag that takes one
//! (`--deadline`, `--every`, `--max-checkpoint-age`).

/// Longest duration accepted: ten years.
const MAX_SECS: u64 = 10 * 366 * 86_400;

/// Seconds in `s`; an error says what is accepted. A number without a unit
/// is refused: `90` could mean anything.
pub fn seconds(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a duration such as 45s, 30m, 12h, 7d, 2w or 1d12h");
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() || total == 0 || total > MAX_SECS {
        return Err(bad());
    }
    Ok(total)
}

/// [`seconds`] as a `std::time::Duration`, for clap's `value_parser`.
pub fn parse(s: &str) -> Result<std::time::Duration, String> {
    seconds(s).map(std::time::Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_combinations() {
        for (text, secs) in [
            ("45s", 45),
            ("30m", 1800),
            ("12h", 43_200),
            ("7d", 604_800),
            ("2w", 1_209_600),
            ("1d12h", 129_600),
        ] {
            assert_eq!(seconds(text), Ok(secs), "{text}");
        }
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "",
            "7",
            "0s",
            "d",
            "7x",
            "-1d",
            "1.5h",
            "99999999999999999999w",
            "11000d",
        ] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
    }
}
