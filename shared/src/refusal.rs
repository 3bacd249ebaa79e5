//! Why a statement or request is refused, with a stable problem type for each.
//!
//! The server answers every refusal as RFC 9457 problem+json whose `type` is
//! [`PROBLEM_BASE`] followed by the refusal's slug; clients and scripts match on
//! that string, so a slug never changes once shipped.

/// Prefix of every problem `type` Entente answers with.
pub const PROBLEM_BASE: &str = "urn:entente:problem:";

/// A refusal: the statement or request changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("the signature does not verify against the statement's key")]
    BadSignature,
    #[error("key {0} is not in the roster")]
    UnknownKey(String),
    #[error("key {key} belongs to {owner}, not to {author}")]
    WrongAuthor {
        key: String,
        owner: String,
        author: String,
    },
    #[error("key {0} was revoked and signs nothing after its revocation")]
    RevokedKey(String),
    #[error("key {0} was rotated out and signs nothing after its rotation")]
    RotatedKey(String),
    #[error("seq {got} is not greater than {last}, the last seq of this key")]
    StaleSeq { got: u64, last: u64 },
    #[error("this exact statement is already in the log at index {0}")]
    Replayed(u64),
    #[error(
        "issued_at is {skew_secs}s away from the server's clock; at most {max_secs}s is allowed"
    )]
    ClockSkew { skew_secs: i64, max_secs: u64 },
    #[error("the {role} role may not publish {kind}")]
    RoleNotAllowed { role: String, kind: String },
    #[error("the log is empty: its first entry must be the secretariat admitting itself")]
    NotBootstrapped,
    #[error("the log is already founded; a second bootstrap is refused")]
    AlreadyBootstrapped,
    #[error("delegation {0} is already admitted")]
    AlreadyAdmitted(String),
    #[error("key {0} is already in the roster")]
    KeyInUse(String),
    #[error("no key {0} in the roster")]
    NoSuchKey(String),
    #[error("key {0} is already revoked")]
    AlreadyRevoked(String),
    #[error("the statement is {size} bytes; at most {max} are accepted")]
    TooLarge { size: usize, max: usize },
    #[error("assessment refused: {0}")]
    BadAssessment(String),
    #[error("no {0} in the log")]
    NoSuchStatement(String),
    #[error("{0}")]
    NotYours(String),
    #[error("{0} is not a participant of this proposal")]
    NotAParticipant(String),
    #[error("revision {got} is not the current text of the proposal (current: {current}); positions never carry over between revisions")]
    StaleRevision { got: String, current: String },
    #[error("the proposal is closed: {0}")]
    ProposalClosed(String),
    #[error("the proposal's deadline {0} has passed")]
    DeadlinePassed(String),
    #[error("participants refused: {0}")]
    BadParticipants(String),
    #[error("the revision repeats revision {0}'s text")]
    UnchangedText(u32),
    #[error("amendment {0} was already decided: {1}")]
    AmendmentDecided(String, String),
    #[error("{0:?} already names the registered supplier {1:?}")]
    SupplierExists(String, String),
    #[error("supplier registry: {0}")]
    BadSupplier(String),
    #[error("the deadline must be after the proposal is issued")]
    BadDeadline,
    #[error("audience refused: {0}")]
    BadAudience(String),
    #[error("seal refused: {0}")]
    BadSeal(String),
    #[error("an {0} statement's body must be sealed to its recipients (the host may not read it)")]
    NotSealed(String),
}

impl From<crate::ledger::KeyUnusable> for Refusal {
    fn from(e: crate::ledger::KeyUnusable) -> Refusal {
        use crate::ledger::KeyUnusable::*;
        match e {
            Unknown(k) => Refusal::UnknownKey(k.to_string()),
            Rotated(k) => Refusal::RotatedKey(k.to_string()),
            Revoked(k) => Refusal::RevokedKey(k.to_string()),
        }
    }
}

/// The refusals a submission gets for a reference it cannot follow: the
/// same for a statement that is not in the log and for one its author may
/// not read, so a refusal tells no one what they were not sent.
impl Refusal {
    pub fn no_proposal(id: &crate::statement::StatementId) -> Refusal {
        Refusal::NoSuchStatement(format!("proposal {id}"))
    }
    pub fn no_subject(id: &crate::statement::StatementId) -> Refusal {
        Refusal::NoSuchStatement(format!("proposal or assessment {id}"))
    }
    pub fn no_thread(id: &crate::statement::StatementId) -> Refusal {
        Refusal::NoSuchStatement(format!("statement {id} to attach the message to"))
    }
    pub fn no_amendment(id: &crate::statement::StatementId) -> Refusal {
        Refusal::NoSuchStatement(format!("amendment {id} of this proposal"))
    }
    pub fn no_superseded(id: &crate::statement::StatementId) -> Refusal {
        Refusal::NoSuchStatement(format!("assessment {id} to supersede"))
    }
}

