//! End-to-end tests: a real musiqued on a temporary directory, driven
//! through its socket and through musiquectl.
//!
//! If you're adding something new, tests go in one of these modules.

mod analytics;
mod clients;
mod crash;
mod ctl;
mod discogs;
mod imports;
mod insights;
mod lastfm;
mod layers;
mod lifecycle;
mod lifecycle_imports;
mod plugins;
mod roon;
mod rpc;
mod scrobble;
mod stress;
mod tidy;
mod upgrade;
