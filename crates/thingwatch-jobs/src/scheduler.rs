//! The `jobs-scheduler` thread: everything that happens to jobs without a request —
//! scheduled starts and ends, rollout batches at the configured rate, in-progress and step
//! timeouts (`TIMED_OUT`, then a retry when configured), deletions, and continuous jobs
//! following their target groups. Every pass reads its work from the store, so nothing is
//! lost across a restart; it sleeps until the next timer, rollout window or tick, and is
//! woken early by changes that give it work.

use crate::model::{ExecutionStatus, Job, JobStatus, TargetSelection};
use crate::{Inner, Outbox, now_ms, store};
use rusqlite::Connection;
use std::collections::HashSet;
use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Executions created, timed out or deleted per job and pass (bounds one transaction).
const BATCH: usize = 2_000;

pub(crate) fn spawn(weak: Weak<Inner>) -> Option<std::thread::JoinHandle<()>> {
    let spawned = std::thread::Builder::new()
        .name("jobs-scheduler".into())
        .spawn(move || {
            loop {
                let Some(inner) = weak.upgrade() else { break };
                if inner.stopping.load(Ordering::Acquire) {
                    break;
                }
                let more = inner.run_due();
                let wait = if more {
                    Duration::ZERO
                } else {
                    inner.next_wait()
                };
                drop(inner);
                if !wait.is_zero() {
                    std::thread::park_timeout(wait);
                }
            }
        });
    match spawned {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::error!(error = %e, "could not start the jobs scheduler thread");
            None
        }
    }
}

impl Inner {
    /// How long the scheduler may sleep: until the next timer, the next rollout window of a
    /// job with targets waiting, or the tick.
    fn next_wait(&self) -> Duration {
        let now = now_ms();
        let mut wait = self.settings.tick_ms as i64;
        let conn = self.conn.lock();
        if let Ok(Some(d)) = store::next_deadline(&conn) {
            wait = wait.min(d - now);
        }
        if let Ok(ids) = store::jobs_with_rollout(&conn) {
            for id in ids {
                if let Ok(Some(job)) = store::job(&conn, &id)
                    && job.status == JobStatus::InProgress
                {
                    let end = job.rollout_window_start_ms + self.settings.minute_ms;
                    wait = wait.min(end - now);
                }
            }
        }
        Duration::from_millis(wait.max(1) as u64)
    }

    /// One pass; `true` when work is left that need not wait (a full batch was done).
    pub(crate) fn run_due(&self) -> bool {
        let now = now_ms();
        let mut more = false;
        more |= self.log_err(self.start_and_end_schedules(now));
        more |= self.log_err(self.roll_out_all(now));
        more |= self.log_err(self.time_out(now));
        more |= self.log_err(self.delete_jobs(now));
        more |= self.log_err(self.follow_groups(now));
        more
    }

    fn log_err(&self, r: rusqlite::Result<bool>) -> bool {
        match r {
            Ok(more) => more,
            Err(e) => {
                tracing::error!(error = %e, "jobs scheduler pass failed");
                false
            }
        }
    }

    /// Runs `f` in one transaction and delivers its outbox after the commit.
    fn in_tx<T>(
        &self,
        f: impl FnOnce(&Connection, &mut Outbox) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let mut outbox = Outbox::default();
        let value = {
            let mut conn = self.conn.lock();
            let tx = conn.transaction()?;
            let value = f(&tx, &mut outbox)?;
            tx.commit()?;
            value
        };
        outbox.wake = false;
        self.deliver(outbox);
        Ok(value)
    }

