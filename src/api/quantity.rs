//! Resource quantities (`500m`, `1.5Gi`, `2e3`) as numbers, for comparing requests with limits
//! and computing a pod's QoS class.
//!
//! k8s-openapi's `Quantity` is a plain string and kube-core has no parser, and no maintained
//! crate parses Kubernetes quantities, so this small parser is hand-written after
//! k8s.io/apimachinery's `resource.ParseQuantity` grammar. Values are held exactly in nano-units
//! (the finest scale kube keeps), which is enough to compare and add every quantity a pod uses.

use std::fmt;
use std::ops::Add;

/// A parsed quantity, exact to 10⁻⁹.
///
/// ```
/// use capstan::api::quantity::ParsedQuantity;
/// let half: ParsedQuantity = "500m".parse().unwrap();
/// assert_eq!(half, "0.5".parse().unwrap());
/// assert!("1Gi".parse::<ParsedQuantity>().unwrap() > "1G".parse().unwrap());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParsedQuantity {
    nanos: i128,
}

/// A string that is not a quantity; kube's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)]
pub struct QuantityError;

impl ParsedQuantity {
    /// The zero quantity.
    pub const ZERO: Self = Self { nanos: 0 };

    /// Whether the quantity is greater than zero.
    pub fn is_positive(self) -> bool {
        self.nanos > 0
    }

    /// Whether the quantity is below zero.
    pub fn is_negative(self) -> bool {
        self.nanos < 0
    }

    /// Whether the value is a whole number (extended resources must be).
    pub fn is_integer(self) -> bool {
        self.nanos % NANOS_PER_UNIT == 0
    }

    /// kube's `Quantity.MilliValue`: the value in thousandths, rounded up (away from zero).
    ///
    /// ```
    /// use capstan::api::quantity::ParsedQuantity;
    /// let q: ParsedQuantity = "1.0001".parse().unwrap();
    /// assert_eq!(q.milli_value(), 1001);
    /// ```
    pub fn milli_value(self) -> i128 {
        let per_milli = NANOS_PER_UNIT / 1000;
        let whole = self.nanos / per_milli;
        if self.nanos % per_milli == 0 {
            whole
        } else {
            whole + self.nanos.signum()
        }
    }

    /// How kube's `Quantity.String()` writes a value with a fractional part: the integer
    /// mantissa with the largest of the exponents −3, −6, −9 that keeps it whole, as `m`, `u` or
    /// `n` (`1.5` → `1500m`), or as `e-3`… when the quantity was written with an exponent
    /// (`decimal_exponent`: kube keeps that format). Whole values are written as [`Display`].
    ///
    /// ```
    /// use capstan::api::quantity::ParsedQuantity;
    /// let q: ParsedQuantity = "2.0005k".parse().unwrap();
    /// assert_eq!(q.fractional_string(false), "2000500m");
    /// assert_eq!(q.fractional_string(true), "2000500e-3");
    /// ```
    ///
    /// [`Display`]: fmt::Display
    pub fn fractional_string(self, decimal_exponent: bool) -> String {
        if self.is_integer() {
            return self.to_string();
        }
        let (mut mantissa, mut exponent) = (self.nanos, -9);
        while exponent < -3 && mantissa % 1000 == 0 {
            mantissa /= 1000;
            exponent += 3;
        }
        if decimal_exponent {
            return format!("{mantissa}e{exponent}");
        }
        let suffix = match exponent {
            -3 => "m",
            -6 => "u",
            _ => "n",
        };
        format!("{mantissa}{suffix}")
    }
}

/// Whether `s` is written in kube's `DecimalExponent` format (`15e-1`, `1E3`), which kube keeps
/// when it writes the quantity back.
pub fn is_decimal_exponent(s: &str) -> bool {
    let rest = s.trim_start_matches(['+', '-']);
    let suffix = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let Some(exp) = suffix.strip_prefix(['e', 'E']) else {
        return false;
    };
    let digits = exp.trim_start_matches(['+', '-']);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

const NANOS_PER_UNIT: i128 = 1_000_000_000;

impl Add for ParsedQuantity {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self {
            nanos: self.nanos.saturating_add(other.nanos),
        }
    }
}

