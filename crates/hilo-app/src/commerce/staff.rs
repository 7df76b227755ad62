//! Store staff: a console user or an API key bound to the store whose desk it works.
//! A bound member hands over pickups, moves fulfilments and receives returns only at
//! its own store (stock lookup and orders for customers stay open everywhere); one not
//! bound works any store's desk, as head office and the shop's backend do.

use hilo_domain::{ApiKeyId, LocationId, Principal, UserId};
use hilo_store::commerce::StaffRecord;
use tracing::info;

use super::Commerce;
use crate::{AppError, AppResult};

/// A member as the API names it: `user:<id>` or `api_key:<id>`, the way audit records
/// name actors. `None` when it is neither.
pub fn parse_member(text: &str) -> Option<String> {
    let (kind, id) = text.split_once(':')?;
    let valid = match kind {
        "user" => id.parse::<UserId>().is_ok(),
        "api_key" => id.parse::<ApiKeyId>().is_ok(),
        _ => false,
    };
    valid.then(|| text.to_owned())
}

impl Commerce<'_> {
    /// Binds a user or a key to `location`'s desk (moving it from any other).
    pub async fn assign_staff(
        &self,
        location: LocationId,
        member: &str,
        by: &Principal,
    ) -> AppResult<StaffRecord> {
        self.location(location).await?;
        let member = self.existing_member(member).await?;
        let record = StaffRecord {
            member,
            location_id: location,
            assigned_by: by.actor(),
            assigned_at: self.hilo.now(),
        };
        self.hilo.store.assign_staff(&record).await?;
        info!(member = %record.member, location = %location, "staff assigned to a store");
        Ok(record)
    }

    /// Frees a member from `location`'s desk; 404 when it was not bound there.
    pub async fn unassign_staff(&self, location: LocationId, member: &str) -> AppResult<()> {
        let member = parse_member(member).ok_or(AppError::NotFound)?;
        if !self.hilo.store.unassign_staff(&member, location).await? {
            return Err(AppError::NotFound);
        }
        info!(member = %member, location = %location, "staff freed from a store");
        Ok(())
    }

    pub async fn staff_of(&self, location: LocationId) -> AppResult<Vec<StaffRecord>> {
        self.location(location).await?;
        Ok(self.hilo.store.staff_of(location).await?)
    }

    /// The store this caller works at, when it is bound to one.
    pub async fn desk_of(&self, by: &Principal) -> AppResult<Option<LocationId>> {
        Ok(self.hilo.store.desk_of(&by.actor()).await?)
    }

    /// Refuses a desk's work to a member bound to another store.
    pub(super) async fn check_desk(&self, by: &Principal, location: LocationId) -> AppResult<()> {
        match self.desk_of(by).await? {
            Some(own) if own != location => {
                let name = self
                    .hilo
                    .store
                    .location(own)
                    .await?
                    .map_or_else(|| own.to_string(), |l| l.name);
                Err(AppError::OtherDesk(name))
            }
            _ => Ok(()),
        }
    }

    async fn existing_member(&self, text: &str) -> AppResult<String> {
        let member = parse_member(text).ok_or(AppError::NotFound)?;
        let (kind, id) = member.split_once(':').unwrap_or_default();
        let exists = match kind {
            "user" => match id.parse::<UserId>() {
                Ok(id) => self.hilo.store.user(id).await?.is_some(),
                Err(_) => false,
            },
            _ => match id.parse::<ApiKeyId>() {
                Ok(id) => self
                    .hilo
                    .store
                    .api_key(id)
                    .await?
                    .is_some_and(|k| k.revoked_at.is_none()),
                Err(_) => false,
            },
        };
        if exists {
            Ok(member)
        } else {
            Err(AppError::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_users_or_keys() {
        let user = UserId::generate();
        let key = ApiKeyId::generate();
        assert_eq!(
            parse_member(&format!("user:{user}")),
            Some(format!("user:{user}"))
        );
        assert!(parse_member(&format!("api_key:{key}")).is_some());
        assert_eq!(parse_member(&format!("source:{key}")), None);
        assert_eq!(parse_member(&format!("user:{key}x")), None);
        assert_eq!(parse_member("user"), None);
    }
}
