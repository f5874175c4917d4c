//! Alarm actions through SNS: CloudWatch alarms name SNS topic ARNs as their actions; the
//! alarm store hands each state change's notification to [`SnsAlarmActions`], which
//! publishes it to the topic (subscribers receive CloudWatch's alarm JSON as the message).

use thingwatch_metrics::alarms::AlarmNotifier;

/// SNS `Subject` limit (characters); alarm subjects longer than it are cut, as AWS does.
const MAX_SUBJECT: usize = 100;

/// Runs alarm actions that are SNS topic ARNs; any other action (EC2, Auto Scaling,
/// Systems Manager) is reported as failed in the alarm's history.
pub struct SnsAlarmActions(pub thingwatch_sns::Sns);

impl AlarmNotifier for SnsAlarmActions {
    fn notify(&self, arn: &str, subject: &str, message: &str) -> Result<(), String> {
        if !arn.starts_with("arn:aws:sns:") {
            return Err(format!("The action {arn} is not supported by this server."));
        }
        let subject: String = subject.chars().take(MAX_SUBJECT).collect();
        self.0
            .publish(arn, Some(&subject), message)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
