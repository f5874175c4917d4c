//! Metric alarms over a real metric store: M out of N, every TreatMissingData, the
//! history and the actions of state changes, manual states, persistence.

use std::sync::Arc;

use parking_lot::Mutex;
use thingwatch_aws::Scope;
use thingwatch_metrics::alarms::{
    AlarmDefinition, AlarmFilter, AlarmNotifier, Alarms, Comparison, StateValue, TreatMissing,
};
use thingwatch_metrics::{Datum, MetricId, MetricStore, Values};

const MIN: i64 = 60_000;
/// 2026-12-07T10:00:00Z.
const T0: i64 = 1_796_637_600_000;

#[derive(Default)]
struct Recorder(Mutex<Vec<(String, String, serde_json::Value)>>);

impl AlarmNotifier for Recorder {
    fn notify(&self, arn: &str, subject: &str, message: &str) -> Result<(), String> {
        if arn.ends_with(":broken") {
            return Err("topic unreachable".into());
        }
        self.0.lock().push((
            arn.to_owned(),
            subject.to_owned(),
            serde_json::from_str(message).unwrap(),
        ));
        Ok(())
    }
}

fn metric() -> MetricId {
    MetricId::new("Custom", "Errors", vec![("Thing".into(), "t1".into())])
}

fn definition(n: u32, m: u32, treat: TreatMissing) -> AlarmDefinition {
    AlarmDefinition {
        name: "errors-high".into(),
        description: Some("too many errors".into()),
        actions_enabled: true,
        ok_actions: vec!["arn:aws:sns:us-east-1:123456789012:ops".into()],
        alarm_actions: vec![
            "arn:aws:sns:us-east-1:123456789012:ops".into(),
            "arn:aws:sns:us-east-1:123456789012:broken".into(),
        ],
        insufficient_data_actions: vec![],
        metric: Some(metric()),
        metrics: Vec::new(),
        statistic: "Sum".into(),
        extended: false,
        period_s: 60,
        unit: None,
        evaluation_periods: n,
        datapoints_to_alarm: m,
        threshold: 5.0,
        comparison: Comparison::GreaterThanOrEqualToThreshold,
        treat_missing: treat,
        evaluate_low_sample_count_percentile: None,
    }
}

fn rig() -> (tempfile::TempDir, MetricStore, Alarms, Arc<Recorder>) {
    let dir = tempfile::tempdir().unwrap();
    let store = MetricStore::open(dir.path()).unwrap();
    let alarms = Alarms::open(
        dir.path(),
        store.clone(),
        Scope::new("123456789012", "us-east-1"),
    )
    .unwrap();
    let rec = Arc::new(Recorder::default());
    alarms.set_notifier(rec.clone());
    (dir, store, alarms, rec)
}

fn put(store: &MetricStore, at: i64, v: f64) {
    store
        .put(
            &[Datum {
                metric: metric(),
                timestamp_ms: at,
                values: Values::Single(v),
                unit: "Count".into(),
                storage_resolution: 60,
            }],
            at,
        )
        .unwrap();
}

fn state(alarms: &Alarms) -> (StateValue, String) {
    let a = alarms.describe(&AlarmFilter::default()).unwrap().remove(0);
    (a.state, a.state_reason)
}