    fn start_and_end_schedules(&self, now: i64) -> rusqlite::Result<bool> {
        self.in_tx(|conn, outbox| {
            for mut job in store::jobs_in(conn, JobStatus::Scheduled.as_str())? {
                let start = schedule_time(&job, |s| s.start_time.as_deref());
                if start.is_none_or(|s| s <= now) {
                    job.status = JobStatus::InProgress;
                    job.rollout_window_start_ms = now;
                    job.rollout_in_window = 0;
                    job.last_updated_at_ms = now;
                    self.roll_out(conn, &mut job, now, outbox)?;
                    self.check_completion(conn, &mut job, now, outbox)?;
                    store::update_job(conn, &job)?;
                }
            }
            for mut job in store::jobs_in(conn, JobStatus::InProgress.as_str())? {
                let Some(end) = schedule_time(&job, |s| s.end_time.as_deref()) else {
                    continue;
                };
                if end > now {
                    continue;
                }
                let behavior = job
                    .config
                    .scheduling_config
                    .as_ref()
                    .and_then(|s| s.end_behavior.clone())
                    .unwrap_or_else(|| "STOP_ROLLOUT".to_owned());
                match behavior.as_str() {
                    "CANCEL" => self.cancel_in(conn, &mut job, false, now, outbox)?,
                    "FORCE_CANCEL" => self.cancel_in(conn, &mut job, true, now, outbox)?,
                    _ => {
                        if store::rollout_len(conn, &job.job_id)? == 0 {
                            continue;
                        }
                        store::clear_rollout(conn, &job.job_id)?;
                        self.check_completion(conn, &mut job, now, outbox)?;
                    }
                }
                store::update_job(conn, &job)?;
            }
            Ok(false)
        })
    }

    fn roll_out_all(&self, now: i64) -> rusqlite::Result<bool> {
        self.in_tx(|conn, outbox| {
            let mut more = false;
            for id in store::jobs_with_rollout(conn)? {
                let Some(mut job) = store::job(conn, &id)? else {
                    continue;
                };
                if job.status != JobStatus::InProgress {
                    continue;
                }
                let created = self.roll_out(conn, &mut job, now, outbox)?;
                more |= created == BATCH;
                self.check_completion(conn, &mut job, now, outbox)?;
                store::update_job(conn, &job)?;
            }
            Ok(more)
        })
    }

