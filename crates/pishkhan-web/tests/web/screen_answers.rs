//! What a form answers when it succeeds, seen as the sweep sees pages (`screen_rules.rs`):
//! screens reached only by sending a form — an identity check's result, a new invitation's
//! link, an activated account, a survey's thanks, a warning given, hours saved — each on a
//! phone in Persian and English, with axe-core, visible values and the page's language, and
//! the answer itself on screen. Screenshots as `answer-<case>-<lang>-390.png`.

use crate::browser::{Browser, Env};
use crate::screen_refusals::appears;
use crate::screen_rules::{
    axe_serious, language_problems, not_in_view, settle, shown_texts, unseen_values,
};
use crate::screen_sweep::{Sweep, Who, invitation, shoot, visit_to_survey};
use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, OTHER_OFFICE};

/// A form sent with good input: who sends it where, what is typed (a field given no value
/// is clicked: a radio button), the button, and where the answer shows.
struct Answer {
    name: &'static str,
    who: Who,
    path: String,
    fill: Vec<(&'static str, String)>,
    submit: &'static str,
    shown_in: &'static str,
}

/// The answers for one language: the once-only ones (an invitation, a survey, a first
/// warning) are fresh for each.
async fn answers(sweep: &Sweep, lang: &str) -> Vec<Answer> {
    use Who::*;
    let app = &sweep.app;
    let person = (0..sweep.exchange.population.size())
        .map(|i| sweep.exchange.population.person(i))
        .find(|p| p.alive && p.card_status == pishkhan_agency::CardStatus::Valid)
        .expect("a person to check");
    let manager = app.login("manager", DEMO_PASSWORD).await;
    let operator = app.login("operator", DEMO_PASSWORD).await;
    let token = invitation(app, &manager).await;
    let survey = visit_to_survey(app, &operator, if lang == "fa" { 30 } else { 60 }).await;
    let fill = |pairs: &[(&'static str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .collect::<Vec<_>>()
    };
    let birth = person.birth_date.to_string();
    vec![
        Answer {
            name: "identity-checked",
            who: Staff("operator"),
            path: "/console/identity".into(),
            fill: fill(&[
                ("input[name=national_code]", person.national_code.as_str()),
                ("input[name=first_name]", person.first_name),
                ("input[name=last_name]", person.last_name),
                ("input[name=birth_date]", &birth),
                ("input[name=service_code]", "NID-001"),
                ("input[name=case_id]", "CASE-41"),
            ]),
            submit: "#identity-form button[type=submit]",
            shown_in: "#identity-result",
        },
        Answer {
            name: "invitation-made",
            who: Staff("manager"),
            path: "/staff/new".into(),
            fill: fill(&[
                ("input[name=national_code]", &app.fresh_national_code()),
                ("input[name=first_name]", "مریم"),
                ("input[name=last_name]", "کاظمی"),
                ("input[name=mobile]", "09121234567"),
            ]),
            submit: "form.form-card button[type=submit]",
            shown_in: "#invitation-link",
        },
        Answer {
            name: "hours-saved",
            who: Staff("manager"),
            path: format!("/offices/{DEMO_OFFICE}/manage"),
            fill: fill(&[("#hours-form input[name^=close_]", "15:00")]),
            submit: "#hours-form button[type=submit]",
            shown_in: "#hours-notice",
        },
        Answer {
            name: "warning-given",
            who: Staff("regulator"),
            path: format!(
                "/compliance/offices/{}",
                if lang == "fa" {
                    DEMO_OFFICE
                } else {
                    OTHER_OFFICE
                }
            ),
            fill: fill(&[("#sanction-form textarea[name=reason]", "سهم نوبت کم است")]),
            submit: "#warn",
            shown_in: "#compliance-notice",
        },
        Answer {
            name: "account-activated",
            who: Nobody,
            path: format!("/invite/{token}"),
            fill: fill(&[
                ("input[name=password]", "Persian-pass-1405"),
                ("input[name=password_again]", "Persian-pass-1405"),
            ]),
            submit: "form.form-card button[type=submit]",
            shown_in: ".alert-success",
        },
        Answer {
            name: "survey-answered",
            who: Nobody,
            path: survey,
            fill: fill(&[
                ("input[name=rating][value='5']", ""),
                ("textarea[name=comment]", "برخورد کارمند خوب بود"),
            ]),
            submit: "#survey button[type=submit]",
            shown_in: "#survey-thanks",
        },
    ]
}

/// Sends one form and says what is wrong with the screen that answers, if anything.
async fn try_answer(b: &Browser, sweep: &Sweep, a: &Answer, lang: &str) -> Vec<String> {
    b.goto(&format!("{}{}", sweep.app.base, a.path)).await;
    for (css, value) in &a.fill {
        if b.find_all(css).await.is_empty() {
            return vec![format!("no field {css} to fill")];
        }
        if value.is_empty() {
            b.click(&b.find(css).await).await;
        } else {
            b.type_into(css, value).await;
        }
    }
    let Some(button) = b.find_all(a.submit).await.into_iter().next() else {
        return vec![format!("no button {}", a.submit)];
    };
    b.click(&button).await;
    if !appears(b, a.shown_in).await {
        return vec![format!("no answer shown in {}", a.shown_in)];
    }
    settle(b).await;
    let mut problems = Vec::new();
    if let Some(why) = not_in_view(b, a.shown_in).await {
        problems.push(format!("the answer is not in view: {why}"));
    }
    problems.extend(unseen_values(b).await);
    problems.extend(language_problems(&shown_texts(b, "body").await, lang));
    problems.extend(axe_serious(b).await);
    problems
}

#[tokio::test]
async fn browser_what_each_form_answers_is_seen_whole_in_the_pages_language() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = &env.b;
    let sweep = Sweep::start().await;
    let mut problems = Vec::new();
    for lang in ["fa", "en"] {
        let mut current = None;
        for a in answers(&sweep, lang).await {
            b.step(&format!("answer {} ({lang})", a.name));
            if current != Some(a.who) {
                sweep.be(b, a.who, lang).await;
                current = Some(a.who);
            }
            let found = try_answer(b, &sweep, &a, lang).await;
            let shot = shoot(b, &format!("answer-{}", a.name), lang, 390).await;
            for p in found {
                problems.push(format!("{} ({lang}): {p} (see {shot})", a.name));
            }
        }
    }
    env.stop().await;
    sweep.stop().await;
    assert!(problems.is_empty(), "answers not seen right: {problems:#?}");
}
