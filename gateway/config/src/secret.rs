//! Secrets in the config: the value itself, or `{ env = "VARIABLE" }`. Resolved once at load;
//! never printed by `Debug`.

use serde::Deserialize;

use crate::{ConfigError, key_error};

/// A secret value.
#[derive(Clone, Deserialize)]
#[serde(from = "SecretSource")]
pub struct Secret {
    source: SecretSource,
    value: String,
}

#[derive(Clone, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum SecretSource {
    Literal(String),
    Env { env: String },
}

impl From<SecretSource> for Secret {
    fn from(source: SecretSource) -> Secret {
        let value = match &source {
            SecretSource::Literal(value) => value.clone(),
            SecretSource::Env { .. } => String::new(),
        };
        Secret { source, value }
    }
}

impl Secret {
    /// A literal secret (for tests and programmatic configs).
    pub fn literal(value: &str) -> Secret {
        SecretSource::Literal(value.to_owned()).into()
    }

    /// The value.
    pub fn reveal(&self) -> &str {
        &self.value
    }

    /// Reads the environment variable, if the secret names one.
    pub(crate) fn resolve(
        &mut self,
        key: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let SecretSource::Env { env: name } = &self.source {
            match env(name).filter(|v| !v.is_empty()) {
                Some(value) => self.value = value,
                None => {
                    return Err(key_error(
                        key,
                        format!("environment variable {name} is not set or empty"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            SecretSource::Literal(_) => f.write_str("Secret(***)"),
            SecretSource::Env { env } => write!(f, "Secret(env {env})"),
        }
    }
}
