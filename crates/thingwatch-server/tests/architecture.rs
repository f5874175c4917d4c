//! The invariants of ARCHITECTURE.md that a test can check, read off the source tree:
//!
//! 1. No domain crate depends on an HTTP crate (the HTTP layer sits on top of the domain).
//! 2. Only the broker's ingress calls the router: every message enters through one function.
//! 3. No unbounded queue in the server's code: every queue is bounded and named.
//! 4. ARNs are built by `thingwatch-aws` only (typed constructors), never with `format!`.
//!
//! These read files, so they fail the moment a change breaks an invariant, whichever crate
//! it touches.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/thingwatch-server sits two levels below the workspace root")
        .to_path_buf()
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The source with `#[cfg(test)]` modules and comments removed, line by line (a simple
/// reader: test modules are at the end of a file in this code base, as STYLE.md asks).
fn production_code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The names in a manifest's `[dependencies]` table (not dev- or build-dependencies).
fn dependencies(manifest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let mut in_deps = false;
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once('=') {
            let name = name.trim().trim_end_matches(".workspace").to_owned();
            if !name.is_empty() && !name.starts_with('#') {
                names.push(name);
            }
        }
    }
    names
}

/// Crates that hold AWS IoT's domain: message broker, logging, storage, identities. None of
/// them may know HTTP.
const DOMAIN_CRATES: &[&str] = &[
    "thingwatch-events",
    "thingwatch-logstore",
    "thingwatch-broker",
    "thingwatch-registry",
    "thingwatch-shadow",
    "thingwatch-certs",
    "thingwatch-policy",
    "thingwatch-authz",
    "thingwatch-iam",
    "thingwatch-audit",
    "thingwatch-jobs",
];

/// The HTTP stack, the crate that carries the AWS HTTP layer and the services' API crates.
const HTTP_CRATES: &[&str] = &[
    "axum",
    "hyper",
    "http",
    "http-body",
    "tower",
    "tower-http",
    "tokio-tungstenite",
    "thingwatch-http",
    "thingwatch-logs-api",
    "thingwatch-iot-api",
    "thingwatch-iotdata-api",
    "thingwatch-iam-api",
    "thingwatch-cloudtrail-api",
    "thingwatch-jobs-data-api",
    "thingwatch-prometheus",
];

/// Known violations, each with the reason it is not fixed yet. The list may only shrink: a
/// crate listed here that no longer violates fails the test too, so it is removed. (Empty
/// since the service model split: `thingwatch-iam`'s awsQuery wire shapes moved to
/// `thingwatch-iam-api`.)
const KNOWN_HTTP_DEPENDENTS: &[(&str, &str)] = &[];

/// `thingwatch-aws` (ARNs, credentials, the error table, validation messages) is shared by
/// domain and API crates alike, so it knows no HTTP either: otherwise a domain crate would
/// reach HTTP through it. The same holds for `thingwatch-wire`, the protocol document model
/// (bodies in, bodies out; headers and statuses are the HTTP crate's).
#[test]
fn the_aws_vocabulary_crates_know_no_http() {
    for name in ["thingwatch-aws", "thingwatch-wire"] {
        let manifest = workspace().join(format!("crates/{name}/Cargo.toml"));
        let http: Vec<String> = dependencies(&manifest)
            .into_iter()
            .filter(|d| HTTP_CRATES.contains(&d.as_str()))
            .collect();
        assert!(http.is_empty(), "{name} depends on {http:?}");
    }
}

/// The HTTP crate is the framework (SigV4, dispatch, the wire form of errors, the API-call
/// observer) and knows no service: services plug into it, never the other way.
#[test]
fn the_http_crate_knows_no_service() {
    let manifest = workspace().join("crates/thingwatch-http/Cargo.toml");
    let services: Vec<String> = dependencies(&manifest)
        .into_iter()
        .filter(|d| DOMAIN_CRATES.contains(&d.as_str()) || d.ends_with("-api"))
        .collect();
    assert!(
        services.is_empty(),
        "thingwatch-http depends on {services:?}"
    );
}

