//! `deskbridge token create|list|revoke`: API tokens, managed offline on the data directory
//! (while the gateway is stopped; a running gateway takes `POST /api/v1/tokens` from an
//! admin). The secret is printed once; the store keeps its SHA-256. Creating and revoking
//! are recorded in the approval log.

use deskbridge_pipeline::now_ms;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use deskbridge_config::Config;
use deskbridge_core::Role;
use deskbridge_pipeline::tokens::{check_token_request, new_token, token_entry};
use deskbridge_store::{SledStore, Store, TokenRecord};

use crate::audit_cmd::open_log;

/// `deskbridge token …`.
#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token for a person and print it (shown only this once).
    Create {
        /// The person the token is for; their decisions are recorded under this name.
        #[arg(long)]
        name: String,
        /// A role: agent, supervisor, reviewer or admin (repeat, or separate with commas).
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<Role>,
        #[command(flatten)]
        place: DataPlace,
    },
    /// List tokens: ids, people, roles, dates (never secrets).
    List {
        #[command(flatten)]
        place: DataPlace,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token's id (`tok_…`).
        id: String,
        #[command(flatten)]
        place: DataPlace,
    },
}

/// Where the gateway keeps its data.
#[derive(Debug, clap::Args)]
pub(crate) struct DataPlace {
    /// The gateway's deskbridge.toml (for `data_dir` and `[audit]`).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The gateway's data directory (overrides the config's `data_dir`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl DataPlace {
    /// The configuration, with `--data-dir` applied.
    pub(crate) fn config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        Ok(config)
    }
}

pub(crate) fn open_store(config: &Config) -> anyhow::Result<SledStore> {
    SledStore::open(&config.data_dir).with_context(|| {
        format!(
            "opening the store in {} (if a gateway is running on it, stop it or do this through its API with an admin token)",
            config.data_dir.display()
        )
    })
}

/// Creates a token for `name` with `roles` on the stopped gateway of `config`, recorded in
/// the approval log as made `by`; the secret and the record.
pub(crate) fn create(
    config: &Config,
    name: &str,
    roles: Vec<Role>,
    by: &str,
) -> anyhow::Result<(String, TokenRecord)> {
    let name = match check_token_request(name, &roles) {
        Ok(name) => name,
        Err(problem) => bail!("{problem}"),
    };
    let store = open_store(config)?;
    let log = open_log(config)?;
    let (token, hash, id) =
        new_token().map_err(|e| anyhow::anyhow!("no randomness for a new token: {e}"))?;
    let mut roles = roles;
    roles.sort();
    roles.dedup();
    let record = TokenRecord {
        id,
        person: name,
        roles,
        created_at_ms: now_ms(),
        revoked_at_ms: None,
    };
    log.append_durable(token_entry(
        "token.created",
        &record,
        by,
        record.created_at_ms,
    ))?;
    log.checkpoint()?;
    store.insert_token(&hash, &record)?;
    Ok((token, record))
}

pub(crate) fn run(command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create { name, roles, place } => {
            let (token, record) =
                create(&place.config()?, &name, roles, "deskbridge token create")?;
            let roles: Vec<&str> = record.roles.iter().map(|r| r.as_str()).collect();
            eprintln!(
                "created {} for {} ({}); the token is shown only now:",
                record.id,
                record.person,
                roles.join(", ")
            );
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::List { place } => {
            let store = open_store(&place.config()?)?;
            for token in store.tokens()? {
                let roles: Vec<&str> = token.roles.iter().map(|r| r.as_str()).collect();
                println!(
                    "{}\t{}\t{}\t{}",
                    token.id,
                    token.person,
                    roles.join(","),
                    if token.revoked_at_ms.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { id, place } => {
            let config = place.config()?;
            let store = open_store(&config)?;
            let Some(record) = store
                .tokens()?
                .into_iter()
                .find(|t| t.id == id && t.revoked_at_ms.is_none())
            else {
                bail!("no active token {id}");
            };
            let log = open_log(&config)?;
            let at = now_ms();
            log.append_durable(token_entry(
                "token.revoked",
                &record,
                "deskbridge token revoke",
                at,
            ))?;
            store.revoke_token(&id, at)?;
            println!("revoked {id}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
