//! Table-driven filter-pattern tests, with the examples of the AWS filter-pattern guide.

use super::*;

fn hits(pattern: &str, events: &[&str]) -> Vec<usize> {
    let p = match parse(pattern) {
        Ok(p) => p,
        Err(e) => panic!("pattern {pattern:?} failed to parse: {e}"),
    };
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| p.matches(e))
        .map(|(i, _)| i + 1)
        .collect()
}

#[test]
fn aws_term_examples() {
    // AWS guide: events 1..3 and the expected matches of each pattern.
    let events = ["ERROR WARN message", "ERROR message", "WARN message"];
    let table: &[(&str, &[usize])] = &[
        ("", &[1, 2, 3]),
        ("   ", &[1, 2, 3]),
        ("ERROR", &[1, 2]),
        ("?ERROR ?WARN", &[1, 2, 3]),
        ("ERROR WARN", &[1]),
        ("ERROR -WARN", &[2]),
        ("\"ERROR\" - \"WARN\"", &[2]),
        ("-ERROR", &[3]),
        ("\"ERROR WARN\"", &[1]),
        ("\"WARN ERROR\"", &[]),
        ("error", &[]),
        ("message ?WARN", &[1, 3]),
    ];
    for (pattern, want) in table {
        assert_eq!(hits(pattern, &events), *want, "pattern {pattern:?}");
    }
}

const JSON_EVENT: &str = r#"{
  "eventType": "UpdateTrail",
  "sourceIPAddress": "123.123.123.123",
  "arrayKey": ["value", "another value"],
  "objectList": [
    {"name": "a", "id": 1},
    {"name": "b", "id": 2}
  ],
  "SomeObject": null,
  "cluster.name": "c1",
  "ThisFlag": true,
  "OtherFlag": false,
  "latency": 550,
  "ratio": 0.25,
  "errorCode": 400,
  "code": "400",
  "user": {"id": 1, "email": "John.Doe@example.com"},
  "users": [{"id": 2, "email": "John.Stiles@example.com"}, 7],
  "coordinates": [[0, 1], [2, 3]],
  "actions": ["GetObject", "PutObject", "DeleteObject"],
  "escaped": "caf\u00e9 \"quoted\""
}"#;

