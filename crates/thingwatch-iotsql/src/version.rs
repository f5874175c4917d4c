//! SQL versions (`awsIotSqlVersion`, iot-rule-sql-version.html): `2015-10-08`, `2016-03-23`
//! (the default) and `beta` (the most recent, here the same as 2016-03-23).

use std::fmt;
use std::str::FromStr;

use crate::error::{ParseErrorKind, Pos, SqlParseError};

/// The SQL rules-engine version a rule is evaluated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum SqlVersion {
    /// `2015-10-08`, the original version: no literals, no nested queries, whole-number
    /// decimals stay Decimal.
    V2015_10_08,
    /// `2016-03-23`, the default: object/array literals, nested object queries, whole-number
    /// decimals processed as Int.
    #[default]
    V2016_03_23,
    /// `beta`, the most recent version (behaves as 2016-03-23 here).
    Beta,
}

impl SqlVersion {
    /// The version string as AWS spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SqlVersion::V2015_10_08 => "2015-10-08",
            SqlVersion::V2016_03_23 => "2016-03-23",
            SqlVersion::Beta => "beta",
        }
    }

    /// Whether this version has the 2016-03-23 features.
    pub(crate) fn is_v2(self) -> bool {
        self >= SqlVersion::V2016_03_23
    }
}

impl fmt::Display for SqlVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SqlVersion {
    type Err = SqlParseError;

    /// Parses `2015-10-08`, `2016-03-23` or `beta`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "2015-10-08" => Ok(SqlVersion::V2015_10_08),
            "2016-03-23" => Ok(SqlVersion::V2016_03_23),
            "beta" => Ok(SqlVersion::Beta),
            other => Err(SqlParseError {
                kind: ParseErrorKind::UnknownSqlVersion(other.to_string()),
                pos: Pos { line: 1, column: 1 },
            }),
        }
    }
}
