//! End-to-end tests of the AWS IoT security operations — certificates, IoT policies and
//! their versions, policy attachments, thing principals — through the real HTTP interface:
//! a server on 127.0.0.1:0 serving `IotService::with_certificates` over a real registry and a
//! real certificate registry (SQLite in a temp dir, a CA generated in the test), requests
//! signed by the AWS SDK for Rust's SigV4 signer and sent with reqwest. Errors are checked by
//! status, `x-amzn-ErrorType` and message, the three things botocore reads.

mod common;

use base64::Engine;
use common::{IotOptions, IotServer as Server};
use serde_json::{Value, json};
use sha2::Digest;
use thingwatch_iot_api::Endpoints;
use thingwatch_policy::{Decision, Request, evaluate};
use thingwatch_registry::ThingPrincipalType;
use thingwatch_test_support::{ACCOUNT, REGION, ROOT_AKID as AKID, ROOT_SECRET as SECRET};

impl Server {
    /// A server with the certificate operations configured (`with_certs`) or not.
    async fn start(with_certs: bool) -> Self {
        Self::start_with(IotOptions {
            endpoints: Endpoints::data_only("127.0.0.1:8883"),
            certificates: with_certs,
            ..IotOptions::default()
        })
        .await
    }

    /// A call that must fail with `status` and `code`; returns the message.
    async fn err_with(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: Option<Value>,
        status: u16,
        code: &str,
    ) -> String {
        let json = self.failure(method, path, extra, body, status, code).await;
        json["message"].as_str().unwrap_or_default().to_owned()
    }

    async fn err(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        status: u16,
        code: &str,
    ) -> String {
        self.err_with(method, path, &[], body, status, code).await
    }

    /// CreateKeysAndCertificate; returns (id, arn, full output).
    async fn new_cert(&self, active: bool) -> (String, String, Value) {
        let out = self
            .ok(
                "POST",
                &format!("/keys-and-certificate?setAsActive={active}"),
                None,
            )
            .await;
        let id = out["certificateId"].as_str().unwrap().to_owned();
        let arn = out["certificateArn"].as_str().unwrap().to_owned();
        (id, arn, out)
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The DER inside a PEM, decoded here independently of the server's code.
fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

const THING_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"},{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/things/${iot:Connection.Thing.ThingName}/*"}]}"#;

fn allow_publish(topic: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/{topic}"}}]}}"#
    )
}

