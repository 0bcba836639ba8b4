//! Go's text forms of meta/v1 `Time`, `MicroTime` and `Duration`, which is what their JSON is.
//!
//! Hand-written: jiff formats the calendar part, but the rules around it are apimachinery's
//! (seconds only for `Time`, microseconds for `MicroTime`, `null` for Go's zero time) and Go's
//! `time.Duration.String` format (`1h0m0s`, `1.5µs`) has no Rust crate.

use jiff::Timestamp;

use super::ProtobufError;

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in Unix seconds: apimachinery writes it as `null`.
const GO_ZERO_UNIX: i64 = -62_135_596_800;

/// `metav1.Time` from its protobuf `Timestamp`: apimachinery reads only the seconds (its JSON
/// has no fraction) and writes RFC 3339 in UTC, or `null` for the zero time.
pub fn time_json(seconds: i64) -> Result<serde_json::Value, ProtobufError> {
    if seconds == GO_ZERO_UNIX {
        return Ok(serde_json::Value::Null);
    }
    let stamp = timestamp(seconds, 0)?;
    Ok(serde_json::Value::String(
        stamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    ))
}

/// `metav1.MicroTime`: the nanoseconds are truncated to microseconds and always written with six
/// digits (`2006-01-02T15:04:05.000000Z`); the zero time is `null`.
pub fn micro_time_json(seconds: i64, nanos: i32) -> Result<serde_json::Value, ProtobufError> {
    // Go truncates the nanoseconds toward zero before normalising them into the seconds.
    let nanos = i64::from(nanos) - i64::from(nanos) % 1_000;
    let total = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    let seconds = i64::try_from(total.div_euclid(1_000_000_000))
        .map_err(|_| ProtobufError::Malformed("MicroTime out of range".into()))?;
    let nanos = total.rem_euclid(1_000_000_000) as i32;
    if seconds == GO_ZERO_UNIX && nanos == 0 {
        return Ok(serde_json::Value::Null);
    }
    let stamp = timestamp(seconds, nanos)?;
    Ok(serde_json::Value::String(format!(
        "{}.{:06}Z",
        stamp.strftime("%Y-%m-%dT%H:%M:%S"),
        nanos / 1_000
    )))
}

/// A UTC instant with a four-digit year, the range RFC 3339 (and Go's JSON for times) allows.
fn timestamp(seconds: i64, nanos: i32) -> Result<Timestamp, ProtobufError> {
    let stamp = Timestamp::new(seconds, nanos)
        .map_err(|e| ProtobufError::Malformed(format!("time out of range: {e}")))?;
    let year = stamp.to_zoned(jiff::tz::TimeZone::UTC).year();
    if !(0..=9999).contains(&year) {
        return Err(ProtobufError::Malformed(format!(
            "time out of range: year {year} outside of range [0,9999]"
        )));
    }
    Ok(stamp)
}

/// Go's `time.Duration.String`, which is `metav1.Duration`'s JSON: `0s`, `999ns`, `1.5µs`,
/// `100ms`, `1m30s`, `1h0m0s`, with a leading `-` for negative durations.
pub fn go_duration(nanos: i64) -> String {
    let mut out = String::new();
    if nanos < 0 {
        out.push('-');
    }
    let u = nanos.unsigned_abs();
    if u == 0 {
        return "0s".into();
    }
    if u < 1_000_000_000 {
        // Under a second: the largest unit below a second that fits, with a fraction.
        let (precision, unit) = match u {
            0..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        out.push_str(&fixed(u, precision));
        out.push_str(unit);
        return out;
    }
    let seconds = u / 1_000_000_000;
    let minutes = seconds / 60;
    let hours = minutes / 60;
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        out.push_str(&format!("{}m", minutes % 60));
    }
    out.push_str(&fixed(u % 60_000_000_000, 9));
    out.push('s');
    out
}

/// `value / 10^precision` with the fraction's trailing zeros (and a bare point) dropped.
fn fixed(value: u64, precision: u32) -> String {
    let scale = 10u64.pow(precision);
    let (whole, fraction) = (value / scale, value % scale);
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:0width$}", width = precision as usize);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Go's own output for each duration, written by tools/protobuf.
    #[test]
    fn durations_match_go() {
        let table = include_str!("testdata/go/durations.txt");
        let mut checked = 0;
        for line in table.lines() {
            let (nanos, expected) = line.split_once(' ').unwrap();
            assert_eq!(go_duration(nanos.parse().unwrap()), expected, "{nanos}");
            checked += 1;
        }
        assert!(checked > 10);
    }

    #[test]
    fn times() {
        assert_eq!(time_json(0).unwrap(), json!("1970-01-01T00:00:00Z"));
        assert_eq!(time_json(GO_ZERO_UNIX).unwrap(), json!(null));
        assert_eq!(
            time_json(1_795_774_272).unwrap(),
            json!("2026-11-27T10:11:12Z")
        );
        assert!(time_json(i64::MAX).is_err());
        // Year -1 has no RFC 3339 form.
        assert!(time_json(-62_167_219_201).is_err());
        assert_eq!(
            time_json(-62_135_596_801).unwrap(),
            json!("0000-12-31T23:59:59Z")
        );
    }

    #[test]
    fn micro_times() {
        assert_eq!(
            micro_time_json(1_795_774_272, 345_678_912).unwrap(),
            json!("2026-11-27T10:11:12.345678Z")
        );
        assert_eq!(
            micro_time_json(0, 0).unwrap(),
            json!("1970-01-01T00:00:00.000000Z")
        );
        // A negative fraction borrows from the seconds, as Go's time.Unix normalises it.
        assert_eq!(
            micro_time_json(1, -1_500).unwrap(),
            json!("1970-01-01T00:00:00.999999Z")
        );
        assert_eq!(micro_time_json(GO_ZERO_UNIX, 999).unwrap(), json!(null));
    }
}
