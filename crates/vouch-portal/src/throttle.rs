//! Sign-in throttling of website users: the shared [`vouch_throttle`] buckets (per client
//! address, per (account, address), per account, with lockout) set from the portal's flags.

use vouch_throttle::Limit;
pub(crate) use vouch_throttle::{AddrKey, Refusal, Throttle};

use crate::config::PortalConfig;

/// The throttle the portal's `--login-*` flags describe.
pub(crate) fn from_config(c: &PortalConfig) -> Throttle {
    Throttle::new(
        Some(Limit::per_minute(
            c.login_address_burst,
            c.login_address_per_minute,
        )),
        Limit::per_minute(
            c.login_account_address_burst,
            c.login_account_address_per_minute,
        ),
        Limit::per_minute(c.login_account_burst, c.login_account_per_minute),
        i64::from(c.login_lockout),
    )
}
