//! The satisfaction survey a citizen reaches from the SMS sent after a completed visit. The
//! random token in the link is the only credential; it opens one survey, answered once.

use pishkhan_store::{AuditContext, StateRule, StoreError, Survey, token_hash};

use crate::{App, AppError};

/// Longest comment kept, in characters; a longer one is cut, not refused.
pub const MAX_COMMENT_CHARS: usize = 1_000;

/// The survey a link's token opens: `NotFound("survey")` for a token no survey has.
pub async fn open(state: &App, token: &str) -> Result<Survey, AppError> {
    if !crate::secrets::plausible_token(token) {
        return Err(AppError::NotFound("survey"));
    }
    Ok(state.store().survey(&token_hash(token)).await?)
}

/// Records the answer: a rating of 1 to 5 and an optional comment. A survey is answered
/// once; a second answer is the conflict `survey_answered`.
pub async fn answer(
    state: &App,
    token: &str,
    rating: u8,
    comment: &str,
    ctx: &AuditContext,
) -> Result<Survey, AppError> {
    if !(1..=5).contains(&rating) {
        return Err(AppError::invalid(
            "invalid_rating",
            "rating",
            "the rating is 1 to 5",
        ));
    }
    if !crate::secrets::plausible_token(token) {
        return Err(AppError::NotFound("survey"));
    }
    let comment: String = comment.trim().chars().take(MAX_COMMENT_CHARS).collect();
    let comment = Some(comment.as_str()).filter(|c| !c.is_empty());
    match state
        .store()
        .record_survey_answer(&token_hash(token), rating, comment, ctx)
        .await
    {
        Ok(answered) => Ok(answered),
        Err(StoreError::WrongState(w)) if w.rule == StateRule::SurveyAnswered => {
            Err(AppError::Conflict {
                code: "survey_answered",
                message: w.message,
            })
        }
        Err(e) => Err(e.into()),
    }
}
