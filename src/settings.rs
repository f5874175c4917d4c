//! `thingwatch serve` settings: command-line flags, the optional TOML config file, environment
//! variables and defaults, resolved into one [`ServeSettings`].
//!
//! Precedence, highest first: flags, environment (`THINGWATCH_ACCESS_KEY_ID`,
//! `THINGWATCH_SECRET_ACCESS_KEY`), config file (`--config FILE`), defaults. Unknown config
//! keys are rejected.

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use thingwatch_events::LevelSetting;

/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./thingwatch-data";
/// Default plain-MQTT listener (loopback only).
pub const DEFAULT_MQTT_LISTEN: &str = "127.0.0.1:1883";
/// Default MQTT-over-TLS listener (mutual TLS with registered client certificates, AWS IoT's
/// port 8883).
pub const DEFAULT_MQTTS_LISTEN: &str = "127.0.0.1:8883";
/// Default most concurrent MQTT connections (further accepts wait for a slot).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default HTTP listener for every AWS API.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:4580";
/// Default AWS account ID.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
/// Default AWS Region.
pub const DEFAULT_REGION: &str = "us-east-1";
/// Default limit of resource-specific log targets: the 10 AWS IoT documented (Developer
/// Guide, *Configure AWS IoT logging*, 2019–2020 editions: "up to 10 logging targets").
pub const DEFAULT_MAX_LOG_TARGETS: usize = 10;

/// Flags of `thingwatch serve`.
#[derive(Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// TOML config file; flags override its values.
    #[arg(long, env = "THINGWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory: log store, broker state, credentials (default ./thingwatch-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Plain MQTT listener address (default 127.0.0.1:1883; loopback only).
    #[arg(long)]
    pub mqtt_listen: Option<SocketAddr>,
    /// MQTT over TLS listener (default 127.0.0.1:8883): clients authenticate with X.509
    /// certificates registered with AWS IoT's certificate APIs; `DATA_DIR/ca.pem` is the CA
    /// they trust.
    #[arg(long)]
    pub mqtts_listen: Option<SocketAddr>,
    /// HTTP listener for the AWS APIs (default 127.0.0.1:4580; loopback only).
    #[arg(long)]
    pub http_listen: Option<SocketAddr>,
    /// Most concurrent MQTT connections over all listeners (default 10000); further
    /// connections wait to be accepted.
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// 12-digit AWS account ID (default 123456789012).
    #[arg(long)]
    pub account_id: Option<String>,
    /// AWS Region (default us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// Default log level written into a fresh data directory's V2 logging configuration:
    /// DEBUG, INFO, WARN, ERROR, DISABLED, or UNCONFIGURED for none (default INFO).
    #[arg(long)]
    pub default_log_level: Option<String>,
    /// Most resource-specific log targets (SetV2LoggingLevel) the account may have
    /// (default 10; more is LimitExceededException).
    #[arg(long)]
    pub max_log_targets: Option<usize>,
    /// Serve `GET /metrics` (Prometheus, OpenMetrics text) without authentication; by default
    /// it needs a SigV4-signed request like the rest of the API. Environment:
    /// `THINGWATCH_METRICS_OPEN=1` (or `true`; `0`/`false` turn it off).
    #[arg(long)]
    pub metrics_open: bool,
    /// Seconds between publications of the AWS/IoT counters as CloudWatch metrics
    /// (default 60, as AWS IoT; 1-3600).
    #[arg(long)]
    pub metrics_interval: Option<u64>,
}

/// The TOML config file. Every key is optional; unknown keys are an error.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    /// Same as `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// Same as `--mqtt-listen`.
    pub mqtt_listen: Option<SocketAddr>,
    /// Same as `--mqtts-listen`.
    pub mqtts_listen: Option<SocketAddr>,
    /// Same as `--http-listen`.
    pub http_listen: Option<SocketAddr>,
    /// Same as `--max-connections`.
    pub max_connections: Option<usize>,
    /// Same as `--account-id`.
    pub account_id: Option<String>,
    /// Same as `--region`.
    pub region: Option<String>,
    /// Same as `--default-log-level`.
    pub default_log_level: Option<String>,
    /// Same as `--max-log-targets`.
    pub max_log_targets: Option<usize>,
    /// Same as `--metrics-open`.
    pub metrics_open: Option<bool>,
    /// Same as `--metrics-interval`.
    pub metrics_interval: Option<u64>,
    /// Root access key ID (the environment variable wins).
    pub access_key_id: Option<String>,
    /// Root secret access key (the environment variable wins).
    pub secret_access_key: Option<String>,
}

pub use thingwatch_server::{GivenCredentials, InitialLogging};

/// Fully resolved settings: the server's configuration.
pub type ServeSettings = thingwatch_server::ServerConfig;

fn parse_initial_logging(s: &str) -> Result<InitialLogging> {
    if s == "UNCONFIGURED" {
        return Ok(InitialLogging::Unconfigured);
    }
    s.parse::<LevelSetting>()
        .map(InitialLogging::Level)
        .map_err(|e| anyhow::anyhow!("--default-log-level: {e} (or UNCONFIGURED)"))
}

