//! What a person must be able to see on any page, as checks the screen sweep
//! (`screen_sweep.rs`) and the refusals (`screen_refusals.rs`) run on what the browser drew.
//!
//! **Accessibility.** axe-core runs every rule it runs by default (WCAG 2 A and AA and its
//! best practices); a violation of impact serious or critical is a failure.
//!
//! **Visibility.** The values a person reads or fills in — `dd` of a detail list, table
//! cells `td`, figures `.stat-value`, form `label`s, `input`s (not hidden ones), `select`s,
//! `textarea`s and `button`s inside `main` — must each be drawn (not `display: none`,
//! `visibility: hidden` or transparent), have a box of at least 1×1 px, lie within the
//! viewport's width, and not be cut off by an ancestor whose overflow is `hidden` or `clip`
//! (nor cut off inside their own box). The page itself must not scroll sideways.
//! Exempt by design: what sits inside `[hidden]`, a closed `<details>` (outside its
//! summary) or `.visually-hidden` (text for screen readers only).
//! **Scrolling regions.** A table wider than the screen sits in a region that scrolls
//! sideways (`overflow-x: auto` or `scroll`). What lies inside such a region may extend past
//! the viewport, because a person scrolls the region to it — provided a keyboard can reach
//! the region (it is focusable, `tabindex="0"`, as `.table-wrap` is); from the region
//! outwards, the region's own box is what must be visible.
//!
//! **Language.** Every visible text node, the page's title, and the `placeholder`,
//! `aria-label`, `title` and `alt` texts of drawn elements are read:
//! - on a Persian page, no word in Latin letters and no Latin digit, except what is Latin by
//!   nature (`latin_by_nature`): codes of capitals and digits of either script with at least
//!   one digit (service codes `PSP-۰۰۱`, tracking codes, Sheba numbers `IR…`, case
//!   numbers), hexadecimal identifiers (request ids, digests), signed tokens (a receipt's
//!   compact JWS), web, e-mail and IP addresses, the words in `LATIN_WORDS` (the
//!   processor's acronym `PSP`, the Sheba prefix `IR`, the file format `CSV`, the demo
//!   password the sign-in page names), and usernames (the demo staff's, and `u` and a
//!   national code, which an invitation gives);
//! - a `title` (a tooltip) may hold the one code behind the words shown, such as an audit
//!   action's `auth.login` or an inquiry's `civil-registry.person`: one word of Latin
//!   letters, digits and `.` `:` `_` `-`, kept for those who run the system;
//! - on an English page, no Persian letter, Persian digit or Persian punctuation (`،` `؛`
//!   `؟`).
//!
//! Text inside an element that declares another language with `lang` (the language
//! switch, a service's title in the other language, a person's Persian name on an English
//! page) is that language's and is skipped.

use serde_json::Value;

use crate::browser::Browser;
use crate::screen_kit::strings;

const AXE: &str = include_str!("../vendor/axe.min.js");

/// The staff usernames pages may show (the header's "signed in as", the audit log).
pub(crate) const USERNAMES: &[&str] = &["regulator", "manager", "operator"];

/// Capital words without digits that are Latin by nature in Persian text (ADSL is part of a
/// catalogue title).
const LATIN_WORDS: &[&str] = &["PSP", "IR", "CSV", "ADSL", "demo1234"];

/// Waits for the page's web font, so that what is measured is what a person sees.
pub(crate) async fn settle(b: &Browser) {
    b.exec_async(
        "const done = arguments[arguments.length - 1]; \
         document.fonts.ready.then(() => done(true)).catch(() => done(false));",
    )
    .await;
}

