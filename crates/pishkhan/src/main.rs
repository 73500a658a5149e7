//! The `pishkhan` binary: one program for the demo, the production server, migrations and
//! bulk imports.

mod agency;
mod audit;
mod backup;
mod config;
mod demo_offender;
mod demo_payments;
mod demo_reports;
mod exchange;
mod import;
mod keys;
mod ledger;
mod progress;
mod psp;
mod receipt;
mod release;
mod run;

// The server and agency processes allocate many small, short-lived buffers across threads
// (JSON, headers, driver rows); glibc's malloc spent ~12 % of CPU on them under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "pishkhan",
    version,
    about = "Pishkhan: the platform behind Iran's government service counters"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
pub struct Global {
    /// Directory of the embedded database and other local state.
    #[arg(
        long,
        global = true,
        env = "PISHKHAN_DATA_DIR",
        default_value = "./data"
    )]
    pub data_dir: PathBuf,
    /// sqlite://PATH or postgres://USER@HOST/DB. Defaults to the embedded database in --data-dir.
    #[arg(
        long,
        global = true,
        env = "PISHKHAN_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Log format.
    #[arg(long, global = true, env = "PISHKHAN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// A TOML file of settings, keyed by the long flag names (`listen = "0.0.0.0:8080"`).
    /// Flags beat the environment, which beats the file, which beats the defaults.
    #[arg(long, global = true, env = "PISHKHAN_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PISHKHAN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Base URL people use to reach this server; invitation links are built from it.
    #[arg(long, env = "PISHKHAN_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Mark cookies Secure and send Strict-Transport-Security (set when served over HTTPS).
    #[arg(long, env = "PISHKHAN_COOKIE_SECURE")]
    pub cookie_secure: bool,
    /// Bearer token that /metrics asks for (16+ printable characters); without it /metrics
    /// refuses every request.
    #[arg(long, env = "PISHKHAN_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// A load balancer (address or network, e.g. `10.0.0.0/8`) believed about the client it
    /// forwards for in `X-Forwarded-For`; repeat, or separate with commas. Without one, every
    /// request's client is its peer address, so behind a balancer all clients share one.
    #[arg(
        long = "trusted-proxy",
        env = "PISHKHAN_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// This server's name in the metrics' `node` label (default: the host name).
    #[arg(long, env = "PISHKHAN_NODE_NAME")]
    pub node_name: Option<String>,
    /// Where notifications go: `log` (DATA_DIR/notifications.log) or `webhook:http://…`.
    #[arg(long, env = "PISHKHAN_NOTIFY", default_value = "log")]
    pub notify: String,
    /// The regulator-signed exchange directory; turns the inquiry exchange on. The demo makes
    /// one (DATA_DIR/exchange/directory.jws) and starts the reference agencies itself.
    #[arg(long, env = "PISHKHAN_EXCHANGE_DIRECTORY", requires_all = ["exchange_key", "log_key", "receipt_key", "regulator_key"])]
    pub exchange_directory: Option<PathBuf>,
    /// This server's exchange key file (member `exchange:central`).
    #[arg(long, env = "PISHKHAN_EXCHANGE_KEY")]
    pub exchange_key: Option<PathBuf>,
    /// The key that signs the message log's checkpoints.
    #[arg(long, env = "PISHKHAN_LOG_KEY")]
    pub log_key: Option<PathBuf>,
    /// The key that signs identity-verification receipts.
    #[arg(long, env = "PISHKHAN_RECEIPT_KEY")]
    pub receipt_key: Option<PathBuf>,
    /// The regulator's public key (JWK or JWKS): the directory's trust anchor.
    #[arg(long, env = "PISHKHAN_REGULATOR_KEY")]
    pub regulator_key: Option<PathBuf>,
    /// Booking rules as a JSON file (`first_day_offset`, `last_day_offset`, `per_service`,
    /// `max_visits_in_window`, `visit_window_days`; each optional). They apply to every
    /// booking, on either store.
    #[arg(long, env = "PISHKHAN_BOOKING_RULES")]
    pub booking_rules: Option<PathBuf>,
    /// The card processor's base URL (Shaparak-style token, callback, verify); turns payments
    /// on. The demo starts the reference processor (`pishkhan psp serve`) itself.
    #[arg(long, env = "PISHKHAN_PSP_URL")]
    pub psp_url: Option<String>,
    /// This deployment's merchant id at the card processor.
    #[arg(long, env = "PISHKHAN_PSP_MERCHANT", default_value = "pishkhan")]
    pub psp_merchant: String,
    /// Seconds after its token within which a payment must be verified, or it is reversed.
    /// Keep it below the processor's own window, so we reverse before it does.
    #[arg(
        long,
        env = "PISHKHAN_PAYMENT_VERIFY_WINDOW_S",
        default_value_t = 1_500
    )]
    pub payment_verify_window_s: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Create or reuse the embedded database, load the demo nation if empty, and serve.
    Demo {
        #[command(flatten)]
        serve: ServeArgs,
        /// Seed of the deterministic demo nation.
        #[arg(long, default_value_t = pishkhan_nation::DEFAULT_SEED)]
        seed: u64,
        /// Load the demo nation and exit without serving.
        #[arg(long)]
        load_only: bool,
        /// Days of generated traffic history loaded with a new demo nation (0 to 366), for
        /// the dashboard and the compliance rules.
        #[arg(long, env = "PISHKHAN_DEMO_HISTORY_DAYS", default_value_t = pishkhan_demo::DEMO_HISTORY_DAYS,
              value_parser = clap::value_parser!(u16).range(0..=366))]
        history_days: u16,
    },
    /// Serve the API and web UI. Never creates demo accounts.
    Serve {
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Create or upgrade the schema and load the fixed reference data, then exit.
    Migrate,
    /// Import offices or services from a CSV or JSON file, all rows or none.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Invite a member of staff from the command line (for the first regulator of a new
    /// deployment); prints the one-time activation link.
    Invite(run::InviteArgs),
    /// The reference agency services (civil registry, mobile ownership, postal, traffic fines).
    Agency {
        #[command(subcommand)]
        what: agency::AgencyCommand,
    },
    /// The reference card processor (PSP): token, payment page, callback, verify, reverse,
    /// refund, daily settlement report, and injectable faults.
    Psp {
        #[command(subcommand)]
        what: psp::PspCommand,
    },
    /// Exchange member keys (ed25519, private JWK files).
    Keys {
        #[command(subcommand)]
        what: keys::KeysCommand,
    },
    /// Identity-verification receipts: verify one offline.
    Receipt {
        #[command(subcommand)]
        what: receipt::ReceiptCommand,
    },
    /// Check the exchange's tamper-evident message log.
    Audit {
        #[command(subcommand)]
        what: audit::AuditCommand,
    },
    /// Copy the embedded database to a file while the server runs, check the copy (SQLite
    /// integrity, the message log's audit, the ledger's replay) and report. PostgreSQL: see
    /// docs/backup.md.
    Backup(backup::BackupArgs),
    /// Check a backup as `backup` does, then replace the embedded database with it. Refused
    /// while a server holds the database; the replaced one is kept beside it.
    Restore(backup::RestoreArgs),
    /// The double-entry ledger: verify every transfer and balance.
    Ledger {
        #[command(subcommand)]
        what: ledger::LedgerCommand,
    },
    /// Surge releases: verify a published lottery allocation offline.
    Release {
        #[command(subcommand)]
        what: release::ReleaseCommand,
    },
    /// Measure a hot path; figures go to docs/benchmarks.md.
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
    },
}

