//! Conformance of the AWS IoT SQL implementation with the examples and type tables of the
//! AWS IoT SQL reference (AWS IoT Developer Guide, iot-sql-*.html pages): one table of
//! statements with their payload, topic and expected output (or "no match"), one table of
//! malformed statements that must be refused with a positioned error, and a check that
//! garbage input never panics.
//!
//! Each case names its source as `page#section` (page = the guide's file name without
//! `iot-sql-` and `.html`). Cases marked "table" come from a type table row rather than a
//! worked example.

use thingwatch_iotsql::{
    Context, EvalError, Message, MqttProperties, Output, SqlVersion, Statement, Template,
    TestContext, Value, substitute,
};

const V1: SqlVersion = SqlVersion::V2015_10_08;
const V2: SqlVersion = SqlVersion::V2016_03_23;

#[derive(Debug)]
enum Expect {
    /// The output JSON (compared as JSON values, so Int 5 and Decimal 5.0 differ).
    Json(String),
    /// FROM does not match or WHERE is not true.
    NoMatch,
    /// The raw bytes of a binary payload.
    Binary(&'static [u8]),
}

struct Case {
    src: &'static str,
    sql: String,
    version: SqlVersion,
    topic: &'static str,
    payload: &'static [u8],
    expect: Expect,
}

/// A whole statement.
fn stmt(
    src: &'static str,
    sql: &str,
    topic: &'static str,
    payload: &'static str,
    expect: &str,
) -> Case {
    Case {
        src,
        sql: sql.to_string(),
        version: V2,
        topic,
        payload: payload.as_bytes(),
        expect: match expect {
            "NO MATCH" => Expect::NoMatch,
            json => Expect::Json(json.to_string()),
        },
    }
}

/// One expression, evaluated as `SELECT <expr> AS r FROM 't/#'` on `payload`; `expected` is
/// the JSON of `r`, or `undefined` (then `r` is omitted and the output is `{}`).
fn expr_on(src: &'static str, expr: &str, payload: &'static str, expected: &str) -> Case {
    let expect = if expected == "undefined" {
        "{}".to_string()
    } else {
        format!("{{\"r\":{expected}}}")
    };
    Case {
        src,
        sql: format!("SELECT {expr} AS r FROM 't/#'"),
        version: V2,
        topic: "t/a/b",
        payload: payload.as_bytes(),
        expect: Expect::Json(expect),
    }
}

fn expr(src: &'static str, e: &str, expected: &str) -> Case {
    expr_on(src, e, "{}", expected)
}

fn v1(mut c: Case) -> Case {
    c.version = V1;
    c
}

fn ctx() -> TestContext {
    let mut c = TestContext::default();
    c.shadows.push((
        ("MyThing".into(), Some("MyThingShadow".into())),
        Value::from_json_slice(br#"{"state":{"reported":{"alarm":"ON"}}}"#).unwrap(),
    ));
    c.shadows.push((
        ("MyThing".into(), None),
        Value::from_json_slice(br#"{"state":{"reported":{"alarm":"OFF"}}}"#).unwrap(),
    ));
    c
}

const SENSORS: &str = r#"{"e":[{"n":"temperature","u":"Cel","t":1234,"v":22.5},{"n":"light","u":"lm","t":1235,"v":135},{"n":"acidity","u":"pH","t":1235,"v":7}]}"#;
const TRANSFORM: &str =
    r#"{"attributes":{"data1":1,"data2":2},"values":[{"a":3},{"b":4},{"c":5}]}"#;
const TRANSFORM3: &str = r#"{"data1":"example","data2":{"a":"first attribute","b":"second attribute","c":[{"x":{"someInt":5,"someString":"hello"},"y":true},{"x":{"someInt":10,"someString":"world"},"y":false}]}}"#;
const DEVICE: &str = r#"{"deviceid":"iot123","temp":54.98,"humidity":32.43,"coords":{"latitude":47.615694,"longitude":-122.3359976}}"#;

fn cases() -> Vec<Case> {
    let rc = "{\"color\":\"red\", \"temperature\":50}";
    let mut v = vec![
        // --- reference ---
        stmt(
            "reference#example",
            "SELECT color AS rgb FROM 'topic/subtopic' WHERE temperature > 50",
            "topic/subtopic",
            r#"{"color":"red","temperature":100}"#,
            r#"{"rgb":"red"}"#,
        ),
        // --- select ---
        stmt(
            "select#star",
            "SELECT * FROM 'topic/subtopic'",
            "topic/subtopic",
            rc,
            r#"{"color":"red","temperature":50}"#,
        ),
        stmt(
            "select#key",
            "SELECT color FROM 'topic/subtopic'",
            "topic/subtopic",
            rc,
            r#"{"color":"red"}"#,
        ),
        stmt(
            "select#as",
            "SELECT color AS my_color FROM 'topic/subtopic'",
            "topic/subtopic",
            rc,
            r#"{"my_color":"red"}"#,
        ),
        stmt(
            "select#multiple",
            "SELECT color as my_color, temperature as fahrenheit FROM 'topic/subtopic'",
            "topic/subtopic",
            rc,
            r#"{"my_color":"red","fahrenheit":50}"#,
        ),
        stmt(
            "select#star-plus",
            "SELECT *, 15 as speed FROM 'topic/subtopic'",
            "topic/subtopic",
            rc,
            r#"{"color":"red","temperature":50,"speed":15}"#,
        ),
        stmt(
            "select#value",
            "SELECT VALUE color FROM 'topic/subtopic'",
            "topic/subtopic",
            rc,
            r#""red""#,
        ),
        stmt(
            "select#dot",
            "SELECT color.red as red_value FROM 'topic/subtopic'",
            "topic/subtopic",
            r#"{"color":{"red":255,"green":0,"blue":0},"temperature":50}"#,
            r#"{"red_value":255}"#,
        ),
        stmt(
            "select#functions",
            "SELECT (temperature - 32) * 5 / 9 AS celsius, upper(color) as my_color FROM 'topic/subtopic'",
            "topic/subtopic",
            rc,
            r#"{"celsius":10,"my_color":"RED"}"#,
        ),
        stmt(
            "select#value-array (2016-03-23)",
            "SELECT VALUE [color, temperature] FROM 'topic/subtopic'",
            "topic/subtopic",
            rc,
            r#"["red",50]"#,
        ),
        stmt(
            "select#keywords-case-insensitive",
            "select color As c from 'topic/subtopic' where TEMPERATURE > 1 or temperature > 1",
            "topic/subtopic",
            rc,
            r#"{"c":"red"}"#,
        ),
        // --- where ---
        stmt(
            "where#example",
            "SELECT color AS my_color FROM 'topic/subtopic' WHERE temperature > 50 AND color <> 'red'",
            "topic/subtopic",
            r#"{"color":"red","temperature":40}"#,
            "NO MATCH",
        ),
        stmt(
            "where#example (true)",
            "SELECT color AS my_color FROM 'topic/subtopic' WHERE temperature > 30 AND color <> 'blue'",
            "topic/subtopic",
            r#"{"color":"red","temperature":40}"#,
            r#"{"my_color":"red"}"#,
        ),
        stmt(
            "where#no-alias",
            "SELECT temperature AS t FROM 'topic/subtopic' WHERE t > 30",
            "topic/subtopic",
            r#"{"temperature":40}"#,
            "NO MATCH",
        ),
        stmt(
            "where#non-json",
            "SELECT decode(encode(*, 'base64'), 'base64') AS value FROM 'topic/subtopic' WHERE decode(encode(*, 'base64'), 'base64') > 50",
            "topic/subtopic",
            "80",
            r#"{"value":80}"#,
        ),
        stmt(
            "where#undefined",
            "SELECT * FROM 't' WHERE missing > 5",
            "t",
            "{}",
            "NO MATCH",
        ),
        stmt(
            "where#string-true",
            "SELECT a FROM 't' WHERE 'TRUE'",
            "t",
            r#"{"a":1}"#,
            r#"{"a":1}"#,
        ),
        // --- from ---
        stmt(
            "from#example",
            "SELECT temperature AS t FROM 'topic/subtopic'",
            "topic/subtopic",
            r#"{"temperature":50}"#,
            r#"{"t":50}"#,
        ),
        stmt(
            "from#example (other topic)",
            "SELECT temperature AS t FROM 'topic/subtopic'",
            "topic/subtopic-2",
            r#"{"temperature":50}"#,
            "NO MATCH",
        ),
        stmt(
            "from#hash 1",
            "SELECT temperature AS t FROM 'topic/#'",
            "topic/subtopic",
            r#"{"temperature":50}"#,
            r#"{"t":50}"#,
        ),
        stmt(
            "from#hash 2",
            "SELECT temperature AS t FROM 'topic/#'",
            "topic/subtopic-2",
            r#"{"temperature":60}"#,
            r#"{"t":60}"#,
        ),
        stmt(
            "from#hash 3",
            "SELECT temperature AS t FROM 'topic/#'",
            "topic/subtopic-3/details",
            r#"{"temperature":70}"#,
            r#"{"t":70}"#,
        ),
        stmt(
            "from#hash 4",
            "SELECT temperature AS t FROM 'topic/#'",
            "topic-2/subtopic-x",
            r#"{"temperature":80}"#,
            "NO MATCH",
        ),
        stmt(
            "from#plus 1",
            "SELECT temperature AS t FROM 'topic/+'",
            "topic/subtopic",
            r#"{"temperature":50}"#,
            r#"{"t":50}"#,
        ),
        stmt(
            "from#plus 2",
            "SELECT temperature AS t FROM 'topic/+'",
            "topic/subtopic-2",
            r#"{"temperature":60}"#,
            r#"{"t":60}"#,
        ),
        stmt(
            "from#plus 3",
            "SELECT temperature AS t FROM 'topic/+'",
            "topic/subtopic-3/details",
            r#"{"temperature":70}"#,
            "NO MATCH",
        ),
        stmt(
            "from#plus 4",
            "SELECT temperature AS t FROM 'topic/+'",
            "topic-2/subtopic-x",
            r#"{"temperature":80}"#,
            "NO MATCH",
        ),
        stmt(
            "functions#topic (Basic Ingest)",
            "SELECT topic() AS t, topic(3) AS f FROM 'Buildings/#'",
            "$aws/rules/BuildingManager/Buildings/Building5/Floor2/Room201/Lights",
            "{}",
            r#"{"t":"Buildings/Building5/Floor2/Room201/Lights","f":"Floor2"}"#,
        ),
        // --- case ---
        stmt(
            "case#example",
            "SELECT CASE color WHEN 'green' THEN 'go' WHEN 'yellow' THEN 'caution' WHEN 'red' THEN 'stop' ELSE 'you are not at a stop light' END as instructions FROM 'topic/subtopic'",
            "topic/subtopic",
            r#"{"color":"yellow"}"#,
            r#"{"instructions":"caution"}"#,
        ),
        stmt(
            "case#else",
            "SELECT CASE color WHEN 'green' THEN 'go' ELSE 'you are not at a stop light' END as instructions FROM 'topic/subtopic'",
            "topic/subtopic",
            r#"{"color":"blue"}"#,
            r#"{"instructions":"you are not at a stop light"}"#,
        ),
        stmt(
            "case#no-else",
            "SELECT CASE color WHEN 'green' THEN 'go' END as instructions FROM 'topic/subtopic'",
            "topic/subtopic",
            r#"{"color":"blue"}"#,
            "{}",
        ),
        stmt(
            "case#undefined-subject",
            "SELECT CASE nothing WHEN 'green' THEN 'go' ELSE 'x' END as instructions FROM 'topic/subtopic'",
            "topic/subtopic",
            r#"{"color":"blue"}"#,
            "{}",
        ),
        stmt(
            "case#first-match",
            "SELECT CASE n WHEN 1 THEN 'a' WHEN 1 THEN 'b' END AS r FROM 't'",
            "t",
            r#"{"n":1}"#,
            r#"{"r":"a"}"#,
        ),
        stmt(
            "case#searched (extension)",
            "SELECT CASE WHEN temp > 30 THEN 'hot' WHEN temp > 10 THEN 'mild' ELSE 'cold' END AS r FROM 't'",
            "t",
            r#"{"temp":20}"#,
            r#"{"r":"mild"}"#,
        ),
        // --- literals ---
        stmt(
            "literals#object",
            "SELECT {'latitude': get(lat_long, 0),'longitude':get(lat_long, 1)} as lat_long FROM 'topic/subtopic'",
            "topic/subtopic",
            r#"{"lat_long":[47.606,-122.332]}"#,
            r#"{"lat_long":{"latitude":47.606,"longitude":-122.332}}"#,
        ),
        stmt(
            "literals#array",
            "SELECT [lat,long] as lat_long FROM 'topic/subtopic'",
            "topic/subtopic",
            r#"{"lat":47.606,"long":-122.332}"#,
            r#"{"lat_long":[47.606,-122.332]}"#,
        ),
        // --- nested queries ---
        stmt(
            "nested-queries#value",
            "SELECT (SELECT VALUE n FROM e) as sensors FROM 'my/topic'",
            "my/topic",
            SENSORS,
            r#"{"sensors":["temperature","light","acidity"]}"#,
        ),
        stmt(
            "nested-queries#where",
            "SELECT (SELECT v FROM e WHERE n = 'temperature') as temperature FROM 'my/topic'",
            "my/topic",
            SENSORS,
            r#"{"temperature":[{"v":22.5}]}"#,
        ),
        stmt(
            "nested-queries#flatten",
            "SELECT get((SELECT v FROM e WHERE n = 'temperature'), 0).v as temperature FROM 'topic'",
            "topic",
            SENSORS,
            r#"{"temperature":22.5}"#,
        ),
        stmt(
            "nested-queries#element-alias",
            "SELECT (SELECT VALUE x.v FROM x) AS vals FROM 't'",
            "t",
            r#"{"x":[{"v":1},{"v":2}]}"#,
            r#"{"vals":[1,2]}"#,
        ),
        stmt(
            "nested-queries#element-as",
            "SELECT (SELECT VALUE el.v FROM e AS el WHERE el.v > 1) AS vals FROM 't'",
            "t",
            r#"{"e":[{"v":1},{"v":2}]}"#,
            r#"{"vals":[2]}"#,
        ),
        // --- JSON extensions ---
        stmt(
            "json#dot-alias",
            "SELECT foo.bar AS bar.baz FROM 'topic/subtopic'",
            "topic/subtopic",
            r#"{"foo":{"bar":"RED","bar1":"GREEN","bar2":"BLUE"}}"#,
            r#"{"bar":{"baz":"RED"}}"#,
        ),
        stmt(
            "json#get-hyphen",
            r#"SELECT * from 'iot/rules' WHERE get(get(get(mydata,"item2"),"0"),"my-key") = "myValue""#,
            "iot/rules",
            r#"{"mydata":{"item2":{"0":{"my-key":"myValue"}}}}"#,
            r#"{"mydata":{"item2":{"0":{"my-key":"myValue"}}}}"#,
        ),
        stmt(
            "json#star",
            "SELECT * FROM 'topic/subtopic'",
            "topic/subtopic",
            DEVICE,
            DEVICE,
        ),
        stmt(
            "json#function",
            "SELECT temp, md5(deviceid) AS hashed_id FROM 'topic/#'",
            "topic/x",
            DEVICE,
            r#"{"temp":54.98,"hashed_id":"e37f81fb397e595c4aeb5645b8cbbbd1"}"#,
        ),
        stmt(
            "json#index (extension)",
            "SELECT e[1].n AS second FROM 't'",
            "t",
            SENSORS,
            r#"{"second":"light"}"#,
        ),
        // --- set (iot-sql-set.html) ---
        // The guide's example payload is 75 °F with output 23.89, which contradicts its own
        // Int / Int = Int operator table; this payload divides evenly.
        stmt(
            "set#basic",
            "SET @temp_celsius = (temp_fahrenheit - 32) * 5 / 9 SELECT @temp_celsius AS celsius, humidity FROM 'device/data'",
            "device/data",
            r#"{"temp_fahrenheit":212,"humidity":60}"#,
            r#"{"celsius":100,"humidity":60}"#,
        ),
        stmt(
            "set#members",
            "SET @device_sensor_data = device1.deviceData.sensors SELECT @device_sensor_data.temp_fahrenheit AS temp_fahrenheit, @device_sensor_data.humidity as humidity, device1.deviceData.location[1] as location FROM 'device/data'",
            "device/data",
            r#"{"device1":{"deviceId":"weather_sensor","deviceData":{"sensors":{"temp_fahrenheit":75,"humidity":60},"location":[47.606,-122.332]}}}"#,
            r#"{"temp_fahrenheit":75,"humidity":60,"location":-122.332}"#,
        ),
        stmt(
            "set#where",
            "SET @t = temperature, @hot = @t > 30 SELECT @t AS t FROM 't' WHERE @hot",
            "t",
            r#"{"temperature":40}"#,
            r#"{"t":40}"#,
        ),
        stmt(
            "set#where (false)",
            "SET @t = temperature, @hot = @t > 30 SELECT @t AS t FROM 't' WHERE @hot",
            "t",
            r#"{"temperature":20}"#,
            "NO MATCH",
        ),
        stmt(
            "set#nested",
            "SET @unit = 'Cel' SELECT (SELECT VALUE v FROM e WHERE u = @unit) AS celsius FROM 'my/topic'",
            "my/topic",
            SENSORS,
            r#"{"celsius":[22.5]}"#,
        ),
        // --- data types ---
        stmt(
            "data-types#null",
            "SELECT NULL AS n FROM 'topic/subtopic'",
            "topic/subtopic",
            "{}",
            r#"{"n":null}"#,
        ),
        stmt(
            "data-types#undefined",
            "SELECT foo, bar FROM 't'",
            "t",
            r#"{"foo":null}"#,
            r#"{"foo":null}"#,
        ),
        stmt(
            "data-types#whole-decimal-v2",
            "SELECT x FROM 't'",
            "t",
            r#"{"x":10.0}"#,
            r#"{"x":10}"#,
        ),
        v1(stmt(
            "data-types#whole-decimal-v1",
            "SELECT x FROM 't'",
            "t",
            r#"{"x":10.0}"#,
            r#"{"x":10.0}"#,
        )),
        stmt(
            "data-types#conversion abs",
            "SELECT abs(s) AS r FROM 't'",
            "t",
            r#"{"s":"-5.123"}"#,
            r#"{"r":5.123}"#,
        ),
        // --- binary payloads ---
        Case {
            src: "binary-payloads#select-star",
            sql: "SELECT * FROM 'topic/subtopic'".into(),
            version: V2,
            topic: "topic/subtopic",
            payload: b"\x00\x01\xffraw",
            expect: Expect::Binary(b"\x00\x01\xffraw"),
        },
        Case {
            src: "binary-payloads#where-timestamp",
            sql: "SELECT * FROM 'topic/subtopic' WHERE timestamp() % 5 = 0".into(),
            version: V2,
            topic: "topic/subtopic",
            payload: b"\x00bin",
            expect: Expect::Binary(b"\x00bin"),
        },
        stmt(
            "binary-payloads#where-timestamp (false)",
            "SELECT * FROM 'topic/subtopic' WHERE timestamp() % 12 = 0",
            "topic/subtopic",
            "\u{1}bin",
            "NO MATCH",
        ),
        stmt(
            "binary-payloads#add-data (empty payload)",
            "SELECT *, principal() as principal, timestamp() as time FROM 'topic/subtopic'",
            "topic/subtopic",
            "",
            r#"{"principal":"ba67293af50bf2506f5f93469686da660c7c844e7b3950bfb16813e0d31e9373","time":1481825251155}"#,
        ),
        stmt(
            "binary-payloads#encode",
            "SELECT encode(*, 'base64') AS data, timestamp() AS ts FROM 'topic/subtopic'",
            "topic/subtopic",
            "hello\u{1}",
            r#"{"data":"aGVsbG8B","ts":1481825251155}"#,
        ),
        stmt(
            "binary-payloads#where-field",
            "SELECT * FROM 'topic/subtopic' WHERE device_type = 'thermostat'",
            "topic/subtopic",
            "\u{2}not json",
            "NO MATCH",
        ),
        stmt(
            "binary-payloads#where-field (json)",
            "SELECT device_type FROM 'topic/subtopic' WHERE device_type = 'thermostat'",
            "topic/subtopic",
            r#"{"device_type":"thermostat"}"#,
            r#"{"device_type":"thermostat"}"#,
        ),
        stmt(
            "binary-payloads#lambda-base64",
            "SELECT encode(*, 'base64') AS data FROM 'my_topic'",
            "my_topic",
            r#"{"a":1}"#,
            r#"{"data":"eyJhIjoxfQ=="}"#,
        ),
        stmt(
            "binary-payloads#decode-encode",
            "SELECT decode(encode(*, 'base64'), 'base64') AS payload FROM 'topic'",
            "topic",
            r#"{"a":1}"#,
            r#"{"payload":{"a":1}}"#,
        ),
        stmt(
            "binary-payloads#decode-encode (text)",
            "SELECT decode(encode(*, 'base64'), 'base64') AS payload FROM 'topic'",
            "topic",
            "plain text",
            r#"{"payload":"plain text"}"#,
        ),
        // --- functions: whole statements ---
        stmt(
            "functions#decode",
            r#"SELECT decode(encoded_temp,"base64").temperature AS temp from 'topic/subtopic'"#,
            "topic/subtopic",
            r#"{"encoded_temp":"eyAidGVtcGVyYXR1cmUiOiAzMyB9Cg=="}"#,
            r#"{"temp":33}"#,
        ),
        stmt(
            "functions#transform example 1",
            r#"select value transform("enrichArray", attributes, values) from 'A/B'"#,
            "A/B",
            TRANSFORM,
            r#"[{"a":3,"data1":1,"data2":2},{"b":4,"data1":1,"data2":2},{"c":5,"data1":1,"data2":2}]"#,
        ),
        stmt(
            "functions#transform example 2",
            r#"select value transform("enrichArray", {"key": attributes.data1}, values) from 'A/B'"#,
            "A/B",
            TRANSFORM,
            r#"[{"a":3,"key":1},{"b":4,"key":1},{"c":5,"key":1}]"#,
        ),
        stmt(
            "functions#transform example 3",
            "select value transform('enrichArray', (select a, b from data2), (select value c from data2)) from 'A/B'",
            "A/B",
            TRANSFORM3,
            r#"[{"x":{"someInt":5,"someString":"hello"},"y":true,"a":"first attribute","b":"second attribute"},{"x":{"someInt":10,"someString":"world"},"y":false,"a":"first attribute","b":"second attribute"}]"#,
        ),
        stmt(
            "functions#get_thing_shadow named",
            r#"SELECT * from 'topic/subtopic' WHERE get_thing_shadow("MyThing","MyThingShadow","arn:aws:iam::123456789012:role/AllowsThingShadowAccess").state.reported.alarm = 'ON'"#,
            "topic/subtopic",
            r#"{"a":1}"#,
            r#"{"a":1}"#,
        ),
        stmt(
            "functions#get_thing_shadow classic",
            r#"SELECT * from 'topic/subtopic' WHERE get_thing_shadow("MyThing","arn:aws:iam::123456789012:role/AllowsThingShadowAccess").state.reported.alarm = 'ON'"#,
            "topic/subtopic",
            r#"{"a":1}"#,
            "NO MATCH",
        ),
        stmt(
            "functions#topic",
            "SELECT topic() AS t, topic(1) AS one FROM 'things/#'",
            "things/myThings/thingOne",
            "{}",
            r#"{"t":"things/myThings/thingOne","one":"things"}"#,
        ),
        stmt(
            "functions#topic out of range",
            "SELECT topic(9) AS t FROM 'things/#'",
            "things/myThings/thingOne",
            "{}",
            "{}",
        ),
        stmt(
            "functions#sql_version v1",
            "SELECT sql_version() AS v FROM 't'",
            "t",
            "{}",
            r#"{"v":"2016-03-23"}"#,
        ),
        v1(stmt(
            "functions#sql_version",
            "SELECT sql_version() AS v FROM 't'",
            "t",
            "{}",
            r#"{"v":"2015-10-08"}"#,
        )),
        stmt(
            "functions#clientid",
            "SELECT clientid() AS c, traceid() AS t, principal() AS p, accountid() AS a, newuuid() AS u, sourceip() AS ip FROM 't'",
            "t",
            "{}",
            r#"{"c":"client-1","t":"12345678-1234-1234-1234-123456789012","p":"ba67293af50bf2506f5f93469686da660c7c844e7b3950bfb16813e0d31e9373","a":"123456789012","u":"123e4567-e89b-12d3-a456-426614174000","ip":"192.0.2.1"}"#,
        ),
        stmt(
            "substitution-templates#parse_time",
            r#"SELECT parse_time("yyyy", timestamp(), "UTC") AS key FROM 'A/B'"#,
            "A/B",
            "{}",
            r#"{"key":"2016"}"#,
        ),
        stmt(
            "functions#parse_time (UTC)",
            r#"SELECT parse_time("yyyy.MM.dd G 'at' HH:mm:ss z", 100000000) as ts FROM 'A/B'"#,
            "A/B",
            "{}",
            r#"{"ts":"1970.01.02 AD at 03:46:40 UTC"}"#,
        ),
        stmt(
            "functions#aws_lambda (input)",
            r#"SELECT isUndefined(attribute3) AS r FROM 'topic-filter' WHERE attribute1 = 21"#,
            "topic-filter",
            r#"{"attribute1":21,"attribute2":"value"}"#,
            r#"{"r":true}"#,
        ),
    ];

    // --- operators (table rows) ---
    let ops: &[(&str, &str)] = &[
        ("true AND true", "true"),
        ("true AND false", "false"),
        ("'true' AND 'TRUE'", "true"),
        ("'true' AND false", "false"),
        ("1 AND true", "undefined"),
        ("false OR false", "false"),
        ("'false' OR true", "true"),
        ("'yes' OR 'no'", "undefined"),
        ("NOT true", "false"),
        ("NOT 'FALSE'", "true"),
        ("NOT 5", "undefined"),
        ("5 > 3", "true"),
        ("'5' > 3", "true"),
        ("'abc' > 3", "undefined"),
        ("3 >= 3.0", "true"),
        ("2 < 2.5", "true"),
        ("'2' <= '1E1'", "true"),
        ("[1] < 2", "undefined"),
        ("1 <> 2", "true"),
        ("1.5 <> 1.5", "false"),
        ("'a' <> 'b'", "true"),
        ("[1,2] <> [1,2]", "false"),
        ("{'a':1,'b':2} <> {'b':2,'a':1}", "false"),
        ("null <> null", "false"),
        ("1 <> '1'", "true"),
        ("missing <> 1", "undefined"),
        ("1 = 1", "true"),
        ("1 = 1.0", "true"),
        ("'a' = 'a'", "true"),
        ("[1,2] = [2,1]", "false"),
        ("{'a':1,'b':2} = {'b':2,'a':1}", "true"),
        ("1 = missing", "undefined"),
        ("1 = '1'", "false"),
        ("'3' + 1", "\"31\""),
        ("1 + 'a'", "\"1a\""),
        ("1 + 2", "3"),
        ("1 + 2.5", "3.5"),
        ("true + 1", "undefined"),
        ("5 - 2", "3"),
        ("'5' - 2", "3"),
        ("5.5 - 2", "3.5"),
        ("'a' - 1", "undefined"),
        ("3 * 4", "12"),
        ("'1.5' * 2", "3"),
        ("1.5 * 3", "4.5"),
        ("7 / 2", "3"),
        // 2016-03-23 processes the whole number 7.0 as the Int 7 (data-types#Decimal).
        ("7.0 / 2", "3"),
        ("7.5 / 2", "3.75"),
        ("1 / 0", "undefined"),
        ("8 % 3", "2"),
        ("-8 % 3", "-2"),
        ("8.5 % 3", "2.5"),
        ("5 % 0", "undefined"),
        ("-(2 + 3)", "-5"),
        ("-'2.5'", "-2.5"),
        ("2 + 3 * 4", "14"),
        ("(2 + 3) * 4", "20"),
        ("'b' IN ['a','b']", "true"),
        ("3 IN [1,2]", "false"),
    ];
    for (e, r) in ops {
        v.push(expr("operators#table", e, r));
    }

    // --- functions (examples and table rows) ---
    let funcs: &[(&str, &str, &str)] = &[
        ("functions#abs", "abs(-5)", "5"),
        ("functions#abs table", "abs(-5.5)", "5.5"),
        ("functions#abs table", "abs(true)", "undefined"),
        ("functions#accountid", "accountid()", "\"123456789012\""),
        ("functions#acos", "acos(0)", "1.5707963267948966"),
        ("functions#acos table", "acos(2)", "undefined"),
        ("functions#asin", "asin(0)", "0.0"),
        ("functions#atan", "atan(0)", "0.0"),
        ("functions#atan2", "atan2(1, 0)", "1.5707963267948966"),
        ("functions#bitand", "bitand(13, 5)", "5"),
        ("functions#bitand table", "bitand(13.7, '5')", "5"),
        ("functions#bitor", "bitor(8, 5)", "13"),
        ("functions#bitxor", "bitxor(13, 5)", "8"),
        // The guide's example says bitnot(13) = 2; a 64-bit two's-complement NOT is -14.
        ("functions#bitnot", "bitnot(13)", "-14"),
        ("functions#cast", "cast(true as Int)", "1"),
        ("functions#cast table int", "cast(5.7 as Int)", "5"),
        ("functions#cast table int", "cast('5.7' as Integer)", "5"),
        ("functions#cast table bool", "cast(0 as Boolean)", "false"),
        ("functions#cast table bool", "cast(2.5 as Bool)", "true"),
        ("functions#cast table string", "cast(5 as String)", "\"5\""),
        (
            "functions#cast table string",
            "cast(true as varchar)",
            "\"true\"",
        ),
        (
            "functions#cast table string",
            "cast([1,2] as Text)",
            "\"[1,2]\"",
        ),
        (
            "functions#cast table string",
            "cast(null as String)",
            "undefined",
        ),
        ("functions#cast table decimal", "cast(1 as Decimal)", "1"),
        (
            "functions#cast table decimal",
            "cast(false as Decimal)",
            "0",
        ),
        ("functions#ceil", "ceil(1.2)", "2"),
        ("functions#ceil", "ceil(-1.2)", "-1"),
        ("functions#chr", "chr(65)", "\"A\""),
        ("functions#chr", "chr(49)", "\"1\""),
        ("functions#chr table", "chr(true)", "undefined"),
        ("functions#clientid", "clientid()", "\"client-1\""),
        ("functions#concat", "concat()", "undefined"),
        ("functions#concat", "concat(1)", "\"1\""),
        ("functions#concat", "concat([1, 2, 3], 4)", "[1,2,3,4]"),
        (
            "functions#concat",
            "concat([1, 2, 3], \"hello\")",
            "[1,2,3,\"hello\"]",
        ),
        ("functions#concat", "concat(\"con\", \"cat\")", "\"concat\""),
        ("functions#concat", "concat(1, \"hello\")", "\"1hello\""),
        (
            "functions#concat",
            "concat(\"he\",\"is\",\"man\")",
            "\"heisman\"",
        ),
        (
            "functions#concat",
            "concat([1, 2, 3], \"hello\", [4, 5, 6])",
            "[1,2,3,\"hello\",4,5,6]",
        ),
        ("functions#cos", "cos(0)", "1.0"),
        ("functions#cosh", "cosh(2.3)", "5.037220649268761"),
        ("functions#endswith", "endswith(\"cat\",\"at\")", "true"),
        ("functions#endswith table", "endswith(123, 3)", "true"),
        (
            "functions#endswith table",
            "endswith(null, 'x')",
            "undefined",
        ),
        ("functions#exp", "exp(1)", "2.718281828459045"),
        ("functions#floor", "floor(1.2)", "1"),
        ("functions#floor", "floor(-1.2)", "-2"),
        ("functions#get", "get([\"a\", \"b\", \"c\"], 1)", "\"b\""),
        ("functions#get", "get({\"a\":\"b\"}, \"a\")", "\"b\""),
        // The guide's example says get("abc", 1) = "a"; its table says the index is 0-based.
        ("functions#get", "get(\"abc\", 1)", "\"b\""),
        ("functions#get table", "get([1,2], 5)", "undefined"),
        (
            "functions#hash md2",
            "md2(\"hello\")",
            "\"a9046c73e00331af68917d3804f70655\"",
        ),
        (
            "functions#hash md5",
            "md5(\"hello\")",
            "\"5d41402abc4b2a76b9719d911017c592\"",
        ),
        (
            "functions#hash sha1",
            "sha1(\"hello\")",
            "\"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\"",
        ),
        (
            "functions#hash sha256",
            "sha256(\"hello\")",
            "\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"",
        ),
        ("functions#indexof", "indexof(\"abcd\", \"bc\")", "1"),
        ("functions#isNull", "isNull(5)", "false"),
        ("functions#isNull", "isNull(Null)", "true"),
        ("functions#isNull table", "isNull(missing)", "false"),
        ("functions#isUndefined", "isUndefined(5)", "false"),
        (
            "functions#isUndefined",
            "isUndefined(floor([1,2,3]))",
            "true",
        ),
        ("functions#length", "length(\"hi\")", "2"),
        ("functions#length", "length(false)", "5"),
        ("functions#ln", "ln(exp(1))", "1.0"),
        ("functions#log", "log(100)", "2.0"),
        ("functions#lower", "lower(\"HELLO\")", "\"hello\""),
        (
            "functions#lower",
            "lower([\"HELLO\"])",
            "\"[\\\"hello\\\"]\"",
        ),
        ("functions#lpad", "lpad(\"hello\", 2)", "\"  hello\""),
        ("functions#lpad", "lpad(1, 3)", "\"   1\""),
        (
            "functions#lpad table",
            "lpad('x', 2000) = lpad('x', 1000)",
            "true",
        ),
        ("functions#lpad table", "lpad('x', [1])", "undefined"),
        ("functions#ltrim", "Ltrim(\" h i \")", "\"h i \""),
        ("functions#mod", "mod(8, 3)", "2"),
        ("functions#nanvl", "Nanvl(8, 3)", "8"),
        ("functions#nanvl table", "nanvl(missing, 3)", "3"),
        ("functions#nanvl table", "nanvl(null, 3)", "3"),
        (
            "functions#newuuid",
            "newuuid()",
            "\"123e4567-e89b-12d3-a456-426614174000\"",
        ),
        ("functions#numbytes", "numbytes(\"hi\")", "2"),
        ("functions#numbytes", "numbytes(\"€\")", "3"),
        ("functions#power", "power(2, 5)", "32.0"),
        ("functions#power table", "power('2', 'x')", "undefined"),
        ("functions#rand", "rand()", "0.5"),
        (
            "functions#regexp_matches",
            "regexp_matches(\"aaaa\", \"a{2,}\")",
            "true",
        ),
        (
            "functions#regexp_matches",
            "regexp_matches(\"aaaa\", \"b\")",
            "false",
        ),
        (
            "functions#regexp_matches table",
            "regexp_matches(\"aaaa\", \"(\")",
            "undefined",
        ),
        (
            "functions#regexp_replace",
            "regexp_replace(\"abcd\", \"bc\", \"x\")",
            "\"axd\"",
        ),
        (
            "functions#regexp_replace",
            "regexp_replace(\"abcd\", \"b(.*)d\", \"$1\")",
            "\"ac\"",
        ),
        (
            "functions#regexp_substr",
            "regexp_substr(\"hihihello\", \"hi\")",
            "\"hi\"",
        ),
        (
            "functions#regexp_substr",
            "regexp_substr(\"hihihello\", \"(hi)*\")",
            "\"hihi\"",
        ),
        ("functions#remainder", "remainder(8, 3)", "2"),
        (
            "functions#replace",
            "replace(\"abcd\", \"bc\", \"x\")",
            "\"axd\"",
        ),
        (
            "functions#replace",
            "replace(\"abcdabcd\", \"b\", \"x\")",
            "\"axcdaxcd\"",
        ),
        ("functions#rpad", "rpad(\"hello\", 2)", "\"hello  \""),
        ("functions#rpad", "rpad(1, 3)", "\"1   \""),
        ("functions#round", "Round(1.2)", "1"),
        ("functions#round", "Round(1.5)", "2"),
        ("functions#round", "Round(1.7)", "2"),
        ("functions#round", "Round(-1.1)", "-1"),
        ("functions#round", "Round(-1.5)", "-2"),
        ("functions#rtrim", "rtrim(\" h i \")", "\" h i\""),
        ("functions#sign", "sign(-7)", "-1"),
        ("functions#sign", "sign(0)", "0"),
        ("functions#sign", "sign(13)", "1"),
        ("functions#sin", "sin(0)", "0.0"),
        ("functions#sinh", "sinh(2.3)", "4.936961805545957"),
        (
            "functions#substring",
            "substring(\"012345\", 0)",
            "\"012345\"",
        ),
        (
            "functions#substring",
            "substring(\"012345\", 2)",
            "\"2345\"",
        ),
        (
            "functions#substring",
            "substring(\"012345\", 2.745)",
            "\"2345\"",
        ),
        ("functions#substring", "substring(123, 2)", "\"3\""),
        (
            "functions#substring",
            "substring(\"012345\", -1)",
            "\"012345\"",
        ),
        ("functions#substring", "substring(true, 1.2)", "\"rue\""),
        (
            "functions#substring",
            "substring(false, -2.411E247)",
            "\"false\"",
        ),
        (
            "functions#substring",
            "substring(\"012345\", 1, 3)",
            "\"12\"",
        ),
        (
            "functions#substring",
            "substring(\"012345\", -50, 50)",
            "\"012345\"",
        ),
        ("functions#substring", "substring(\"012345\", 3, 1)", "\"\""),
        ("functions#sql_version", "sql_version()", "\"2016-03-23\""),
        ("functions#sqrt", "sqrt(9)", "3.0"),
        ("functions#sqrt table", "sqrt(-1)", "undefined"),
        (
            "functions#startswith",
            "startswith(\"ranger\",\"ran\")",
            "true",
        ),
        ("functions#tan", "tan(3)", "-0.1425465430742778"),
        ("functions#tanh", "tanh(2.3)", "0.9800963962661914"),
        (
            "functions#time_to_epoch",
            "time_to_epoch(\"2020-04-03 09:45:18 UTC+01:00\", \"yyyy-MM-dd HH:mm:ss VV\")",
            "1585903518000",
        ),
        (
            "functions#time_to_epoch",
            "time_to_epoch(\"18 December 2015\", \"dd MMMM yyyy\")",
            "1450396800000",
        ),
        ("functions#timestamp", "timestamp()", "1481825251155"),
        (
            "functions#traceid",
            "traceid()",
            "\"12345678-1234-1234-1234-123456789012\"",
        ),
        ("functions#trim", "Trim(\" hi \")", "\"hi\""),
        ("functions#trunc", "trunc(2.3, 0)", "2"),
        ("functions#trunc", "trunc(2.3123, 2)", "2.31"),
        ("functions#trunc", "trunc(2.888, 2)", "2.88"),
        ("functions#trunc", "trunc(2.00, 5)", "2"),
        ("functions#upper", "upper(\"hello\")", "\"HELLO\""),
        (
            "functions#upper",
            "upper([\"hello\"])",
            "\"[\\\"HELLO\\\"]\"",
        ),
        ("functions#encode", "encode('hi', 'base64')", "\"aGk=\""),
        ("functions#decode", "decode('aGk=', 'base64')", "\"hi\""),
        ("functions#decode", "decode('!!!', 'base64')", "null"),
    ];
    for (src, e, r) in funcs {
        v.push(expr(src, e, r));
    }
    v.push(v1(expr(
        "operators#div (2015-10-08 keeps 7.0 a Decimal)",
        "7.0 / 2",
        "3.5",
    )));
    v.push(v1(expr(
        "functions#cast double (2015-10-08)",
        "cast(1 as Double)",
        "1.0",
    )));
    v.push(v1(expr(
        "data-types#whole-decimal-v1 literal",
        "10.0",
        "10.0",
    )));
    v.push(expr("data-types#whole-decimal-v2 literal", "10.0", "10"));
    v.push(expr_on(
        "functions#get_dynamodb (Undefined key)",
        "isUndefined(get(e, 'x'))",
        SENSORS,
        "true",
    ));
    v
}

fn run(c: &Case, ctx: &dyn Context) -> Result<(), String> {
    let st = Statement::parse(&c.sql, c.version).map_err(|e| format!("parse error: {e}"))?;
    let msg = Message::new(c.topic, c.payload);
    let out = st
        .evaluate(&msg, ctx)
        .map_err(|e| format!("eval error: {e}"))?;
    match (&c.expect, out) {
        (Expect::NoMatch, None) => Ok(()),
        (Expect::Json(want), Some(Output::Json(got))) => {
            let want: serde_json::Value = serde_json::from_str(want).expect("expected JSON");
            let got_text = got.to_json_string();
            let got: serde_json::Value =
                serde_json::from_str(&got_text).map_err(|e| format!("output {got_text:?}: {e}"))?;
            if got == want {
                Ok(())
            } else {
                Err(format!("got {got}, want {want}"))
            }
        }
        (Expect::Binary(want), Some(Output::Binary(got))) if got == *want => Ok(()),
        (want, got) => Err(format!("got {got:?}, want {want:?}")),
    }
}

#[test]
fn conformance_table() {
    let cases = cases();
    let ctx = ctx();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            run(c, &ctx)
                .err()
                .map(|e| format!("[{}] {}\n    {e}", c.src, c.sql))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 150, "only {} cases", cases.len());
    println!("{} conformance cases passed", cases.len());
}

#[test]
fn output_keeps_select_order_and_payload_order() {
    let st = Statement::parse("SELECT z, a, *, m AS b FROM 't'", V2).unwrap();
    let msg = Message::new("t", r#"{"z":1,"a":2,"y":3,"m":4}"#);
    let out = st.evaluate(&msg, &ctx()).unwrap().unwrap();
    assert_eq!(
        String::from_utf8(out.to_bytes()).unwrap(),
        r#"{"z":1,"a":2,"y":3,"m":4,"b":4}"#
    );
}

#[test]
fn statements_and_messages_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Statement>();
    send_sync::<Message>();
    send_sync::<Template>();
}

#[test]
fn mqtt5_properties() {
    // functions#get_mqtt_property, get_user_properties, get_or_default
    let props = MqttProperties {
        payload_format_utf8: Some(true),
        content_type: Some("application/json".into()),
        response_topic: Some("reply/here".into()),
        correlation_data: Some(b"abc".to_vec()),
        user_properties: vec![("k".into(), "v1".into()), ("k".into(), "v2".into())],
    };
    let msg = Message::new("t", r#"{"a":null}"#).with_properties(props);
    let st = Statement::parse(
        "SELECT get_mqtt_property('format_indicator') AS f, get_mqtt_property('content_type') AS c, \
         get_mqtt_property('response_topic') AS r, get_mqtt_property('correlation_data') AS d, \
         get_mqtt_property('k') AS k, get_user_properties('k') AS ks, get_user_properties('no') AS none, \
         get_or_default(a, 'dflt') AS a, get_or_default(b, 2) AS b, get_or_default(1, 2) AS one FROM 't'",
        V2,
    )
    .unwrap();
    let out = st.evaluate(&msg, &ctx()).unwrap().unwrap();
    assert_eq!(
        String::from_utf8(out.to_bytes()).unwrap(),
        r#"{"f":"UTF8_DATA","c":"application/json","r":"reply/here","d":"YWJj","k":"v1","ks":["v1","v2"],"a":"dflt","b":2,"one":1}"#
    );
}

#[test]
fn long_chains_are_refused_not_overflowed() {
    let ok = format!("SELECT {} AS n FROM 't'", vec!["1"; 100].join(" + "));
    let out = Statement::parse(&ok, V2)
        .unwrap()
        .evaluate(&Message::new("t", "{}"), &ctx())
        .unwrap();
    assert_eq!(out.unwrap().to_bytes(), br#"{"n":100}"#);
    for sql in [
        format!("SELECT {} FROM 't'", vec!["1"; 100_000].join(" + ")),
        format!("SELECT a{} FROM 't'", ".b".repeat(100_000)),
        format!("SELECT a{} FROM 't'", "[0]".repeat(100_000)),
        format!(
            "SELECT * FROM 't' WHERE {}",
            vec!["true"; 100_000].join(" AND ")
        ),
    ] {
        let err = Statement::parse(&sql, V2).unwrap_err();
        assert!(err.to_string().contains("nested too deeply"), "{err}");
    }
    let deep_payload = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let st = Statement::parse("SELECT * FROM 't'", V2).unwrap();
    let out = st
        .evaluate(&Message::new("t", deep_payload.clone()), &ctx())
        .unwrap();
    assert_eq!(out, Some(Output::Binary(deep_payload.into_bytes())));
}

#[test]
fn set_variables_reach_substitution_templates() {
    // set#usage: variables are visible to action substitution templates.
    let st = Statement::parse(
        "SET @room = topic(2), @level = CASE WHEN temp > 30 THEN 'high' ELSE 'low' END \
         SELECT temp FROM 'rooms/+/temp'",
        V2,
    )
    .unwrap();
    let msg = Message::new("rooms/r7/temp", r#"{"temp":35}"#);
    let matched = st.run(&msg, &ctx()).unwrap().unwrap();
    assert_eq!(matched.output.to_bytes(), br#"{"temp":35}"#);
    assert_eq!(matched.variables.get("room"), Some(&Value::string("r7")));
    let t = Template::parse("alerts/${@room}/${@level}/${@missing}", V2).unwrap();
    assert_eq!(
        t.render_with(&msg, &ctx(), &matched.variables).unwrap(),
        "alerts/r7/high/"
    );
}

#[test]
fn external_functions_fail_the_evaluation() {
    // functions#aws_lambda: Thingwatch hosts no Lambda; the default Context says so.
    let st = Statement::parse(
        r#"SELECT aws_lambda("arn:aws:lambda:us-east-1:123456789012:function:f", {"payload":attribute1}) as output FROM 'topic-filter'"#,
        V2,
    )
    .unwrap();
    let msg = Message::new("topic-filter", r#"{"attribute1":21}"#);
    let err = st.evaluate(&msg, &ctx()).unwrap_err();
    assert!(
        matches!(
            err,
            EvalError::External {
                function: "aws_lambda",
                ..
            }
        ),
        "{err}"
    );

    // functions#get_dynamodb: at most one call per statement.
    let st = Statement::parse(
        "SELECT get_dynamodb('T','k',id,'arn:r').a AS a, get_dynamodb('T','k',id,'arn:r').b AS b FROM 't'",
        V2,
    )
    .unwrap();
    let err = st.evaluate(&Message::new("t", "{}"), &ctx()).unwrap_err();
    assert_eq!(err, EvalError::TooManyDynamoDbCalls);

    // functions#get_thing_shadow: a missing shadow fails the rule.
    let st =
        Statement::parse("SELECT get_thing_shadow('Nope', 'arn:r') AS s FROM 't'", V2).unwrap();
    assert!(st.evaluate(&Message::new("t", "{}"), &ctx()).is_err());
}

#[test]
fn substitution_templates() {
    let c = ctx();
    let msg = Message::new("my/iot/topic", DEVICE);
    // substitution-templates#example
    assert_eq!(
        substitute("${topic()}/republish", &msg, &c).unwrap(),
        "my/iot/topic/republish"
    );
    let msg2 = Message::new("dt/dev7/temp", r#"{"device_id":"d1","n":{"x":[1,2]}}"#);
    assert_eq!(
        substitute("alerts/${topic(2)}", &msg2, &c).unwrap(),
        "alerts/dev7"
    );
    // binary-payloads#republish
    assert_eq!(
        substitute("device/${device_id}", &msg2, &c).unwrap(),
        "device/d1"
    );
    assert_eq!(
        substitute("${n.x}|${n}|${missing}|${1+2}", &msg2, &c).unwrap(),
        r#"[1,2]|{"x":[1,2]}||3"#
    );
    assert_eq!(
        substitute("${get({'a}': 'b'}, 'a}')}", &msg2, &c).unwrap(),
        "b"
    );
    // functions#parse_time as a substitution template
    assert_eq!(
        substitute(r#"${parse_time("yyyy", timestamp(), "UTC")}"#, &msg, &c).unwrap(),
        "2016"
    );
    // functions#get_secret (not hosted: the render fails)
    assert!(substitute("${get_secret('API_KEY', 'SecretString', 'API_KEY_VALUE', 'arn:aws:iam::12345678910:role/getsecret')}", &msg, &c).is_err());
    assert_eq!(
        substitute("no expressions", &msg, &c).unwrap(),
        "no expressions"
    );
    let t = Template::parse("a/${topic(}", V2).unwrap_err();
    assert_eq!(t.pos.column, 11, "{t}");
    assert!(Template::parse("a/${topic()", V2).is_err());
    assert!(
        Template::parse("${nosuch()}", V2)
            .unwrap_err()
            .to_string()
            .contains("Unknown function")
    );
}

/// Statements CreateTopicRule must refuse, each with the start of the expected message.
const MALFORMED: &[(&str, &str)] = &[
    ("", "Expected a token of type SELECT but got EOF at 1:1"),
    ("SELEC * FROM 't'", "Expected a token of type SELECT"),
    (
        "SELECT",
        "Expected a token of type an expression but got EOF",
    ),
    ("SELECT * FROM", "Expected a token of type STRING"),
    ("SELECT * FROM t", "Expected a token of type STRING"),
    ("SELECT * FROM topic/#", "Unexpected character '#' at 1:21"),
    ("SELECT * FROM 't' WHERE", "an expression"),
    ("SELECT * FROM 't' WHERE a >", "an expression"),
    ("SELECT * FROM 't' extra", "Expected a token of type EOF"),
    ("SELECT a b FROM 't'", "Expected a token of type EOF"),
    ("SELECT a, FROM 't'", "keyword FROM"),
    ("SELECT , a FROM 't'", "an expression"),
    (
        "SELECT a AS FROM 't'",
        "IDENTIFIER (an alias) but got IDENTIFIER (\"FROM\")",
    ),
    ("SELECT a AS 5 FROM 't'", "IDENTIFIER (an alias)"),
    ("SELECT (a FROM 't'", "Expected a token of type ')'"),
    ("SELECT a) FROM 't'", "Expected a token of type EOF"),
    (
        "SELECT 'abc FROM 't'",
        "Unterminated string literal at 1:20",
    ),
    ("SELECT \"abc FROM 't'", "Unterminated string literal"),
    ("SELECT 'a\\q' FROM 't'", "Invalid escape sequence"),
    ("SELECT 12abc FROM 't'", "Invalid number literal"),
    ("SELECT a # b FROM 't'", "Unexpected character '#'"),
    ("SELECT a ; FROM 't'", "Unexpected character ';'"),
    (
        "SELECT nosuch(1) FROM 't'",
        "Unknown function: 'nosuch' at 1:8",
    ),
    ("SELECT md4(a) FROM 't'", "Unknown function: 'md4'"),
    (
        "SELECT abs() FROM 't'",
        "Wrong number of arguments for function 'abs': expected 1, got 0",
    ),
    (
        "SELECT abs(1, 2) FROM 't'",
        "Wrong number of arguments for function 'abs'",
    ),
    ("SELECT substring('a') FROM 't'", "expected 2 or 3, got 1"),
    ("SELECT topic(1, 2) FROM 't'", "expected 0 or 1, got 2"),
    ("SELECT timestamp(1) FROM 't'", "expected 0, got 1"),
    (
        "SELECT get_dynamodb('a','b','c','d','e') FROM 't'",
        "expected 4 or 6, got 5",
    ),
    (
        "SELECT get_thing_shadow() FROM 't'",
        "Wrong number of arguments",
    ),
    ("SELECT cast(a) FROM 't'", "Expected a token of type AS"),
    (
        "SELECT cast(a AS Widget) FROM 't'",
        "Unknown cast type: 'Widget'",
    ),
    ("SELECT cast(a AS 5) FROM 't'", "IDENTIFIER (a cast type)"),
    (
        "SELECT CASE a END FROM 't'",
        "Expected a token of type WHEN",
    ),
    (
        "SELECT CASE a WHEN 1 'x' END FROM 't'",
        "Expected a token of type THEN",
    ),
    (
        "SELECT CASE a WHEN 1 THEN 'x' FROM 't'",
        "Expected a token of type END",
    ),
    (
        "SELECT [1, 2 FROM 't'",
        "Expected a token of type ',' or ']'",
    ),
    ("SELECT {'a' 1} FROM 't'", "Expected a token of type ':'"),
    ("SELECT {1: 2} FROM 't'", "STRING (an object key)"),
    (
        "SELECT {'a': 1 FROM 't'",
        "Expected a token of type ',' or '}'",
    ),
    ("SELECT a. FROM 't'", "Expected a token of type IDENTIFIER"),
    ("SELECT a[1 FROM 't'", "Expected a token of type ']'"),
    (
        "SELECT * FROM 'a/#/b'",
        "Invalid topic filter in FROM clause: 'a/#/b'",
    ),
    ("SELECT * FROM 'a/b+'", "Invalid topic filter"),
    ("SELECT * FROM ''", "Invalid topic filter"),
    (
        "SELECT (SELECT VALUE n e) AS s FROM 't'",
        "Expected a token of type FROM",
    ),
    (
        "SELECT (SELECT VALUE n FROM e AS s FROM 't'",
        "Expected a token of type ')'",
    ),
    (
        "SELECT VALUE a, b FROM 't'",
        "SELECT VALUE takes one expression",
    ),
    ("SELECT * FROM 't' WHERE a = = 1", "an expression"),
    ("SELECT a FROM 't' WHERE SELECT", "keyword SELECT"),
    ("SELECT NOT FROM 't'", "keyword FROM"),
    ("SELECT 1 + FROM 't'", "keyword FROM"),
    (
        "SELECT a\nFROM 't'\nWHERE b <",
        "an expression but got EOF at 3:10",
    ),
    ("SELECT * FROM 't' WHERE a AND OR b", "keyword OR"),
    ("SELECT '\\u12' FROM 't'", "Invalid escape sequence"),
    (
        "SET @a = 1, @a = 2 SELECT @a FROM 't'",
        "Variable '@a' is already defined at 1:13",
    ),
    (
        "SELECT @nope AS x FROM 't'",
        "Undefined variable: '@nope' at 1:8",
    ),
    (
        "SET @b = @c, @c = 1 SELECT @b FROM 't'",
        "Undefined variable: '@c' at 1:10",
    ),
    (
        "SET a = 1 SELECT a FROM 't'",
        "Expected a token of type VARIABLE (@name)",
    ),
    (
        "SET @a 1 SELECT @a FROM 't'",
        "Expected a token of type '='",
    ),
    (
        "SET @a = 1 SET @b = 2 SELECT @a FROM 't'",
        "Expected a token of type SELECT",
    ),
    ("SELECT @ FROM 't'", "Invalid variable name: '@'"),
];

/// Statements valid in 2016-03-23 but not in 2015-10-08.
const NOT_IN_V1: &[(&str, &str)] = &[
    (
        "SELECT [1, 2] AS a FROM 't'",
        "Array literals is not supported by SQL version 2015-10-08",
    ),
    (
        "SELECT {'a': 1} AS a FROM 't'",
        "Object literals is not supported",
    ),
    (
        "SELECT (SELECT VALUE n FROM e) AS a FROM 't'",
        "Nested object queries is not supported",
    ),
    (
        "SELECT encode(*, 'base64') AS a FROM 't'",
        "Function encode is not supported by SQL version 2015-10-08",
    ),
    (
        "SELECT isUndefined(a) AS a FROM 't'",
        "Function isundefined is not supported",
    ),
    (
        "SELECT cast(a AS Boolean) AS a FROM 't'",
        "Cast type Boolean is not supported",
    ),
];

#[test]
fn malformed_statements_are_refused() {
    let mut count = 0;
    for (sql, want) in MALFORMED {
        let err = Statement::parse(sql, V2).expect_err(sql);
        let text = err.to_string();
        assert!(
            text.contains(want),
            "{sql:?}: {text:?} does not contain {want:?}"
        );
        assert!(
            text.contains(&format!(" at {}", err.pos)),
            "{sql:?}: {text:?} has no position"
        );
        count += 1;
    }
    for (sql, want) in NOT_IN_V1 {
        let err = Statement::parse(sql, V1).expect_err(sql);
        assert!(err.to_string().contains(want), "{sql:?}: {err}");
        Statement::parse(sql, V2).unwrap_or_else(|e| panic!("{sql:?} in 2016-03-23: {e}"));
        count += 1;
    }
    let deep = format!("SELECT {}1{} FROM 't'", "(".repeat(500), ")".repeat(500));
    assert!(
        Statement::parse(&deep, V2)
            .unwrap_err()
            .to_string()
            .contains("nested too deeply")
    );
    let deep_neg = format!("SELECT {}1 FROM 't'", "-".repeat(500));
    assert!(Statement::parse(&deep_neg, V2).is_err());
    let deep_not = format!("SELECT * FROM 't' WHERE {} true", "NOT ".repeat(500));
    assert!(Statement::parse(&deep_not, V2).is_err());
    assert!("2017-01-01".parse::<SqlVersion>().is_err());
    assert_eq!("beta".parse::<SqlVersion>().unwrap(), SqlVersion::Beta);
    assert!(count >= 50, "only {count} malformed statements");
}

#[test]
fn garbage_never_panics() {
    let mut rng = fastrand::Rng::with_seed(0x9e37_79b9_7f4a_7c15);
    let statements: Vec<Statement> = cases()
        .iter()
        .filter_map(|c| Statement::parse(&c.sql, c.version).ok())
        .collect();
    let c = ctx();
    let alphabet: &[u8] = b"{}[]\":,0123456789.-eE truefalsnul\\abc'\x00\xff\xc3";
    for _ in 0..3000 {
        let len = rng.usize(..48);
        let payload: Vec<u8> = (0..len)
            .map(|_| alphabet[rng.usize(..alphabet.len())])
            .collect();
        let st = &statements[rng.usize(..statements.len())];
        let msg = Message::new(st.topic_filter().map_or("t", |_| "t/a/b"), payload);
        let _ = st.evaluate(&msg, &c);
    }
    // Mutated statements: parse (and evaluate what parses) without panicking.
    let tokens = [
        "SELECT",
        "VALUE",
        "*",
        "FROM",
        "'t/#'",
        "WHERE",
        "a",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ".",
        "=",
        "<>",
        "<",
        "+",
        "-",
        "/",
        "%",
        "AND",
        "OR",
        "NOT",
        "CASE",
        "WHEN",
        "THEN",
        "ELSE",
        "END",
        "AS",
        "'s'",
        "\"",
        "1",
        "2.5",
        "-9e999",
        "abs",
        "substring",
        "get",
        "concat",
        "cast",
        "Int",
        "IN",
        "null",
        "true",
        "topic",
        "encode",
        "decode",
        "'base64'",
        "regexp_replace",
        "trunc",
        "lpad",
        "\\",
        "${",
    ];
    for _ in 0..3000 {
        let n = 1 + rng.usize(..16);
        let sql: Vec<&str> = (0..n).map(|_| tokens[rng.usize(..tokens.len())]).collect();
        let sql = sql.join(" ");
        if let Ok(st) = Statement::parse(&sql, V2) {
            let _ = st.evaluate(&Message::new("t/x", r#"{"a":[1,{"b":2}],"s":"x"}"#), &c);
        }
        let _ = Template::parse(&sql, V2);
    }
    for sql in cases().iter().map(|c| c.sql.clone()) {
        for cut in 0..sql.len() {
            if sql.is_char_boundary(cut) {
                let _ = Statement::parse(&sql[..cut], V2);
            }
        }
    }
}