#[test]
fn json_pattern_table() {
    let table: &[(&str, bool)] = &[
        (r#"{ $.eventType = "UpdateTrail" }"#, true),
        (r#"{ $.eventType = UpdateTrail }"#, true),
        (r#"{ $.eventType = "updatetrail" }"#, false),
        (r#"{ $.eventType != "UpdateTrail" }"#, false),
        (r#"{ $.eventType != "CreateTrail" }"#, true),
        (r#"{ $.eventType = "Update*" }"#, true),
        (r#"{ $.eventType = "*Trail" }"#, true),
        (r#"{ $.eventType = "Up*Tr*l" }"#, true),
        (r#"{ $.eventType = "*pdate*" }"#, true),
        (r#"{ $.eventType = "*Create*" }"#, false),
        (r#"{ $.eventType = * }"#, true),
        (r#"{ $.sourceIPAddress != 123.123.* }"#, false),
        (r#"{ $.sourceIPAddress != 124.* }"#, true),
        (r#"{ $.arrayKey[0] = "value" }"#, true),
        (r#"{ $.arrayKey[1] = "another value" }"#, true),
        (r#"{ $.arrayKey[2] = "value" }"#, false),
        (r#"{ $.objectList[1].id = 2 }"#, true),
        (r#"{ $.objectList[1].name = "a" }"#, false),
        (r#"{ $.SomeObject IS NULL }"#, true),
        (r#"{ $.eventType IS NULL }"#, false),
        (r#"{ $.SomeOtherObject NOT EXISTS }"#, true),
        (r#"{ $.SomeObject NOT EXISTS }"#, false),
        (r#"{ $.user NOT EXISTS }"#, false),
        (r#"{ $.ThisFlag IS TRUE }"#, true),
        (r#"{ $.ThisFlag IS FALSE }"#, false),
        (r#"{ $.OtherFlag IS FALSE }"#, true),
        (r#"{ $.latency >= 500 }"#, true),
        (r#"{ $.latency > 550 }"#, false),
        (r#"{ $.latency <= 550 }"#, true),
        (r#"{ $.latency < 5.5e2 }"#, false),
        (r#"{ $.latency > +1000 }"#, false),
        (r#"{ $.latency > -1 }"#, true),
        (r#"{ $.latency != 550 }"#, false),
        (r#"{ $.ratio < 0.3 }"#, true),
        (r#"{ $.errorCode = 400 }"#, true),
        (r#"{ $.errorCode = "400" }"#, true),
        (r#"{ $.code = 400 }"#, true),
        (r#"{ $.code > 300 }"#, false),
        (r#"{ $.coordinates[0][1] = 1 }"#, true),
        (r#"{ $.coordinates[1][0] < 10e3 }"#, true),
        (
            r#"{ ($.user.id = 1) && ($.users[0].email = "John.Stiles@example.com") }"#,
            true,
        ),
        (
            r#"{ ($.user.id = 2) && ($.users[0].email = "John.Stiles@example.com") }"#,
            false,
        ),
        (
            r#"{ $.user.email = "John.Doe@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }"#,
            true,
        ),
        (
            r#"{ ($.user.email = "John.Doe@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }"#,
            false,
        ),
        (
            r#"{ $.user.email = "Nobody" || $.actions[2] = "DeleteObject" }"#,
            true,
        ),
        (
            r#"{ ($.user.id = 1 && $.latency > 1000) || ($.ratio < 1 && $.actions[0] = "Get*") }"#,
            true,
        ),
        // Selector hits an object or array: neither = nor != match.
        (r#"{ $.users = 1 }"#, false),
        (r#"{ $.users != 1 }"#, false),
        (r#"{ $.user != "x" }"#, false),
        (r#"{ $.users[1] = 7 }"#, true),
        // Missing field: no comparison matches.
        (r#"{ $.nothing != "x" }"#, false),
        (r#"{ $.escaped = "café \"quoted\"" }"#, true),
        (r#"{ $.escaped = "caf*" }"#, true),
    ];
    for (pattern, want) in table {
        assert_eq!(
            hits(pattern, &[JSON_EVENT]) == [1],
            *want,
            "pattern {pattern}"
        );
    }
}

#[test]
fn iot_event_pattern() {
    let ev = |t: &str, c: &str| {
        format!(
            r#"{{"timestamp":"2026-11-21 10:00:00.123","logLevel":"INFO","traceId":"t","accountId":"123456789012","status":"Success","eventType":"{t}","protocol":"MQTT","clientId":"{c}"}}"#
        )
    };
    let events = [
        ev("Publish-In", "sensor-1"),
        ev("Publish-In", "sensor-10"),
        ev("Publish-Out", "sensor-1"),
        ev("Connect", "sensor-1"),
        "Publish-In sensor-1 plain text".to_string(),
    ];
    let refs: Vec<&str> = events.iter().map(String::as_str).collect();
    let table: &[(&str, &[usize])] = &[
        (
            r#"{ $.eventType = "Publish-In" && $.clientId = "sensor-1" }"#,
            &[1],
        ),
        (
            r#"{ $.eventType = "Publish-*" && $.clientId = "sensor-1" }"#,
            &[1, 3],
        ),
        (
            r#"{ $.eventType = "Publish-In" || $.eventType = "Connect" }"#,
            &[1, 2, 4],
        ),
        (r#"{ $.clientId = sensor-1* }"#, &[1, 2, 3, 4]),
        ("Publish-In", &[1, 2, 5]),
        ("\"sensor-1\"", &[1, 2, 3, 4, 5]),
        ("\"\\\"sensor-1\\\"\"", &[1, 3, 4]),
    ];
    for (pattern, want) in table {
        assert_eq!(hits(pattern, &refs), *want, "pattern {pattern}");
    }
}

#[test]
fn json_pattern_never_matches_non_json() {
    let events = [
        "eventType = Publish-In",
        "{ not json",
        "[1, 2]",
        r#"{"eventType":"Publish-In"} trailing"#,
        r#"{"eventType":"Publish-In"}"#,
        "",
    ];
    assert_eq!(hits(r#"{ $.eventType = "Publish-In" }"#, &events), [5]);
    assert_eq!(hits(r#"{ $.other NOT EXISTS }"#, &events), [5]);
}

#[test]
fn parse_errors_are_reported() {
    let table: &[(&str, &str)] = &[
        ("{ $.a = }", "expected a value"),
        ("{ $.a = 1", "expected '}'"),
        ("{ $.a }", "expected an operator"),
        ("{ a = 1 }", "expected a selector"),
        ("{ $.a > abc }", "needs a number"),
        ("{ $.a IS MAYBE }", "NULL, TRUE or FALSE"),
        ("{ $.a NOT THERE }", "EXISTS after NOT"),
        ("{ ($.a = 1 }", "expected ')'"),
        ("{ $.a = 1 } x", "after the closing"),
        ("{ $.a = \"x }", "unterminated quoted string"),
        ("{ $ = 1 }", "invalid selector"),
        ("{ $.a[x] = 1 }", "invalid selector"),
        ("{ $.a = 1 && }", "expected a selector"),
        ("\"unterminated", "unterminated quoted string"),
        ("ERROR ?", "must be followed by a term"),
        ("\"\"", "empty quoted term"),
        ("[ip, user]", "not supported yet"),
        ("%ERR(OR)%", "must not contain parentheses"),
        ("%ERR% x", "single %...%"),
        ("%%", "empty regular expression"),
        ("%[%", "invalid regular expression"),
        ("{ $.a > %x% }", "only be compared with = or !="),
        (
            "{ $.a = %x% || $.b = %y% || $.c = %z% }",
            "at most 2 regular expressions",
        ),
    ];
    for (pattern, want) in table {
        match parse(pattern) {
            Ok(p) => panic!("{pattern:?} parsed as {:?}", p.ast()),
            Err(e) => {
                let text = e.to_string();
                assert!(text.starts_with("Invalid filter pattern: "), "{text}");
                assert!(text.contains(want), "{pattern:?}: {text:?} lacks {want:?}");
            }
        }
    }
}

#[test]
fn globs() {
    let table: &[(&str, &str, bool)] = &[
        ("abc", "abc", true),
        ("abc", "abcd", false),
        ("", "", true),
        ("", "x", false),
        ("*", "", true),
        ("*", "anything", true),
        ("a*", "abc", true),
        ("a*", "ba", false),
        ("*c", "abc", true),
        ("*c", "cb", false),
        ("a*c", "abc", true),
        ("a*c", "ac", true),
        ("a*c", "a", false),
        ("a*b*c", "axxbyyc", true),
        ("a*b*c", "acb", false),
        ("*b*", "abc", true),
        ("*b*", "ac", false),
        ("ab*ab", "ab", false),
        ("ab*ab", "abab", true),
    ];
    for (g, text, want) in table {
        assert_eq!(Glob::new(g).matches(text), *want, "glob {g:?} on {text:?}");
    }
}

#[test]
fn precheck_does_not_change_results_with_escapes() {
    // The raw message spells the value with a \u escape: the substring pre-check must be
    // skipped, not reject the event.
    let msg = r#"{"eventType":"Publish\u002dIn","k\u0065y":"v"}"#;
    let p =
        parse(r#"{ $.eventType = "Publish-In" && $.key = v }"#).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.matches(msg));
}

#[test]
fn regex_patterns() {
    let events = ["ERROR 401 AUTHORIZED", "WARN code=500", "INFO ok"];
    let table: &[(&str, &[usize])] = &[
        ("%AUTHORIZED%", &[1]),
        ("%[0-9]{3}%", &[1, 2]),
        ("%^WARN%", &[2]),
        ("%ok$%", &[3]),
        ("%=5[0-9]+%", &[2]),
    ];
    for (pattern, want) in table {
        assert_eq!(hits(pattern, &events), *want, "pattern {pattern}");
    }
    let json_table: &[(&str, bool)] = &[
        (r#"{ $.eventType = %^Update% }"#, true),
        (r#"{ $.eventType = %Trail$% && $.latency = %^55% }"#, true),
        (r#"{ $.eventType != %^Update% }"#, false),
        (r#"{ $.eventType = %^Create% }"#, false),
        (r#"{ $.user = %.% }"#, false),
        (r#"{ $.missing != %x% }"#, false),
    ];
    for (pattern, want) in json_table {
        assert_eq!(
            hits(pattern, &[JSON_EVENT]) == [1],
            *want,
            "pattern {pattern}"
        );
    }
}

/// Messages that spell values in ways a raw-byte pre-check could misread: whitespace around
/// `:`, exponents, fractions, signs, nested and repeated keys, keys appearing as values,
/// arrays, escapes, non-JSON.
const TRICKY: &[&str] = &[
    r#"{"eventType":"Publish-In","clientId":"sensor-17","sourcePort":64001}"#,
    r#"{"eventType" : "Publish-In" , "clientId" :	"sensor-17", "sourcePort" :
 64001 }"#,
    r#"{"sourcePort":6.4e4}"#,
    r#"{"sourcePort":6.40001E4}"#,
    r#"{"sourcePort":64000.5}"#,
    r#"{"sourcePort":64000}"#,
    r#"{"sourcePort":-64001}"#,
    r#"{"sourcePort":640010e-1}"#,
    r#"{"sourcePort":0}"#,
    r#"{"sourcePort":-0}"#,
    r#"{"sourcePort":1e2}"#,
    r#"{"sourcePort":100000000000000000000000}"#,
    r#"{"sourcePort":"64001"}"#,
    r#"{"sourcePort":"65000","x":1}"#,
    r#"{"sourcePort":true}"#,
    r#"{"sourcePort":null}"#,
    r#"{"sourcePort":[64001]}"#,
    r#"{"sourcePort":{"sourcePort":64001}}"#,
    r#"{"a":{"sourcePort":64001},"sourcePort":1}"#,
    r#"{"sourcePort":1,"a":{"sourcePort":64001}}"#,
    r#"{"sourcePort":1,"sourcePort":64001}"#,
    r#"{"sourcePort":64001,"sourcePort":1}"#,
    r#"{"note":"sourcePort","sourcePort":64001}"#,
    r#"{"note":"\"sourcePort\":1","sourcePort":64001}"#,
    r#"{"source\u0050ort":64001}"#,
    r#"{"eventType":"Publish\u002dIn","clientId":"sensor\u002d17"}"#,
    r#"{"eventType":"Publish-In","clientId":"sensor-17","extra":"\n"}"#,
    r#"{"eventType":"Publish-Out","clientId":"sensor-17"}"#,
    r#"{"eventType":"Publish-In","clientId":"sensor-170"}"#,
    r#"{"clientId":"sensor-17","eventType":"Publish-In"}"#,
    r#"{"a":{"b":[{"c":"x"},{"c":"sensor-17"}]},"clientId":"sensor-17"}"#,
    r#"{"a":{"b":[{"c":"sensor-17"},{"c":"x"}]}}"#,
    r#"{"a":{"b":"sensor-17"},"b":1}"#,
    r#"{"a":{"b":100},"b":"sensor-17"}"#,
    r#"{"a":[10,20,30],"b":{"c":true,"d":false,"e":null}}"#,
    r#"{"a":[10,20,30],"b":{"c":"true","d":"false","e":"null"}}"#,
    r#"{"latency":550,"code":"400","errorCode":400}"#,
    r#"{"latency":5.5e2,"code":400,"errorCode":"400"}"#,
    r#"{"latency":1e2,"code":4e2}"#,
    r#"{"eventType":"Publish-In","clientId":"sensor-17"} trailing"#,
    r#"{"eventType":"Publish-In","clientId":"sensor-17""#,
    r#"{"sourcePort":64001"#,
    r#"{"sourcePort":"64001"#,
    r#"[{"sourcePort":64001}]"#,
    "sourcePort 64001 Publish-In sensor-17",
    r#"  {"clientId":"café-17","sourcePort":64001.0}"#,
];

#[test]
fn json_precheck_never_rejects_a_real_match() {
    let patterns = [
        r#"{ $.eventType = "Publish-In" && $.clientId = "sensor-17" }"#,
        r#"{ $.eventType = "Publish-*" || $.clientId = "*-17" }"#,
        r#"{ $.eventType != "Publish-In" }"#,
        "{ $.sourcePort > 64000 }",
        "{ $.sourcePort >= 64000 }",
        "{ $.sourcePort < 64000 }",
        "{ $.sourcePort <= 0 }",
        "{ $.sourcePort = 64000 }",
        "{ $.sourcePort != 64000 }",
        "{ $.sourcePort = 64001 }",
        r#"{ $.sourcePort = "64001" }"#,
        "{ $.sourcePort = 6400* }",
        "{ $.sourcePort = *00 }",
        "{ $.sourcePort = %^64% }",
        "{ $.sourcePort IS NULL }",
        "{ $.sourcePort IS TRUE }",
        "{ $.sourcePort NOT EXISTS }",
        "{ $.a.sourcePort > 64000 }",
        "{ $.sourcePort.sourcePort > 64000 }",
        "{ $.a.b[1].c = \"sensor-17\" }",
        "{ $.a.b = \"sensor-17\" }",
        "{ $.a.b > 50 }",
        "{ $.a[1] = 20 }",
        "{ $.a[1] > 15 && $.b.c IS TRUE }",
        "{ $.b.d IS FALSE || $.b.e IS NULL }",
        "{ $.b.c = true }",
        "{ $.b.e = null }",
        "{ $.latency = 550 && $.code = 400 }",
        "{ $.latency < 5.5e2 || $.errorCode = \"400\" }",
        "{ $.latency = 1* }",
        "{ $.latency = *00 }",
        "{ $.code = 4* }",
        "{ $.clientId = café* }",
        "{ $.clientId = %sensor-1[0-9]$% }",
        "{ ($.sourcePort > 1 && $.sourcePort < 70000) || $.clientId NOT EXISTS }",
    ];
    let mut hits = 0;
    for pattern in patterns {
        let p = parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        for msg in TRICKY {
            let full = p.matches_unfiltered(msg.as_bytes());
            assert_eq!(p.matches(msg), full, "pattern {pattern} on {msg}");
            hits += usize::from(full);
        }
    }
    // The table exercises matches, not only rejections.
    assert!(hits > 60, "{hits}");
}

#[test]
fn json_precheck_reads_raw_values() {
    // Spot checks of the verdicts themselves (the differential test above proves agreement).
    let table: &[(&str, &str, bool)] = &[
        (
            "{ $.sourcePort > 64000 }",
            r#"{"sourcePort":6.40001E4}"#,
            true,
        ),
        (
            "{ $.sourcePort > 64000 }",
            r#"{"sourcePort" : 6.4e4}"#,
            false,
        ),
        (
            "{ $.sourcePort > 64000 }",
            r#"{"sourcePort":1,"sourcePort":64001}"#,
            true,
        ),
        (
            "{ $.sourcePort > 64000 }",
            r#"{"sourcePort":64001,"sourcePort":1}"#,
            false,
        ),
        (
            "{ $.sourcePort > 64000 }",
            r#"{"a":{"sourcePort":64001}}"#,
            false,
        ),
        (
            "{ $.sourcePort > 64000 }",
            r#"{"source\u0050ort":64001}"#,
            true,
        ),
        ("{ $.sourcePort = *00 }", r#"{"sourcePort":1e2}"#, true),
        (
            "{ $.sourcePort = 64001 }",
            r#"{"sourcePort":"64001"}"#,
            true,
        ),
        (
            r#"{ $.clientId = "sensor-17" }"#,
            r#"{"clientId":"sensor\u002d17"}"#,
            true,
        ),
        (
            r#"{ $.clientId = "sensor-17" }"#,
            r#"{"clientId":"sensor-17" "#,
            false,
        ),
    ];
    for (pattern, msg, want) in table {
        let p = parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        assert_eq!(p.matches(msg), *want, "{pattern} on {msg}");
    }
}
