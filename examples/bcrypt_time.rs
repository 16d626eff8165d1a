//! Seconds per bcrypt hash at a cost, with Ironstone's own hasher, when
//! every core hashes at once: the bcrypt limit of scenario (b) in
//! bench/run is 1 ÷ this. Measured in parallel because that is how the
//! server hashes, and two cores hashing together are not always twice one
//! core hashing alone (shared caches, a hypervisor's scheduling).
//!
//!     cargo run --release --example bcrypt_time -- [COST] [ROUNDS] [THREADS]
#![allow(clippy::print_stdout)]

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let cost: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(12);
    let rounds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let threads: u32 = args
        .next()
        .and_then(|a| a.parse().ok())
        .or_else(|| {
            std::thread::available_parallelism()
                .ok()
                .and_then(|n| u32::try_from(n.get()).ok())
        })
        .unwrap_or(1)
        .max(1);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..rounds {
                    if let Err(e) = ironstone::identity::password::hash("bench-password", cost) {
                        eprintln!("bcrypt_time: {e}");
                        std::process::exit(1);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        if worker.join().is_err() {
            eprintln!("bcrypt_time: a hashing thread panicked");
            std::process::exit(1);
        }
    }
    println!(
        "{:.4}",
        started.elapsed().as_secs_f64() / f64::from(rounds * threads)
    );
}
