//! The supplier registry through the real binaries: "Huawei",
//! "Huawei Technologies Co., Ltd." and their case variants are one supplier
//! in every view; a name belongs to one registered supplier; the secretariat
//! keeps the registry and merges two registered suppliers found to be one.
//!
//! Build the binaries first: `cargo build --workspace`.

use entente_tests::{write_file, Cli, Server};

/// A joint-declaration-2020 assessment of `supplier`, every criterion `risk`.
fn assessment(supplier: &str, risk: &str) -> String {
    let mut s = format!(
        "framework = \"joint-declaration-2020\"\nframework_version = 1\nsegments = [\"core\"]\n\n[supplier]\nname = \"{supplier}\"\ncountry = \"China\"\n\n[verdict]\ndecision = \"untrusted\"\ntransition = \"replace at life-cycle replacement\"\n"
    );
    for c in [
        "foreign-influence",
        "ownership-transparency",
        "innovation-ip",
        "ethical-conduct",
    ] {
        s.push_str(&format!(
            "\n[[ratings]]\ncriterion = \"{c}\"\nrisk = \"{risk}\"\nrationale = \"r\"\n"
        ));
    }
    s
}

fn assessed_by(cli: &Cli, name: &str) -> Vec<String> {
    let view = cli.json(&["supplier", "show", name]);
    let mut codes: Vec<String> = view["frameworks"][0]["assessments"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    codes.sort();
    codes
}

#[test]
fn a_supplier_and_its_variants_are_one_in_every_view() {
    let server = Server::start();
    let cz = Cli::secretariat(server.url());
    let us = cz.seat("US", "member");
    let de = cz.seat("DE", "member");
    let work = tempfile::tempdir().unwrap();

    cz.json(&[
        "supplier",
        "register",
        "Huawei Technologies Co., Ltd.",
        "--country",
        "China",
        "--aliases",
        "Huawei",
    ]);
    // The secretariat keeps the registry: a member may not take a name.
    let (code, stderr) = us.fails(&["supplier", "register", "ZTE", "--country", "China"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("role-not-allowed"), "{stderr}");
    // A name belongs to one supplier, whatever its case.
    let (code, stderr) = cz.fails(&["supplier", "register", "HUAWEI", "--country", "China"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("supplier-exists"), "{stderr}");
    cz.json(&["supplier", "register", "Huawei Tech", "--country", "China"]);

    for (cli, name, file) in [
        (&us, "huawei", "us.toml"),
        (&cz, "Huawei Technologies Co., Ltd.", "cz.toml"),
        (&de, "Huawei Tech", "de.toml"),
    ] {
        let path = write_file(work.path(), file, &assessment(name, "high"));
        cli.json(&["assess", "submit", &path]);
    }
    // Two spellings of one registered supplier: one comparison.
    assert_eq!(assessed_by(&cz, "HUAWEI"), ["CZ", "US"]);
    let shown = cz.json(&["supplier", "show", "huawei"]);
    assert_eq!(shown["name"], "Huawei Technologies Co., Ltd.", "{shown}");

    // Only the secretariat merges; then DE's entry is one of the names.
    let (code, stderr) = us.fails(&[
        "supplier",
        "merge",
        "Huawei Technologies Co., Ltd.",
        "Huawei Tech",
    ]);
    assert_eq!(code, 1, "{stderr}");
    cz.json(&[
        "supplier",
        "merge",
        "Huawei Technologies Co., Ltd.",
        "Huawei Tech",
    ]);
    for name in ["huawei tech", "Huawei", "HUAWEI TECHNOLOGIES CO., LTD."] {
        assert_eq!(assessed_by(&de, name), ["CZ", "DE", "US"], "{name}");
    }
    // Listing assessments by a name goes by the registry too.
    let listed = de.json(&["assess", "list", "--supplier", "HW-unknown-name"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(0));
    let listed = de.json(&["assess", "list", "--supplier", "huawei"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");
    // An archive of only the latest entries keeps the registry it needs.
    let size = server.log_size();
    let bundle = work.path().join("tail.jsonl");
    cz.json(&[
        "archive",
        "export",
        bundle.to_str().unwrap(),
        "--since",
        &(size - 1).to_string(),
    ]);
    let verified = cz.run(&["archive", "verify", bundle.to_str().unwrap()]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let registry = de.json(&["supplier", "list"]);
    let entries = registry.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{registry}");
    assert_eq!(
        entries[0]["aliases"],
        serde_json::json!(["Huawei", "Huawei Tech"])
    );
}