impl fmt::Display for ParsedQuantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.nanos / NANOS_PER_UNIT;
        let frac = (self.nanos % NANOS_PER_UNIT).abs();
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let digits = format!("{frac:09}");
            write!(f, "{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

impl std::str::FromStr for ParsedQuantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, QuantityError> {
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let number_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let (number, suffix) = rest.split_at(number_len);
        let (digits, scale) = parse_number(number)?;
        let (exp10, exp2) = parse_suffix(suffix)?;
        let nanos = to_nanos(digits, exp10 - scale, exp2);
        Ok(Self {
            nanos: if negative { -nanos } else { nanos },
        })
    }
}

/// `12.50` → (1250, 2): the digits as an integer and how many of them follow the point.
fn parse_number(number: &str) -> Result<(i128, i32), QuantityError> {
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() || frac_part.contains('.') {
        return Err(QuantityError);
    }
    let mut digits: i128 = 0;
    let mut scale = 0i32;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        // Digits beyond i128 precision are far below a nano-unit or far above any real
        // resource; saturate rather than fail.
        digits = digits
            .saturating_mul(10)
            .saturating_add(i128::from(b - b'0'));
    }
    scale += i32::try_from(frac_part.len()).map_err(|_| QuantityError)?;
    Ok((digits, scale))
}

/// The suffix as (power of ten, power of two).
fn parse_suffix(suffix: &str) -> Result<(i32, i32), QuantityError> {
    let exp = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        other => {
            let rest = other
                .strip_prefix('e')
                .or_else(|| other.strip_prefix('E'))
                .ok_or(QuantityError)?;
            let unsigned = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return Err(QuantityError);
            }
            (rest.parse::<i32>().map_err(|_| QuantityError)?, 0)
        }
    };
    Ok(exp)
}

/// `digits × 10^exp10 × 2^exp2` in nano-units, rounded up as kube rounds sub-nano values.
fn to_nanos(digits: i128, exp10: i32, exp2: i32) -> i128 {
    let mut value = digits.saturating_mul(1i128 << exp2.clamp(0, 100));
    let shift = exp10 + 9;
    if shift >= 0 {
        for _ in 0..shift.min(60) {
            value = value.saturating_mul(10);
        }
    } else {
        for _ in 0..(-shift).min(60) {
            let rounded_up = value % 10 != 0;
            value = value / 10 + i128::from(rounded_up);
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> ParsedQuantity {
        s.parse().unwrap()
    }

    #[test]
    fn decimal_and_binary_suffixes() {
        assert_eq!(q("1"), q("1000m"));
        assert_eq!(q("1k"), q("1000"));
        assert_eq!(q("1Ki"), q("1024"));
        assert_eq!(q("1.5Gi"), q("1610612736"));
        assert_eq!(q("100M"), q("1e8"));
        assert_eq!(q("2E"), q("2e18"));
        assert_eq!(q("1n") + q("999999999n"), q("1"));
        assert_eq!(q("250u"), q("0.25m"));
        assert_eq!(q("0.1"), q("100m"));
        assert_eq!(q(".5"), q("500m"));
        assert_eq!(q("5."), q("5"));
        assert_eq!(q("+3"), q("3"));
        assert_eq!(q("1E3"), q("1k"));
        assert_eq!(q("1e-3"), q("1m"));
    }

    #[test]
    fn ordering_and_sign() {
        assert!(q("200m") < q("1"));
        assert!(q("1Gi") > q("1G"));
        assert!(q("-1").is_negative());
        assert!(!q("0").is_positive());
        assert!(q("2").is_integer());
        assert!(!q("1500m").is_integer());
    }

    #[test]
    fn sub_nano_values_round_up() {
        assert_eq!(q("1e-12"), q("1n"));
    }

    #[test]
    fn malformed_strings_fail() {
        for bad in [
            "", "abc", "1Qi", "1.2.3", ".", "1e", "1ee3", "m", "1 Gi", "--1",
        ] {
            assert_eq!(bad.parse::<ParsedQuantity>(), Err(QuantityError), "{bad:?}");
        }
    }

    #[test]
    fn display_is_plain_decimal() {
        assert_eq!(q("1500m").to_string(), "1.5");
        assert_eq!(q("2Ki").to_string(), "2048");
    }
}
