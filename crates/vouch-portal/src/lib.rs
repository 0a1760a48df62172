//! The portal: the website side of vouch.
