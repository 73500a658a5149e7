//! The identity check asks two agencies and takes seconds: once sent, the operator's form
//! says so in the page's language and holds its button, so it is neither sent twice nor
//! taken for broken.

use crate::browser::Env;
use crate::screen_kit::{WIDTHS, browser_at, staff_session, visible_text};
use crate::support::TestApp;

#[tokio::test]
async fn browser_identity_check_shows_that_it_is_working_and_is_sent_once() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let work = tempfile::tempdir().unwrap();
    for (width, lang, words) in [
        (WIDTHS[0], "fa", "در حال استعلام"),
        (WIDTHS[1], "en", "Checking with the civil registry"),
    ] {
        let session = browser_at(&env, work.path(), width, &app).await;
        let b = &session;
        staff_session(b, &app, "operator", lang).await;
        b.goto(&format!("{base}/console/identity")).await;
        assert_eq!(visible_text(b, "#identity-form .busy-note").await, "");
        for (name, value) in [
            ("national_code", "0499370899"),
            ("first_name", "علی"),
            ("last_name", "رضایی"),
            ("birth_date", "1370-01-05"),
            ("service_code", "NID-001"),
            ("case_id", "CASE-9"),
        ] {
            b.type_into(&format!("input[name={name}]"), value).await;
        }
        // Keep the page from leaving, so the state between sending and the answer stays.
        let sent = b
            .exec(
                "window.sent = 0; const f = document.getElementById('identity-form');
                 f.addEventListener('submit', e => { window.sent += 1; e.preventDefault(); });
                 f.querySelector('button[type=submit]').click();
                 f.querySelector('button[type=submit]').click();
                 return [window.sent, f.getAttribute('aria-busy'),
                         f.querySelector('button[type=submit]').getAttribute('aria-disabled')];",
            )
            .await;
        assert_eq!(sent, serde_json::json!([2, "true", "true"]), "{lang}");
        let note = visible_text(b, "#identity-form .busy-note").await;
        assert!(note.contains(words), "{lang}: {note:?}");
        let drawn = b
            .exec(
                "const r = document.querySelector('#identity-form .busy-note').getBoundingClientRect();
                 return r.width > 0 && r.height > 0 && r.right <= window.innerWidth + 1 && r.left >= -1;",
            )
            .await;
        assert_eq!(drawn, serde_json::json!(true), "{lang}: the note is drawn");
        session.quit().await;
    }
    env.stop().await;
    app.stop().await;
}