#[derive(Subcommand)]
enum BenchWhat {
    /// Durable bookings per second on the embedded engine and on PostgreSQL, with the
    /// one-transaction-per-booking SELECT … FOR UPDATE baseline.
    Booking(pishkhan_bench::BookingBenchArgs),
    /// Allocate and verify a synthetic surge release (default 1,000,000 requests).
    Release(pishkhan_bench::ReleaseBenchArgs),
    /// Signed, logged inquiries per second through the exchange to a separate agency process,
    /// beside direct unsigned calls to an unsigned agency process.
    Exchange(pishkhan_bench::ExchangeBenchArgs),
    /// End-to-end identity verifications per second through the API, the exchange and a
    /// civil-registry agency process (1,000,000 people).
    Identity(pishkhan_bench::IdentityBenchArgs),
    /// Applied ledger transfers per second on the embedded store and on PostgreSQL (the
    /// server of --database-url, default postgres://postgres@127.0.0.1:5432, in a throwaway
    /// database), beside one transaction per transfer; then verify.
    Ledger(pishkhan_bench::LedgerBenchArgs),
    /// The compliance rules over 17,000 offices and 90 days, and every dashboard view and
    /// CSV file over that history, on both stores.
    Compliance(pishkhan_bench::ComplianceBenchArgs),
    /// One national day: 2,000,000 visits over 17,000 offices through the application's use
    /// cases (booking, check-in, queues, identity checks, inquiries, a surge release), with
    /// throughput, p50/p95/p99 per operation and errors.
    Nation(pishkhan_bench::NationBenchArgs),
}

