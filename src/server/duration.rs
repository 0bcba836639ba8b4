//! Go's duration syntax (`300ms`, `1.5h`, `2h45m`), as kube-apiserver's flags and the `?timeout=`
//! query parameter take it.
//!
//! Hand-written on purpose: the one crate porting Go's `time.ParseDuration` loops forever on a
//! fraction longer than 18 digits (it never advances past an overflowing digit), which a client
//! could trigger with `?timeout=`; Go's grammar is small enough to follow exactly here, error
//! texts included, because kube echoes them in its 400 message.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Why a duration did not parse; the text is Go's (`time: invalid duration "x"`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseDurationError(String);

/// Parses a Go duration into signed nanoseconds, exactly as Go's `time.ParseDuration`: a possibly
/// signed sequence of decimal numbers, each with an optional fraction and a unit among `ns`, `us`
/// (`µs`), `ms`, `s`, `m`, `h`; a bare `0` is zero.
///
/// ```
/// use capstan::server::duration::parse_go_duration;
/// assert_eq!(parse_go_duration("1h30m"), Ok(5_400_000_000_000));
/// assert_eq!(parse_go_duration("-1.5s"), Ok(-1_500_000_000));
/// assert_eq!(parse_go_duration("1").unwrap_err().to_string(), r#"time: missing unit in duration "1""#);
/// ```
pub fn parse_go_duration(text: &str) -> Result<i64, ParseDurationError> {
    let invalid = || ParseDurationError(format!("time: invalid duration {}", quote(text)));
    let mut rest = text;
    let negative = rest.starts_with('-');
    if negative || rest.starts_with('+') {
        rest = &rest[1..];
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, after_int) = rest.split_at(int_len);
        let (frac_digits, after_number) = match after_int.strip_prefix('.') {
            Some(after_dot) => {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                after_dot.split_at(frac_len)
            }
            None => ("", after_int),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(invalid());
        }
        let unit_len = after_number.find(|c: char| c == '.' || c.is_ascii_digit());
        let (unit, after_unit) = after_number.split_at(unit_len.unwrap_or(after_number.len()));
        if unit.is_empty() {
            return Err(ParseDurationError(format!(
                "time: missing unit in duration {}",
                quote(text)
            )));
        }
        let Some(scale) = unit_nanos(unit) else {
            return Err(ParseDurationError(format!(
                "time: unknown unit {} in duration {}",
                quote(unit),
                quote(text)
            )));
        };
        let whole = parse_digits(int_digits).ok_or_else(invalid)?;
        let mut value = whole.checked_mul(scale).ok_or_else(invalid)?;
        value = value
            .checked_add(fraction_nanos(frac_digits, scale))
            .ok_or_else(invalid)?;
        total = total.checked_add(value).ok_or_else(invalid)?;
        rest = after_unit;
    }
    // Go allows exactly one more nanosecond on the negative side.
    let limit = if negative {
        1u64 << 63
    } else {
        (1u64 << 63) - 1
    };
    if total > limit {
        return Err(invalid());
    }
    Ok(if negative {
        0i64.wrapping_sub_unsigned(total)
    } else {
        total as i64
    })
}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

fn parse_digits(digits: &str) -> Option<u64> {
    digits.bytes().try_fold(0u64, |acc, d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// `0.<digits>` of `scale` nanoseconds, computed as Go does (digits are accumulated until they
/// would overflow an i64, then scaled through f64), so results agree with Go to the nanosecond.
fn fraction_nanos(digits: &str, scale: u64) -> u64 {
    let (mut value, mut divisor) = (0i64, 1f64);
    for d in digits.bytes() {
        let Some(next) = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(d - b'0')))
        else {
            break;
        };
        value = next;
        divisor *= 10.0;
    }
    // The float-to-int cast saturates; the product is below 3.6e12 (one hour) anyway.
    (value as f64 * (scale as f64 / divisor)) as u64
}

/// Go's `quote` in the time package: the text in double quotes, `"` and `\` escaped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A non-negative duration written and read in Go's syntax, for command-line flags that mirror
/// kube-apiserver's (`--request-timeout=60s`); `Display` prints Go's form (`1m0s`) so `--help`
/// shows defaults the way kube users know them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoDuration(pub Duration);

