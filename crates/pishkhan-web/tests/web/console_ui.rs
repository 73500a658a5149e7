//! In headless Chromium: an operator works the queue at the console while the office's TV
//! board, open in a second browser, follows live over server-sent events.

use crate::browser::{Browser, Env, POLL_INTERVAL, POLL_TRIES, path_of, sign_in};
use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, TestApp};

/// Polls `css`'s text until `pred` holds; bounded.
pub(crate) async fn wait_text(
    b: &Browser,
    css: &str,
    what: &str,
    pred: impl Fn(&str) -> bool,
) -> String {
    let mut last = String::new();
    for _ in 0..POLL_TRIES {
        // Read through script: the live panel is replaced on every change, so element handles
        // go stale.
        let got = b
            .exec(&format!(
                "var e = document.querySelector({css:?}); return e ? e.textContent : null;"
            ))
            .await;
        if let Some(text) = got.as_str() {
            last = text.to_string();
            if pred(&last) {
                return last;
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    panic!("{what}: {css} never matched; last text {last:?}");
}

#[tokio::test]
async fn browser_operator_runs_the_console_while_the_tv_follows() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let b = &env.b;
    let work = tempfile::tempdir().unwrap();
    let (_, chrome) = crate::browser::browser_binaries().unwrap();
    let tv = Browser::new(&env.driver, &chrome, &work.path().join("tv")).await;

    tv.goto(&format!("{base}/offices/{DEMO_OFFICE}/display"))
        .await;
    wait_text(&tv, "#board-waiting", "the board", |t| t.contains('۰')).await;

    b.step("console: sign in and open the desk");
    b.goto(&format!("{base}/login?next=/console")).await;
    sign_in(b, "operator", DEMO_PASSWORD).await;
    b.wait_for_url("signed in", |u| !path_of(u).starts_with("/login"))
        .await;
    b.goto(&format!("{base}/console")).await;
    wait_text(b, "h1", "the console", |t| t.contains("میز کار باجه")).await;

    b.step("console: a walk-in ticket");
    b.click(&b.find("#walk-in-form button[type=submit]").await)
        .await;
    let notice = wait_text(b, "#console-notice", "walk-in issued", |t| t.contains("W-")).await;
    assert!(
        notice.contains("W-۰۰۱"),
        "Persian digits in the notice: {notice}"
    );

    b.step("tv: the waiting count follows");
    wait_text(&tv, "#board-waiting", "one waiting", |t| t.trim() == "۱").await;

    b.step("console: call next; the tv shows the ticket at counter 1");
    b.click(&b.find("#call-next").await).await;
    wait_text(b, "#serving-ticket", "serving", |t| t.contains("W-۰۰۱")).await;
    wait_text(&tv, "#board-serving", "tv serving", |t| {
        t.contains("W-۰۰۱") && t.contains('۱')
    })
    .await;

    b.step("console: complete; the tv empties");
    b.click(&b.find("#complete").await).await;
    wait_text(b, "#serving-ticket", "idle", |t| !t.contains("W-")).await;
    wait_text(&tv, "#board-serving", "tv idle", |t| !t.contains("W-")).await;

    tv.quit().await;
    env.stop().await;
    app.stop().await;
}