#[derive(Subcommand)]
enum ImportWhat {
    /// Offices: code, name_fa, name_en, province, city_fa, city_en, address_fa, address_en,
    /// postal_code, phone, lat, lon, licence_no, [licence_issued], [status], counters, [hours].
    Offices(import::ImportArgs),
    /// Services: code, title_fa, title_en, agency, category, [required_documents],
    /// [required_inquiries], avg_handling_minutes, channel, digitization.
    Services(import::ImportArgs),
}

fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(cli.global.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Demo {
                serve,
                seed,
                load_only,
                history_days,
            } => run::demo(&cli.global, &serve, seed, load_only, history_days).await,
            Command::Serve { serve } => run::serve(&cli.global, &serve).await,
            Command::Migrate => run::migrate(&cli.global).await,
            Command::Import { what } => match what {
                ImportWhat::Offices(args) => import::offices(&cli.global, &args).await,
                ImportWhat::Services(args) => import::services(&cli.global, &args).await,
            },
            Command::Invite(args) => run::invite(&cli.global, &args).await,
            Command::Agency { what } => agency::run(&cli.global, &what).await,
            Command::Psp { what } => psp::run(&cli.global, &what).await,
            Command::Release { what } => release::run(&what),
            Command::Keys { what } => keys::run(&what),
            Command::Receipt { what } => receipt::run(&cli.global, &what),
            Command::Audit { what } => audit::run(&cli.global, &what).await,
            Command::Ledger { what } => ledger::run(&cli.global, &what).await,
            Command::Backup(args) => backup::backup(&cli.global, &args).await,
            Command::Restore(args) => backup::restore(&cli.global, &args).await,
            Command::Bench { what } => match what {
                BenchWhat::Booking(args) => pishkhan_bench::booking(&args).await,
                BenchWhat::Compliance(args) => {
                    pishkhan_bench::compliance(&args, cli.global.database_url.as_deref()).await
                }
                BenchWhat::Release(args) => pishkhan_bench::release(&args),
                BenchWhat::Exchange(args) => pishkhan_bench::exchange(&args).await,
                BenchWhat::Identity(args) => pishkhan_bench::identity(&args).await,
                BenchWhat::Nation(args) => {
                    pishkhan_bench::nation(&args, cli.global.database_url.as_deref()).await
                }
                BenchWhat::Ledger(args) => {
                    pishkhan_bench::ledger(&args, cli.global.database_url.as_deref()).await
                }
            },
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The command line over the `--config` file's settings (see `config.rs`). Clap's own
/// errors and `--help` exit here as with `Cli::parse`.
fn parse_cli() -> anyhow::Result<Cli> {
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut command = Cli::command();
    if let Some(path) = config::path_in(&args) {
        command = config::apply(command, &path)?;
    }
    let matches = command
        .try_get_matches_from(args)
        .unwrap_or_else(|e| e.exit());
    Ok(Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit()))
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PISHKHAN_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    use std::io::IsTerminal;
    // Colour codes only for a person at a terminal: a log file or journal would keep them as
    // `\x1b[…m` noise around every level and field.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
