//! Per-key rate limits shared by replicas on PostgreSQL: one row per
//! limited key holding its GCRA theoretical arrival time, advanced by a
//! single conditional upsert on the database's own clock, so that
//! replicas with skewed clocks still count against one limit exactly.

use diesel::sql_types::{BigInt, Text};
use diesel::RunQueryDsl;

use super::Conn;
use crate::error::Error;

/// The database's clock, in microseconds.
const DB_NOW: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT";

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    tat: i64,
    #[diesel(sql_type = BigInt)]
    now: i64,
}

/// Takes one request of `key_id`'s allowance (`interval` and `tolerance`
/// in microseconds, see [`crate::lifecycle::RateLimit`]): `Ok` if
/// admitted, else `Err` with the microseconds until one would be.
pub fn admit(
    conn: &mut Conn,
    key_id: &str,
    interval: i64,
    tolerance: i64,
) -> Result<Result<(), i64>, Error> {
    let admitted: Vec<Row> = diesel::sql_query(format!(
        "WITH clock AS (SELECT {DB_NOW} AS now) \
         INSERT INTO key_rates (key_id, tat) SELECT $1, now + $2 FROM clock \
         ON CONFLICT (key_id) DO UPDATE \
         SET tat = GREATEST(key_rates.tat, (SELECT now FROM clock)) + $2 \
         WHERE GREATEST(key_rates.tat, (SELECT now FROM clock)) + $2 - (SELECT now FROM clock) <= $3 \
         RETURNING tat, (SELECT now FROM clock) AS now"
    ))
    .bind::<Text, _>(key_id)
    .bind::<BigInt, _>(interval)
    .bind::<BigInt, _>(tolerance)
    .load(conn)?;
    if !admitted.is_empty() {
        return Ok(Ok(()));
    }
    let current: Vec<Row> = diesel::sql_query(format!(
        "SELECT tat, {DB_NOW} AS now FROM key_rates WHERE key_id = $1"
    ))
    .bind::<Text, _>(key_id)
    .load(conn)?;
    let wait = current
        .first()
        .map_or(interval, |r| r.tat + interval - r.now - tolerance);
    Ok(Err(wait.max(1)))
}

/// Forgets keys idle for an hour: a time long past means the same as no
/// row.
pub fn prune(conn: &mut Conn) -> Result<usize, Error> {
    Ok(diesel::sql_query(format!(
        "DELETE FROM key_rates WHERE tat < {DB_NOW} - 3600000000"
    ))
    .execute(conn)?)
}
