//! `pishkhan keys …`: ed25519 member keys as private JWK files (mode 0600), and their public
//! halves for directories and trust anchors.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use pishkhan_sign::KeyPair;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Generate a new ed25519 key into a new file (never overwrites); prints its public JWK.
    Generate(GenerateArgs),
    /// Print the public JWK of a private key file.
    Public(PublicArgs),
}

#[derive(Args)]
pub struct GenerateArgs {
    /// The private key file to create.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct PublicArgs {
    #[arg(long)]
    pub key: PathBuf,
}

pub fn run(cmd: &KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Generate(a) => {
            let key = KeyPair::generate().context("cannot generate a key")?;
            key.write_file(&a.out)
                .with_context(|| format!("cannot write {}", a.out.display()))?;
            eprintln!("wrote {} (kid {})", a.out.display(), key.kid());
            println!("{}", serde_json::to_string_pretty(&key.public().to_jwk())?);
            Ok(())
        }
        KeysCommand::Public(a) => {
            let key = KeyPair::read_file(&a.key)
                .with_context(|| format!("cannot read {}", a.key.display()))?;
            println!("{}", serde_json::to_string_pretty(&key.public().to_jwk())?);
            Ok(())
        }
    }
}

/// A keyring trusting the public keys in `path`: one public JWK, a JWKS, or a private key file
/// (only its public half is used).
pub fn trust_anchor(path: &std::path::Path) -> anyhow::Result<pishkhan_sign::Keyring> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let jwks: pishkhan_sign::Jwks = if value.get("keys").is_some() {
        serde_json::from_value(value)?
    } else if value.get("d").is_some() {
        let key = KeyPair::read_file(path)?;
        pishkhan_sign::Jwks {
            keys: vec![key.public().to_jwk()],
        }
    } else {
        pishkhan_sign::Jwks {
            keys: vec![serde_json::from_value(value)?],
        }
    };
    Ok(pishkhan_sign::Keyring::from_jwks(&jwks)?)
}
