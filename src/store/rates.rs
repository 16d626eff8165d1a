//! Per-key rate limits shared by replicas (PostgreSQL, MariaDB/MySQL): one
//! row per limited key holding its GCRA theoretical arrival time, advanced
//! on the database's own clock, so that replicas with skewed clocks still
//! count against one limit exactly. PostgreSQL does it in one conditional
//! upsert; MariaDB/MySQL, which cannot condition an upsert's update, lock
//! the row and decide here.

use diesel::sql_types::{BigInt, Text};
use diesel::RunQueryDsl;

use super::Conn;
use crate::error::Error;

/// The database's clock, in microseconds.
const DB_NOW: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT";
const MYSQL_NOW: &str = "CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)";

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
    if let Conn::Mysql(_) = conn {
        return admit_locked(conn, key_id, interval, tolerance);
    }
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

/// [`admit`] by locking the key's row (created at time zero if missing)
/// for the rest of the transaction. The upsert takes the row's exclusive
/// lock at once whether it inserts or not (`INSERT IGNORE` would take a
/// shared one, and two waiters upgrading it deadlock).
fn admit_locked(
    conn: &mut Conn,
    key_id: &str,
    interval: i64,
    tolerance: i64,
) -> Result<Result<(), i64>, Error> {
    diesel::sql_query(
        "INSERT INTO key_rates (key_id, tat) VALUES (?, 0) ON DUPLICATE KEY UPDATE tat = tat",
    )
    .bind::<Text, _>(key_id)
    .execute(conn)?;
    let current: Vec<Row> = diesel::sql_query(format!(
        "SELECT tat, {MYSQL_NOW} AS now FROM key_rates WHERE key_id = ? FOR UPDATE"
    ))
    .bind::<Text, _>(key_id)
    .load(conn)?;
    let Some(Row { tat, now }) = current.first() else {
        return Ok(Err(interval));
    };
    let next = (*tat).max(*now) + interval;
    if next - now > tolerance {
        return Ok(Err((tat + interval - now - tolerance).max(1)));
    }
    diesel::sql_query("UPDATE key_rates SET tat = ? WHERE key_id = ?")
        .bind::<BigInt, _>(next)
        .bind::<Text, _>(key_id)
        .execute(conn)?;
    Ok(Ok(()))
}

/// Forgets keys idle for an hour: a time long past means the same as no
/// row.
pub fn prune(conn: &mut Conn) -> Result<usize, Error> {
    let now = match conn {
        Conn::Mysql(_) => MYSQL_NOW,
        _ => DB_NOW,
    };
    Ok(diesel::sql_query(format!(
        "DELETE FROM key_rates WHERE tat < {now} - 3600000000"
    ))
    .execute(conn)?)
}
