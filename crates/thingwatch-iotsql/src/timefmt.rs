//! Date/time patterns for `parse_time()` (Joda-Time `DateTimeFormat` letters) and
//! `time_to_epoch()` (JDK 11 `DateTimeFormatter` letters), on the `time` crate.
//!
//! Supported letters: `G y u M d D E a H h k K m s S z Z X x V` and `'quoted'` text. Time
//! zones: `UTC`, `GMT`, `Z`, and fixed offsets (`+01:00`, `-0500`, `UTC+01:00`); region
//! zones such as `America/Belize` need a tz database Thingwatch does not carry, so they make
//! the function Undefined.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A pattern split into letter runs and literal text.
#[derive(Debug, PartialEq)]
enum Piece {
    Field(char, usize),
    Literal(String),
}

fn pieces(pattern: &str) -> Option<Vec<Piece>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let mut lit = String::new();
            i += 1;
            if chars.get(i) == Some(&'\'') {
                out.push(Piece::Literal("'".into()));
                i += 1;
                continue;
            }
            loop {
                match chars.get(i) {
                    None => return None,
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        lit.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        lit.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Piece::Literal(lit));
        } else if c.is_ascii_alphabetic() {
            let mut n = 1;
            while chars.get(i + n) == Some(&c) {
                n += 1;
            }
            out.push(Piece::Field(c, n));
            i += n;
        } else {
            out.push(Piece::Literal(c.to_string()));
            i += 1;
        }
    }
    Some(out)
}

/// A time zone: `UTC`/`GMT`/`Z`/`Etc/UTC`, or a fixed offset with an optional `UTC`/`GMT`
/// prefix.
pub(crate) fn zone(s: &str) -> Option<UtcOffset> {
    let t = s.trim();
    let rest = ["UTC", "GMT", "UT"]
        .iter()
        .find_map(|p| t.strip_prefix(p))
        .unwrap_or(t);
    if rest.is_empty() || rest == "Z" || t == "Etc/UTC" || t == "Etc/GMT" {
        return Some(UtcOffset::UTC);
    }
    let (sign, digits) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) => (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?),
        None if digits.len() == 4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        None if digits.len() <= 2 => (digits.parse().ok()?, 0),
        None => return None,
    };
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

fn offset_text(o: UtcOffset, colon: bool) -> String {
    if o == UtcOffset::UTC && colon {
        return "Z".into();
    }
    let (h, m, _) = o.as_hms();
    let sign = if o.is_negative() { '-' } else { '+' };
    if colon {
        format!("{sign}{:02}:{:02}", h.abs(), m.abs())
    } else {
        format!("{sign}{:02}{:02}", h.abs(), m.abs())
    }
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

/// `parse_time(pattern, ms, tz)`: epoch milliseconds formatted with a Joda-Time pattern.
pub(crate) fn format(pattern: &str, ms: i64, tz: &str) -> Option<String> {
    let offset = zone(tz)?;
    let nanos = i128::from(ms).checked_mul(1_000_000)?;
    let t = OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()?
        .to_offset(offset);
    let mut out = String::new();
    for p in pieces(pattern)? {
        let (c, n) = match p {
            Piece::Literal(l) => {
                out.push_str(&l);
                continue;
            }
            Piece::Field(c, n) => (c, n),
        };
        let num = |v: i64| format!("{v:0n$}");
        let text = match c {
            'G' => if t.year() > 0 { "AD" } else { "BC" }.to_string(),
            'y' | 'Y' | 'u' if n == 2 => format!("{:02}", t.year().rem_euclid(100)),
            'y' | 'Y' | 'u' => num(i64::from(t.year())),
            'M' if n >= 4 => MONTHS[usize::from(u8::from(t.month())) - 1].to_string(),
            'M' if n == 3 => MONTHS[usize::from(u8::from(t.month())) - 1][..3].to_string(),
            'M' => num(i64::from(u8::from(t.month()))),
            'd' => num(i64::from(t.day())),
            'D' => num(i64::from(t.ordinal())),
            'E' if n >= 4 => weekday_name(t.weekday()).to_string(),
            'E' => weekday_name(t.weekday())[..3].to_string(),
            'a' => if t.hour() < 12 { "AM" } else { "PM" }.to_string(),
            'H' => num(i64::from(t.hour())),
            'k' => num(if t.hour() == 0 {
                24
            } else {
                i64::from(t.hour())
            }),
            'K' => num(i64::from(t.hour() % 12)),
            'h' => num(match t.hour() % 12 {
                0 => 12,
                h => i64::from(h),
            }),
            'm' => num(i64::from(t.minute())),
            's' => num(i64::from(t.second())),
            'S' => {
                let millis = format!("{:03}", t.millisecond());
                let mut s: String = millis.chars().take(n).collect();
                while s.len() < n {
                    s.push('0');
                }
                s
            }
            'z' | 'V' if offset == UtcOffset::UTC => "UTC".to_string(),
            'z' | 'V' => offset_text(offset, true),
            'Z' | 'X' | 'x' => offset_text(offset, n >= 2),
            _ => return None,
        };
        out.push_str(&text);
    }
    Some(out)
}

/// A cursor over the text being parsed.
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &str {
        &self.s[self.i..]
    }

    fn digits(&mut self, min: usize, max: usize) -> Option<i64> {
        let r = self.rest();
        let n = r.bytes().take(max).take_while(u8::is_ascii_digit).count();
        if n < min {
            return None;
        }
        let v = r[..n].parse().ok()?;
        self.i += n;
        Some(v)
    }

    fn word(&mut self, candidates: &[&str], prefix: Option<usize>) -> Option<usize> {
        let r = self.rest().to_ascii_lowercase();
        for (idx, full) in candidates.iter().enumerate() {
            let w = match prefix {
                Some(p) => &full[..p],
                None => full,
            };
            if r.starts_with(&w.to_ascii_lowercase()) {
                self.i += w.len();
                return Some(idx);
            }
        }
        None
    }
}

