//! The repository keeps the architecture its document describes, and each check catches a
//! deliberate violation.

use std::path::{Path, PathBuf};
use std::process::Command;

use pishkhan_tidy::{check_adapters, check_doc_paths, check_layering, layering_from_doc};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the tidy crate sits in crates/")
        .to_path_buf()
}

fn architecture() -> String {
    std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md")
}

fn metadata() -> String {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("metadata is UTF-8")
}

fn report(violations: &[pishkhan_tidy::Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn crates_depend_only_on_what_the_layering_allows() {
    let layering = layering_from_doc(&architecture()).expect("layering table");
    let violations = check_layering(&metadata(), &layering);
    assert!(violations.is_empty(), "{}", report(&violations));
}

#[test]
fn the_adapters_never_import_each_other() {
    let violations = check_adapters(&workspace_root());
    assert!(violations.is_empty(), "{}", report(&violations));
}

#[test]
fn every_path_the_architecture_names_exists() {
    let violations = check_doc_paths(&architecture(), &workspace_root());
    assert!(violations.is_empty(), "{}", report(&violations));
}

const DOC: &str = "\
# Architecture

## Layering

| crate | may depend on | must not use |
|---|---|---|
| `core` | — | |
| `app` | `core` | `axum` |
| `web` | `app` `core` | |

## Next
";

fn package(name: &str, deps: &[(&str, &str)]) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "dependencies": deps
            .iter()
            .map(|(d, kind)| serde_json::json!({
                "name": d,
                "kind": if kind.is_empty() { serde_json::Value::Null } else { (*kind).into() },
            }))
            .collect::<Vec<_>>(),
    })
}

fn meta(packages: Vec<serde_json::Value>) -> String {
    serde_json::json!({ "packages": packages }).to_string()
}

#[test]
fn the_layering_table_is_read_from_the_document() {
    let layering = layering_from_doc(DOC).unwrap();
    assert_eq!(
        layering.keys().cloned().collect::<Vec<_>>(),
        ["app", "core", "web"]
    );
    assert!(layering["core"].workspace.is_empty());
    assert_eq!(
        layering["web"]
            .workspace
            .iter()
            .cloned()
            .collect::<Vec<_>>(),
        ["app", "core"]
    );
    assert!(layering["app"].forbidden_outside.contains("axum"));
    assert!(layering_from_doc("# Architecture\n\nno table\n").is_err());
}

#[test]
fn a_forbidden_edge_is_caught_and_dev_dependencies_are_free() {
    let layering = layering_from_doc(DOC).unwrap();
    let clean = meta(vec![
        package("core", &[("serde", "")]),
        package("app", &[("core", ""), ("web", "dev")]),
        package("web", &[("app", ""), ("axum", "")]),
    ]);
    assert_eq!(check_layering(&clean, &layering), vec![]);

    // The core reaching up to the application layer.
    let upward = meta(vec![
        package("core", &[("app", "")]),
        package("app", &[("core", "")]),
        package("web", &[("app", "")]),
    ]);
    let found = check_layering(&upward, &layering);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].detail.contains("core depends on app"), "{found:?}");

    // The application layer linking the HTTP framework.
    let http_in_app = meta(vec![
        package("core", &[]),
        package("app", &[("core", ""), ("axum", "build")]),
        package("web", &[("app", "")]),
    ]);
    let found = check_layering(&http_in_app, &layering);
    assert!(found[0].detail.contains("app depends on axum"), "{found:?}");

    // A crate the document forgot, and a row for a crate that is gone.
    let drifted = meta(vec![package("core", &[]), package("new", &[])]);
    let found = report(&check_layering(&drifted, &layering));
    assert!(found.contains("new has no row"), "{found}");
    assert!(
        found.contains("names web, which is no workspace crate"),
        "{found}"
    );
}

fn write(root: &Path, path: &str, text: &str) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

#[test]
fn an_adapter_importing_the_other_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "crates/pishkhan-web/src/api/queue.rs",
        "use crate::AppState;\n",
    );
    write(
        root,
        "crates/pishkhan-web/src/ui/console.rs",
        "// crate::api::queue is named in a comment only\nuse pishkhan_app::queue;\n",
    );
    write(root, "crates/pishkhan-app/src/queue.rs", "pub fn f() {}\n");
    assert_eq!(check_adapters(root), vec![]);

    write(
        root,
        "crates/pishkhan-web/src/ui/console.rs",
        "fn f() { crate::api::queue::run(); }\n",
    );
    write(
        root,
        "crates/pishkhan-web/src/api/identity.rs",
        "use crate::ui::identity::Panel;\n",
    );
    write(
        root,
        "crates/pishkhan-app/src/queue.rs",
        "fn f() -> Result<(), ApiError> { Ok(()) }\n",
    );
    let found = report(&check_adapters(root));
    assert!(
        found.contains("api/identity.rs:1: the api adapter imports the ui adapter"),
        "{found}"
    );
    assert!(
        found.contains("ui/console.rs:1: the ui adapter imports the api adapter"),
        "{found}"
    );
    assert!(
        found.contains("pishkhan-app/src/queue.rs:1: ApiError outside the web crate"),
        "{found}"
    );
}

#[test]
fn a_named_path_that_does_not_exist_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "crates/pishkhan-app/src/queue.rs", "");
    let doc = "The queue runner is `crates/pishkhan-app/src/queue.rs`; the folder \
               `crates/pishkhan-app/src/` holds it; `api/queue.rs` is relative and not checked.\n\
               The old place was `crates/pishkhan-web/src/api/queue_runner.rs`.\n";
    let found = check_doc_paths(doc, root);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].detail.contains("ARCHITECTURE.md:2"), "{found:?}");
    assert!(found[0].detail.contains("queue_runner.rs"), "{found:?}");
}
