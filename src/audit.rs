//! `thingwatch audit verify` and `thingwatch audit public-key`: offline checks of the audit
//! trail in a data directory (no server needed; safe while one runs).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

/// `thingwatch audit …`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Prove that no audit record was removed, reordered or altered: checks every signed
    /// hourly digest and recomputes the hash chain. Exits 1 and names the first bad record
    /// when something was.
    Verify(VerifyArgs),
    /// Print the data directory's digest public key (PEM), to keep elsewhere and verify
    /// against with `audit verify --public-key FILE`.
    PublicKey(DirArgs),
}

#[derive(Args, Debug)]
struct DirArgs {
    /// Data directory (default ./thingwatch-data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct VerifyArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// Only the digests whose hours overlap [FROM, TO] and their records: RFC 3339
    /// (`2026-12-08T10:00:00Z`) or epoch seconds.
    #[arg(long)]
    from: Option<String>,
    /// See `--from`.
    #[arg(long)]
    to: Option<String>,
    /// Verify against this public key (PEM from `audit public-key`) instead of the one in
    /// the data directory.
    #[arg(long)]
    public_key: Option<PathBuf>,
}

fn data_dir(d: &DirArgs) -> PathBuf {
    d.data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::settings::DEFAULT_DATA_DIR))
}

/// A time as epoch ms: RFC 3339 or epoch seconds.
fn parse_time(s: &str, flag: &str) -> Result<i64> {
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(secs.saturating_mul(1000));
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("{flag} {s:?} is neither RFC 3339 nor epoch seconds"))?;
    Ok(i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
}

/// Runs `thingwatch audit …`; `Ok(false)` when verification found problems.
pub fn run(args: AuditArgs) -> Result<bool> {
    match args.command {
        AuditCommand::PublicKey(d) => {
            let pem =
                thingwatch_audit::public_key_of_dir(&data_dir(&d)).map_err(anyhow::Error::msg)?;
            print!("{pem}");
            Ok(true)
        }
        AuditCommand::Verify(v) => {
            let from = v
                .from
                .as_deref()
                .map(|s| parse_time(s, "--from"))
                .transpose()?;
            let to = v.to.as_deref().map(|s| parse_time(s, "--to")).transpose()?;
            if let (Some(f), Some(t)) = (from, to)
                && f > t
            {
                bail!("--from is after --to");
            }
            let key = match &v.public_key {
                None => None,
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    Some(
                        thingwatch_audit::integrity::parse_public_key_pem(&text)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                    )
                }
            };
            let dir = data_dir(&v.dir);
            let report = thingwatch_audit::verify_dir(&dir, key, from, to)
                .map_err(|e| anyhow::anyhow!("verifying {}: {e}", dir.display()))?;
            let range = report.range.map_or("no records".to_owned(), |(a, b)| {
                format!("records {a} to {b}")
            });
            if report.is_intact() {
                println!(
                    "audit trail intact: {} records checked ({range}), {} digests verified, {} records after the last digest",
                    report.records_checked, report.digests_checked, report.unsealed_records
                );
                Ok(true)
            } else {
                println!(
                    "audit trail NOT intact: {} problem(s) in {range} ({} records checked, {} digests)",
                    report.problems.len(),
                    report.records_checked,
                    report.digests_checked
                );
                for p in &report.problems {
                    println!("  {p}");
                }
                Ok(false)
            }
        }
    }
}
