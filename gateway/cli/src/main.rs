//! `deskbridge`: the gateway binary. CLI definition and glue only; the work happens in the
//! library crates (`deskbridge-plugin-host`, `deskbridge-server`, …).

mod ai_setup;
mod apps_cmd;
mod audit_cmd;
mod demo;
mod email_setup;
mod insights_cmd;
mod knowledge_setup;
mod plugin_cmd;
mod providers_cmd;
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
    /// Try Deskbridge: the gateway, its console and a simulated Zendesk with demo tickets.
    Demo(demo::DemoArgs),
    /// The Zendesk and Freshdesk sidebar apps.
    Apps {
        #[command(subcommand)]
        command: apps_cmd::AppsCommand,
    },
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
    /// Run a protocol-faithful helpdesk or AI provider API simulator (for tests and demos).
    Sim(SimArgs),
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
    /// Check the configured AI providers.
    Providers {
        #[command(subcommand)]
        command: providers_cmd::ProvidersCommand,
    },
    /// Work with configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, clap::Args)]
struct SimArgs {
    /// Which helpdesk or AI provider.
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
    /// Requests per minute before the simulator answers 429 (helpdesks: 700 when not given;
    /// AI providers: unlimited when not given or 0).
    #[arg(long)]
    rate_limit: Option<u32>,
    /// OpenAI/Anthropic: the accepted API key [default: sim-key].
    #[arg(long)]
    api_key: Option<String>,
    /// OpenAI/Anthropic: a model (Azure: deployment) served; repeatable. None: any model name.
    #[arg(long = "model", value_name = "MODEL")]
    models: Vec<String>,
    /// OpenAI/Anthropic: tokens per minute before 429 (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    tokens_per_minute: u32,
    /// OpenAI/Anthropic: milliseconds every answer waits (asynchronously).
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SimVendor {
    Zendesk,
    Freshdesk,
    /// OpenAI Chat Completions, also in the Azure OpenAI deployment form.
    #[value(name = "openai")]
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a deskbridge.toml without starting anything.
    Check {
        /// The file.
        file: PathBuf,
    },
}

/// `deskbridge config check FILE`: the file, then the AI routes against the plugins'
/// manifests — everything `serve` checks before it listens, short of compiling plugins.
fn check_config(file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let config = deskbridge_config::Config::load(file)?;
    let spend = std::sync::Arc::new(deskbridge_providers::budget::MemorySpend::default());
    let router = ai_setup::router(&config, spend)?;
    let manifests = ai_setup::manifests(&config)?;
    let manifests: Vec<&deskbridge_plugin_host::Manifest> = manifests.iter().collect();
    ai_setup::check_plugins(&router, &config, &manifests)?;
    println!(
        "{}: ok ({} plugins, {} helpdesks, {} AI providers configured)",
        file.display(),
        config.plugin_count(),
        config.helpdesks.len(),
        config.providers.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn run_sim(args: SimArgs) -> anyhow::Result<ExitCode> {
    use anyhow::Context as _;
    use deskbridge_simulators::{AiSimOptions, AiVendor, Vendor};
    let SimArgs {
        vendor,
        listen,
        email,
        token,
        rate_limit,
        api_key,
        models,
        tokens_per_minute,
        latency_ms,
    } = args;
    let ai = matches!(vendor, SimVendor::OpenAi | SimVendor::Anthropic);
    if !ai && (api_key.is_some() || !models.is_empty() || tokens_per_minute > 0 || latency_ms > 0) {
        anyhow::bail!(
            "--api-key, --model, --tokens-per-minute and --latency-ms apply to the openai and \
             anthropic simulators only"
        );
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let listener = std::net::TcpListener::bind(&listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    let run_ai = |vendor: AiVendor, listener: std::net::TcpListener| -> anyhow::Result<ExitCode> {
        // Tests read this line to find the port.
        println!(
            "{} simulator listening on http://{}",
            vendor.name(),
            listener.local_addr()?
        );
        let options = AiSimOptions {
            vendor,
            api_key: api_key.unwrap_or_else(|| "sim-key".to_owned()),
            models,
            requests_per_minute: rate_limit.unwrap_or(0),
            tokens_per_minute,
            latency: std::time::Duration::from_millis(latency_ms),
        };
        deskbridge_simulators::run_ai(listener, options)?;
        Ok(ExitCode::SUCCESS)
    };
    let vendor = match vendor {
        SimVendor::Zendesk => Vendor::Zendesk,
        SimVendor::Freshdesk => Vendor::Freshdesk,
        SimVendor::OpenAi => return run_ai(AiVendor::OpenAi, listener),
        SimVendor::Anthropic => return run_ai(AiVendor::Anthropic, listener),
    };
    let rate_limit = rate_limit.unwrap_or(700);
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
            log_filter: None,
            on_ready: None,
        }),
        Command::Demo(args) => demo::run(args),
        Command::Apps { command } => apps_cmd::run(command),
        Command::Sim(args) => run_sim(args),
        Command::Plugin { command } => plugin_cmd::run(command),
        Command::Providers { command } => providers_cmd::run(command),
        Command::Audit { command } => audit_cmd::run(command),
        Command::Token { command } => token_cmd::run(command),
        Command::Insights(args) => insights_cmd::run(args),
        Command::Openapi => {
            print!("{}", deskbridge_server::openapi::openapi_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            command: ConfigCommand::Check { file },
        } => check_config(&file),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