#[test]
fn no_domain_crate_depends_on_an_http_crate() {
    let root = workspace();
    let mut violations = Vec::new();
    for name in DOMAIN_CRATES {
        let manifest = root.join("crates").join(name).join("Cargo.toml");
        let http: Vec<String> = dependencies(&manifest)
            .into_iter()
            .filter(|d| HTTP_CRATES.contains(&d.as_str()))
            .collect();
        let known = KNOWN_HTTP_DEPENDENTS.iter().any(|(k, _)| k == name);
        match (http.is_empty(), known) {
            (false, false) => violations.push(format!("{name} depends on {http:?}")),
            (true, true) => violations.push(format!(
                "{name} no longer depends on an HTTP crate: remove it from KNOWN_HTTP_DEPENDENTS"
            )),
            _ => {}
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn only_the_ingress_calls_the_router() {
    let src = workspace().join("crates/thingwatch-broker/src");
    let mut callers = Vec::new();
    for file in rust_files(&src) {
        let code = production_code(&file);
        for (n, line) in code.lines().enumerate() {
            if line.contains(".route(") {
                let rel = file.strip_prefix(&src).unwrap().display().to_string();
                callers.push(format!("{rel}:{}", n + 1));
            }
        }
    }
    assert_eq!(callers.len(), 1, "router callers: {callers:?}");
    assert!(
        callers[0].starts_with("ingress.rs:"),
        "the router is called outside the ingress: {callers:?}"
    );
}

/// Whether `line` constructs an unbounded queue: `std::sync::mpsc::channel()` (std's takes no
/// capacity; tokio's `mpsc::channel(n)` does), `unbounded_channel()`, crossbeam's
/// `unbounded()`.
fn constructs_unbounded_queue(line: &str) -> bool {
    if line.contains("unbounded_channel") || line.contains("unbounded::<") {
        return true;
    }
    if line.contains("crossbeam_channel::unbounded") || line.contains("channel::unbounded(") {
        return true;
    }
    let mut rest = line;
    while let Some(i) = rest.find("mpsc::channel") {
        let after = &rest[i + "mpsc::channel".len()..];
        let after = match after.strip_prefix("::<") {
            Some(t) => t.find(">(").map_or(t, |j| &t[j + 1..]),
            None => after,
        };
        if after.starts_with("()") {
            return true;
        }
        rest = after;
    }
    false
}

#[test]
fn the_unbounded_queue_check_recognises_the_forms() {
    assert!(constructs_unbounded_queue(
        "let (tx, rx) = mpsc::channel();"
    ));
    assert!(constructs_unbounded_queue(
        "std::sync::mpsc::channel::<Job>()"
    ));
    assert!(constructs_unbounded_queue(
        "tokio::sync::mpsc::unbounded_channel()"
    ));
    assert!(constructs_unbounded_queue("crossbeam_channel::unbounded()"));
    assert!(!constructs_unbounded_queue("mpsc::channel::<()>(1)"));
    assert!(!constructs_unbounded_queue("mpsc::sync_channel::<Job>(16)"));
    assert!(!constructs_unbounded_queue("crossbeam_channel::bounded(8)"));
}

#[test]
fn the_server_has_no_unbounded_queue() {
    // `thingwatch-bench` is a load generator, not the server, and is not checked.
    let root = workspace();
    let mut found = Vec::new();
    let mut dirs = vec![root.join("src")];
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n != "thingwatch-bench") {
            dirs.push(path.join("src"));
        }
    }
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        for file in rust_files(dir) {
            let code = production_code(&file);
            for (n, line) in code.lines().enumerate() {
                if constructs_unbounded_queue(line) {
                    let rel = file.strip_prefix(&root).unwrap().display().to_string();
                    found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "unbounded queues: {found:#?}");
}

#[test]
fn arns_are_built_by_thingwatch_aws_only() {
    let root = workspace();
    let mut found = Vec::new();
    let mut dirs = vec![root.join("src")];
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n != "thingwatch-aws") {
            dirs.push(path.join("src"));
        }
    }
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        for file in rust_files(dir) {
            let code = production_code(&file);
            for (n, line) in code.lines().enumerate() {
                // A format string that starts an ARN and interpolates into it.
                let builds = line.match_indices("\"arn:").any(|(i, _)| {
                    line[i + 1..]
                        .split('"')
                        .next()
                        .is_some_and(|s| s.contains('{'))
                });
                if builds {
                    let rel = file.strip_prefix(&root).unwrap().display().to_string();
                    found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "ARNs built by hand: {found:#?}");
}
