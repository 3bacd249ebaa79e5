//! What every folded record keeps about the statement it came from.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::keys::KeyId;
use crate::statement::{DelegationCode, Distribution, Statement, StatementId};

/// The statement behind a record: id, log index, signer and distribution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryMeta {
    pub id: StatementId,
    pub index: u64,
    pub author: DelegationCode,
    pub key: KeyId,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    pub distribution: Distribution,
}

impl EntryMeta {
    pub fn of(st: &Statement, id: StatementId, index: u64) -> EntryMeta {
        EntryMeta {
            id,
            index,
            author: st.author,
            key: st.key,
            issued_at: st.issued_at,
            distribution: st.distribution.clone(),
        }
    }
}
