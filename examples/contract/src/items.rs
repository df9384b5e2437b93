//! `POST /api/items` and `GET /api/items`: the example services' one piece of data, kept
//! in memory, per organization, and bounded.

use std::sync::{Arc, Mutex, PoisonError};

use authgate::User;
use http::StatusCode;
use serde::Serialize;
use serde_json::json;

use crate::Reply;

/// The most items one store keeps (all organizations together): a demo left running
/// cannot be made to grow without bound.
pub const MAX_ITEMS: usize = 1_000;

/// The longest item name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// The items store: in memory, cheap to clone (clones share the items), shared by the
/// axum and actix-web examples through [`ServiceConfig::items`](crate::ServiceConfig::items).
///
/// A user sees and adds the items of their own organization (`organizationId`, which
/// falls back to `sub`).
///
/// ```
/// use example_contract::ItemStore;
/// # let ada = authgate::User::builder("ada").organization_id("org-1").build();
/// # let sam = authgate::User::builder("sam").organization_id("org-1").build();
/// # let uma = authgate::User::builder("uma").build();
/// let items = ItemStore::new();
/// let created = items.create(&ada, br#"{"name": "pen"}"#);
/// assert_eq!(created.status, http::StatusCode::CREATED);
/// assert_eq!(created.body["owner"], "ada");
/// assert_eq!(items.create(&ada, b"{").status, http::StatusCode::BAD_REQUEST);
///
/// // Same organization: sam sees ada's pen; uma, in her own organization, sees nothing.
/// assert_eq!(items.list(&sam).body["count"], 1);
/// assert_eq!(items.list(&sam).body["items"][0]["name"], "pen");
/// assert_eq!(items.list(&uma).body["count"], 0);
/// assert_eq!(items.len(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ItemStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    items: Vec<Item>,
}

/// One stored item, as the API answers it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    id: u64,
    name: String,
    owner: String,
    organization_id: String,
}

impl ItemStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// `POST /api/items`: `{"name": "..."}` (1 to [`MAX_NAME_CHARS`]
    /// characters once trimmed) → 201 with the stored item (`id`, `name`, `owner`, `organizationId`);
    /// a malformed body → 400 `invalid_item`; a full store → 507 `store_full`.
    #[must_use]
    pub fn create(&self, user: &User, body: &[u8]) -> Reply {
        #[derive(serde::Deserialize)]
        struct NewItem {
            name: String,
        }
        let Ok(new) = serde_json::from_slice::<NewItem>(body) else {
            return Reply::error(
                StatusCode::BAD_REQUEST,
                "invalid_item",
                "expected a JSON object {\"name\": string}",
            );
        };
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Reply::error(
                StatusCode::BAD_REQUEST,
                "invalid_item",
                format!("name must have 1 to {MAX_NAME_CHARS} characters"),
            );
        }
        let mut inner = self.lock();
        if inner.items.len() >= MAX_ITEMS {
            return Reply::error(
                StatusCode::INSUFFICIENT_STORAGE,
                "store_full",
                format!("the example keeps at most {MAX_ITEMS} items"),
            );
        }
        inner.next_id += 1;
        let item = Item {
            id: inner.next_id,
            name: name.to_owned(),
            owner: user.sub.clone(),
            organization_id: user.organization_id.clone(),
        };
        inner.items.push(item.clone());
        Reply::new(StatusCode::CREATED, json!(item))
    }

    /// `GET /api/items`: 200 `{"count": n, "items": [...]}`, the items of the user's
    /// organization, oldest first.
    #[must_use]
    pub fn list(&self, user: &User) -> Reply {
        let inner = self.lock();
        let items: Vec<&Item> = inner
            .items
            .iter()
            .filter(|item| item.organization_id == user.organization_id)
            .collect();
        Reply::new(
            StatusCode::OK,
            json!({ "count": items.len(), "items": items }),
        )
    }

    /// How many items the store holds, all organizations together.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether the store holds no item at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The lock is never held across a panic-prone call; a poisoned store is still
        // a consistent list.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(sub: &str, org: &str) -> User {
        User::builder(sub).organization_id(org).build()
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        let items = ItemStore::new();
        let ada = user("ada", "org-1");
        let created = items.create(&ada, br#"{"name": "  pen  "}"#);
        assert_eq!(created.body["name"], "pen");
        assert_eq!(created.body["id"], 1);
        assert_eq!(created.body["organizationId"], "org-1");
        for body in [
            r#"{"name": " "}"#.to_owned(),
            format!(r#"{{"name": "{}"}}"#, "x".repeat(MAX_NAME_CHARS + 1)),
            r#"{"title": "pen"}"#.to_owned(),
            "[]".to_owned(),
        ] {
            let refused = items.create(&ada, body.as_bytes());
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(refused.body["error"], "invalid_item");
        }
        assert_eq!(items.len(), 1);
    }

    #[test]
    fn a_full_store_refuses_and_keeps_what_it_has() {
        let items = ItemStore::new();
        let ada = user("ada", "org-1");
        for _ in 0..MAX_ITEMS {
            assert_eq!(
                items.create(&ada, br#"{"name": "pen"}"#).status,
                StatusCode::CREATED
            );
        }
        let refused = items.create(&ada, br#"{"name": "one more"}"#);
        assert_eq!(refused.status, StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(refused.body["error"], "store_full");
        assert_eq!(items.len(), MAX_ITEMS);
    }

    #[test]
    fn clones_share_the_items() {
        let items = ItemStore::new();
        let clone = items.clone();
        let _ = clone.create(&user("uma", "uma"), br#"{"name": "pen"}"#);
        assert_eq!(items.list(&user("uma", "uma")).body["count"], 1);
        assert!(!items.is_empty());
    }
}
