//! Migrations: applied at start, again by `hilo migrate`, changing nothing the second time.

use crate::support::{TestApp, on_both_engines};

on_both_engines!(migrating_again_changes_nothing);

async fn migrating_again_changes_nothing(app: TestApp) {
    let store = app.store().clone();
    let applied = store.applied_migrations().await.expect("applied");
    assert_eq!(applied, store.known_migrations());
    assert!(!applied.is_empty());
    let newly = store.migrate().await.expect("second migration");
    assert!(newly.is_empty(), "nothing new to apply: {newly:?}");
    assert_eq!(store.applied_migrations().await.expect("applied"), applied);
    // Data written before the second run is intact.
    assert_eq!(app.get("/api/v1/me", &app.admin_key).await.status(), 200);
    app.stop().await;
}

#[test]
fn both_engines_carry_the_same_migrations() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../hilo-store/migrations");
    let names = |engine: &str| {
        let mut names: Vec<String> = std::fs::read_dir(format!("{root}/{engine}"))
            .expect("migrations folder")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}
