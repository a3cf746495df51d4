//! The WIT contract versions this host speaks, one module per released version (like Zed's
//! extension host): bindings generated from `sdk/wit/vX.Y.Z` plus conversions between the
//! contract's records and the core model. Adding `v0_2` later leaves `v0_1` plugins loading.

pub(crate) mod v0_1;
