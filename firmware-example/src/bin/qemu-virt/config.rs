//! The firmware's settings, fixed at build time from `MQTTCERT_*` environment variables by
//! `build.rs`, which documents each of them.

include!(concat!(env!("OUT_DIR"), "/config.rs"));
