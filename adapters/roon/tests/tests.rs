//! The Roon adapter against the fake Roon Core, run in-process through the SDK's testkit.
//!
//! If you're adding something new, tests go in one of these modules.

mod support;

mod control;
mod discovery;
mod fake;
mod pairing;
mod play;
mod robustness;
mod zones;