fn read_config(path: &Path) -> Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

/// Resolves flags, environment, config file and defaults. `env` looks environment variables
/// up (injectable for tests).
pub fn resolve(args: &ServeArgs, env: impl Fn(&str) -> Option<String>) -> Result<ServeSettings> {
    let file = match &args.config {
        Some(p) => read_config(p)?,
        None => ConfigFile::default(),
    };
    let parse_addr =
        |s: &str| -> SocketAddr { s.parse().unwrap_or_else(|_| unreachable!("valid default")) };
    let account_id = args
        .account_id
        .clone()
        .or(file.account_id)
        .unwrap_or_else(|| DEFAULT_ACCOUNT_ID.to_string());
    if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
        bail!("--account-id must be 12 digits, got '{account_id}'");
    }
    let region = args
        .region
        .clone()
        .or(file.region)
        .unwrap_or_else(|| DEFAULT_REGION.to_string());
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        bail!("--region must look like an AWS Region (e.g. us-east-1), got '{region}'");
    }
    let level_text = args
        .default_log_level
        .clone()
        .or(file.default_log_level)
        .unwrap_or_else(|| "INFO".to_string());
    let initial_logging = parse_initial_logging(&level_text)?;

    let env_key = env("THINGWATCH_ACCESS_KEY_ID").filter(|s| !s.is_empty());
    let env_secret = env("THINGWATCH_SECRET_ACCESS_KEY").filter(|s| !s.is_empty());
    let credentials = match (
        env_key,
        env_secret,
        file.access_key_id,
        file.secret_access_key,
    ) {
        (Some(k), Some(s), _, _) => Some(GivenCredentials {
            access_key_id: k,
            secret_access_key: s,
            source: "environment",
        }),
        (Some(_), None, _, _) | (None, Some(_), _, _) => {
            bail!("set both THINGWATCH_ACCESS_KEY_ID and THINGWATCH_SECRET_ACCESS_KEY, or neither")
        }
        (None, None, Some(k), Some(s)) => Some(GivenCredentials {
            access_key_id: k,
            secret_access_key: s,
            source: "config file",
        }),
        (None, None, Some(_), None) | (None, None, None, Some(_)) => {
            bail!("the config file must set both access-key-id and secret-access-key, or neither")
        }
        (None, None, None, None) => None,
    };
    if let Some(c) = &credentials {
        validate_credentials(c)?;
    }

    let max_log_targets = args
        .max_log_targets
        .or(file.max_log_targets)
        .unwrap_or(DEFAULT_MAX_LOG_TARGETS);
    if max_log_targets == 0 || max_log_targets > 10_000 {
        bail!("--max-log-targets must be between 1 and 10000, got {max_log_targets}");
    }
    let metrics_interval = args
        .metrics_interval
        .or(file.metrics_interval)
        .unwrap_or(60);
    if !(1..=3600).contains(&metrics_interval) {
        bail!("--metrics-interval must be between 1 and 3600 seconds, got {metrics_interval}");
    }
    let max_connections = args
        .max_connections
        .or(file.max_connections)
        .unwrap_or(DEFAULT_MAX_CONNECTIONS);
    if max_connections == 0 {
        bail!("--max-connections must be at least 1");
    }
    let metrics_open = match env("THINGWATCH_METRICS_OPEN").filter(|s| !s.is_empty()) {
        _ if args.metrics_open => true,
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => bail!("THINGWATCH_METRICS_OPEN must be 1/true or 0/false, got {v:?}"),
        },
        None => file.metrics_open.unwrap_or(false),
    };
    let jobs_minute_ms = match env("THINGWATCH_JOBS_MINUTE_MS").filter(|s| !s.is_empty()) {
        Some(v) => match v.parse::<i64>() {
            Ok(ms) if (10..=60_000).contains(&ms) => ms,
            _ => bail!("THINGWATCH_JOBS_MINUTE_MS must be between 10 and 60000 (ms), got {v:?}"),
        },
        None => 60_000,
    };
    Ok(ServeSettings {
        data_dir: args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
        mqtt_listen: args
            .mqtt_listen
            .or(file.mqtt_listen)
            .unwrap_or_else(|| parse_addr(DEFAULT_MQTT_LISTEN)),
        mqtts_listen: args
            .mqtts_listen
            .or(file.mqtts_listen)
            .unwrap_or_else(|| parse_addr(DEFAULT_MQTTS_LISTEN)),
        http_listen: args
            .http_listen
            .or(file.http_listen)
            .unwrap_or_else(|| parse_addr(DEFAULT_HTTP_LISTEN)),
        max_connections,
        account_id,
        region,
        initial_logging,
        credentials,
        max_log_targets,
        metrics_open,
        metrics_interval: std::time::Duration::from_secs(metrics_interval),
        // SNS https endpoints are verified against the system's roots and DATA_DIR/ca.pem.
        sns_delivery: thingwatch_server::DeliveryPolicy::default(),
        sns_trusted_roots: Vec::new(),
        audit: true,
        audit_digest_interval: std::time::Duration::from_millis(
            thingwatch_audit::DIGEST_INTERVAL_MS as u64,
        ),
        jobs_minute_ms,
    })
}

