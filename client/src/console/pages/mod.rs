//! One file per page of the console: each makes its view from the
//! delegation's own fold (as the CLI command of the same name does) and
//! renders its template.

pub mod declarations;
pub mod discussion;
pub mod health;
pub mod inbox;
pub mod proposal;
pub mod suppliers;

use entente_shared::statement::StatementId;

use super::page::not_found_problem;
use entente_shared::api::Problem;

/// A statement id from a path, refused as not found when malformed (a
/// console link always carries a whole id).
pub fn id_of(arg: &str, what: &str) -> Result<StatementId, Problem> {
    arg.parse().map_err(|_| not_found_problem(what))
}
