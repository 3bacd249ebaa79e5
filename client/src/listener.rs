//! The CLI's own HTTP services (`entente witness serve`, `entente mirror`):
//! once bound, say where in one line on stdout (scripts wait for it), then
//! serve until interrupted. Plain-HTTP services listen on loopback only.

use std::net::SocketAddr;

use crate::error::{fail, CliResult};

/// Announces `http://<first address>` through `announce`, then runs `server`.
pub fn announce_and_run(
    addrs: Vec<SocketAddr>,
    server: actix_web::dev::Server,
    announce: impl FnOnce(&str),
) -> CliResult<()> {
    let addr = addrs
        .first()
        .copied()
        .ok_or_else(|| fail("listening on no address"))?;
    announce(&format!("http://{addr}"));
    actix_web::rt::System::new()
        .block_on(server)
        .map_err(|e| fail(format!("serving: {e}")))
}

/// `value` of `flag` as an address, refused unless it is a loopback one
/// (`why` says what else to do).
pub fn loopback(flag: &str, value: &str, why: &str) -> CliResult<SocketAddr> {
    let addr: SocketAddr = value
        .parse()
        .map_err(|_| fail(format!("{flag} {value:?} is not host:port")))?;
    if !addr.ip().is_loopback() {
        return Err(fail(format!("{flag} {addr}: {why}")));
    }
    Ok(addr)
}