fn validate_credentials(c: &GivenCredentials) -> Result<()> {
    // IAM AccessKeyId: 16–128 characters, \w+ (IAM API Reference, AccessKey).
    if !(16..=128).contains(&c.access_key_id.len())
        || !c
            .access_key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        bail!("access key id must be 16-128 word characters");
    }
    if c.secret_access_key.len() < 16 || c.secret_access_key.chars().any(char::is_whitespace) {
        bail!("secret access key must be at least 16 characters without whitespace");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn metrics_open_comes_from_the_flag_the_environment_or_the_file() {
        assert!(!resolve(&ServeArgs::default(), no_env).unwrap().metrics_open);
        let flag = ServeArgs {
            metrics_open: true,
            ..ServeArgs::default()
        };
        assert!(resolve(&flag, no_env).unwrap().metrics_open);
        let env_is = |v: &'static str| {
            move |k: &str| (k == "THINGWATCH_METRICS_OPEN").then(|| v.to_string())
        };
        assert!(
            resolve(&ServeArgs::default(), env_is("1"))
                .unwrap()
                .metrics_open
        );
        assert!(
            !resolve(&ServeArgs::default(), env_is("false"))
                .unwrap()
                .metrics_open
        );
        assert!(
            resolve(&flag, env_is("0")).unwrap().metrics_open,
            "the flag wins"
        );
        let err = resolve(&ServeArgs::default(), env_is("maybe")).unwrap_err();
        assert!(err.to_string().contains("THINGWATCH_METRICS_OPEN"), "{err}");
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = resolve(&ServeArgs::default(), no_env).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("./thingwatch-data"));
        assert_eq!(s.mqtt_listen.to_string(), "127.0.0.1:1883");
        assert_eq!(s.mqtts_listen.to_string(), "127.0.0.1:8883");
        assert_eq!(s.max_connections, 10_000);
        assert_eq!(s.http_listen.to_string(), "127.0.0.1:4580");
        assert_eq!(s.account_id, "123456789012");
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.initial_logging, InitialLogging::Level(LevelSetting::Info));
        assert!(s.credentials.is_none());
        assert_eq!(s.max_log_targets, 10);
    }

    #[test]
    fn flags_win_over_the_config_file_and_env_over_file_credentials() {
        let dir = std::env::temp_dir().join(format!("tw-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tw.toml");
        std::fs::write(
            &path,
            "region = \"eu-west-1\"\naccount-id = \"111122223333\"\ndefault-log-level = \"DEBUG\"\naccess-key-id = \"AKIAFILEFILEFILE1\"\nsecret-access-key = \"filesecretfilesecret\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            region: Some("ap-south-1".into()),
            ..Default::default()
        };
        let s = resolve(&args, no_env).unwrap();
        assert_eq!(s.region, "ap-south-1");
        assert_eq!(s.account_id, "111122223333");
        assert_eq!(
            s.initial_logging,
            InitialLogging::Level(LevelSetting::Debug)
        );
        assert_eq!(s.credentials.as_ref().unwrap().source, "config file");
        let env = |k: &str| match k {
            "THINGWATCH_ACCESS_KEY_ID" => Some("AKIAENVENVENVENV1".to_string()),
            "THINGWATCH_SECRET_ACCESS_KEY" => Some("envsecretenvsecret".to_string()),
            _ => None,
        };
        let s = resolve(&args, env).unwrap();
        assert_eq!(s.credentials.unwrap().access_key_id, "AKIAENVENVENVENV1");

        std::fs::write(&path, "bogus-key = 1\n").unwrap();
        let err = resolve(&args, no_env).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_values_are_refused_with_clear_errors() {
        let bad = |a: ServeArgs| resolve(&a, no_env).unwrap_err().to_string();
        assert!(
            bad(ServeArgs {
                account_id: Some("12".into()),
                ..Default::default()
            })
            .contains("12 digits")
        );
        assert!(
            bad(ServeArgs {
                default_log_level: Some("info".into()),
                ..Default::default()
            })
            .contains("invalid log level")
        );
        let s = resolve(
            &ServeArgs {
                default_log_level: Some("UNCONFIGURED".into()),
                ..Default::default()
            },
            no_env,
        )
        .unwrap();
        assert_eq!(s.initial_logging, InitialLogging::Unconfigured);
        let half =
            |k: &str| (k == "THINGWATCH_ACCESS_KEY_ID").then(|| "AKIAENVENVENVENV1".to_string());
        assert!(
            resolve(&ServeArgs::default(), half)
                .unwrap_err()
                .to_string()
                .contains("both")
        );
    }
}
