//! `deskbridge apps package`: the Zendesk and Freshdesk sidebar apps (`apps/` in the
//! repository, embedded in the binary) as the zip files each helpdesk installs, with the
//! gateway's address and the helpdesk's name filled in as the apps' default settings.
//!
//! Both apps do one thing: read which ticket is open (the Zendesk Apps framework, the
//! Freshworks app client) and open the gateway's per-ticket view in their sidebar frame, which
//! the gateway lets the helpdesk's own origin embed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::Value;

/// `deskbridge apps …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AppsCommand {
    /// Write deskbridge-zendesk-app.zip and deskbridge-freshdesk-app.zip.
    Package {
        /// The https address of the gateway (default: `[console] public_url` of --config).
        #[arg(long)]
        gateway_url: Option<String>,
        /// The helpdesk's name in deskbridge.toml (`[helpdesks.NAME]`).
        #[arg(long)]
        helpdesk: String,
        /// Where to write the zip files.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// The gateway's deskbridge.toml (for `[console] public_url`).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

/// One app's files: path inside the zip, contents.
type Files = Vec<(&'static str, Vec<u8>)>;

fn zendesk_files() -> Files {
    vec![
        (
            "manifest.json",
            include_bytes!("../../../apps/zendesk/manifest.json").to_vec(),
        ),
        (
            "translations/en.json",
            include_bytes!("../../../apps/zendesk/translations/en.json").to_vec(),
        ),
        (
            "assets/iframe.html",
            include_bytes!("../../../apps/zendesk/assets/iframe.html").to_vec(),
        ),
        (
            "assets/main.js",
            include_bytes!("../../../apps/zendesk/assets/main.js").to_vec(),
        ),
    ]
}

fn freshdesk_files() -> Files {
    vec![
        (
            "manifest.json",
            include_bytes!("../../../apps/freshdesk/manifest.json").to_vec(),
        ),
        (
            "config/iparams.json",
            include_bytes!("../../../apps/freshdesk/config/iparams.json").to_vec(),
        ),
        (
            "app/index.html",
            include_bytes!("../../../apps/freshdesk/app/index.html").to_vec(),
        ),
        (
            "app/scripts/app.js",
            include_bytes!("../../../apps/freshdesk/app/scripts/app.js").to_vec(),
        ),
        (
            "app/styles/images/icon.svg",
            include_bytes!("../../../apps/freshdesk/app/styles/images/icon.svg").to_vec(),
        ),
    ]
}

/// Replaces the JSON file `path` of `files` with `edit` applied to it.
fn edit_json(files: &mut Files, path: &str, edit: impl FnOnce(&mut Value)) -> anyhow::Result<()> {
    let (_, bytes) = files
        .iter_mut()
        .find(|(p, _)| *p == path)
        .with_context(|| format!("{path} is missing from the app"))?;
    let mut value: Value =
        serde_json::from_slice(bytes).with_context(|| format!("{path} is not JSON"))?;
    edit(&mut value);
    *bytes = serde_json::to_vec_pretty(&value)?;
    Ok(())
}

/// Both apps, with `gateway_url` and `helpdesk` as their default settings.
pub(crate) fn packages(
    gateway_url: &str,
    helpdesk: &str,
) -> anyhow::Result<[(&'static str, Vec<u8>); 2]> {
    let mut zendesk = zendesk_files();
    edit_json(&mut zendesk, "manifest.json", |manifest| {
        if let Some(parameters) = manifest["parameters"].as_array_mut() {
            for parameter in parameters {
                match parameter["name"].as_str() {
                    Some("gateway_url") => parameter["default"] = gateway_url.into(),
                    Some("helpdesk") => parameter["default"] = helpdesk.into(),
                    _ => {}
                }
            }
        }
    })?;
    let mut freshdesk = freshdesk_files();
    edit_json(&mut freshdesk, "config/iparams.json", |iparams| {
        iparams["gateway_url"]["default_value"] = gateway_url.into();
        iparams["helpdesk"]["default_value"] = helpdesk.into();
    })?;
    Ok([
        (
            "deskbridge-zendesk-app.zip",
            deskbridge_server::zip::stored(&zendesk),
        ),
        (
            "deskbridge-freshdesk-app.zip",
            deskbridge_server::zip::stored(&freshdesk),
        ),
    ])
}

pub(crate) fn run(command: AppsCommand) -> anyhow::Result<ExitCode> {
    let AppsCommand::Package {
        gateway_url,
        helpdesk,
        out,
        config,
    } = command;
    let configured = match &config {
        Some(path) => deskbridge_config::Config::load(path)?.console.public_url,
        None => None,
    };
    let Some(gateway_url) = gateway_url.or(configured) else {
        bail!("give --gateway-url, or --config with `[console] public_url` set");
    };
    let gateway_url = gateway_url.trim_end_matches('/').to_owned();
    if !gateway_url.starts_with("https://")
        || deskbridge_config::origin_of(&gateway_url).as_deref() != Some(gateway_url.as_str())
    {
        bail!(
            "--gateway-url {gateway_url:?}: the helpdesks load the app over https; give https://HOST[:PORT] without a path"
        );
    }
    if helpdesk.is_empty()
        || !helpdesk
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        bail!("--helpdesk {helpdesk:?} is not a helpdesk name of deskbridge.toml");
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for (name, zip) in packages(&gateway_url, &helpdesk)? {
        let path = out.join(name);
        std::fs::write(&path, zip).with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apps_declare_their_sidebar_locations_and_carry_the_settings() {
        let [(zendesk_name, zendesk), (freshdesk_name, freshdesk)] =
            packages("https://db.example.com", "acme").expect("packages");
        assert_eq!(zendesk_name, "deskbridge-zendesk-app.zip");
        assert_eq!(freshdesk_name, "deskbridge-freshdesk-app.zip");
        let zendesk = deskbridge_server::zip::read_stored(&zendesk).expect("a valid zip");
        let manifest: Value = serde_json::from_slice(&zendesk["manifest.json"]).expect("json");
        assert_eq!(manifest["frameworkVersion"], "2.0");
        assert_eq!(
            manifest["location"]["support"]["ticket_sidebar"]["url"],
            "assets/iframe.html"
        );
        assert_eq!(
            manifest["parameters"][0]["default"],
            "https://db.example.com"
        );
        assert!(zendesk.contains_key("assets/main.js"));
        let freshdesk = deskbridge_server::zip::read_stored(&freshdesk).expect("a valid zip");
        let manifest: Value = serde_json::from_slice(&freshdesk["manifest.json"]).expect("json");
        assert_eq!(
            manifest["modules"]["support_ticket"]["location"]["ticket_sidebar"]["url"],
            "index.html"
        );
        let iparams: Value =
            serde_json::from_slice(&freshdesk["config/iparams.json"]).expect("json");
        assert_eq!(iparams["helpdesk"]["default_value"], "acme");
        // The app's scripts go to the per-ticket view of the console.
        let script = String::from_utf8_lossy(&freshdesk["app/scripts/app.js"]);
        assert!(script.contains("/console/tickets/"), "{script}");
    }
}
