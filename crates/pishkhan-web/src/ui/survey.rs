//! The satisfaction survey a citizen reaches from the SMS sent after a completed visit. The
//! random token in the link is the only credential; it opens one survey, answered once.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pishkhan_app::{AppError, surveys};
use pishkhan_store::Survey;
use serde::Deserialize;

use super::{Chrome, PageCtx, UiError, render};
use crate::AppState;
use crate::extract::{ApiForm, Ctx};
use crate::i18n::Tr;

pub const MESSAGES: &[(&str, &str, &str)] = &[
    ("survey_title", "نظرسنجی مراجعه", "Visit survey"),
    (
        "survey_intro",
        "از خدمتی که امروز گرفتید چقدر راضی بودید؟",
        "How satisfied were you with today's service?",
    ),
    ("survey_rating", "امتیاز (۱ تا ۵)", "Rating (1 to 5)"),
    ("survey_comment", "توضیح (اختیاری)", "Comment (optional)"),
    ("survey_submit", "ثبت نظر", "Send"),
    (
        "survey_thanks",
        "نظر شما ثبت شد. سپاسگزاریم.",
        "Thank you; your answer is recorded.",
    ),
    (
        "survey_already",
        "این نظرسنجی پیش‌تر پاسخ داده شده است.",
        "This survey has already been answered.",
    ),
    (
        "survey_unknown",
        "این پیوند نظرسنجی معتبر نیست.",
        "This survey link is not valid.",
    ),
    (
        "survey_bad_rating",
        "یک امتیاز از ۱ تا ۵ انتخاب کنید.",
        "Choose a rating from 1 to 5.",
    ),
    ("survey_office", "دفتر", "Office"),
];

pub fn router() -> Router<AppState> {
    Router::new().route("/survey/{token}", get(form).post(submit))
}

#[derive(Template)]
#[template(path = "survey.html")]
struct SurveyPage {
    chrome: Chrome,
    t: Tr,
    token: String,
    office: String,
    service: String,
    answered: Option<u8>,
    thanks: bool,
    error: Option<String>,
}

async fn open(state: &AppState, page: &PageCtx, token: &str) -> Result<Survey, UiError> {
    surveys::open(state.app(), token)
        .await
        .map_err(|e| page.fail(e))
}

async fn show(
    state: &AppState,
    page: &PageCtx,
    token: String,
    survey: &Survey,
    thanks: bool,
    error: Option<String>,
) -> Result<SurveyPage, UiError> {
    let t = page.t;
    let office = state
        .store()
        .office(survey.office)
        .await
        .map(|o| t.text(&o.name))
        .unwrap_or_else(|_| survey.office.to_string());
    let service = state
        .store()
        .service(&survey.service)
        .await
        .map(|s| t.text(&s.title))
        .unwrap_or_else(|_| survey.service.to_string());
    Ok(SurveyPage {
        chrome: page.chrome("survey"),
        t,
        token,
        office,
        service,
        answered: survey.rating,
        thanks,
        error,
    })
}

pub async fn form(
    State(state): State<AppState>,
    page: PageCtx,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    let survey = open(&state, &page, &token).await?;
    Ok(render(
        &show(&state, &page, token, &survey, false, None).await?,
    ))
}

#[derive(Deserialize, Default)]
pub struct SurveyForm {
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
}

pub async fn submit(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(token): Path<String>,
    ApiForm(form): ApiForm<SurveyForm>,
) -> Result<Response, UiError> {
    let survey = open(&state, &page, &token).await?;
    let rating = pishkhan_domain::digits::to_ascii_digits(form.rating.trim())
        .parse::<u8>()
        .ok()
        .filter(|r| (1..=5).contains(r));
    let Some(rating) = rating else {
        let body = show(
            &state,
            &page,
            token,
            &survey,
            false,
            Some(page.t.t("survey_bad_rating")),
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&body.await?)).into_response());
    };
    match surveys::answer(state.app(), &token, rating, &form.comment, &ctx).await {
        Ok(answered) => Ok(render(
            &show(&state, &page, token, &answered, true, None).await?,
        )),
        Err(AppError::Conflict {
            code: "survey_answered",
            ..
        }) => {
            let body = show(
                &state,
                &page,
                token,
                &survey,
                false,
                Some(page.t.t("survey_already")),
            );
            Ok((StatusCode::CONFLICT, render(&body.await?)).into_response())
        }
        Err(e) => Err(page.fail(e)),
    }
}