/// axe-core's violations of impact serious or critical, one line each: rule, impact and
/// the elements.
pub(crate) async fn axe_serious(b: &Browser) -> Vec<String> {
    b.exec(&format!("{AXE}\n;return typeof axe;")).await;
    let found = b
        .exec_async(
            r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
              .then(r => done(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 6)
                    .map(n => n.target.join(' ')).join(', ')}${v.nodes.length > 6
                    ? ` and ${v.nodes.length - 6} more` : ''}`)))
              .catch(e => done([`axe failed: ${e}`]));
            "#,
        )
        .await;
    strings(&found)
}

/// Where the values of the page are not visible, per the module's rules; and whether the
/// page scrolls sideways.
pub(crate) async fn unseen_values(b: &Browser) -> Vec<String> {
    let found = b
        .exec(
            r#"
            const out = [];
            const W = window.innerWidth;
            const name = e => {
              let s = e.tagName.toLowerCase();
              if (e.id) s += '#' + e.id;
              else if (e.getAttribute('name')) s += `[name=${e.getAttribute('name')}]`;
              else if (typeof e.className === 'string' && e.className.trim())
                s += '.' + e.className.trim().split(/\s+/).join('.');
              return s;
            };
            const desc = e => {
              const t = (e.innerText || e.value || e.getAttribute('aria-label') || '')
                .trim().replace(/\s+/g, ' ').slice(0, 40);
              return t ? `${name(e)} "${t}"` : name(e);
            };
            const hides = v => v === 'hidden' || v === 'clip';
            const scrolls = v => v === 'auto' || v === 'scroll';
            const sel = 'main dd, main td, main .stat-value, main label, ' +
              'main input:not([type=hidden]), main select, main textarea, main button';
            for (const e of document.querySelectorAll(sel)) {
              if (e.closest('[hidden], .visually-hidden, template')) continue;
              const d = e.closest('details');
              if (d && !d.open && !e.closest('summary')) continue;
              if (!e.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) {
                out.push(`${desc(e)}: not drawn`);
                continue;
              }
              const r = e.getBoundingClientRect();
              if (r.width < 1 || r.height < 1) {
                out.push(`${desc(e)}: drawn ${r.width.toFixed(0)}x${r.height.toFixed(0)}`);
                continue;
              }
              const own = getComputedStyle(e);
              if (!['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName) &&
                  hides(own.overflowX) && e.scrollWidth > e.clientWidth + 1) {
                out.push(`${desc(e)}: its text is cut (${e.scrollWidth} > ${e.clientWidth})`);
                continue;
              }
              // The box that must be visible: the element's, then, past a scrolling region,
              // the region's.
              let box = { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
              let cut = null;
              for (let a = e.parentElement; a && a !== document.documentElement; a = a.parentElement) {
                const s = getComputedStyle(a);
                const ar = a.getBoundingClientRect();
                if (scrolls(s.overflowX)) {
                  if (a.scrollWidth > a.clientWidth + 1 && a.tabIndex < 0 &&
                      !a.querySelector('a[href], button, input, select, textarea, [tabindex]')) {
                    cut = `in a region ${name(a)} a keyboard cannot scroll`;
                    break;
                  }
                  box = { left: ar.left, right: ar.right, top: ar.top, bottom: ar.bottom };
                  continue;
                }
                if (hides(s.overflowX) && (box.left < ar.left - 1 || box.right > ar.right + 1)) {
                  cut = `cut off sideways by ${name(a)}`;
                  break;
                }
                if (hides(s.overflowY) && (box.top < ar.top - 1 || box.bottom > ar.bottom + 1)) {
                  cut = `cut off below or above by ${name(a)}`;
                  break;
                }
              }
              if (cut) { out.push(`${desc(e)}: ${cut}`); continue; }
              if (box.left < -1 || box.right > W + 1)
                out.push(`${desc(e)}: outside the viewport (${box.left.toFixed(0)}..${box.right.toFixed(0)} of ${W})`);
            }
            const sw = document.documentElement.scrollWidth;
            if (sw > W) out.push(`the page scrolls sideways: ${sw}px wide in ${W}px`);
            return out;
            "#,
        )
        .await;
    strings(&found)
}

/// One text a person sees or hears: the text, the language its element declares (the
/// nearest `lang`), and where it is.
pub(crate) struct Shown {
    pub(crate) text: String,
    pub(crate) lang: String,
    pub(crate) at: String,
}

/// Every text of the page a person sees or hears, per the module's rules.
pub(crate) async fn shown_texts(b: &Browser, css: &str) -> Vec<Shown> {
    let found = b
        .exec(&format!(
            r#"
            const root = document.querySelector({css:?});
            if (!root) return [];
            const out = [];
            const name = e => {{
              let s = e.tagName.toLowerCase();
              if (e.id) return s + '#' + e.id;
              if (typeof e.className === 'string' && e.className.trim())
                s += '.' + e.className.trim().split(/\s+/).join('.');
              const p = e.parentElement;
              if (p && p.id) s = `${{p.tagName.toLowerCase()}}#${{p.id}} > ${{s}}`;
              else if (p && typeof p.className === 'string' && p.className.trim())
                s = `${{p.tagName.toLowerCase()}}.${{p.className.trim().split(/\s+/)[0]}} > ${{s}}`;
              return s;
            }};
            const langOf = e => {{ const l = e.closest('[lang]'); return l ? l.lang : ''; }};
            const drawn = e => {{
              const s = e.closest('select');
              return (s || e).checkVisibility({{ checkOpacity: true, checkVisibilityCSS: true }});
            }};
            if (root === document.body && document.title.trim())
              out.push([document.title.trim(), document.documentElement.lang, 'title']);
            const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
            let n;
            while ((n = walk.nextNode())) {{
              const t = n.textContent.trim();
              const e = n.parentElement;
              if (!t || !e || e.closest('script, style, noscript, template')) continue;
              if (!drawn(e)) continue;
              out.push([t, langOf(e), name(e)]);
            }}
            for (const e of root.querySelectorAll('[placeholder], [aria-label], [title], img[alt]')) {{
              if (!drawn(e)) continue;
              for (const a of ['placeholder', 'aria-label', 'title', 'alt']) {{
                const v = e.getAttribute(a);
                if (v && v.trim()) out.push([v.trim(), langOf(e), `${{name(e)}} [${{a}}]`]);
              }}
            }}
            return out;
            "#
        ))
        .await;
    found
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| Shown {
                    text: v[0].as_str().unwrap_or_default().to_string(),
                    lang: v[1].as_str().unwrap_or_default().to_string(),
                    at: v[2].as_str().unwrap_or_default().to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn is_persian_digit(c: char) -> bool {
    ('\u{06F0}'..='\u{06F9}').contains(&c)
}

fn is_persian_char(c: char) -> bool {
    ('\u{0600}'..='\u{06FF}').contains(&c) || ('\u{FB50}'..='\u{FEFF}').contains(&c)
}

/// Whether `word` (a run of Latin letters, digits and the punctuation of codes and
/// addresses) is Latin by nature: see the module's doc.
pub(crate) fn latin_by_nature(word: &str) -> bool {
    let digit = |c: char| c.is_ascii_digit() || is_persian_digit(c);
    let code = word.chars().any(digit)
        && word.chars().any(|c| c.is_ascii_uppercase())
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || digit(c) || "-_/".contains(c));
    let hex = word.len() >= 8
        && word.chars().any(|c| c.is_ascii_digit())
        && word.chars().any(|c| ('a'..='f').contains(&c))
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c) || c == '-');
    let b64 = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    let token = word.len() >= 40 && word.split('.').count() == 3 && word.split('.').all(b64);
    let address = word.contains("://") || word.starts_with("www.");
    let ip = word.split('.').count() == 4
        && word
            .split('.')
            .all(|n| !n.is_empty() && n.len() <= 3 && n.chars().all(|c| c.is_ascii_digit()));
    let email = word
        .split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
    let invited =
        word.len() == 11 && word.starts_with('u') && word[1..].chars().all(|c| c.is_ascii_digit());
    // A tracking code is 8 characters of its own alphabet, with or without its dash; a random
    // one may hold no digit at all ("CMHN-SMNM").
    let tracking = pishkhan_domain::schedule::TrackingCode::parse(word).is_ok()
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    code || hex
        || tracking
        || token
        || address
        || ip
        || email
        || invited
        || LATIN_WORDS.contains(&word)
        || USERNAMES.contains(&word)
}

