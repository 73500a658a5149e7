//! `pishkhan receipt verify`: check an identity-verification or payment receipt offline, with no network,
//! against the receipt keys (a JWKS as published at /api/v1/identity/keys, a public JWK, or the
//! receipt key file).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::Global;

#[derive(Subcommand)]
pub enum ReceiptCommand {
    /// Verify a receipt (the compact JWS, or a file holding it); prints its claims.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The receipt, or the path of a file that holds it.
    pub receipt: String,
    /// Trusted receipt keys; defaults to DATA_DIR/keys/receipt.jwk.
    #[arg(long)]
    pub jwks: Option<PathBuf>,
}

/// The `typ`s a receipt may carry: an identity check's, or a payment's.
const RECEIPT_TYPS: [&str; 2] = ["pishkhan-receipt+jws", "pishkhan-payment-receipt+jws"];

pub fn run(global: &Global, cmd: &ReceiptCommand) -> anyhow::Result<()> {
    match cmd {
        ReceiptCommand::Verify(a) => {
            let keys = a
                .jwks
                .clone()
                .unwrap_or_else(|| global.data_dir.join("keys").join("receipt.jwk"));
            let keyring = crate::keys::trust_anchor(&keys)
                .with_context(|| format!("cannot load the receipt keys {}", keys.display()))?;
            let path = std::path::Path::new(&a.receipt);
            let token = if !a.receipt.contains('.') && path.exists() {
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?
            } else {
                a.receipt.clone()
            };
            let verified = pishkhan_sign::jws::verify(token.trim(), &keyring)
                .map_err(|e| anyhow::anyhow!("receipt does NOT verify: {e} ({})", e.code()))?;
            let typ_ok = verified
                .header
                .typ
                .as_deref()
                .is_some_and(|t| RECEIPT_TYPS.iter().any(|r| t.eq_ignore_ascii_case(r)));
            anyhow::ensure!(
                typ_ok,
                "receipt does NOT verify: not a Pishkhan receipt (typ)"
            );
            let claims: serde_json::Value = serde_json::from_slice(&verified.payload)
                .context("receipt does NOT verify: its claims are not JSON")?;
            let kind = match verified.header.typ.as_deref() {
                Some(t) if t.eq_ignore_ascii_case(RECEIPT_TYPS[1]) => "payment",
                _ => "identity",
            };
            println!("{kind} receipt verified (kid {})", verified.header.kid);
            println!("{}", serde_json::to_string_pretty(&claims)?);
            Ok(())
        }
    }
}
