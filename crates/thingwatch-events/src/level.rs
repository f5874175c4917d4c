//! Log levels: the level of one entry ([`LogLevel`]) and the level a configuration sets
//! ([`LevelSetting`], which adds `DISABLED`).
//!
//! Source: AWS IoT Developer Guide, *Configure AWS IoT logging* — levels are cumulative,
//! DISABLED < ERROR < WARN < INFO < DEBUG in verbosity; the API enum is
//! `DEBUG | INFO | ERROR | WARN | DISABLED` (`SetV2LoggingOptions.defaultLogLevel`,
//! `SetV2LoggingLevel.logLevel`, `LogEventConfiguration.logLevel`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The level of one log entry, written as its `logLevel` attribute.
///
/// The discriminant is the verbosity rank: an entry is written when its rank is at most the
/// rank of the effective [`LevelSetting`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum LogLevel {
    /// A failure that makes an operation fail.
    #[serde(rename = "ERROR")]
    Error = 1,
    /// Something that could cause inconsistency without failing the operation.
    #[serde(rename = "WARN")]
    Warn = 2,
    /// High-level flow, e.g. a subscribe succeeded.
    #[serde(rename = "INFO")]
    Info = 3,
    /// Detail for troubleshooting.
    #[serde(rename = "DEBUG")]
    Debug = 4,
}

impl LogLevel {
    /// The AWS spelling: `ERROR`, `WARN`, `INFO` or `DEBUG`.
    pub const fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
        }
    }
}

/// A configured level: AWS's `LogLevel` enum, `DEBUG | INFO | ERROR | WARN | DISABLED`.
///
/// The discriminant is the verbosity rank (`DISABLED` = 0 admits nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum LevelSetting {
    /// Nothing is logged.
    #[default]
    Disabled = 0,
    /// ERROR entries only.
    Error = 1,
    /// ERROR and WARN.
    Warn = 2,
    /// ERROR, WARN and INFO.
    Info = 3,
    /// Everything.
    Debug = 4,
}

impl LevelSetting {
    /// Every setting, least verbose first.
    pub const ALL: [LevelSetting; 5] = [
        LevelSetting::Disabled,
        LevelSetting::Error,
        LevelSetting::Warn,
        LevelSetting::Info,
        LevelSetting::Debug,
    ];

    /// The AWS spelling (`DISABLED`, `ERROR`, `WARN`, `INFO`, `DEBUG`).
    pub const fn as_str(self) -> &'static str {
        match self {
            LevelSetting::Disabled => "DISABLED",
            LevelSetting::Error => "ERROR",
            LevelSetting::Warn => "WARN",
            LevelSetting::Info => "INFO",
            LevelSetting::Debug => "DEBUG",
        }
    }

    /// Whether an entry of `level` is written under this setting.
    #[inline]
    pub const fn admits(self, level: LogLevel) -> bool {
        level as u8 <= self as u8
    }

    /// Rebuilds a setting from its rank; ranks above DEBUG saturate to DEBUG.
    pub const fn from_rank(rank: u8) -> LevelSetting {
        match rank {
            0 => LevelSetting::Disabled,
            1 => LevelSetting::Error,
            2 => LevelSetting::Warn,
            3 => LevelSetting::Info,
            _ => LevelSetting::Debug,
        }
    }
}

impl fmt::Display for LevelSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a string that is not one of AWS's level names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid log level '{0}': expected one of DEBUG, INFO, WARN, ERROR, DISABLED")]
pub struct ParseLevelError(pub String);

impl FromStr for LevelSetting {
    type Err = ParseLevelError;

    /// Parses the exact AWS spelling (upper case), as the AWS API does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "DISABLED" => Ok(LevelSetting::Disabled),
            "ERROR" => Ok(LevelSetting::Error),
            "WARN" => Ok(LevelSetting::Warn),
            "INFO" => Ok(LevelSetting::Info),
            "DEBUG" => Ok(LevelSetting::Debug),
            other => Err(ParseLevelError(other.to_string())),
        }
    }
}

impl Serialize for LevelSetting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LevelSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumulative_levels_follow_the_developer_guide_table() {
        // (setting, entries written) from *Configure AWS IoT logging*.
        let table = [
            (LevelSetting::Disabled, vec![]),
            (LevelSetting::Error, vec![LogLevel::Error]),
            (LevelSetting::Warn, vec![LogLevel::Error, LogLevel::Warn]),
            (
                LevelSetting::Info,
                vec![LogLevel::Error, LogLevel::Warn, LogLevel::Info],
            ),
            (
                LevelSetting::Debug,
                vec![
                    LogLevel::Error,
                    LogLevel::Warn,
                    LogLevel::Info,
                    LogLevel::Debug,
                ],
            ),
        ];
        for (setting, written) in table {
            for level in [
                LogLevel::Error,
                LogLevel::Warn,
                LogLevel::Info,
                LogLevel::Debug,
            ] {
                assert_eq!(
                    setting.admits(level),
                    written.contains(&level),
                    "{setting} vs {level}"
                );
            }
        }
    }

    #[test]
    fn parses_only_aws_spellings() {
        for s in LevelSetting::ALL {
            assert_eq!(s.as_str().parse::<LevelSetting>().unwrap(), s);
            assert_eq!(LevelSetting::from_rank(s as u8), s);
        }
        assert!("info".parse::<LevelSetting>().is_err());
        assert!("TRACE".parse::<LevelSetting>().is_err());
    }
}