/// Whether a tooltip holds just the code behind the words shown (see the module's doc).
fn tooltip_code(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".:_-".contains(c))
}

/// The runs of Latin letters and digits in `text`, with the punctuation that holds codes and
/// addresses together, trimmed of sentence punctuation.
fn latin_words(text: &str) -> Vec<&str> {
    let joins =
        |c: char| c.is_ascii_alphanumeric() || is_persian_digit(c) || "._@:/-+?=&%#~".contains(c);
    text.split(|c: char| !joins(c))
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && !is_persian_digit(c)))
        .filter(|w| w.chars().any(|c| c.is_ascii_alphanumeric()))
        .collect()
}

/// What is out of the page's language in `text`: Latin words or digits that are not Latin
/// by nature on a Persian page; Persian letters, digits or punctuation on an English one.
pub(crate) fn out_of_language(text: &str, lang: &str) -> Option<String> {
    if lang == "fa" {
        let odd: Vec<&str> = latin_words(text)
            .into_iter()
            .filter(|w| !latin_by_nature(w))
            .collect();
        (!odd.is_empty()).then(|| format!("Latin {odd:?}"))
    } else {
        let odd: String = text.chars().filter(|c| is_persian_char(*c)).collect();
        (!odd.is_empty()).then(|| format!("Persian {odd:?}"))
    }
}