    /// The things `job` may still notify in its current rollout window (`u64::MAX` without a
    /// rate), opening a new window when the last one is over.
    fn allowance(&self, job: &mut Job, now: i64) -> u64 {
        let Some(r) = &job.config.job_executions_rollout_config else {
            return u64::MAX;
        };
        let rate = match (job.rollout_rate, r.maximum_per_minute) {
            (Some(current), Some(max)) => current.min(f64::from(max)),
            (Some(current), None) => current,
            (None, Some(max)) => f64::from(max),
            (None, None) => return u64::MAX,
        };
        if now - job.rollout_window_start_ms >= self.settings.minute_ms {
            job.rollout_window_start_ms = now;
            job.rollout_in_window = 0;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let rate = rate.floor().max(1.0) as u64;
        rate.saturating_sub(job.rollout_in_window)
    }

    /// Creates the executions of the job's next rollout batch; returns how many.
    pub(crate) fn roll_out(
        &self,
        conn: &Connection,
        job: &mut Job,
        now: i64,
        outbox: &mut Outbox,
    ) -> rusqlite::Result<usize> {
        self.raise_rate(conn, job)?;
        let allowance = self.allowance(job, now);
        if allowance == 0 {
            return Ok(0);
        }
        let limit = usize::try_from(allowance).unwrap_or(usize::MAX).min(BATCH);
        let things = store::pop_rollout(conn, &job.job_id, limit)?;
        self.create_executions(conn, job, &things, now, outbox)?;
        job.rollout_in_window += things.len() as u64;
        Ok(things.len())
    }

    /// An exponential rollout's rate grows by its factor each time the notified or
    /// succeeded things since the last increase reach the criteria (capped by
    /// `maximumPerMinute`, else 1,000).
    fn raise_rate(&self, conn: &Connection, job: &mut Job) -> rusqlite::Result<()> {
        let Some(r) = job.config.job_executions_rollout_config.clone() else {
            return Ok(());
        };
        let (Some(e), Some(rate)) = (r.exponential_rate, job.rollout_rate) else {
            return Ok(());
        };
        let c = &e.rate_increase_criteria;
        let succeeded = store::counts(conn, &job.job_id)?.succeeded;
        let by_notified = c
            .number_of_notified_things
            .is_some_and(|n| job.notified - job.notified_at_last_increase >= u64::from(n));
        let by_succeeded = c.number_of_succeeded_things.is_some_and(|n| {
            succeeded.saturating_sub(job.succeeded_at_last_increase) >= u64::from(n)
        });
        if by_notified || by_succeeded {
            let cap = f64::from(
                r.maximum_per_minute
                    .unwrap_or(crate::model::MAX_ROLLOUT_PER_MINUTE),
            );
            job.rollout_rate = Some((rate * e.increment_factor).min(cap));
            job.notified_at_last_increase = job.notified;
            job.succeeded_at_last_increase = succeeded;
        }
        Ok(())
    }

    fn time_out(&self, now: i64) -> rusqlite::Result<bool> {
        self.in_tx(|conn, outbox| {
            let expired = store::expired(conn, now, BATCH)?;
            let more = expired.len() == BATCH;
            for mut e in expired {
                let Some(mut job) = store::job(conn, &e.job_id)? else {
                    continue;
                };
                if !e.status.is_pending() {
                    continue;
                }
                self.set_status(conn, &job, &mut e, ExecutionStatus::TimedOut, now, outbox)?;
                self.after_terminal(conn, &mut job, &e, now, outbox)?;
                job.last_updated_at_ms = now;
                store::update_job(conn, &job)?;
            }
            Ok(more)
        })
    }

    fn delete_jobs(&self, _now: i64) -> rusqlite::Result<bool> {
        self.in_tx(|conn, outbox| {
            let mut more = false;
            for job in store::jobs_in(conn, JobStatus::DeletionInProgress.as_str())? {
                let batch = store::some_executions_of(conn, &job.job_id, BATCH)?;
                if batch.len() == BATCH {
                    more = true;
                    for e in &batch {
                        if e.status.is_pending() {
                            outbox.touch(conn, &e.thing_name)?;
                        }
                        store::delete_execution(conn, e)?;
                    }
                } else {
                    for e in batch.iter().filter(|e| e.status.is_pending()) {
                        outbox.touch(conn, &e.thing_name)?;
                    }
                    store::delete_job(conn, &job.job_id)?;
                }
            }
            Ok(more)
        })
    }

    /// Continuous jobs: a thing that joined a target group gets the job (through the rollout
    /// queue); a thing that left all of them has its queued execution `REMOVED`.
    fn follow_groups(&self, now: i64) -> rusqlite::Result<bool> {
        let (things, full) = {
            let mut m = self.membership.lock();
            (std::mem::take(&mut m.0), std::mem::take(&mut m.1))
        };
        if things.is_empty() && !full {
            return Ok(false);
        }
        self.in_tx(|conn, outbox| {
            for mut job in store::continuous_in_progress(conn)? {
                debug_assert_eq!(job.config.target_selection, TargetSelection::Continuous);
                let groups: Vec<String> = job
                    .config
                    .targets
                    .iter()
                    .filter_map(|t| {
                        thingwatch_aws::Arn::iot_id(
                            &self.scope,
                            thingwatch_aws::IotKind::ThingGroup,
                            t,
                        )
                        .map(str::to_owned)
                    })
                    .collect();
                let candidates: HashSet<String> = if full {
                    let mut all: HashSet<String> = groups
                        .iter()
                        .flat_map(|g| self.directory.things_in_group(g))
                        .collect();
                    all.extend(
                        store::pending_of_job(conn, &job.job_id)?
                            .into_iter()
                            .map(|e| e.thing_name),
                    );
                    all
                } else {
                    things.clone()
                };
                let mut joined = Vec::new();
                for thing in candidates {
                    let member = self
                        .directory
                        .groups_of_thing(&thing)
                        .iter()
                        .any(|g| groups.contains(g));
                    let direct = job.config.targets.contains(&self.thing_arn(&thing));
                    if member || direct {
                        if !store::has_execution(conn, &job.job_id, &thing)? {
                            joined.push(thing);
                        }
                    } else if let Some(mut e) = store::execution(conn, &job.job_id, &thing, None)?
                        && e.status == ExecutionStatus::Queued
                    {
                        self.set_status(conn, &job, &mut e, ExecutionStatus::Removed, now, outbox)?;
                    }
                }
                joined.sort();
                store::push_rollout(conn, &job.job_id, &joined)?;
                self.roll_out(conn, &mut job, now, outbox)?;
                store::update_job(conn, &job)?;
            }
            Ok(false)
        })
    }
}

fn schedule_time(
    job: &Job,
    pick: impl Fn(&crate::model::SchedulingConfig) -> Option<&str>,
) -> Option<i64> {
    job.config
        .scheduling_config
        .as_ref()
        .and_then(pick)
        .and_then(crate::control::parse_schedule_time)
}
