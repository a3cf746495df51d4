//! Protocol-faithful simulators of the Zendesk and Freshdesk APIs.
//!
//! Each speaks the vendor's documented request and response shapes for what Deskbridge uses
//! (tickets, users/requesters, comments and conversations with the vendor's pagination, notes,
//! replies, tags and priority; macros, canned responses and help-center/solution articles for
//! the knowledge base), checks the vendor's authentication, enforces a per-minute rate
//! limit with `429` + `Retry-After` and the vendor's quota headers, and fires signed webhooks
//! at a target when tickets change, in the vendor's payload format.
//!
//! A control API under `/_sim/` (no auth) drives them from tests and demos: create tickets and
//! customer messages, point webhooks at a gateway, inject faults (a status, a delay, a write
//! applied and then answered with a timeout or an error), seed and change knowledge
//! (`/_sim/knowledge`), and read back every ticket, every
//! request received and every webhook fired. Run one with `deskbridge sim zendesk|freshdesk`.
//!
//! The AI providers' APIs are simulated too ([`run_ai`]): OpenAI Chat Completions (and its
//! Azure OpenAI form) and Anthropic Messages, with the vendors' validation, error shapes,
//! rate limits and headers, a configurable latency, fault injection and scripted answers. Run
//! one with `deskbridge sim openai|anthropic`.

mod ai;
mod common;
mod freshdesk;
mod knowledge;
mod zendesk;

pub use ai::{AiSimOptions, AiVendor};
pub use common::{Fault, FaultKind, SimOptions};

use std::net::TcpListener;

/// Which vendor to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// Zendesk Support API v2.
    Zendesk,
    /// Freshdesk API v2.
    Freshdesk,
}

/// Runs a simulator on `listener` until the process is stopped.
pub fn run(vendor: Vendor, listener: TcpListener, options: SimOptions) -> std::io::Result<()> {
    deskbridge_connectors::install_tls_provider();
    actix_web::rt::System::new().block_on(async move {
        let state = actix_web::web::Data::new(common::Sim::new(options));
        let server = actix_web::HttpServer::new(move || {
            let app = actix_web::App::new()
                .app_data(state.clone())
                .configure(common::control_routes);
            match vendor {
                Vendor::Zendesk => app
                    .configure(zendesk::routes)
                    .configure(knowledge::zendesk_routes),
                Vendor::Freshdesk => app
                    .configure(freshdesk::routes)
                    .configure(knowledge::freshdesk_routes),
            }
        })
        .workers(2)
        .listen(listener)?
        .run();
        server.await
    })
}

/// Runs an AI provider simulator on `listener` until the process is stopped (2 workers; every
/// vendor answer waits `options.latency` asynchronously, so 10,000 requests can wait at once).
pub fn run_ai(listener: TcpListener, options: AiSimOptions) -> std::io::Result<()> {
    ai::run(listener, options)
}
