//! The JSON Schemas of `schemas/`, embedded at build time, and validation against them with
//! errors that name the offending field (`limits.fuel: 5 is less than the minimum of 1000`).
//!
//! Schemas are compiled once per process. User-supplied schemas (a plugin's `config_schema`)
//! go through [`CompiledSchema::compile`]; remote `$ref`s are never fetched.

use std::fmt;
use std::sync::LazyLock;

use jsonschema::Validator;
use serde_json::Value;
use thiserror::Error;

/// The schemas shipped with Deskbridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// `schemas/ticket-event.schema.json`.
    TicketEvent,
    /// `schemas/plugin-manifest.schema.json`.
    PluginManifest,
    /// `schemas/config.schema.json` (`deskbridge.toml`, as JSON).
    Config,
    /// `schemas/audit-entry.schema.json` (a line of an approval-log export).
    AuditEntry,
}

impl Schema {
    /// The file name under `schemas/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Schema::TicketEvent => "ticket-event.schema.json",
            Schema::PluginManifest => "plugin-manifest.schema.json",
            Schema::Config => "config.schema.json",
            Schema::AuditEntry => "audit-entry.schema.json",
        }
    }

    /// The schema document's text.
    pub fn source(self) -> &'static str {
        match self {
            Schema::TicketEvent => include_str!("../../../schemas/ticket-event.schema.json"),
            Schema::PluginManifest => {
                include_str!("../../../schemas/plugin-manifest.schema.json")
            }
            Schema::Config => include_str!("../../../schemas/config.schema.json"),
            Schema::AuditEntry => include_str!("../../../schemas/audit-entry.schema.json"),
        }
    }

    fn compiled(self) -> &'static Result<CompiledSchema, SchemaError> {
        static TICKET_EVENT: LazyLock<Result<CompiledSchema, SchemaError>> =
            LazyLock::new(|| compile_builtin(Schema::TicketEvent));
        static PLUGIN_MANIFEST: LazyLock<Result<CompiledSchema, SchemaError>> =
            LazyLock::new(|| compile_builtin(Schema::PluginManifest));
        static CONFIG: LazyLock<Result<CompiledSchema, SchemaError>> =
            LazyLock::new(|| compile_builtin(Schema::Config));
        static AUDIT_ENTRY: LazyLock<Result<CompiledSchema, SchemaError>> =
            LazyLock::new(|| compile_builtin(Schema::AuditEntry));
        match self {
            Schema::TicketEvent => &TICKET_EVENT,
            Schema::PluginManifest => &PLUGIN_MANIFEST,
            Schema::Config => &CONFIG,
            Schema::AuditEntry => &AUDIT_ENTRY,
        }
    }

    /// Validates `instance` against this schema.
    pub fn validate(self, instance: &Value) -> Result<(), SchemaError> {
        match self.compiled() {
            Ok(schema) => schema.validate(instance),
            Err(e) => Err(e.clone()),
        }
    }

    /// Validates `instance` with messages that never quote its values
    /// ([`CompiledSchema::validate_without_values`]).
    pub fn validate_without_values(self, instance: &Value) -> Result<(), SchemaError> {
        match self.compiled() {
            Ok(schema) => schema.validate_without_values(instance),
            Err(e) => Err(e.clone()),
        }
    }
}

fn compile_builtin(schema: Schema) -> Result<CompiledSchema, SchemaError> {
    let value: Value = serde_json::from_str(schema.source()).map_err(|e| SchemaError {
        problems: vec![Problem {
            path: String::new(),
            message: format!("built-in schema {} is not JSON: {e}", schema.file_name()),
        }],
    })?;
    CompiledSchema::compile(&value)
}

/// One thing wrong with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path of the field, e.g. `limits.fuel` or `ticket.messages[0].body`; empty for
    /// the document itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "field `{}`: {}", self.path, self.message)
        }
    }
}

/// A document that does not match its schema (or a schema that does not compile).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct SchemaError {
    /// Every problem found, in document order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for problem in &self.problems {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// A compiled JSON Schema (draft 2020-12 unless the schema says otherwise).
#[derive(Debug)]
pub struct CompiledSchema {
    validator: Validator,
}

impl CompiledSchema {
    /// Compiles a schema; a malformed schema is an error naming where it is malformed.
    pub fn compile(schema: &Value) -> Result<CompiledSchema, SchemaError> {
        let validator = jsonschema::validator_for(schema).map_err(|e| SchemaError {
            problems: vec![Problem {
                path: pointer_to_path(&e.schema_path().to_string()),
                message: format!("invalid schema: {e}"),
            }],
        })?;
        Ok(CompiledSchema { validator })
    }