/// The texts of the page out of the page's language `lang`, one line each.
pub(crate) fn language_problems(texts: &[Shown], lang: &str) -> Vec<String> {
    texts
        .iter()
        .filter(|s| s.lang.is_empty() || s.lang == lang)
        .filter(|s| !(s.at.ends_with("[title]") && tooltip_code(&s.text)))
        .filter_map(|s| {
            out_of_language(&s.text, lang).map(|why| {
                let excerpt: String = s.text.chars().take(60).collect();
                format!("{}: {why} in {excerpt:?}", s.at)
            })
        })
        .collect()
}

/// Why `css` is not where a person sees it, or `None` when it is: it exists, is drawn with
/// a size, lies within the viewport's width once scrolled to, and is the topmost thing there.
pub(crate) async fn not_in_view(b: &Browser, css: &str) -> Option<String> {
    let got = b
        .exec(&format!(
            r#"
            const e = document.querySelector({css:?});
            if (!e) return 'missing';
            e.scrollIntoView({{ block: 'center', inline: 'nearest', behavior: 'instant' }});
            if (!e.checkVisibility({{ checkOpacity: true, checkVisibilityCSS: true }})) return 'not drawn';
            const r = e.getBoundingClientRect();
            if (r.width < 1 || r.height < 1) return `drawn ${{r.width}}x${{r.height}}`;
            if (r.left < -1 || r.right > window.innerWidth + 1)
              return `outside the viewport: ${{r.left}}..${{r.right}} of ${{window.innerWidth}}`;
            // A point on its first line: an inline element that wraps has gaps in its box.
            const f = e.getClientRects()[0] || r;
            const x = Math.min(Math.max(f.left + f.width / 2, 0), window.innerWidth - 1);
            const y = Math.max(f.top, 0) + Math.min(f.bottom - Math.max(f.top, 0), 40) / 2;
            const top = document.elementFromPoint(x, y);
            if (!top || !(e === top || e.contains(top)))
              return `covered by ${{top && top.outerHTML.slice(0, 80)}}`;
            return null;
            "#
        ))
        .await;
    match got {
        Value::String(s) => Some(s),
        _ => None,
    }
}

