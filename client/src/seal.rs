//! Sealing a body before it is signed: to each recipient and the author,
//! with the X25519 keys the delegation's own verified fold gives them,
//! after checking the rules its readers will check once they open it.

use entente_shared::keys::KeyId;
use entente_shared::ledger::sealed::sealed_readers;
use entente_shared::ledger::Ledger;
use entente_shared::statement::{Body, DelegationCode, Distribution, Statement};
use time::OffsetDateTime;

use crate::error::{fail, refused, CliResult};

/// `body` (by `author` with `key`, issued at `issued_at`) sealed to
/// `distribution`'s recipients and `author`. A body that breaks a rule of
/// its kind is refused here as the server refuses one in clear: the server
/// cannot read it, and its readers would mark it invalid.
pub fn seal(
    ledger: &Ledger,
    author: &DelegationCode,
    key: KeyId,
    issued_at: OffsetDateTime,
    distribution: &Distribution,
    body: Body,
) -> CliResult<Body> {
    let open = Statement {
        author: *author,
        key,
        seq: 0,
        issued_at,
        distribution: distribution.clone(),
        body,
    };
    if let Err(refusal) = ledger.check_before_sealing(&open) {
        return Err(refused(refusal, "refused before sealing"));
    }
    let body = open.body;
    let mut readers = Vec::with_capacity(distribution.to.len() + 1);
    for code in &sealed_readers(author, distribution, ledger.roster()) {
        let key = ledger.roster().encryption_key(code).ok_or_else(|| {
            fail(format!(
                "{code} has no encryption key in the roster, so nothing can be sealed to it: {}",
                if ledger.roster().delegation(code).is_some() {
                    "it must rotate its key (`entente key rotate`) first"
                } else {
                    "it is not admitted"
                }
            ))
        })?;
        readers.push((*code, key));
    }
    let kind = body.kind();
    let sealed = entente_shared::seal::seal(author, &body, &readers).map_err(fail)?;
    Ok(Body::Sealed {
        kind,
        sealed: Box::new(sealed),
    })
}
