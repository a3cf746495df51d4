//! `deskbridge`: the gateway binary. CLI definition and glue only; the work happens in the
//! library crates (`deskbridge-plugin-host`, `deskbridge-server`, …).

mod config;
mod plugin_cmd;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    },
    /// Work with plugins.
    Plugin {
        #[command(subcommand)]
        command: plugin_cmd::PluginCommand,
    },
    /// Work with configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a deskbridge.toml without starting anything.
    Check {
        /// The file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config, listen } => serve::run(config.as_deref(), listen.as_deref()),
        Command::Plugin { command } => plugin_cmd::run(command),
        Command::Config {
            command: ConfigCommand::Check { file },
        } => config::Config::load(&file).map(|c| {
            println!(
                "{}: ok ({} plugins configured)",
                file.display(),
                c.plugin_count()
            );
            ExitCode::SUCCESS
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
