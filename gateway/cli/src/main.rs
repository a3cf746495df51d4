//! `deskbridge`: the gateway binary. CLI definition and glue only; the work happens in the
//! library crates (`deskbridge-plugin-host`, `deskbridge-server`, …).

mod ai_setup;
mod audit_cmd;
mod insights_cmd;
mod plugin_cmd;
mod serve;
mod token_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: the ingest path allocates per request, and
/// glibc's malloc/free took about a sixth of the gateway's CPU under load (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Deskbridge: a human-in-the-loop gateway between helpdesks and AI, through sandboxed
/// WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "deskbridge", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (embedded defaults when no config is given).
    Serve {
        /// A deskbridge.toml.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Address to listen on, e.g. 127.0.0.1:8080 (overrides the config).
        #[arg(long, short)]
        listen: Option<String>,
        /// Directory of the embedded store (overrides the config's `data_dir`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Run a protocol-faithful helpdesk API simulator (for tests and demos).
    Sim {
        /// Which helpdesk.
        #[arg(value_enum)]
        vendor: SimVendor,
        /// Address to listen on.
        #[arg(long, short, default_value = "127.0.0.1:8081")]
        listen: String,
        /// Zendesk: the agent email of API-token auth.
        #[arg(long, default_value = "agent@example.com")]
        email: String,
        /// Zendesk: the API token (also accepted as an OAuth token). Freshdesk: the API key.
        #[arg(long, default_value = "sim-token")]
        token: String,
        /// Requests per minute before the simulator answers 429.
        #[arg(long, default_value_t = 700)]
        rate_limit: u32,
    },
    /// Work with plugins.
    Plugin {
        #[command(subcommand)]
        command: plugin_cmd::PluginCommand,
    },
    /// Create, list and revoke API tokens.
    Token {
        #[command(subcommand)]
        command: token_cmd::TokenCommand,
    },
    /// Export and verify the approval log.
    Audit {
        #[command(subcommand)]
        command: audit_cmd::AuditCommand,
    },
    /// Print how AI drafts fare with reviewers, per plugin version and model (asks a running
    /// gateway).
    Insights(insights_cmd::InsightsArgs),
    /// Print the HTTP API's OpenAPI 3.1 description (generated from the code).
    Openapi,
    /// Work with configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SimVendor {
    Zendesk,
    Freshdesk,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a deskbridge.toml without starting anything.
    Check {
        /// The file.
        file: PathBuf,
    },
}

fn run_sim(
    vendor: SimVendor,
    listen: &str,
    email: String,
    token: String,
    rate_limit: u32,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context as _;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let vendor = match vendor {
        SimVendor::Zendesk => deskbridge_simulators::Vendor::Zendesk,
        SimVendor::Freshdesk => deskbridge_simulators::Vendor::Freshdesk,
    };
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    // Tests read this line to find the port.
    println!(
        "{vendor:?} simulator listening on http://{}",
        listener.local_addr()?
    );
    let options = deskbridge_simulators::SimOptions {
        vendor,
        email,
        token,
        rate_limit_per_minute: rate_limit,
    };
    deskbridge_simulators::run(vendor, listener, options)?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    // Everything the gateway writes (the store, the approval log and its signing key,
    // exports) is readable by its own user only.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            config,
            listen,
            data_dir,
        } => serve::run(serve::ServeArgs {
            config: config.as_deref(),
            listen: listen.as_deref(),
            data_dir,
        }),
        Command::Sim {
            vendor,
            listen,
            email,
            token,
            rate_limit,
        } => run_sim(vendor, &listen, email, token, rate_limit),
        Command::Plugin { command } => plugin_cmd::run(command),
        Command::Audit { command } => audit_cmd::run(command),
        Command::Token { command } => token_cmd::run(command),
        Command::Insights(args) => insights_cmd::run(args),
        Command::Openapi => {
            print!("{}", deskbridge_server::openapi::openapi_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            command: ConfigCommand::Check { file },
        } => deskbridge_config::Config::load(&file)
            .map(|c| {
                println!(
                    "{}: ok ({} plugins, {} helpdesks configured)",
                    file.display(),
                    c.plugin_count(),
                    c.helpdesks.len()
                );
                ExitCode::SUCCESS
            })
            .map_err(anyhow::Error::from),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