impl FromStr for GoDuration {
    type Err = ParseDurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let nanos = parse_go_duration(s)?;
        let nanos = u64::try_from(nanos).map_err(|_| {
            ParseDurationError(format!("duration {} must not be negative", quote(s)))
        })?;
        Ok(Self(Duration::from_nanos(nanos)))
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0s");
        }
        if nanos < 1_000 {
            return write!(f, "{nanos}ns");
        }
        if nanos < 1_000_000 {
            return write!(f, "{}µs", decimal(nanos, 1_000));
        }
        if nanos < 1_000_000_000 {
            return write!(f, "{}ms", decimal(nanos, 1_000_000));
        }
        let (hours, rest) = (nanos / 3_600_000_000_000, nanos % 3_600_000_000_000);
        let (minutes, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
        let seconds = decimal(rest, 1_000_000_000);
        match (hours, minutes) {
            (0, 0) => write!(f, "{seconds}s"),
            (0, m) => write!(f, "{m}m{seconds}s"),
            (h, m) => write!(f, "{h}h{m}m{seconds}s"),
        }
    }
}

/// `value / unit` with the fraction's trailing zeros dropped, as Go prints durations.
fn decimal(value: u128, unit: u128) -> String {
    let (whole, frac) = (value / unit, value % unit);
    if frac == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_examples() {
        let cases = [
            ("0", 0),
            ("5s", 5_000_000_000),
            ("30s", 30_000_000_000),
            ("1478s", 1_478_000_000_000),
            ("-5s", -5_000_000_000),
            ("+5s", 5_000_000_000),
            ("-0", 0),
            ("5.0s", 5_000_000_000),
            ("5.6s", 5_600_000_000),
            ("5.s", 5_000_000_000),
            (".5s", 500_000_000),
            ("1.004s", 1_004_000_000),
            ("100.00100s", 100_001_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12µs", 12_000),
            ("13ms", 13_000_000),
            ("3h30m", 12_600_000_000_000),
            ("10.5s4m", 250_500_000_000),
            ("-2m3.4s", -123_400_000_000),
            ("1h2m3s4ms5us6ns", 3_723_004_005_006),
            ("0.3333333333333333333h", 1_200_000_000_000),
            ("9223372036854775807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("0.100000000000000000000h", 360_000_000_000),
        ];
        for (text, want) in cases {
            assert_eq!(parse_go_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects_like_go_with_gos_messages() {
        for text in [
            "",
            "3",
            "-",
            "s",
            ".",
            "-.",
            ".s",
            "+.s",
            "1d",
            "3000000h",
            "9223372036854775808ns",
        ] {
            assert!(parse_go_duration(text).is_err(), "{text} should fail");
        }
        assert_eq!(
            parse_go_duration("abc").unwrap_err().to_string(),
            r#"time: invalid duration "abc""#
        );
        assert_eq!(
            parse_go_duration("1x").unwrap_err().to_string(),
            r#"time: unknown unit "x" in duration "1x""#
        );
    }

    #[test]
    fn a_very_long_fraction_terminates() {
        // Go rounds the 18 nines through f64 to a whole second.
        let text = format!("1.{}s", "9".repeat(10_000));
        assert_eq!(parse_go_duration(&text), Ok(2_000_000_000));
    }

    #[test]
    fn go_duration_flag_round_trips_and_refuses_negatives() {
        for (text, shown) in [
            ("60s", "1m0s"),
            ("5m", "5m0s"),
            ("0", "0s"),
            ("1.5s", "1.5s"),
            ("300ms", "300ms"),
            ("2h45m", "2h45m0s"),
            ("1500us", "1.5ms"),
        ] {
            let d: GoDuration = text.parse().unwrap();
            assert_eq!(d.to_string(), shown);
            assert_eq!(shown.parse::<GoDuration>().unwrap(), d);
        }
        assert!("-1s".parse::<GoDuration>().is_err());
    }
}