    /// Validates `instance`, collecting every problem. Messages may quote the offending
    /// value (`5 is less than the minimum of 1000`): for an operator's own input.
    pub fn validate(&self, instance: &Value) -> Result<(), SchemaError> {
        self.check(instance, |e| e.to_string())
    }

    /// Validates `instance` like [`CompiledSchema::validate`], but no message quotes a value
    /// of the instance: each names the field and the rule (`is longer than 65536
    /// characters`). For documents that hold customers' text, whose errors end up in failure
    /// records, logs and API responses.
    pub fn validate_without_values(&self, instance: &Value) -> Result<(), SchemaError> {
        self.check(instance, |e| describe_without_value(e.kind()))
    }

    fn check(
        &self,
        instance: &Value,
        message: impl Fn(&jsonschema::ValidationError<'_>) -> String,
    ) -> Result<(), SchemaError> {
        // Valid input (the common case) is checked without building error reports, which
        // showed up in ingest profiles; the reports are collected only for invalid input.
        if self.validator.is_valid(instance) {
            return Ok(());
        }
        let problems: Vec<Problem> = self
            .validator
            .iter_errors(instance)
            .map(|e| Problem {
                path: pointer_to_path(&e.instance_path().to_string()),
                message: message(&e),
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SchemaError { problems })
        }
    }
}

/// What a schema rule says, from the rule alone: limits, patterns, allowed values and property
/// names come from the schema (or are our own model's keys), never from the value checked.
fn describe_without_value(kind: &jsonschema::error::ValidationErrorKind) -> String {
    use jsonschema::error::ValidationErrorKind as Kind;
    match kind {
        Kind::MaxLength { limit } => format!("is longer than {limit} characters"),
        Kind::MinLength { limit } => format!("is shorter than {limit} characters"),
        Kind::MaxItems { limit } => format!("has more than {limit} items"),
        Kind::MinItems { limit } => format!("has fewer than {limit} items"),
        Kind::Pattern { pattern } => format!("does not match the pattern {pattern:?}"),
        Kind::Enum { options } => format!("is not one of {options}"),
        Kind::Constant { expected_value } => format!("is not {expected_value}"),
        Kind::Required { property } => format!("{property} is a required property"),
        Kind::AdditionalProperties { unexpected } => format!(
            "has properties the schema does not allow ({})",
            unexpected.join(", ")
        ),
        Kind::Type { .. } => "is not of the type the schema requires".to_owned(),
        Kind::Maximum { limit } | Kind::ExclusiveMaximum { limit } => {
            format!("is above the limit of {limit}")
        }
        Kind::Minimum { limit } | Kind::ExclusiveMinimum { limit } => {
            format!("is below the limit of {limit}")
        }
        other => format!("does not satisfy the schema's `{}` rule", other.keyword()),
    }
}

/// Turns a JSON pointer (`/limits/fuel`, `/ticket/messages/0/body`) into the dotted form users
/// see in TOML and JSON (`limits.fuel`, `ticket.messages[0].body`).
fn pointer_to_path(pointer: &str) -> String {
    let mut path = String::new();
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            path.push('[');
            path.push_str(&segment);
            path.push(']');
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment);
        }
    }
    path
}

/// A ticket event that has passed `schemas/ticket-event.schema.json`.
///
/// The plugin host only accepts this type, so no unchecked event reaches a plugin: the only
/// ways to build one are [`ValidatedEvent::parse`] and [`ValidatedEvent::from_value`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedEvent(deskbridge_core::TicketEvent);

/// `$defs/id` of `ticket-event.schema.json` (a unit test keeps the two in step).
const ID_MIN_CHARS: usize = 1;
const ID_MAX_CHARS: usize = 256;

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EventError {
    /// Not JSON at all.
    #[error("event is not valid JSON: {0}")]
    Json(String),
    /// JSON that does not match the schema.
    #[error("event does not match ticket-event.schema.json: {0}")]
    Schema(SchemaError),
}

