//! The integration tests of the `vouch` binary: one test binary, one module per area.
//! The adversarial suite of issue 6 (see SECURITY.md at the repository root for the map of
//! which test proves which defence): `abuse`, `key_urls`, `token_attacks`, `web`.
//! Durability and faults of issue 7 against the real `vouch chat` process: `kill_restart`,
//! `disk_full`. The load harness's smoke test (issue 7, docs/benchmarks.md): `bench`.
//! Several nodes on PostgreSQL and NATS (issue 8): `failover`.
//! Operations: `logs` (JSON logs with request ids and no secrets).
//! Memory under sign-in bursts (issue 17): `signin_memory`.

mod abuse;
mod bench;
mod chat_process;
mod disk_full;
mod failover;
mod key_urls;
mod kill_restart;
mod logs;
mod signin_memory;
mod support;
mod token_attacks;
mod web;
mod webhooks_kill;