/// `time_to_epoch(text, pattern)`: epoch milliseconds of `text` read with a JDK pattern; a
/// text without a zone is UTC.
pub(crate) fn parse(text: &str, pattern: &str) -> Option<i64> {
    let mut c = Cursor { s: text, i: 0 };
    let (mut year, mut month, mut day) = (1970i32, 1u8, 1u8);
    let (mut hour, mut minute, mut second, mut nanos) = (0u8, 0u8, 0u8, 0u32);
    let mut pm: Option<bool> = None;
    let mut twelve = false;
    let mut offset = UtcOffset::UTC;
    for p in pieces(pattern)? {
        let (ch, n) = match p {
            Piece::Literal(l) => {
                c.rest().starts_with(l.as_str()).then_some(())?;
                c.i += l.len();
                continue;
            }
            Piece::Field(ch, n) => (ch, n),
        };
        let width = |n: usize| if n == 1 { (1, 2) } else { (n, n) };
        match ch {
            'y' | 'u' | 'Y' if n == 2 => year = 2000 + c.digits(2, 2)? as i32,
            'y' | 'u' | 'Y' => year = c.digits(n.min(4), 9)? as i32,
            'M' | 'L' if n >= 4 => month = c.word(&MONTHS, None)? as u8 + 1,
            'M' | 'L' if n == 3 => month = c.word(&MONTHS, Some(3))? as u8 + 1,
            'M' | 'L' => month = c.digits(width(n).0, width(n).1)? as u8,
            'd' => day = c.digits(width(n).0, width(n).1)? as u8,
            'H' => hour = c.digits(width(n).0, width(n).1)? as u8,
            'h' => {
                hour = c.digits(width(n).0, width(n).1)? as u8;
                twelve = true;
            }
            'm' => minute = c.digits(width(n).0, width(n).1)? as u8,
            's' => second = c.digits(width(n).0, width(n).1)? as u8,
            'S' => {
                let start = c.i;
                let v = c.digits(n, n)?;
                let digits = (c.i - start) as u32;
                nanos = (v as u32).checked_mul(10u32.pow(9 - digits.min(9)))?;
            }
            'a' => pm = Some(c.word(&["AM", "PM"], None)? == 1),
            'E' => {
                let days = [
                    "Monday",
                    "Tuesday",
                    "Wednesday",
                    "Thursday",
                    "Friday",
                    "Saturday",
                    "Sunday",
                ];
                c.word(&days, if n >= 4 { None } else { Some(3) })?;
            }
            'V' | 'z' | 'Z' | 'X' | 'x' | 'O' => {
                let r = c.rest();
                let len = r.find(char::is_whitespace).unwrap_or(r.len());
                offset = zone(&r[..len])?;
                c.i += len;
            }
            _ => return None,
        }
    }
    if !c.rest().is_empty() {
        return None;
    }
    if twelve {
        hour %= 12;
        if pm == Some(true) {
            hour += 12;
        }
    }
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    let t = PrimitiveDateTime::new(date, time).assume_offset(offset);
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_examples() {
        assert_eq!(
            parse("2020-04-03 09:45:18 UTC+01:00", "yyyy-MM-dd HH:mm:ss VV"),
            Some(1_585_903_518_000)
        );
        assert_eq!(
            parse("18 December 2015", "dd MMMM yyyy"),
            Some(1_450_396_800_000)
        );
        assert_eq!(
            format("yyyy.MM.dd G 'at' HH:mm:ss z", 100_000_000, "UTC").as_deref(),
            Some("1970.01.02 AD at 03:46:40 UTC")
        );
        assert_eq!(
            format("yyyy", 1_481_825_251_155, "UTC").as_deref(),
            Some("2016")
        );
        assert_eq!(format("yyyy", 0, "America/Belize"), None);
    }
}
