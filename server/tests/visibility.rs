//! Distribution enforced by the handlers, on a store holding an AMBER entry.
//!
//! The fold only accepts GREEN roster statements today, so this test writes an
//! AMBER statement (CZ to US) into the store directly, behind the fold's back,
//! and checks what `GET /v1/statements/{id}` and `GET /v1/entries` answer to US
//! (a recipient), DE (not one) and an anonymous reader. The end-to-end version
//! through the real binaries is `tests/tests/access.rs`
//! `amber_statement_is_visible_to_its_recipient_only`.

use std::sync::{Arc, RwLock};

use actix_web::{test, web, App};
use entente_server::routes;
use entente_server::sequencer::{Core, Sequencer};
use entente_server::settings::Settings;
use entente_server::state::AppState;
use entente_server::store::{CommitBatch, Store};
use entente_shared::checkpoint::{Checkpoint, SignedCheckpoint};
use entente_shared::httpsig;
use entente_shared::keys::SigningKey;
use entente_shared::ledger::Ledger;
use entente_shared::merkle::{leaf_hash, CompactTree};
use entente_shared::note::NoteSigner;
use entente_shared::statement::{Admission, Body, Distribution, Role, Statement, StatementId, Tlp};

struct Fixture {
    state: AppState,
    us: SigningKey,
    de: SigningKey,
    amber_id: StatementId,
    _dir: tempfile::TempDir,
}

fn admission(
    by: &SigningKey,
    author: &str,
    code: &str,
    key: &SigningKey,
    role: Role,
    seq: u64,
    d: Distribution,
) -> Vec<u8> {
    let body = Body::Admission(Admission {
        delegation: code.parse().unwrap(),
        name: code.into(),
        role,
        public_key: key.public_key(),
        encryption_key: None,
    });
    Statement::new(author.parse().unwrap(), by, seq, d, body)
        .sign(by)
        .to_canonical_json()
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap().store;
    let (cz, _) = SigningKey::generate().unwrap();
    let (us, _) = SigningKey::generate().unwrap();
    let (de, _) = SigningKey::generate().unwrap();
    let (fr, _) = SigningKey::generate().unwrap();
    let green = Distribution::green();
    let mut ledger = Ledger::new();
    let mut batch = CommitBatch::default();
    for (i, bytes) in [
        admission(&cz, "CZ", "CZ", &cz, Role::Secretariat, 1, green.clone()),
        admission(&cz, "CZ", "US", &us, Role::Member, 2, green.clone()),
        admission(&cz, "CZ", "DE", &de, Role::Member, 3, green.clone()),
    ]
    .into_iter()
    .enumerate()
    {
        let env = entente_shared::dsse::Envelope::from_json(&bytes).unwrap();
        let v = ledger.verify(env).unwrap();
        ledger.apply(&v).unwrap();
        batch.entries.push((i as u64, v.id(), bytes));
    }
    // Entry 3: AMBER, CZ to US. The fold would refuse it (roster kinds are
    // GREEN); written directly, it stands in for an AMBER assessment.
    let amber = Distribution {
        tlp: Tlp::Amber,
        to: vec!["US".parse().unwrap()],
    };
    let bytes = admission(&cz, "CZ", "FR", &fr, Role::Member, 4, amber);
    let env = entente_shared::dsse::Envelope::from_json(&bytes).unwrap();
    let amber_id = StatementId::of_payload(&env.payload);
    batch.entries.push((3, amber_id, bytes));
    ledger.skip_hidden();
    batch.size = 4;
    // A real tree and signed checkpoint, as the sequencer would have written them.
    let (log_key, _) = SigningKey::generate().unwrap();
    let origin = "test.example/log".to_owned();
    let signer = NoteSigner::new(&origin, &log_key).unwrap();
    let verifier = signer.verifier();
    let mut tree = CompactTree::new();
    for (_, _, bytes) in &batch.entries {
        tree.append(leaf_hash(bytes), |level, index, hash| {
            batch.nodes.push((level, index, *hash))
        });
    }
    let cp = Checkpoint {
        origin: origin.clone(),
        size: 4,
        root: tree.root(),
        extensions: vec![],
    };
    batch.checkpoint = SignedCheckpoint::sign(cp, &signer).unwrap().to_text();
    store.commit(batch).unwrap();
    let ledger = Arc::new(RwLock::new(ledger));
    let core = Core {
        store: store.clone(),
        ledger: ledger.clone(),
        tree,
        log_key,
        origin,
        max_batch: 16,
        feed: None,
        tick: None,
        head: Default::default(),
        snapshots: None,
    };
    let (sequencer, _thread) = Sequencer::start(core, 16).unwrap();
    // The fold was built above, before the state: it is ready.
    let state = AppState::new(
        store,
        ledger,
        sequencer,
        Settings::default(),
        verifier,
        tokio::sync::broadcast::channel(4).0,
        tokio::sync::watch::channel(true).1,
    );
    Fixture {
        state,
        us,
        de,
        amber_id,
        _dir: dir,
    }
}

/// GETs `path` signed by `key` (or unsigned); returns status and JSON body.
async fn get(state: &AppState, path: &str, key: Option<&SigningKey>) -> (u16, serde_json::Value) {
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(state.clone()))
            .configure(routes::config),
    )
    .await;
    let mut req = test::TestRequest::get()
        .uri(path)
        .insert_header(("host", "localhost"));
    if let Some(key) = key {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let target = format!("http://localhost{path}");
        let h = httpsig::sign(key, "GET", &target, None, now, &httpsig::new_nonce());
        for (n, v) in h.pairs() {
            req = req.insert_header((n, v));
        }
    }
    let resp = test::call_service(&app, req.to_request()).await;
    let status = resp.status().as_u16();
    let body = test::read_body(resp).await;
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

