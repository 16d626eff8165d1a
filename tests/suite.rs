//! The integration suite as one test binary: built and linked once, its
//! tests run in parallel with one another (and, from `scripts/test`, with
//! the differential binary, whose tests take turns on one Keystone).
//! Each module is one area; `cargo test --test suite admin::` runs one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

mod admin;
mod aksk;
mod api_fuzz;
mod appcreds;
mod authz;
mod bench_harness;
mod caches;
mod catalog;
mod cli;
mod console;
mod contract;
mod deploy;
mod durability;
mod health;
mod import_keystone;
mod interop_openstack;
mod interop_signatures;
mod keystone_vectors;
mod layout;
mod lifecycle;
mod limits;
mod metrics;
mod notifications;
mod oauth1;
mod oauth2;
mod operations;
mod process_faults;
mod reliability;
mod replicas;
mod roles;
mod scannable;
mod security;
mod signature_properties;
mod signed;
mod sigv4_suite;
mod soda_workflow;
mod tokens;
mod trusts;
mod url_map;
