//! `entente mirror`: see [`crate::mirror`].

use super::Context;
use crate::cli::MirrorArgs;
use crate::error::{fail, CliResult};
use crate::mirror::Options;
use crate::profile::Profile;

pub fn run(ctx: &Context, args: MirrorArgs) -> CliResult<()> {
    // Plain HTTP: loopback only. Others reach it through a TLS proxy.
    crate::listener::loopback(
        "--listen",
        &args.listen,
        "the mirror serves plain HTTP, so only on a loopback address; put a TLS proxy in front to serve others",
    )?;
    if let Some(url) = &args.public_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(fail(format!(
                "--public-url {url:?} must be an http(s):// URL"
            )));
        }
    }
    if args.every.is_zero() {
        return Err(fail("--every must be longer than zero"));
    }
    let options = Options {
        data: args.data,
        listen: args.listen,
        every: args.every,
        public_url: args.public_url,
    };
    crate::mirror::run(Profile::open(&ctx.home)?, options, ctx.json)
}