#[test]
fn two_of_three_breaching_minutes_alarm_and_recovery_notifies_once_each() {
    let (_dir, store, alarms, rec) = rig();
    alarms
        .put(definition(3, 2, TreatMissing::Missing), T0)
        .unwrap();
    assert_eq!(state(&alarms).0, StateValue::InsufficientData);
    put(&store, T0, 1.0);
    alarms.evaluate_for(&[metric()], T0 + 1000).unwrap();
    let (s, reason) = state(&alarms);
    assert_eq!(s, StateValue::Ok);
    assert!(reason.starts_with("Threshold Crossed: 1 datapoint [1.0 (07/12/26 10:00:00)] was not greater than or equal to the threshold (5.0)"), "{reason}");
    put(&store, T0 + MIN, 7.0);
    alarms.evaluate_all(T0 + MIN + 1000).unwrap();
    assert_eq!(state(&alarms).0, StateValue::Ok, "1 of 3 is not enough");
    put(&store, T0 + 2 * MIN, 9.0);
    alarms.evaluate_all(T0 + 2 * MIN + 1000).unwrap();
    let (s, reason) = state(&alarms);
    assert_eq!(s, StateValue::Alarm);
    assert_eq!(
        reason,
        "Threshold Crossed: 2 out of the last 3 datapoints [9.0 (07/12/26 10:02:00), 7.0 (07/12/26 10:01:00)] were greater than or equal to the threshold (5.0) (minimum 2 datapoints for OK -> ALARM transition)."
    );
    // Evaluating again changes nothing and notifies nobody.
    alarms.evaluate_all(T0 + 2 * MIN + 2000).unwrap();
    put(&store, T0 + 3 * MIN, 0.0);
    put(&store, T0 + 4 * MIN, 0.0);
    alarms.evaluate_all(T0 + 4 * MIN + 1000).unwrap();
    assert_eq!(state(&alarms).0, StateValue::Ok);

    let sent = rec.0.lock().clone();
    // OK (from INSUFFICIENT_DATA), ALARM (the broken topic fails), OK again.
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[1].1, "ALARM: \"errors-high\" in US East (N. Virginia)");
    let m = &sent[1].2;
    assert_eq!(m["NewStateValue"], "ALARM");
    assert_eq!(m["OldStateValue"], "OK");
    assert_eq!(
        m["AlarmArn"],
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors-high"
    );
    assert_eq!(m["Trigger"]["Statistic"], "SUM");
    assert_eq!(
        m["Trigger"]["Dimensions"],
        serde_json::json!([{"value": "t1", "name": "Thing"}])
    );

    let history = alarms
        .history(Some("errors-high"), None, 0, i64::MAX, true)
        .unwrap();
    let summaries: Vec<&str> = history.iter().map(|h| h.summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "Alarm \"errors-high\" created",
            "Alarm updated from INSUFFICIENT_DATA to OK",
            "Successfully executed action arn:aws:sns:us-east-1:123456789012:ops",
            "Alarm updated from OK to ALARM",
            "Successfully executed action arn:aws:sns:us-east-1:123456789012:ops",
            "Failed to execute action arn:aws:sns:us-east-1:123456789012:broken",
            "Alarm updated from ALARM to OK",
            "Successfully executed action arn:aws:sns:us-east-1:123456789012:ops",
        ]
    );
    let update: serde_json::Value = serde_json::from_str(&history[3].data).unwrap();
    assert_eq!(
        update["newState"]["stateReasonData"]["recentDatapoints"],
        serde_json::json!([1.0, 7.0, 9.0])
    );
    let only_states = alarms
        .history(None, Some("StateUpdate"), 0, i64::MAX, false)
        .unwrap();
    assert_eq!(only_states.len(), 3);
    assert_eq!(
        only_states[0].summary, "Alarm updated from ALARM to OK",
        "newest first"
    );
}

#[test]
fn missing_data_is_treated_as_configured() {
    for (treat, expected) in [
        (TreatMissing::Missing, StateValue::InsufficientData),
        (TreatMissing::Breaching, StateValue::Alarm),
        (TreatMissing::NotBreaching, StateValue::Ok),
        (TreatMissing::Ignore, StateValue::Ok),
    ] {
        let (_dir, store, alarms, _rec) = rig();
        alarms.put(definition(2, 2, treat), T0).unwrap();
        put(&store, T0, 1.0);
        alarms.evaluate_all(T0 + 1000).unwrap();
        assert_eq!(state(&alarms).0, StateValue::Ok, "{treat:?}");
        // Ten minutes without data.
        alarms.evaluate_all(T0 + 10 * MIN).unwrap();
        let (s, reason) = state(&alarms);
        assert_eq!(s, expected, "{treat:?}: {reason}");
        if treat == TreatMissing::Missing {
            assert_eq!(reason, "Insufficient Data: 2 datapoints were unknown.");
        }
    }
}