#[tokio::test]
async fn create_keys_and_certificate_then_describe_list_and_update() {
    let s = Server::start(true).await;
    let (id, arn, out) = s.new_cert(true).await;
    let pem = out["certificatePem"].as_str().unwrap();
    assert_eq!(id, hex::encode(sha2::Sha256::digest(pem_der(pem))));
    assert_eq!(arn, format!("arn:aws:iot:{REGION}:{ACCOUNT}:cert/{id}"));
    assert!(
        out["keyPair"]["PrivateKey"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----")
    );
    assert!(
        out["keyPair"]["PublicKey"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let d = s.ok("GET", &format!("/certificates/{id}"), None).await;
    let desc = &d["certificateDescription"];
    assert_eq!(desc["status"], "ACTIVE");
    assert_eq!(desc["certificateId"], id.as_str());
    assert_eq!(desc["certificatePem"], pem);
    assert_eq!(desc["ownedBy"], ACCOUNT);
    assert_eq!(desc["certificateMode"], "DEFAULT");
    assert!(
        desc["creationDate"].as_f64().unwrap() > 1.6e9,
        "epoch seconds"
    );
    assert!(
        desc["validity"]["notAfter"].as_f64().unwrap()
            > desc["validity"]["notBefore"].as_f64().unwrap()
    );
    assert!(!d.to_string().contains("PRIVATE KEY"));
    // Upper-case IDs name the same certificate.
    s.ok("GET", &format!("/certificates/{}", id.to_uppercase()), None)
        .await;

    let (id2, _, _) = s.new_cert(false).await;
    let l = s.ok("GET", "/certificates?pageSize=1", None).await;
    assert_eq!(l["certificates"].as_array().unwrap().len(), 1);
    assert_eq!(
        l["certificates"][0]["certificateId"],
        id2.as_str(),
        "newest first"
    );
    assert_eq!(l["certificates"][0]["status"], "INACTIVE");
    let marker = l["nextMarker"].as_str().unwrap();
    let l2 = s
        .ok(
            "GET",
            &format!("/certificates?pageSize=1&marker={}", enc(marker)),
            None,
        )
        .await;
    assert_eq!(l2["certificates"][0]["certificateId"], id.as_str());
    assert!(l2.get("nextMarker").is_none());

    s.ok(
        "PUT",
        &format!("/certificates/{id}?newStatus=REVOKED"),
        None,
    )
    .await;
    let d = s.ok("GET", &format!("/certificates/{id}"), None).await;
    assert_eq!(d["certificateDescription"]["status"], "REVOKED");
    s.err(
        "PUT",
        &format!("/certificates/{id}?newStatus=ACTIVE"),
        None,
        406,
        "CertificateStateException",
    )
    .await;
    s.err(
        "PUT",
        &format!("/certificates/{id}"),
        None,
        400,
        "InvalidRequestException",
    )
    .await;
    s.err(
        "GET",
        &format!("/certificates/{}", "0".repeat(64)),
        None,
        404,
        "ResourceNotFoundException",
    )
    .await;
    s.err(
        "GET",
        "/certificates/xyz",
        None,
        400,
        "InvalidRequestException",
    )
    .await;
    let code = s.ok("GET", "/registrationcode", None).await;
    assert_eq!(code["registrationCode"].as_str().unwrap().len(), 64);
    s.stop().await;
}

#[tokio::test]
async fn csr_and_registration_without_ca() {
    let s = Server::start(true).await;
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["device-1".to_owned()]).unwrap();
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    let out = s
        .ok(
            "POST",
            "/certificates?setAsActive=true",
            Some(json!({"certificateSigningRequest": csr})),
        )
        .await;
    let id = out["certificateId"].as_str().unwrap();
    assert_eq!(
        id,
        hex::encode(sha2::Sha256::digest(pem_der(
            out["certificatePem"].as_str().unwrap()
        )))
    );
    s.err(
        "POST",
        "/certificates",
        Some(json!({})),
        400,
        "InvalidRequestException",
    )
    .await;

    let self_signed = rcgen::CertificateParams::new(vec!["other".to_owned()])
        .unwrap()
        .self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap()
        .pem();
    let reg = s
        .ok(
            "POST",
            "/certificate/register-no-ca",
            Some(json!({"certificatePem": self_signed, "status": "ACTIVE"})),
        )
        .await;
    assert!(reg.get("certificatePem").is_none());
    let d = s
        .ok(
            "GET",
            &format!("/certificates/{}", reg["certificateId"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(d["certificateDescription"]["certificateMode"], "SNI_ONLY");
    assert_eq!(d["certificateDescription"]["status"], "ACTIVE");
    s.err(
        "POST",
        "/certificate/register-no-ca",
        Some(json!({"certificatePem": self_signed})),
        409,
        "ResourceAlreadyExistsException",
    )
    .await;
    s.err(
        "POST",
        "/certificate/register-no-ca",
        Some(json!({"certificatePem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"})),
        400,
        "CertificateValidationException",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn policies_versions_and_their_errors() {
    let s = Server::start(true).await;
    let p = s
        .ok(
            "POST",
            "/policies/thing-policy",
            Some(json!({"policyDocument": THING_POLICY})),
        )
        .await;
    assert_eq!(p["policyName"], "thing-policy");
    assert_eq!(
        p["policyArn"],
        format!("arn:aws:iot:{REGION}:{ACCOUNT}:policy/thing-policy")
    );
    assert_eq!(p["policyVersionId"], "1");
    assert_eq!(p["policyDocument"], THING_POLICY);
    let g = s.ok("GET", "/policies/thing-policy", None).await;
    assert_eq!(g["defaultVersionId"], "1");
    assert!(g["creationDate"].as_f64().unwrap() > 1.6e9);
    assert!(g["generationId"].as_str().is_some());

    s.err(
        "POST",
        "/policies/thing-policy",
        Some(json!({"policyDocument": THING_POLICY})),
        409,
        "ResourceAlreadyExistsException",
    )
    .await;
    let m = s
        .err(
            "POST",
            "/policies/bad",
            Some(json!({"policyDocument": "{\"Statement\": 5}"})),
            400,
            "MalformedPolicyException",
        )
        .await;
    assert_eq!(m, "Policy document is Malformed: Invalid policy syntax.");
    let m = s
        .err(
            "POST",
            "/policies/bad",
            Some(json!({})),
            400,
            "InvalidRequestException",
        )
        .await;
    assert!(m.contains("'policyDocument'"), "{m}");
    let m = s
        .err(
            "POST",
            "/policies/a%20b",
            Some(json!({"policyDocument": THING_POLICY})),
            400,
            "InvalidRequestException",
        )
        .await;
    assert!(m.contains("'policyName'"), "{m}");
    s.err(
        "GET",
        "/policies/nope",
        None,
        404,
        "ResourceNotFoundException",
    )
    .await;

    // Versions 2..=5, then the limit.
    for n in 2..=5 {
        let v = s
            .ok(
                "POST",
                &format!("/policies/thing-policy/version?setAsDefault={}", n == 4),
                Some(json!({"policyDocument": allow_publish(&format!("v{n}"))})),
            )
            .await;
        assert_eq!(v["policyVersionId"], n.to_string());
        assert_eq!(v["isDefaultVersion"], n == 4);
    }
    s.err(
        "POST",
        "/policies/thing-policy/version",
        Some(json!({"policyDocument": allow_publish("v6")})),
        409,
        "VersionsLimitExceededException",
    )
    .await;
    let versions = s.ok("GET", "/policies/thing-policy/version", None).await;
    let list: Vec<(String, bool)> = versions["policyVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            assert!(v["createDate"].as_f64().is_some());
            (
                v["versionId"].as_str().unwrap().to_owned(),
                v["isDefaultVersion"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        list,
        vec![
            ("5".to_owned(), false),
            ("4".to_owned(), true),
            ("3".to_owned(), false),
            ("2".to_owned(), false),
            ("1".to_owned(), false)
        ]
    );
    let v4 = s.ok("GET", "/policies/thing-policy/version/4", None).await;
    assert_eq!(v4["isDefaultVersion"], true);
    assert_eq!(v4["policyName"], "thing-policy");
    assert_eq!(v4["policyDocument"], allow_publish("v4"));
    s.err(
        "DELETE",
        "/policies/thing-policy/version/4",
        None,
        409,
        "DeleteConflictException",
    )
    .await;
    s.err(
        "GET",
        "/policies/thing-policy/version/9",
        None,
        404,
        "ResourceNotFoundException",
    )
    .await;
    s.err(
        "GET",
        "/policies/thing-policy/version/x1",
        None,
        400,
        "InvalidRequestException",
    )
    .await;
    // Switch the default back to 1 and the policy's document follows.
    s.ok("PATCH", "/policies/thing-policy/version/1", None)
        .await;
    let g = s.ok("GET", "/policies/thing-policy", None).await;
    assert_eq!(g["defaultVersionId"], "1");
    assert_eq!(g["policyDocument"], THING_POLICY);
    // Non-default versions block DeletePolicy.
    s.err(
        "DELETE",
        "/policies/thing-policy",
        None,
        409,
        "DeleteConflictException",
    )
    .await;
    for v in 2..=5 {
        s.ok(
            "DELETE",
            &format!("/policies/thing-policy/version/{v}"),
            None,
        )
        .await;
    }
    s.ok("DELETE", "/policies/thing-policy", None).await;
    s.err(
        "GET",
        "/policies/thing-policy",
        None,
        404,
        "ResourceNotFoundException",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn list_policies_pages_with_markers() {
    let s = Server::start(false).await;
    for i in 0..5 {
        s.ok(
            "POST",
            &format!("/policies/p{i}"),
            Some(json!({"policyDocument": allow_publish("t")})),
        )
        .await;
    }
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &marker {
            Some(m) => format!(
                "/policies?pageSize=2&isAscendingOrder=true&marker={}",
                enc(m)
            ),
            None => "/policies?pageSize=2&isAscendingOrder=true".to_owned(),
        };
        let page = s.ok("GET", &path, None).await;
        pages += 1;
        for p in page["policies"].as_array().unwrap() {
            assert_eq!(
                p["policyArn"],
                format!(
                    "arn:aws:iot:{REGION}:{ACCOUNT}:policy/{}",
                    p["policyName"].as_str().unwrap()
                )
            );
            names.push(p["policyName"].as_str().unwrap().to_owned());
        }
        match page.get("nextMarker").and_then(Value::as_str) {
            Some(m) => {
                assert!(
                    m.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c)),
                    "marker matches the model pattern: {m}"
                );
                marker = Some(m.to_owned());
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["p0", "p1", "p2", "p3", "p4"]);
    assert_eq!(names.len(), 5, "no item twice: {names:?}");
    s.err(
        "GET",
        "/policies?pageSize=0",
        None,
        400,
        "InvalidRequestException",
    )
    .await;
    s.err(
        "GET",
        "/policies?marker=bm9wZQ==",
        None,
        400,
        "InvalidRequestException",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn attach_detach_and_list_policies_on_certificates_and_groups() {
    let s = Server::start(true).await;
    let (id, arn, _) = s.new_cert(true).await;
    s.ok(
        "POST",
        "/policies/thing-policy",
        Some(json!({"policyDocument": THING_POLICY})),
    )
    .await;
    s.ok("POST", "/thing-groups/fleet", Some(json!({}))).await;
    s.ok(
        "POST",
        "/thing-groups/floor1",
        Some(json!({"parentGroupName": "fleet"})),
    )
    .await;
    s.ok("POST", "/things/dev1", Some(json!({}))).await;
    s.ok(
        "PUT",
        "/thing-groups/addThingToThingGroup",
        Some(json!({"thingName": "dev1", "thingGroupName": "floor1"})),
    )
    .await;
    s.ok(
        "POST",
        "/policies/fleet-policy",
        Some(json!({"policyDocument": allow_publish("fleet/*")})),
    )
    .await;
    let epoch = s.registry.security_epoch();
    s.ok(
        "PUT",
        "/target-policies/thing-policy",
        Some(json!({"target": arn})),
    )
    .await;
    assert!(s.registry.security_epoch() > epoch);
    let group_arn = format!("arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/fleet");
    s.ok(
        "PUT",
        "/target-policies/fleet-policy",
        Some(json!({"target": group_arn})),
    )
    .await;

    let attached = s
        .ok("POST", &format!("/attached-policies/{}", enc(&arn)), None)
        .await;
    assert_eq!(
        attached["policies"],
        json!([{"policyName": "thing-policy", "policyArn": format!("arn:aws:iot:{REGION}:{ACCOUNT}:policy/thing-policy")}])
    );
    let floor_arn = format!("arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/floor1");
    let flat = s
        .ok(
            "POST",
            &format!("/attached-policies/{}", enc(&floor_arn)),
            None,
        )
        .await;
    assert_eq!(flat["policies"], json!([]));
    let rec = s
        .ok(
            "POST",
            &format!("/attached-policies/{}?recursive=true", enc(&floor_arn)),
            None,
        )
        .await;
    assert_eq!(rec["policies"][0]["policyName"], "fleet-policy");
    let targets = s.ok("POST", "/policy-targets/thing-policy", None).await;
    assert_eq!(targets["targets"], json!([arn]));
    let effective = s
        .ok(
            "POST",
            "/effective-policies?thingName=dev1",
            Some(json!({"principal": arn})),
        )
        .await;
    assert_eq!(
        effective["effectivePolicies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["policyName"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["thing-policy", "fleet-policy"]
    );
    assert_eq!(
        effective["effectivePolicies"][0]["policyDocument"],
        THING_POLICY
    );
    s.err(
        "POST",
        "/effective-policies?thingName=ghost",
        Some(json!({"principal": arn})),
        404,
        "ResourceNotFoundException",
    )
    .await;

    // The broker's view: the certificate's policies plus the thing's inherited group policy,
    // with ${iot:Connection.Thing.ThingName} resolved from the request context.
    let docs = s.registry.effective_policies(&arn, Some("dev1"));
    assert_eq!(docs.len(), 2);
    let decide = |action: &str, resource: &str| {
        evaluate(
            docs.iter().map(|d| d.as_ref()),
            &Request::new(action, resource).with("iot:Connection.Thing.ThingName", "dev1"),
        )
    };
    let res = |r: &str| format!("arn:aws:iot:{REGION}:{ACCOUNT}:{r}");
    assert_eq!(decide("iot:Connect", &res("client/dev1")), Decision::Allow);
    assert_ne!(decide("iot:Connect", &res("client/dev2")), Decision::Allow);
    assert_eq!(
        decide("iot:Publish", &res("topic/things/dev1/x")),
        Decision::Allow
    );
    assert_ne!(
        decide("iot:Publish", &res("topic/things/dev2/x")),
        Decision::Allow
    );
    assert_eq!(
        decide("iot:Publish", &res("topic/fleet/x")),
        Decision::Allow
    );

    // Errors: unknown certificate, unknown policy, malformed target, unknown group, limit.
    let unknown = format!("arn:aws:iot:{REGION}:{ACCOUNT}:cert/{}", "0".repeat(64));
    s.err(
        "PUT",
        "/target-policies/thing-policy",
        Some(json!({"target": unknown})),
        404,
        "ResourceNotFoundException",
    )
    .await;
    s.err(
        "PUT",
        "/target-policies/nope",
        Some(json!({"target": arn})),
        404,
        "ResourceNotFoundException",
    )
    .await;
    s.err(
        "PUT",
        "/target-policies/thing-policy",
        Some(json!({"target": "us-east-1:cognito-id"})),
        400,
        "InvalidRequestException",
    )
    .await;
    s.err(
        "PUT",
        "/target-policies/thing-policy",
        Some(json!({"target": format!("arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/none")})),
        404,
        "ResourceNotFoundException",
    )
    .await;
    s.err(
        "PUT",
        "/target-policies/thing-policy",
        Some(json!({})),
        400,
        "InvalidRequestException",
    )
    .await;
    for i in 0..9 {
        s.ok(
            "POST",
            &format!("/policies/extra{i}"),
            Some(json!({"policyDocument": allow_publish("x")})),
        )
        .await;
        s.ok(
            "PUT",
            &format!("/target-policies/extra{i}"),
            Some(json!({"target": arn})),
        )
        .await;
    }
    s.ok(
        "POST",
        "/policies/eleventh",
        Some(json!({"policyDocument": allow_publish("x")})),
    )
    .await;
    s.err(
        "PUT",
        "/target-policies/eleventh",
        Some(json!({"target": arn})),
        410,
        "LimitExceededException",
    )
    .await;
    let page = s
        .ok(
            "POST",
            &format!("/attached-policies/{}?pageSize=4", enc(&arn)),
            None,
        )
        .await;
    assert_eq!(page["policies"].as_array().unwrap().len(), 4);
    assert!(page["nextMarker"].as_str().is_some());
    // An attached policy cannot be deleted; detach, then it can.
    s.err(
        "DELETE",
        "/policies/thing-policy",
        None,
        409,
        "DeleteConflictException",
    )
    .await;
    s.ok(
        "POST",
        "/target-policies/thing-policy",
        Some(json!({"target": arn})),
    )
    .await;
    s.ok("DELETE", "/policies/thing-policy", None).await;
    assert_eq!(s.registry.effective_policies(&arn, None).len(), 9);
    assert_eq!(id.len(), 64);
    s.stop().await;
}

#[tokio::test]
async fn thing_principals_with_exclusive_rules() {
    let s = Server::start(true).await;
    let (_, a, _) = s.new_cert(true).await;
    let (_, b, _) = s.new_cert(true).await;
    for t in ["t1", "t2"] {
        s.ok("POST", &format!("/things/{t}"), Some(json!({}))).await;
    }
    s.ok_with(
        "PUT",
        "/things/t1/principals",
        &[("x-amzn-principal", &a)],
        None,
    )
    .await;
    s.ok_with(
        "PUT",
        "/things/t2/principals?thingPrincipalType=NON_EXCLUSIVE_THING",
        &[("x-amzn-principal", &a)],
        None,
    )
    .await;
    let m = s
        .err_with(
            "PUT",
            "/things/t2/principals?thingPrincipalType=EXCLUSIVE_THING",
            &[("x-amzn-principal", &a)],
            None,
            400,
            "InvalidRequestException",
        )
        .await;
    assert!(m.contains("already attached to thing(s) t1"), "{m}");
    s.ok_with(
        "PUT",
        "/things/t1/principals?thingPrincipalType=EXCLUSIVE_THING",
        &[("x-amzn-principal", &b)],
        None,
    )
    .await;
    let m = s
        .err_with(
            "PUT",
            "/things/t2/principals",
            &[("x-amzn-principal", &b)],
            None,
            400,
            "InvalidRequestException",
        )
        .await;
    assert!(m.contains("exclusively to thing t1"), "{m}");
    assert_eq!(
        s.registry.thing_principal_type(&b, "t1"),
        Some(ThingPrincipalType::Exclusive)
    );
    assert_eq!(s.registry.principal_things(&a), vec!["t1", "t2"]);

    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    let p = s.ok("GET", "/things/t1/principals", None).await;
    assert_eq!(p["principals"], json!(expected));
    let p1 = s
        .ok("GET", "/things/t1/principals?maxResults=1", None)
        .await;
    assert_eq!(p1["principals"], json!([expected[0]]));
    let token = p1["nextToken"].as_str().unwrap();
    let p2 = s
        .ok(
            "GET",
            &format!(
                "/things/t1/principals?maxResults=1&nextToken={}",
                enc(token)
            ),
            None,
        )
        .await;
    assert_eq!(p2["principals"], json!([expected[1]]));
    assert!(p2.get("nextToken").is_none());
    let v2 = s
        .ok(
            "GET",
            "/things/t1/principals-v2?thingPrincipalType=EXCLUSIVE_THING",
            None,
        )
        .await;
    assert_eq!(
        v2["thingPrincipalObjects"],
        json!([{"principal": b, "thingPrincipalType": "EXCLUSIVE_THING"}])
    );
    let things = s
        .ok_with(
            "GET",
            "/principals/things",
            &[("x-amzn-principal", &a)],
            None,
        )
        .await;
    assert_eq!(things["things"], json!(["t1", "t2"]));
    let things_v2 = s
        .ok_with(
            "GET",
            "/principals/things-v2",
            &[("x-amzn-principal", &b)],
            None,
        )
        .await;
    assert_eq!(
        things_v2["principalThingObjects"],
        json!([{"thingName": "t1", "thingPrincipalType": "EXCLUSIVE_THING"}])
    );

    // Errors: missing header, unknown thing, unknown or malformed principal, bad type.
    let m = s
        .err(
            "PUT",
            "/things/t1/principals",
            None,
            400,
            "InvalidRequestException",
        )
        .await;
    assert!(m.contains("'principal'"), "{m}");
    s.err_with(
        "PUT",
        "/things/nope/principals",
        &[("x-amzn-principal", &a)],
        None,
        404,
        "ResourceNotFoundException",
    )
    .await;
    let unknown = format!("arn:aws:iot:{REGION}:{ACCOUNT}:cert/{}", "f".repeat(64));
    s.err_with(
        "PUT",
        "/things/t1/principals",
        &[("x-amzn-principal", &unknown)],
        None,
        404,
        "ResourceNotFoundException",
    )
    .await;
    s.err_with(
        "GET",
        "/principals/things",
        &[("x-amzn-principal", "arn:aws:iam::123456789012:user/bob")],
        None,
        400,
        "InvalidRequestException",
    )
    .await;
    s.err_with(
        "PUT",
        "/things/t1/principals?thingPrincipalType=SOMETIMES",
        &[("x-amzn-principal", &a)],
        None,
        400,
        "InvalidRequestException",
    )
    .await;
    s.err(
        "GET",
        "/things/nope/principals",
        None,
        404,
        "ResourceNotFoundException",
    )
    .await;

    // Detach.
    let epoch = s.registry.security_epoch();
    s.ok_with(
        "DELETE",
        "/things/t2/principals",
        &[("x-amzn-principal", &a)],
        None,
    )
    .await;
    assert!(s.registry.security_epoch() > epoch);
    let things = s
        .ok_with(
            "GET",
            "/principals/things",
            &[("x-amzn-principal", &a)],
            None,
        )
        .await;
    assert_eq!(things["things"], json!(["t1"]));
    s.stop().await;
}

#[tokio::test]
async fn delete_certificate_follows_the_aws_rules() {
    let s = Server::start(true).await;
    let (id, arn, _) = s.new_cert(true).await;
    s.ok("POST", "/things/t1", Some(json!({}))).await;
    s.ok(
        "POST",
        "/policies/p",
        Some(json!({"policyDocument": allow_publish("x")})),
    )
    .await;
    s.ok("PUT", "/target-policies/p", Some(json!({"target": arn})))
        .await;
    s.ok_with(
        "PUT",
        "/things/t1/principals",
        &[("x-amzn-principal", &arn)],
        None,
    )
    .await;

    let m = s
        .err(
            "DELETE",
            &format!("/certificates/{id}"),
            None,
            406,
            "CertificateStateException",
        )
        .await;
    assert_eq!(m, thingwatch_certs::MSG_DELETE_ACTIVE);
    s.ok(
        "PUT",
        &format!("/certificates/{id}?newStatus=INACTIVE"),
        None,
    )
    .await;
    // Attached to a thing: refused even with forceDelete.
    s.err(
        "DELETE",
        &format!("/certificates/{id}?forceDelete=true"),
        None,
        409,
        "DeleteConflictException",
    )
    .await;
    s.ok_with(
        "DELETE",
        "/things/t1/principals",
        &[("x-amzn-principal", &arn)],
        None,
    )
    .await;
    // Attached policy: refused without forceDelete.
    s.err(
        "DELETE",
        &format!("/certificates/{id}"),
        None,
        409,
        "DeleteConflictException",
    )
    .await;
    s.ok(
        "DELETE",
        &format!("/certificates/{id}?forceDelete=true"),
        None,
    )
    .await;
    s.err(
        "GET",
        &format!("/certificates/{id}"),
        None,
        404,
        "ResourceNotFoundException",
    )
    .await;
    // forceDelete detached the policy, which can now be deleted.
    let targets = s.ok("POST", "/policy-targets/p", None).await;
    assert_eq!(targets["targets"], json!([]));
    s.ok("DELETE", "/policies/p", None).await;

    // A detached, inactive certificate deletes without force.
    let (id2, _, _) = s.new_cert(false).await;
    s.ok("DELETE", &format!("/certificates/{id2}"), None).await;
    s.stop().await;
}

#[tokio::test]
async fn certificate_operations_need_a_certificate_registry() {
    let s = Server::start(false).await;
    let m = s
        .err(
            "POST",
            "/keys-and-certificate?setAsActive=true",
            None,
            404,
            "UnknownOperationException",
        )
        .await;
    assert!(m.contains("not configured"), "{m}");
    s.err(
        "GET",
        "/certificates",
        None,
        404,
        "UnknownOperationException",
    )
    .await;
    // Policies and principals work without it (certificate ARNs are checked for format only).
    s.ok("POST", "/things/t1", Some(json!({}))).await;
    let arn = format!("arn:aws:iot:{REGION}:{ACCOUNT}:cert/{}", "A".repeat(64));
    s.ok_with(
        "PUT",
        "/things/t1/principals",
        &[("x-amzn-principal", &arn)],
        None,
    )
    .await;
    let p = s.ok("GET", "/things/t1/principals", None).await;
    assert_eq!(
        p["principals"],
        json!([format!(
            "arn:aws:iot:{REGION}:{ACCOUNT}:cert/{}",
            "a".repeat(64)
        )]),
        "certificate IDs are stored lowercase"
    );
    s.stop().await;
}

/// Runs the unchanged AWS CLI (`aws iot …`) against `endpoint`, isolated from any local AWS
/// configuration; returns (exit code, stdout, stderr).
fn aws(endpoint: &str, home: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new("aws")
        .arg("iot")
        .args(args)
        .args(["--endpoint-url", endpoint, "--output", "json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_ACCESS_KEY_ID", AKID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .output()
        .expect("run aws");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The README acceptance steps with the real AWS CLI: create-keys-and-certificate,
/// create-policy with policy variables, attach-policy, attach-thing-principal, the list
/// operations (with the CLI's own pagination), a policy version, the CLI's
/// rendering of a modeled error, and the delete rules. Needs `aws` on PATH (CLI v1 or v2);
/// without it the test says so and checks nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_sets_up_a_device_identity() {
    let installed = std::process::Command::new("aws")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        eprintln!("aws CLI not installed: skipping the AWS CLI checks");
        return;
    }
    let s = Server::start(true).await;
    let endpoint = format!("http://{}", s.api.addr());
    let home = tempfile::tempdir().unwrap();
    let run = |args: Vec<String>| {
        let endpoint = endpoint.clone();
        let home = home.path().to_owned();
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                aws(&endpoint, &home, &args)
            })
            .await
            .unwrap()
        }
    };
    let ok = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let run = &run;
        async move {
            let shown = args.join(" ");
            let (code, out, err) = run(args).await;
            assert_eq!(code, 0, "aws iot {shown}: {err}");
            if out.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str::<Value>(&out).unwrap()
            }
        }
    };

    let created = ok(&["create-keys-and-certificate", "--set-as-active"]).await;
    let id = created["certificateId"].as_str().unwrap().to_owned();
    let arn = created["certificateArn"].as_str().unwrap().to_owned();
    assert_eq!(
        id,
        hex::encode(sha2::Sha256::digest(pem_der(
            created["certificatePem"].as_str().unwrap()
        )))
    );
    assert!(
        created["keyPair"]["PrivateKey"]
            .as_str()
            .unwrap()
            .contains("PRIVATE KEY")
    );
    let described = ok(&["describe-certificate", "--certificate-id", &id]).await;
    assert_eq!(described["certificateDescription"]["status"], "ACTIVE");

    ok(&[
        "create-policy",
        "--policy-name",
        "thing-policy",
        "--policy-document",
        THING_POLICY,
    ])
    .await;
    ok(&[
        "attach-policy",
        "--policy-name",
        "thing-policy",
        "--target",
        &arn,
    ])
    .await;
    let attached = ok(&["list-attached-policies", "--target", &arn]).await;
    assert_eq!(attached["policies"][0]["policyName"], "thing-policy");
    ok(&["create-thing", "--thing-name", "dev1"]).await;
    ok(&[
        "attach-thing-principal",
        "--thing-name",
        "dev1",
        "--principal",
        &arn,
    ])
    .await;
    let things = ok(&["list-principal-things", "--principal", &arn]).await;
    assert_eq!(things["things"], json!(["dev1"]));
    let principals = ok(&["list-thing-principals", "--thing-name", "dev1"]).await;
    assert_eq!(principals["principals"], json!([arn]));
    assert_eq!(s.registry.effective_policies(&arn, Some("dev1")).len(), 1);

    let v2 = ok(&[
        "create-policy-version",
        "--policy-name",
        "thing-policy",
        "--policy-document",
        &allow_publish("v2"),
        "--set-as-default",
    ])
    .await;
    assert_eq!(v2["policyVersionId"], "2");
    let got = ok(&["get-policy", "--policy-name", "thing-policy"]).await;
    assert_eq!(got["defaultVersionId"], "2");
    for i in 0..3 {
        ok(&[
            "create-policy",
            "--policy-name",
            &format!("extra{i}"),
            "--policy-document",
            &allow_publish("x"),
        ])
        .await;
    }
    // The CLI's own pagination (no paging member given) collects every policy; with
    // `--max-items` it pages client-side and hands back its own token.
    let all = ok(&["list-policies"]).await;
    assert_eq!(all["policies"].as_array().unwrap().len(), 4);
    let two = ok(&["list-policies", "--max-items", "2"]).await;
    assert_eq!(two["policies"].as_array().unwrap().len(), 2);
    let token = two["NextToken"].as_str().unwrap();
    let rest = ok(&["list-policies", "--starting-token", token]).await;
    let mut names: Vec<&str> = two["policies"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["policies"].as_array().unwrap())
        .filter_map(|p| p["policyName"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["extra0", "extra1", "extra2", "thing-policy"]);

    let (code, _, err) = run(vec![
        "create-policy".into(),
        "--policy-name".into(),
        "bad".into(),
        "--policy-document".into(),
        "{\"Statement\": 5}".into(),
    ])
    .await;
    assert_ne!(code, 0);
    assert!(
        err.contains("(MalformedPolicyException)")
            && err.contains("Policy document is Malformed: Invalid policy syntax."),
        "{err}"
    );
    let (code, _, err) = run(vec![
        "delete-certificate".into(),
        "--certificate-id".into(),
        id.clone(),
    ])
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("(CertificateStateException)"), "{err}");

    ok(&[
        "update-certificate",
        "--certificate-id",
        &id,
        "--new-status",
        "INACTIVE",
    ])
    .await;
    ok(&[
        "detach-thing-principal",
        "--thing-name",
        "dev1",
        "--principal",
        &arn,
    ])
    .await;
    ok(&[
        "delete-certificate",
        "--certificate-id",
        &id,
        "--force-delete",
    ])
    .await;
    let targets = ok(&["list-targets-for-policy", "--policy-name", "thing-policy"]).await;
    assert_eq!(targets["targets"], json!([]));
    s.stop().await;
}