impl ValidatedEvent {
    /// Parses and validates an event from JSON text.
    pub fn parse(text: &str) -> Result<ValidatedEvent, EventError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| EventError::Json(e.to_string()))?;
        ValidatedEvent::from_value(value)
    }

    /// Validates an event given as a JSON value. Errors name the field and the rule, never
    /// the value: an event carries customers' text.
    pub fn from_value(value: Value) -> Result<ValidatedEvent, EventError> {
        Schema::TicketEvent
            .validate_without_values(&value)
            .map_err(EventError::Schema)?;
        // The schema and the serde model describe the same document; a mismatch here is a
        // bug in one of them, reported rather than hidden.
        serde_json::from_value(value)
            .map(ValidatedEvent)
            .map_err(|e| EventError::Json(format!("schema-valid event the model rejects: {e}")))
    }

    /// Validates an event built in code (connectors normalize into the model, then check).
    pub fn validate(event: deskbridge_core::TicketEvent) -> Result<ValidatedEvent, EventError> {
        let value = serde_json::to_value(&event).map_err(|e| EventError::Json(e.to_string()))?;
        Schema::TicketEvent
            .validate_without_values(&value)
            .map_err(EventError::Schema)?;
        Ok(ValidatedEvent(event))
    }

    /// Puts a ticket that this process validated as part of a whole event (the generic
    /// webhook's body, checked at ingest) under the envelope the pipeline gives it: the
    /// gateway's event id, the kind, and `occurred_at` taken from one of the ticket's own
    /// (validated) message timestamps. Only what the envelope adds is checked: the id, against
    /// the schema's `$defs/id` rule. Anything read back from disk, or fetched from a helpdesk,
    /// goes through [`ValidatedEvent::validate`] instead; this spares the pipeline a second
    /// full schema check of a body checked moments before (BENCHMARKS.md).
    pub fn with_envelope_of_validated_ticket(
        event: deskbridge_core::TicketEvent,
    ) -> Result<ValidatedEvent, EventError> {
        let length = event.id.chars().count();
        if !(ID_MIN_CHARS..=ID_MAX_CHARS).contains(&length) {
            return Err(EventError::Schema(SchemaError {
                problems: vec![Problem {
                    path: "id".into(),
                    message: format!(
                        "an event id has {ID_MIN_CHARS} to {ID_MAX_CHARS} characters, not {length}"
                    ),
                }],
            }));
        }
        Ok(ValidatedEvent(event))
    }

    /// The event.
    pub fn event(&self) -> &deskbridge_core::TicketEvent {
        &self.0
    }

    /// The event, consuming the wrapper.
    pub fn into_inner(self) -> deskbridge_core::TicketEvent {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_schemas_compile() {
        for schema in [
            Schema::TicketEvent,
            Schema::PluginManifest,
            Schema::Config,
            Schema::AuditEntry,
        ] {
            assert!(schema.compiled().is_ok(), "{}", schema.file_name());
        }
    }

    #[test]
    fn pointers_become_dotted_paths() {
        assert_eq!(pointer_to_path(""), "");
        assert_eq!(pointer_to_path("/limits/fuel"), "limits.fuel");
        assert_eq!(
            pointer_to_path("/ticket/messages/0/body"),
            "ticket.messages[0].body"
        );
        assert_eq!(pointer_to_path("/a~1b"), "a/b");
    }

    #[test]
    fn manifest_errors_name_the_field() {
        let manifest = json!({
            "id": "demo",
            "version": "1.0.0",
            "contract": "0.1.0",
            "events": ["ticket.created"],
            "limits": { "fuel": 5 }
        });
        let err = Schema::PluginManifest
            .validate(&manifest)
            .expect_err("fuel too small");
        assert_eq!(err.problems.len(), 1);
        assert_eq!(err.problems[0].path, "limits.fuel");
        assert!(
            err.to_string()
                .starts_with("field `limits.fuel`: 5 is less than the minimum of 1000"),
            "{err}"
        );
    }

    #[test]
    fn unknown_manifest_keys_are_errors() {
        let manifest = json!({
            "id": "demo", "version": "1.0.0", "contract": "0.1.0", "events": [],
            "capabilities": { "filesystem": true }
        });
        let err = Schema::PluginManifest
            .validate(&manifest)
            .expect_err("unknown key");
        assert_eq!(err.problems[0].path, "capabilities");
        assert!(err.to_string().contains("filesystem"), "{err}");
    }

    fn sample_event() -> Value {
        json!({
            "id": "evt-1",
            "kind": "ticket.created",
            "occurred_at": "2026-11-25T10:00:00Z",
            "ticket": {
                "id": "42", "helpdesk": "acme-zendesk", "helpdesk_kind": "zendesk",
                "subject": "Broken kettle", "status": "new", "priority": "normal",
                "tags": [], "channel": "email",
                "requester": { "id": "c1", "name": "Ada" },
                "messages": [{
                    "id": "m1", "author_role": "customer", "visibility": "public",
                    "body": "It arrived broken.", "created_at": "2026-11-25T09:59:00Z"
                }]
            }
        })
    }

    #[test]
    fn the_envelope_check_agrees_with_the_schema_on_ids() {
        let base = ValidatedEvent::from_value(sample_event())
            .expect("valid")
            .into_inner();
        for id in [
            String::new(),
            "e".into(),
            "é".repeat(ID_MAX_CHARS),
            "e".repeat(ID_MAX_CHARS + 1),
        ] {
            let event = deskbridge_core::TicketEvent {
                id: id.clone(),
                ..base.clone()
            };
            assert_eq!(
                ValidatedEvent::with_envelope_of_validated_ticket(event.clone()).is_ok(),
                ValidatedEvent::validate(event).is_ok(),
                "id of {} characters",
                id.chars().count()
            );
        }
    }

    #[test]
    fn valid_events_parse() {
        let event = ValidatedEvent::from_value(sample_event()).expect("valid");
        assert_eq!(event.event().ticket.id, "42");
        let again = ValidatedEvent::validate(event.clone().into_inner()).expect("still valid");
        assert_eq!(again, event);
    }

    #[test]
    fn invalid_events_name_the_field() {
        let mut event = sample_event();
        event["ticket"]["messages"][0]["author_role"] = json!("robot");
        let err = ValidatedEvent::from_value(event).expect_err("bad role");
        let EventError::Schema(schema) = err else {
            panic!("expected a schema error")
        };
        assert_eq!(schema.problems[0].path, "ticket.messages[0].author_role");

        assert!(matches!(
            ValidatedEvent::parse("{"),
            Err(EventError::Json(_))
        ));
        let mut event = sample_event();
        event["extra"] = json!(1);
        assert!(ValidatedEvent::from_value(event).is_err());
    }

    #[test]
    fn event_errors_name_the_field_and_limit_but_never_the_text() {
        let secret = "customer is on the fraud watchlist ";
        let mut event = sample_event();
        event["ticket"]["messages"][0]["body"] = json!(secret.repeat(2000));
        event["ticket"]["subject"] = json!(secret.repeat(40));
        event["ticket"]["messages"][0]["created_at"] = json!(format!("{secret}yesterday"));
        event["ticket"]["messages"][0]["author_role"] = json!(secret);
        let err = ValidatedEvent::from_value(event).expect_err("too long");
        let text = err.to_string();
        assert!(!text.contains("watchlist"), "{text}");
        for expected in [
            "field `ticket.subject`: is longer than 1000 characters",
            "field `ticket.messages[0].body`: is longer than 65536 characters",
            "field `ticket.messages[0].created_at`: does not match the pattern",
            "field `ticket.messages[0].author_role`: is not one of",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
    }

    #[test]
    fn a_ticket_cut_to_the_core_limits_passes_the_schema() {
        use deskbridge_core::ticket_limits as limits;
        let mut event = ValidatedEvent::from_value(sample_event())
            .expect("valid")
            .into_inner();
        let ticket = &mut event.ticket;
        ticket.subject = "s".repeat(limits::MAX_SUBJECT_CHARS + 1);
        ticket.tags = vec!["t".repeat(limits::MAX_TAG_CHARS + 1); limits::MAX_TAGS + 1];
        ticket.requester.name = Some("n".repeat(limits::MAX_NAME_CHARS + 1));
        ticket.requester.email = Some("e".repeat(limits::MAX_EMAIL_CHARS + 1));
        ticket.requester.locale = Some("l".repeat(limits::MAX_LOCALE_CHARS + 1));
        let message = ticket.messages[0].clone();
        ticket.messages = vec![message; limits::MAX_MESSAGES + 1];
        ticket.messages[0].body = "b".repeat(limits::MAX_BODY_CHARS + 1);
        ticket.messages[5].author_name = Some("a".repeat(limits::MAX_NAME_CHARS + 1));
        ticket.messages[5].body = "ü".repeat(limits::MAX_BODY_CHARS + 1);
        assert!(ValidatedEvent::validate(event.clone()).is_err());
        let cuts = deskbridge_core::fit_to_limits(&mut event.ticket);
        // Subject and tag count, each tag, the requester's three, message count, one body and
        // one author name (the other long body went with the oldest message).
        assert_eq!(cuts.len(), 2 + limits::MAX_TAGS + 3 + 3, "{cuts:?}");
        ValidatedEvent::validate(event).expect("the core's limits are the schema's");
    }

    #[test]
    fn user_schemas_compile_and_validate() {
        let schema = CompiledSchema::compile(&json!({
            "type": "object",
            "properties": { "threshold": { "type": "number", "maximum": 1 } }
        }))
        .expect("compiles");
        assert!(schema.validate(&json!({"threshold": 0.5})).is_ok());
        let err = schema
            .validate(&json!({"threshold": 2}))
            .expect_err("too large");
        assert_eq!(err.problems[0].path, "threshold");

        let bad = CompiledSchema::compile(&json!({"type": "no-such-type"}));
        assert!(bad.is_err());
    }
}