#[actix_web::test]
async fn amber_statement_is_shown_to_its_recipient_and_hidden_from_others() {
    let f = fixture();
    let path = format!("/v1/statements/{}", f.amber_id);
    let (status, body) = get(&f.state, &path, Some(&f.us)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["index"], 3);

    let (status, hidden) = get(&f.state, &path, Some(&f.de)).await;
    assert_eq!(status, 404, "{hidden}");
    let missing = format!("/v1/statements/{}", "0".repeat(64));
    let (_, absent) = get(&f.state, &missing, Some(&f.de)).await;
    assert_eq!(hidden["type"], absent["type"], "hidden answers as missing");
    assert_eq!(hidden["title"], absent["title"]);
    let (status, _) = get(&f.state, &path, None).await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn entries_hide_what_the_reader_may_not_see() {
    let f = fixture();
    let (_, us) = get(&f.state, "/v1/entries?start=0", Some(&f.us)).await;
    let (_, de) = get(&f.state, "/v1/entries?start=0", Some(&f.de)).await;
    let (_, anon) = get(&f.state, "/v1/entries?start=0", None).await;
    let us = us["entries"].as_array().unwrap();
    let de = de["entries"].as_array().unwrap();
    let anon = anon["entries"].as_array().unwrap();
    assert_eq!((us.len(), de.len(), anon.len()), (4, 4, 4));
    // US sees all four; DE the three GREEN ones; anonymous none (nothing is CLEAR).
    let shown =
        |es: &[serde_json::Value]| es.iter().filter(|e| e.get("envelope").is_some()).count();
    assert_eq!((shown(us), shown(de), shown(anon)), (4, 3, 0));
    assert_eq!(us[3]["id"], f.amber_id.to_string());
    let hidden = &de[3];
    assert_eq!(hidden["index"], 3);
    assert_eq!(
        hidden["leaf_hash"], us[3]["leaf_hash"],
        "same leaf hash for everyone"
    );
    assert!(
        hidden.get("id").is_none() && hidden.get("envelope").is_none(),
        "{hidden}"
    );
}

/// Every route of `routes.rs`, as `(method, full path pattern)`, read from
/// its source, so that a route added there without a line below fails.
/// Routes before the `/v1` scope are at the root.
fn route_table() -> Vec<(String, String)> {
    let src = include_str!("../src/routes.rs");
    let scope = src.find("web::scope(\"/v1\")").expect("the /v1 scope");
    let mut routes = Vec::new();
    let mut rest = src;
    while let Some(at) = rest.find(".route(") {
        let at_root = src.len() - rest.len() + at < scope;
        rest = &rest[at + ".route(".len()..];
        let path = rest.split('"').nth(1).unwrap_or_default();
        let method = if rest[..rest.find(')').unwrap_or(0) + 20].contains("web::post()") {
            "POST"
        } else {
            "GET"
        };
        let full = if at_root {
            path.to_owned()
        } else {
            format!("/v1{path}")
        };
        routes.push((method.to_owned(), full));
    }
    routes
}

/// The client signs exactly the routes the server authenticates:
/// `entente_shared::api::is_public_route` agrees with the route table. A
/// request with a signature that cannot verify is refused 401
/// `bad-request-signature` by an authenticated route, and not looked at by a
/// public one.
#[actix_web::test]
async fn the_shared_list_of_public_routes_matches_the_route_table() {
    let f = fixture();
    let id = "0".repeat(64);
    // A concrete request for every route pattern.
    let concrete = |method: &str, pattern: &str| -> String {
        let path = pattern.replace("{id}", &id).replace("{name}", "acme");
        match (method, path.as_str()) {
            ("GET", "/v1/entries") => "/v1/entries?start=0".into(),
            ("GET", "/v1/proofs/inclusion") => "/v1/proofs/inclusion?index=0&size=4".into(),
            ("GET", "/v1/proofs/consistency") => "/v1/proofs/consistency?from=1&to=4".into(),
            _ => path,
        }
    };
    let table = route_table();
    assert!(table.len() >= 20, "routes.rs not read: {table:?}");
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(f.state.clone()))
            .configure(routes::config),
    )
    .await;
    for (method, pattern) in table {
        let path = concrete(&method, &pattern);
        let req = match method.as_str() {
            "POST" => test::TestRequest::post().set_payload("{}"),
            _ => test::TestRequest::get(),
        }
        .uri(&path)
        .insert_header(("host", "localhost"))
        .insert_header((
            "signature-input",
            format!("sig1=(\"@method\" \"@target-uri\");created=1;keyid=\"{}\";alg=\"ed25519\";nonce=\"n\"", f.us.key_id()),
        ))
        .insert_header(("signature", "sig1=:AAAA:"))
        .to_request();
        let resp = test::call_service(&app, req).await;
        let status = resp.status().as_u16();
        let body: serde_json::Value =
            serde_json::from_slice(&test::read_body(resp).await).unwrap_or_default();
        let authenticated = status == 401
            && body["type"].as_str().is_some_and(|t| {
                t.ends_with(":bad-request-signature") || t.ends_with(":expired-signature")
            });
        assert_eq!(
            authenticated,
            !entente_shared::api::is_public_route(&method, &path),
            "{method} {path}: {status} {body}"
        );
    }
}
