//! Passwords, tokens and one-time codes: argon2id hashes and random secrets.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;

use crate::AppError;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Hashes a password with argon2id and a fresh salt, as a PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// Checks a password against a PHC string. A malformed hash never verifies.
pub fn verify_password(phc: &str, password: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A hash to verify against when the username is unknown, so that timing does not reveal
/// which usernames exist.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy-password-not-used").unwrap_or_default())
}

pub fn check_new_password(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(AppError::invalid(
            "weak_password",
            "password",
            format!("a password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(AppError::invalid(
            "invalid_password",
            "password",
            format!("a password has at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Six random digits for an SMS code.
pub fn one_time_code() -> Result<String, AppError> {
    let mut digits = [0u8; 4];
    getrandom::fill(&mut digits)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(format!("{:06}", u32::from_le_bytes(digits) % 1_000_000))
}

/// 32 random bytes, URL-safe base64: session tokens, CSRF tokens, invitation tokens.
pub fn new_token() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Longest token (session, invitation, survey link) worth looking up; ours are 43
/// characters, so anything longer is no token of ours and costs no database read.
const MAX_TOKEN_CHARS: usize = 256;

/// Whether `token` could be one of ours at all.
pub(crate) fn plausible_token(token: &str) -> bool {
    token.len() <= MAX_TOKEN_CHARS
}

/// Compares two secrets in time that depends only on their length.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
