//! Turning the inquiry exchange on in the server: from flags (`serve`), or for the demo over
//! the network `pishkhan_demo::start_network` starts (the deployment's keys, the four
//! reference agencies as separate `pishkhan agency serve` processes, and a signed directory
//! that names them).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use pishkhan_app::exchange::{EXCHANGE_MEMBER, ExchangeRuntime, ExchangeSetup, whole_catalogue};
use pishkhan_demo::Agencies;
use pishkhan_exchange::{Directory, DirectoryHandle, MemberId};
use pishkhan_store::Store;

use crate::{Global, ServeArgs};

fn origin(public_url: &str) -> String {
    let host = public_url
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    format!("{host}/inquiry-log")
}

/// The exchange from `serve` flags, if `--exchange-directory` was given.
pub async fn from_flags(
    store: Arc<dyn Store>,
    args: &ServeArgs,
    public_url: &str,
) -> anyhow::Result<Option<Arc<ExchangeRuntime>>> {
    let (Some(directory), Some(key), Some(log_key), Some(receipt_key), Some(anchor)) = (
        &args.exchange_directory,
        &args.exchange_key,
        &args.log_key,
        &args.receipt_key,
        &args.regulator_key,
    ) else {
        return Ok(None);
    };
    let anchor = crate::keys::trust_anchor(anchor)?;
    let token = std::fs::read_to_string(directory)
        .with_context(|| format!("cannot read {}", directory.display()))?;
    let dir = Directory::verify(token.trim(), &anchor, None, pishkhan_sign::unix_now())
        .with_context(|| format!("{} does not verify", directory.display()))?;
    let read = |p: &PathBuf| {
        pishkhan_sign::KeyPair::read_file(p).with_context(|| format!("cannot read {}", p.display()))
    };
    let runtime = ExchangeRuntime::start(
        store,
        ExchangeSetup {
            directory: DirectoryHandle::new(dir),
            member: MemberId::parse(EXCHANGE_MEMBER)?,
            key: read(key)?,
            log_key: read(log_key)?,
            receipt_key: read(receipt_key)?,
            origin: origin(public_url),
        },
    )
    .await?;
    Ok(Some(runtime))
}

/// The demo's exchange: keys in DATA_DIR/keys, the reference agencies as four processes over
/// the population in DATA_DIR/agency, and a freshly signed directory naming them.
pub async fn demo(
    global: &Global,
    store: Arc<dyn Store>,
    public_url: &str,
) -> anyhow::Result<(Arc<ExchangeRuntime>, Agencies)> {
    let catalogue = whole_catalogue(store.as_ref()).await?;
    let network = pishkhan_demo::start_network(&global.data_dir, &catalogue).await?;
    let runtime = ExchangeRuntime::start(
        store,
        ExchangeSetup {
            directory: DirectoryHandle::new(network.directory),
            member: MemberId::parse(EXCHANGE_MEMBER)?,
            key: network.keys.exchange,
            log_key: network.keys.log,
            receipt_key: network.keys.receipt,
            origin: origin(public_url),
        },
    )
    .await?;
    Ok((runtime, network.agencies))
}