impl Refusal {
    /// The stable slug that ends the problem `type`.
    pub fn slug(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "malformed",
            Refusal::BadSignature => "bad-signature",
            Refusal::UnknownKey(_) => "unknown-key",
            Refusal::WrongAuthor { .. } => "wrong-author",
            Refusal::RevokedKey(_) => "revoked-key",
            Refusal::RotatedKey(_) => "rotated-key",
            Refusal::StaleSeq { .. } => "stale-seq",
            Refusal::Replayed(_) => "replayed",
            Refusal::ClockSkew { .. } => "clock-skew",
            Refusal::RoleNotAllowed { .. } => "role-not-allowed",
            Refusal::NotBootstrapped => "not-bootstrapped",
            Refusal::AlreadyBootstrapped => "already-bootstrapped",
            Refusal::AlreadyAdmitted(_) => "already-admitted",
            Refusal::KeyInUse(_) => "key-in-use",
            Refusal::NoSuchKey(_) => "no-such-key",
            Refusal::AlreadyRevoked(_) => "already-revoked",
            Refusal::TooLarge { .. } => "too-large",
            Refusal::BadAssessment(_) => "bad-assessment",
            Refusal::NoSuchStatement(_) => "no-such-statement",
            Refusal::NotYours(_) => "not-yours",
            Refusal::NotAParticipant(_) => "not-a-participant",
            Refusal::StaleRevision { .. } => "stale-revision",
            Refusal::ProposalClosed(_) => "proposal-closed",
            Refusal::DeadlinePassed(_) => "deadline-passed",
            Refusal::BadParticipants(_) => "bad-participants",
            Refusal::UnchangedText(_) => "unchanged-text",
            Refusal::AmendmentDecided(..) => "amendment-decided",
            Refusal::SupplierExists(..) => "supplier-exists",
            Refusal::BadSupplier(_) => "bad-supplier",
            Refusal::BadDeadline => "bad-deadline",
            Refusal::BadAudience(_) => "bad-audience",
            Refusal::BadSeal(_) => "bad-seal",
            Refusal::NotSealed(_) => "not-sealed",
        }
    }

    /// The HTTP status that goes with it.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) => 400,
            Refusal::BadSignature | Refusal::UnknownKey(_) | Refusal::WrongAuthor { .. } => 401,
            Refusal::RevokedKey(_) | Refusal::RotatedKey(_) | Refusal::RoleNotAllowed { .. } => 403,
            Refusal::StaleSeq { .. }
            | Refusal::Replayed(_)
            | Refusal::NotBootstrapped
            | Refusal::AlreadyBootstrapped
            | Refusal::AlreadyAdmitted(_)
            | Refusal::KeyInUse(_)
            | Refusal::AlreadyRevoked(_) => 409,
            Refusal::NoSuchKey(_)
            | Refusal::BadAssessment(_)
            | Refusal::NoSuchStatement(_)
            | Refusal::BadParticipants(_)
            | Refusal::BadDeadline
            | Refusal::BadAudience(_)
            | Refusal::BadSeal(_)
            | Refusal::NotSealed(_)
            | Refusal::BadSupplier(_) => 422,
            Refusal::NotYours(_) | Refusal::NotAParticipant(_) => 403,
            Refusal::StaleRevision { .. }
            | Refusal::ProposalClosed(_)
            | Refusal::DeadlinePassed(_)
            | Refusal::UnchangedText(_)
            | Refusal::AmendmentDecided(..)
            | Refusal::SupplierExists(..) => 409,
            Refusal::ClockSkew { .. } => 400,
            Refusal::TooLarge { .. } => 413,
        }
    }

    /// The full problem `type` URI.
    pub fn problem_type(&self) -> String {
        format!("{PROBLEM_BASE}{}", self.slug())
    }
}

/// Why a signed read (RFC 9421, see [`crate::httpsig`]) was not authenticated.
/// Like [`Refusal`], each has a stable slug and an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefusal {
    #[error("this route needs a signed request (RFC 9421 Signature-Input and Signature)")]
    Unsigned,
    #[error("{0}")]
    BadSignature(String),
    #[error("the request signature was created {age_secs}s from the server's clock; at most {window_secs}s is accepted")]
    Expired { age_secs: i64, window_secs: u64 },
    #[error("this request (nonce) was already seen; sign each request afresh")]
    Replayed,
    /// Nonces are remembered in memory: a request signed before the server
    /// started could be one it saw before a restart.
    #[error("the request signature was created before the server started; sign it afresh")]
    BeforeStart,
    #[error("key {0} is not in the roster")]
    UnknownKey(String),
    #[error("key {0} was revoked")]
    RevokedKey(String),
    #[error("key {0} was rotated out")]
    RotatedKey(String),
}

impl From<crate::ledger::KeyUnusable> for RequestRefusal {
    fn from(e: crate::ledger::KeyUnusable) -> RequestRefusal {
        use crate::ledger::KeyUnusable::*;
        match e {
            Unknown(k) => RequestRefusal::UnknownKey(k.to_string()),
            Rotated(k) => RequestRefusal::RotatedKey(k.to_string()),
            Revoked(k) => RequestRefusal::RevokedKey(k.to_string()),
        }
    }
}

impl RequestRefusal {
    /// The stable slug that ends the problem `type`.
    pub fn slug(&self) -> &'static str {
        match self {
            RequestRefusal::Unsigned => "unsigned-request",
            RequestRefusal::BadSignature(_) => "bad-request-signature",
            RequestRefusal::Expired { .. } | RequestRefusal::BeforeStart => "expired-signature",
            RequestRefusal::Replayed => "replayed-request",
            RequestRefusal::UnknownKey(_) => "unknown-key",
            RequestRefusal::RevokedKey(_) => "revoked-key",
            RequestRefusal::RotatedKey(_) => "rotated-key",
        }
    }

    /// The HTTP status that goes with it: 403 for a key that was retired,
    /// 401 (ask for a signature) otherwise.
    pub fn status(&self) -> u16 {
        match self {
            RequestRefusal::RevokedKey(_) | RequestRefusal::RotatedKey(_) => 403,
            _ => 401,
        }
    }
}
