//! The trust queries, composable inside a use case's transaction.

use diesel::prelude::*;

use super::Trust;
use crate::error::Error;
use crate::store::schema::{trust_roles, trusts};
use crate::store::{now_micros, Conn};

pub fn not_found(id: &str) -> Error {
    Error::NotFound(format!("Could not find trust: {id}."))
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = trusts)]
struct TrustRow {
    id: String,
    trustor_user_id: String,
    trustee_user_id: String,
    project_id: Option<String>,
    impersonation: bool,
    expires_at: Option<i64>,
    remaining_uses: Option<i32>,
    redelegated_trust_id: Option<String>,
    redelegation_count: i32,
    deleted_at: Option<i64>,
    created_at: i64,
}

fn from_row(row: TrustRow, role_ids: Vec<String>) -> Trust {
    Trust {
        id: row.id,
        trustor_user_id: row.trustor_user_id,
        trustee_user_id: row.trustee_user_id,
        project_id: row.project_id,
        impersonation: row.impersonation,
        expires_at: row.expires_at,
        remaining_uses: row.remaining_uses,
        redelegated_trust_id: row.redelegated_trust_id,
        redelegation_count: row.redelegation_count,
        deleted_at: row.deleted_at,
        role_ids,
    }
}

fn role_ids(conn: &mut Conn, trust_id: &str) -> Result<Vec<String>, Error> {
    Ok(trust_roles::table
        .filter(trust_roles::trust_id.eq(trust_id))
        .select(trust_roles::role_id)
        .order(trust_roles::role_id.asc())
        .load(conn)?)
}

/// A trust as stored, deleted or not.
pub fn get_any(conn: &mut Conn, id: &str) -> Result<Option<Trust>, Error> {
    let Some(row) = trusts::table
        .find(id)
        .select(TrustRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let roles = role_ids(conn, id)?;
    Ok(Some(from_row(row, roles)))
}

/// A trust that can still be used, as Keystone's `get_trust` finds it:
/// not deleted, not expired, and with uses left (a trust whose last use
/// is spent is gone, and so are the tokens it gave).
pub fn get_usable(conn: &mut Conn, id: &str) -> Result<Option<Trust>, Error> {
    let now = now_micros();
    Ok(get_any(conn, id)?.filter(|t| {
        t.deleted_at.is_none()
            && t.expires_at.is_none_or(|e| e > now)
            && t.remaining_uses.is_none_or(|u| u > 0)
    }))
}

/// Live trusts (not deleted), without their roles, in creation order.
pub fn list(
    conn: &mut Conn,
    trustor: Option<&str>,
    trustee: Option<&str>,
    redelegated_from: Option<&str>,
) -> Result<Vec<Trust>, Error> {
    let mut query = trusts::table
        .filter(trusts::deleted_at.is_null())
        .select(TrustRow::as_select())
        .order((trusts::created_at.asc(), trusts::id.asc()))
        .into_boxed();
    if let Some(t) = trustor {
        query = query.filter(trusts::trustor_user_id.eq(t.to_string()));
    }
    if let Some(t) = trustee {
        query = query.filter(trusts::trustee_user_id.eq(t.to_string()));
    }
    if let Some(r) = redelegated_from {
        query = query.filter(trusts::redelegated_trust_id.eq(r.to_string()));
    }
    Ok(query
        .load(conn)?
        .into_iter()
        .map(|row| from_row(row, Vec::new()))
        .collect())
}

pub fn create(conn: &mut Conn, trust: &Trust) -> Result<(), Error> {
    diesel::insert_into(trusts::table)
        .values(TrustRow {
            id: trust.id.clone(),
            trustor_user_id: trust.trustor_user_id.clone(),
            trustee_user_id: trust.trustee_user_id.clone(),
            project_id: trust.project_id.clone(),
            impersonation: trust.impersonation,
            expires_at: trust.expires_at,
            remaining_uses: trust.remaining_uses,
            redelegated_trust_id: trust.redelegated_trust_id.clone(),
            redelegation_count: trust.redelegation_count,
            deleted_at: None,
            created_at: now_micros(),
        })
        .execute(conn)?;
    for role in &trust.role_ids {
        diesel::insert_into(trust_roles::table)
            .values((
                trust_roles::trust_id.eq(&trust.id),
                trust_roles::role_id.eq(role),
            ))
            .execute(conn)?;
    }
    crate::notify::created("OS-TRUST:trust", &trust.id);
    Ok(())
}

/// Spends one use of a limited trust, atomically: two tokens cannot both
/// take its last use. Unlimited trusts are left alone.
pub fn consume_use(conn: &mut Conn, id: &str) -> Result<(), Error> {
    let limited = trusts::table
        .find(id)
        .filter(trusts::deleted_at.is_null())
        .select(trusts::remaining_uses)
        .first::<Option<i32>>(conn)
        .optional()?
        .ok_or_else(|| not_found(id))?;
    if limited.is_none() {
        return Ok(());
    }
    let spent = diesel::update(
        trusts::table
            .find(id)
            .filter(trusts::deleted_at.is_null())
            .filter(trusts::remaining_uses.gt(0)),
    )
    .set(trusts::remaining_uses.eq(trusts::remaining_uses - 1))
    .execute(conn)?;
    if spent == 0 {
        return Err(Error::unauthorized());
    }
    Ok(())
}

/// Marks a trust deleted (kept for the chain, as Keystone's soft delete).
pub fn soft_delete(conn: &mut Conn, id: &str) -> Result<(), Error> {
    diesel::update(trusts::table.find(id).filter(trusts::deleted_at.is_null()))
        .set(trusts::deleted_at.eq(Some(now_micros())))
        .execute(conn)?;
    Ok(())
}

/// The live trusts a user gave or received (deleted with the user).
pub fn ids_of_user(conn: &mut Conn, user_id: &str) -> Result<Vec<String>, Error> {
    Ok(trusts::table
        .filter(trusts::deleted_at.is_null())
        .filter(
            trusts::trustor_user_id
                .eq(user_id)
                .or(trusts::trustee_user_id.eq(user_id)),
        )
        .select(trusts::id)
        .load(conn)?)
}

/// The live trusts on a project (deleted with the project).
pub fn ids_of_project(conn: &mut Conn, project_id: &str) -> Result<Vec<String>, Error> {
    Ok(trusts::table
        .filter(trusts::deleted_at.is_null())
        .filter(trusts::project_id.eq(project_id))
        .select(trusts::id)
        .load(conn)?)
}

/// Writes a live trust under its own id, with its roles (the import from
/// Keystone).
pub fn put(conn: &mut Conn, trust: &Trust) -> Result<crate::store::Put, Error> {
    use crate::store::Put;
    match get_any(conn, &trust.id)? {
        Some(existing) if &existing == trust => Ok(Put::Unchanged),
        Some(_) => {
            diesel::delete(trust_roles::table.filter(trust_roles::trust_id.eq(&trust.id)))
                .execute(conn)?;
            diesel::delete(trusts::table.find(&trust.id)).execute(conn)?;
            create(conn, trust)?;
            Ok(Put::Updated)
        }
        None => {
            create(conn, trust)?;
            Ok(Put::Created)
        }
    }
}