#[test]
fn latin_by_nature_lets_codes_through_and_stops_words() {
    for ok in [
        "PSP-001",
        "75UE-T9B3",
        "CMHN-SMNM",
        "CMHNSMNM",
        "IR820540102680020817909002",
        "PSP",
        "https://example.org/x",
        "a@b.ir",
        "operator",
        "NID-۰۰۱",
        "CASE-۳۱",
        "PK-۱۳۹۳-۰۰۰۰۱",
        "d4f76d21-0000000b",
        "127.0.0.1",
        "u9876500015",
        "eyJhbGciOiJFZERTQSJ9.eyJ2aWQiOiJWMTZDMkZFNDk3MjZEMURGMjk1MkQyOUE2In0.W13sP4V4GMkYn5GX",
    ] {
        assert!(latin_by_nature(ok), "{ok}");
    }
    for bad in [
        "Error",
        "ERROR",
        "not",
        "08:00",
        "1405-09-10",
        "page",
        "auth.login",
        "sabt",
        "API",
    ] {
        assert!(!latin_by_nature(bad), "{bad}");
    }
    assert_eq!(
        out_of_language("کد خدمت PSP-001 است.", "fa"),
        None,
        "a code in Persian"
    );
    assert!(
        out_of_language("نوبت: 12 نفر", "fa").is_some(),
        "Latin digits"
    );
    assert!(out_of_language("Offices، services", "en").is_some());
    assert_eq!(out_of_language("Office 11000001, Tehran", "en"), None);
    assert_eq!(out_of_language("کد NID-۰۰۱ است", "fa"), None);
    assert!(tooltip_code("civil-registry.person") && !tooltip_code("Not a code"));
}

/// The checks themselves can fail: a page with a picture without words, a value cut off by
/// its card, a table in a region no keyboard reaches, a page wider than the screen, and an
/// English sentence on a Persian page is caught on each count.
#[tokio::test]
async fn browser_the_checks_catch_what_they_are_for() {
    let Some(env) = crate::browser::Env::start().await else {
        return;
    };
    let b = &env.b;
    let app = crate::support::TestApp::sqlite().await;
    b.goto(&format!("{}/login", app.base)).await;
    settle(b).await;
    assert_eq!(
        unseen_values(b).await,
        Vec::<String>::new(),
        "the page as served"
    );
    b.exec(
        r#"
        // Styles set through the CSSOM: the pages' CSP refuses inline style attributes.
        const main = document.querySelector('main');
        main.insertAdjacentHTML('beforeend', `
          <img src="/static/none.png">
          <div id="card"><dl><dt>a</dt><dd id="cut">۱۲۳۴۵۶۷۸۹</dd></dl></div>
          <div id="region"><table><tr><td id="far">x</td></tr></table></div>
          <p id="english">This sentence is English.</p>
          <div id="wide"></div>`);
        const style = (id, s) => Object.assign(document.getElementById(id).style, s);
        style('card', { overflow: 'hidden', width: '40px', height: '20px' });
        style('cut', { width: '200px', margin: '0' });
        style('region', { overflowX: 'auto', width: '50px' });
        style('far', { minWidth: '900px' });
        style('wide', { width: '2000px', height: '1px' });
        return true;
        "#,
    )
    .await;
    let axe = axe_serious(b).await;
    assert!(axe.iter().any(|v| v.starts_with("image-alt")), "{axe:?}");
    let unseen = unseen_values(b).await.join("\n");
    for expected in ["dd#cut", "td#far", "scrolls sideways"] {
        assert!(unseen.contains(expected), "{expected} in {unseen}");
    }
    let words = language_problems(&shown_texts(b, "body").await, "fa").join("\n");
    assert!(words.contains("English"), "{words}");
    env.stop().await;
    app.stop().await;
}
