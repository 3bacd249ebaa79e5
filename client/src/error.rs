//! CLI errors and the exit code each one ends the process with.

use entente_shared::api::Problem;

/// Exit code for a log that is inconsistent with the pinned checkpoint.
pub const EXIT_INCONSISTENT: u8 = 3;
/// Exit code for a checkpoint without the witness quorum the profile requires.
pub const EXIT_UNTRUSTED: u8 = 4;

/// Everything that stops a command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The server refused the request.
    #[error("{}: {}", .0.problem_type, .0.detail)]
    Problem(Problem),
    /// The log contradicts what this profile saw before: fork or rollback.
    #[error("LOG INCONSISTENT — {0}")]
    Inconsistent(String),
    /// An archive bundle failed verification: the entry and the reason.
    #[error("ARCHIVE DOES NOT VERIFY — {0}")]
    Archive(String),
    /// The checkpoint lacks the witness quorum the profile's policy requires.
    #[error("CHECKPOINT NOT TRUSTED — {0}")]
    Untrusted(String),
    /// Anything else: I/O, network, bad input.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Inconsistent(_) | CliError::Archive(_) => EXIT_INCONSISTENT,
            CliError::Untrusted(_) => EXIT_UNTRUSTED,
            _ => 1,
        }
    }

    /// The failure as `--json` prints it on stdout: `{"error": {"kind",
    /// "message", and for a refusal its problem "type" and "status"},
    /// "exit_code"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let kind = match self {
            CliError::Problem(_) => "refused",
            CliError::Inconsistent(_) => "log-inconsistent",
            CliError::Archive(_) => "archive-does-not-verify",
            CliError::Untrusted(_) => "checkpoint-not-trusted",
            CliError::Other(_) => "error",
        };
        let mut error = serde_json::json!({ "kind": kind, "message": format!("{self:#}") });
        if let CliError::Problem(p) = self {
            error["type"] = p.problem_type.clone().into();
            error["status"] = p.status.into();
            error["detail"] = p.detail.clone().into();
        }
        serde_json::json!({ "error": error, "exit_code": self.exit_code() })
    }
}

/// Shorthand for command results.
pub type CliResult<T> = Result<T, CliError>;

/// A refusal the CLI makes itself, worded and typed as the server words and
/// types the same refusal (e.g. before sealing what the server cannot read).
pub fn refused(refusal: entente_shared::refusal::Refusal, title: &str) -> CliError {
    CliError::Problem(Problem {
        problem_type: refusal.problem_type(),
        title: title.into(),
        status: refusal.status(),
        detail: refusal.to_string(),
    })
}

/// Builds an [`CliError::Other`] from a message.
pub fn fail(msg: impl std::fmt::Display) -> CliError {
    CliError::Other(anyhow::anyhow!("{msg}"))
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::Other(e.into())
    }
}