#[test]
fn manual_states_disabled_actions_deletion_and_persistence() {
    let (dir, store, alarms, rec) = rig();
    alarms
        .put(definition(1, 1, TreatMissing::Ignore), T0)
        .unwrap();
    alarms
        .set_state("errors-high", StateValue::Alarm, "testing", None, T0 + 1)
        .unwrap();
    assert_eq!(state(&alarms), (StateValue::Alarm, "testing".into()));
    assert_eq!(rec.0.lock().len(), 1);
    alarms
        .set_actions_enabled(&["errors-high".into()], false, T0 + 2)
        .unwrap();
    alarms
        .set_state("errors-high", StateValue::Ok, "back", None, T0 + 3)
        .unwrap();
    assert_eq!(rec.0.lock().len(), 1, "actions disabled");
    assert!(matches!(
        alarms.set_state("nope", StateValue::Ok, "x", None, T0),
        Err(thingwatch_metrics::alarms::AlarmError::NotFound(_))
    ));
    drop(alarms);
    let alarms = Alarms::open(dir.path(), store, Scope::new("123456789012", "us-east-1")).unwrap();
    assert_eq!(state(&alarms).0, StateValue::Ok);
    assert!(
        alarms
            .delete(&["errors-high".into(), "nope".into()])
            .is_err()
    );
    assert_eq!(alarms.all().unwrap().len(), 1, "nothing deleted");
    alarms.delete(&["errors-high".into()]).unwrap();
    assert!(alarms.all().unwrap().is_empty());
    let filter = AlarmFilter {
        prefix: Some("err".into()),
        ..Default::default()
    };
    assert!(alarms.describe(&filter).unwrap().is_empty());
}

#[test]
fn composite_alarms_follow_their_rule_and_notify() {
    use thingwatch_metrics::alarms::CompositeDefinition;
    let (_dir, store, alarms, rec) = rig();
    alarms
        .put(definition(1, 1, TreatMissing::Ignore), T0)
        .unwrap();
    let composite = |rule: &str| CompositeDefinition {
        name: "fleet-bad".into(),
        description: None,
        rule: rule.into(),
        actions_enabled: true,
        ok_actions: vec![],
        alarm_actions: vec!["arn:aws:sns:us-east-1:123456789012:pager".into()],
        insufficient_data_actions: vec![],
    };
    assert!(
        alarms
            .put_composite(composite("ALARM(ghost)"), T0)
            .unwrap()
            .unwrap_err()
            .contains("[ghost]")
    );
    assert!(
        alarms
            .put_composite(composite("ALARM(fleet-bad)"), T0)
            .unwrap()
            .is_err(),
        "self reference"
    );
    assert!(
        alarms
            .put_composite(composite("ALARM(errors-high"), T0)
            .unwrap()
            .is_err()
    );
    alarms
        .put_composite(
            composite(r#"ALARM("errors-high") AND NOT OK(errors-high)"#),
            T0,
        )
        .unwrap()
        .unwrap();
    let c = &alarms.composites().unwrap()[0];
    assert_eq!(
        c.state,
        StateValue::Ok,
        "errors-high is INSUFFICIENT_DATA, so the rule is false"
    );
    put(&store, T0 + MIN, 50.0);
    alarms.evaluate_all(T0 + MIN + 1000).unwrap();
    let c = &alarms.composites().unwrap()[0];
    assert_eq!(c.state, StateValue::Alarm);
    assert!(
        c.state_reason
            .contains("alarm:errors-high transitioned to ALARM"),
        "{}",
        c.state_reason
    );
    let pages: Vec<_> = rec
        .0
        .lock()
        .iter()
        .filter(|(arn, ..)| arn.ends_with(":pager"))
        .cloned()
        .collect();
    assert_eq!(pages.len(), 1);
    assert_eq!(
        pages[0].2["AlarmRule"],
        r#"ALARM("errors-high") AND NOT OK(errors-high)"#
    );
    let h = alarms
        .history(Some("fleet-bad"), Some("StateUpdate"), 0, i64::MAX, true)
        .unwrap();
    assert_eq!(
        h.iter().map(|h| h.alarm_type.as_str()).collect::<Vec<_>>(),
        ["CompositeAlarm", "CompositeAlarm"]
    );
    // Names are shared between metric and composite alarms.
    let mut clash = definition(1, 1, TreatMissing::Ignore);
    clash.name = "fleet-bad".into();
    assert!(alarms.put(clash, T0).is_err());
    alarms.delete(&["fleet-bad".into()]).unwrap();
    assert!(alarms.composites().unwrap().is_empty());
}
