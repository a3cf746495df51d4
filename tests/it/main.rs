//! End-to-end tests of the plugin runtime: hostile guests are contained with their specific
//! error, first-party plugins do their job on fixtures, and faults fail closed.

mod bounded;
mod contract;
mod first_party;
mod hostile;
mod support;
