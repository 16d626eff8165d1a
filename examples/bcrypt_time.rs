//! Seconds one bcrypt hash takes at a cost, with Ironstone's own hasher:
//! the bcrypt limit of scenario (b) in bench/run is cores ÷ this.
//!
//!     cargo run --release --example bcrypt_time -- [COST] [ROUNDS]
#![allow(clippy::print_stdout)]

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let cost: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(12);
    let rounds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let started = Instant::now();
    for _ in 0..rounds {
        if let Err(e) = ironstone::identity::password::hash("bench-password", cost) {
            eprintln!("bcrypt_time: {e}");
            std::process::exit(1);
        }
    }
    println!("{:.4}", started.elapsed().as_secs_f64() / f64::from(rounds));
}
