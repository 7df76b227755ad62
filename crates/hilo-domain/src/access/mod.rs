//! Who is calling and what they may do. The whole permission matrix lives here, as data,
//! so the web layer asks one question and the matrix can be read in one place.

pub mod throttle;

use std::fmt;
use std::str::FromStr;

use crate::{ApiKeyId, EmailAddress, Invalid, SourceId, UserId};

/// The role of a secret API key or a console user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Agent,
    Marketer,
    Store,
    ReadOnly,
    /// The shop's own backend and apps, acting for customers (API keys only).
    Storefront,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Self::Admin,
        Self::Agent,
        Self::Marketer,
        Self::Store,
        Self::ReadOnly,
        Self::Storefront,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Agent => "agent",
            Self::Marketer => "marketer",
            Self::Store => "store",
            Self::ReadOnly => "read_only",
            Self::Storefront => "storefront",
        }
    }

    /// Whether this role grants `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match permission {
            ReadOwnIdentity => true,
            // Sources carry no personal data; read-only operators may audit them.
            ReadSources => matches!(self, Self::Admin | Self::ReadOnly),
            ManageSources | ManageApiKeys | ManageUsers => self == Self::Admin,
            // Profiles hold personal data: the roles that serve customers read them;
            // read_only (auditors, dashboards) does not.
            ReadCustomers => !matches!(self, Self::ReadOnly),
            // Staff who meet customers register and correct them.
            EditCustomers => matches!(self, Self::Admin | Self::Agent | Self::Store),
            UnmergeCustomers => matches!(self, Self::Admin | Self::Agent),
            ReadIdentityRules => matches!(self, Self::Admin | Self::ReadOnly),
            // Conflicts name identifier values: personal data, for admins.
            ManageIdentityRules | ReadIdentityConflicts => self == Self::Admin,
            // Handing over or destroying everything about a person: privacy officers
            // (admins) only.
            ExportCustomers | EraseCustomers => self == Self::Admin,
            // Webhooks send data out of Hilo, and jobs carry what they send: admins.
            ManageWebhooks | ManageJobs => self == Self::Admin,
            // Channels hold the providers' credentials: admins.
            ManageChannels => self == Self::Admin,
            // Conversations are personal data: the people who answer customers.
            ReadConversations | WorkConversations => matches!(self, Self::Admin | Self::Agent),
            // Events come in through a source's write key, never through a role.
            SendEvents => false,
            // The catalogue and stock levels hold nothing personal.
            ReadCatalogue => true,
            ManageCatalogue => self == Self::Admin,
            // Receiving, counting, writing off and moving stock: the stores' staff.
            ManageInventory => matches!(self, Self::Admin | Self::Store),
            // Carts, wish lists and orders for a customer: the shop's backend, the
            // people who serve customers, and admins.
            ReadOrders | ShopForCustomers => matches!(
                self,
                Self::Admin | Self::Agent | Self::Store | Self::Storefront
            ),
            // A pickup code is the customer's to show: the shop that shows it to them
            // reads it, store staff only ever check one.
            ReadPickupCodes => matches!(self, Self::Admin | Self::Storefront),
            // The store's desk: marking orders ready, handing them over, taking returns.
            WorkStoreDesk => matches!(self, Self::Admin | Self::Store),
            ManagePromotions => matches!(self, Self::Admin | Self::Marketer),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| {
                Invalid::new(
                    "role",
                    "must be one of admin, agent, marketer, store, read_only, storefront",
                )
            })
    }
}

/// Something a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See who you are authenticated as.
    ReadOwnIdentity,
    ReadSources,
    ManageSources,
    ManageApiKeys,
    ManageUsers,
    ReadCustomers,
    EditCustomers,
    UnmergeCustomers,
    ReadIdentityRules,
    ManageIdentityRules,
    ReadIdentityConflicts,
    ExportCustomers,
    EraseCustomers,
    /// Register, change and inspect outbound webhooks.
    ManageWebhooks,
    /// See the job queue and retry dead jobs.
    ManageJobs,
    /// Configure the channels customers write on, with their credentials.
    ManageChannels,
    /// Read conversations and their messages.
    ReadConversations,
    /// Reply, write notes, assign and change conversations.
    WorkConversations,
    /// Send events to the collection API.
    SendEvents,
    /// Read products, locations, stock and availability.
    ReadCatalogue,
    /// Create and change products and locations.
    ManageCatalogue,
    /// Change stock levels (received, counted, damaged, transferred).
    ManageInventory,
    /// Read customers' carts, wish lists and orders.
    ReadOrders,
    /// Change carts and wish lists, place, change and cancel orders, start returns.
    ShopForCustomers,
    /// See an order's pickup code.
    ReadPickupCodes,
    /// Mark orders ready, hand them over, receive returns.
    WorkStoreDesk,
    /// Create promotions and issue coupons.
    ManagePromotions,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A secret API key, sent as a bearer token.
    ApiKey { id: ApiKeyId, role: Role },
    /// A console user, through a session cookie.
    User {
        id: UserId,
        email: EmailAddress,
        role: Role,
    },
    /// A source's write key: it may send events and read nothing.
    WriteKey { source_id: SourceId },
}

impl Principal {
    pub fn allows(&self, permission: Permission) -> bool {
        match self {
            Self::ApiKey { role, .. } | Self::User { role, .. } => role.allows(permission),
            Self::WriteKey { .. } => permission == Permission::SendEvents,
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self {
            Self::ApiKey { role, .. } | Self::User { role, .. } => Some(*role),
            Self::WriteKey { .. } => None,
        }
    }

    /// A short, non-secret description for audit records and logs.
    pub fn actor(&self) -> String {
        match self {
            Self::ApiKey { id, .. } => format!("api_key:{id}"),
            Self::User { id, .. } => format!("user:{id}"),
            Self::WriteKey { source_id } => format!("source:{source_id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage() {
        for role in Role::ALL {
            let admin = role == Role::Admin;
            assert_eq!(role.allows(Permission::ManageSources), admin);
            assert_eq!(role.allows(Permission::ManageApiKeys), admin);
            assert_eq!(role.allows(Permission::ManageUsers), admin);
            assert!(role.allows(Permission::ReadOwnIdentity));
            assert!(!role.allows(Permission::SendEvents));
        }
    }

    #[test]
    fn write_keys_only_send_events() {
        let principal = Principal::WriteKey {
            source_id: SourceId::generate(),
        };
        assert!(principal.allows(Permission::SendEvents));
        assert!(!principal.allows(Permission::ReadOwnIdentity));
        assert!(!principal.allows(Permission::ReadSources));
    }

    #[test]
    fn store_staff_check_pickup_codes_and_never_read_them() {
        assert!(Role::Store.allows(Permission::WorkStoreDesk));
        assert!(!Role::Store.allows(Permission::ReadPickupCodes));
        assert!(Role::Storefront.allows(Permission::ReadPickupCodes));
        assert!(!Role::Storefront.allows(Permission::WorkStoreDesk));
        assert!(Role::Storefront.allows(Permission::ShopForCustomers));
        assert!(!Role::ReadOnly.allows(Permission::ReadOrders));
        assert!(!Role::Storefront.allows(Permission::ManageInventory));
    }

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
