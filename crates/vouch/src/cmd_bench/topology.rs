//! Where the service under test comes from and what its nodes share (`--chat-url`, `--nodes`,
//! `--database-url`, `--nats-url`), checked together before anything starts: every address must
//! be on loopback — the bench never sends a packet off this machine.

use anyhow::{bail, Context};
use clap::Args;

/// Where the service under test comes from.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Bench a chat service already running on loopback (http://127.0.0.1:PORT) instead of
    /// starting `vouch chat` as a child process. It must run with --allow-private-key-urls and
    /// with its per-address limits raised; agents' and the admin's password in VOUCH_BENCH_PASSWORD.
    #[arg(long)]
    pub chat_url: Option<String>,
    /// With --chat-url: the service's process id, for its CPU and RSS figures (null without it).
    #[arg(long, requires = "chat_url")]
    pub server_pid: Option<u32>,
    /// With --chat-url: an admin's email (creates the bench's auth setting and widget).
    #[arg(long, requires = "chat_url")]
    pub admin_email: Option<String>,
    /// With --chat-url: an agent's email; repeat for several agents.
    #[arg(long = "agent-email", requires = "chat_url")]
    pub agent_emails: Vec<String>,
    /// Log filter of the child chat service (its VOUCH_LOG); its log goes to a file in the
    /// bench's temporary directory.
    #[arg(long, default_value = "warn")]
    pub server_log: String,
}

/// Most chat nodes the bench starts.
pub const MAX_NODES: u8 = 5;

/// How many chat nodes the bench starts, and what they share.
#[derive(Args, Debug, Clone)]
pub struct NodesArgs {
    /// Chat nodes to start (1–5). Customers of pair i connect to node i mod N and their agent to
    /// node (i+1) mod N, so with N ≥ 2 every message crosses nodes (through NATS). More than one
    /// node needs --database-url and --nats-url.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=MAX_NODES as i64))]
    pub nodes: u8,
    /// A PostgreSQL server on loopback (postgres://USER@127.0.0.1:5432/DB, any database there):
    /// the bench creates a fresh database of its own on it for the nodes and drops it at the end.
    /// Without it the one node runs on a temporary SQLite directory.
    #[arg(long)]
    pub database_url: Option<String>,
    /// NATS on loopback (nats://127.0.0.1:4222) joining the nodes; the bench uses subjects of its
    /// own (a fresh --nats-subject-prefix), so other users of that NATS are not disturbed.
    #[arg(long)]
    pub nats_url: Option<String>,
    /// With --nodes 2 or more: skip the same-run baseline (the same load on one PostgreSQL node
    /// without NATS, on a fresh database, before the N-node run) and so the cross-node figures.
    #[arg(long)]
    pub no_baseline: bool,
}

/// The storage the bench's own nodes share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite directory (one node).
    Sqlite,
    /// A fresh database made on this PostgreSQL server; the nodes joined by NATS when given.
    Postgres {
        admin_url: String,
        nats_url: Option<String>,
    },
    /// The service at --chat-url (whatever it runs on).
    External,
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres { .. } => "postgres",
            Backend::External => "external",
        }
    }
}

/// What the bench runs against: `nodes` chat processes on `backend`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub nodes: usize,
    pub backend: Backend,
}

impl Topology {
    /// One node on SQLite, or the service at `--chat-url`.
    pub fn single(server: &ServerArgs) -> Topology {
        Topology {
            nodes: 1,
            backend: if server.chat_url.is_some() {
                Backend::External
            } else {
                Backend::Sqlite
            },
        }
    }

    /// The same back-end with one node and no NATS: the baseline the cross-node figures are
    /// measured against. None when there is no such baseline (SQLite, --chat-url).
    pub fn one_node_baseline(&self) -> Option<Topology> {
        match &self.backend {
            Backend::Postgres { admin_url, .. } => Some(Topology {
                nodes: 1,
                backend: Backend::Postgres {
                    admin_url: admin_url.clone(),
                    nats_url: None,
                },
            }),
            Backend::Sqlite | Backend::External => None,
        }
    }
}

impl NodesArgs {
    /// Checks the flags together with `--chat-url`: several nodes need a shared PostgreSQL
    /// database and NATS, and every address must be on loopback — the bench never sends a
    /// packet off this machine.
    pub fn topology(&self, server: &ServerArgs) -> anyhow::Result<Topology> {
        let nodes = usize::from(self.nodes);
        if !(1..=usize::from(MAX_NODES)).contains(&nodes) {
            bail!("--nodes {nodes}: 1 to {MAX_NODES}");
        }
        if server.chat_url.is_some() {
            if nodes > 1 || self.database_url.is_some() || self.nats_url.is_some() {
                bail!(
                    "--chat-url benches one running service: --nodes, --database-url and \
                     --nats-url are for the nodes the bench starts itself"
                );
            }
            return Ok(Topology::single(server));
        }
        let Some(database_url) = &self.database_url else {
            if nodes > 1 {
                bail!(
                    "--nodes {nodes} needs --database-url postgres://… and --nats-url nats://…: \
                     several nodes share one PostgreSQL database and are joined by NATS"
                );
            }
            if self.nats_url.is_some() {
                bail!("--nats-url joins nodes sharing a PostgreSQL database: add --database-url postgres://…");
            }
            return Ok(Topology::single(server));
        };
        let db = url::Url::parse(database_url).context("--database-url")?;
        if !matches!(db.scheme(), "postgres" | "postgresql") {
            bail!(
                "--database-url must be postgres://… (the bench makes its own database there; \
                 without the flag it runs one node on a temporary SQLite directory)"
            );
        }
        require_loopback(&db, "--database-url")?;
        // libpq-style `host=` / `hostaddr=` parameters override the URL's host (a path is a
        // Unix socket, which stays on this machine).
        for (name, value) in db.query_pairs() {
            if matches!(&*name, "host" | "hostaddr")
                && !value.starts_with('/')
                && !loopback_name(&value)
            {
                bail!("--database-url: {name}={value} is not on loopback: the bench uses only this machine's PostgreSQL");
            }
        }
        let nats_url = match &self.nats_url {
            Some(url) => {
                let nats = url::Url::parse(url).context("--nats-url")?;
                if nats.scheme() != "nats" {
                    bail!("--nats-url must be nats://127.0.0.1:PORT (plain NATS on loopback)");
                }
                require_loopback(&nats, "--nats-url")?;
                Some(url.clone())
            }
            None if nodes > 1 => {
                bail!("--nodes {nodes} needs --nats-url nats://…: it carries each message to the other nodes' sockets")
            }
            None => None,
        };
        Ok(Topology {
            nodes,
            backend: Backend::Postgres {
                admin_url: database_url.clone(),
                nats_url,
            },
        })
    }
}

/// Refuses anything but a plain-HTTP URL whose host is a loopback address (or `localhost`).
pub(super) fn loopback_base(url: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(url).with_context(|| format!("--chat-url {url:?}"))?;
    if parsed.scheme() != "http" {
        bail!("--chat-url must be http:// on loopback (the bench never leaves this machine)");
    }
    require_loopback(&parsed, "--chat-url")?;
    Ok(url.trim_end_matches('/').to_string())
}

/// The URL names 127.0.0.0/8, ::1 or `localhost` explicitly (no host at all would let the
/// client pick one from its environment, e.g. PGHOST).
fn require_loopback(url: &url::Url, flag: &str) -> anyhow::Result<()> {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        // Schemes the URL standard does not know (postgres://, nats://) keep an IPv4 address
        // as an opaque host name.
        Some(url::Host::Domain(d)) => loopback_name(d),
        None => false,
    };
    if !loopback {
        bail!("{flag} must name 127.0.0.0/8, ::1 or localhost: the bench never sends a packet off this machine");
    }
    Ok(())
}

/// A host name or address (no URL around it) that is loopback.
fn loopback_name(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A database URL without its password, for printing.
pub(super) fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "(unparsable URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";
    const NATS: &str = "nats://127.0.0.1:4222";

    fn server(chat_url: Option<&str>) -> ServerArgs {
        ServerArgs {
            chat_url: chat_url.map(str::to_string),
            server_pid: None,
            admin_email: None,
            agent_emails: Vec::new(),
            server_log: "warn".into(),
        }
    }

    fn nodes(n: u8, db: Option<&str>, nats: Option<&str>) -> NodesArgs {
        NodesArgs {
            nodes: n,
            database_url: db.map(str::to_string),
            nats_url: nats.map(str::to_string),
            no_baseline: false,
        }
    }

    fn refused(n: NodesArgs, chat_url: Option<&str>) -> String {
        match n.topology(&server(chat_url)) {
            Ok(t) => panic!("accepted: {t:?}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn one_node_defaults_to_sqlite_and_postgres_is_comparable() {
        let t = nodes(1, None, None).topology(&server(None)).unwrap();
        assert_eq!(t.nodes, 1);
        assert_eq!(t.backend, Backend::Sqlite);
        assert_eq!(t.one_node_baseline(), None);

        let t = nodes(1, Some(PG), None).topology(&server(None)).unwrap();
        assert_eq!(t.backend.name(), "postgres");
        assert_eq!(t.nodes, 1);
    }

    #[test]
    fn several_nodes_share_postgres_and_nats_and_compare_with_one_node_without_nats() {
        let t = nodes(3, Some(PG), Some(NATS))
            .topology(&server(None))
            .unwrap();
        assert_eq!(t.nodes, 3);
        assert_eq!(
            t.backend,
            Backend::Postgres {
                admin_url: PG.into(),
                nats_url: Some(NATS.into())
            }
        );
        assert_eq!(
            t.one_node_baseline(),
            Some(Topology {
                nodes: 1,
                backend: Backend::Postgres {
                    admin_url: PG.into(),
                    nats_url: None
                }
            })
        );
        // localhost, other 127/8 addresses, ::1 and a Unix socket are all this machine.
        for (db, nats) in [
            (
                "postgresql://postgres@localhost/postgres",
                "nats://localhost:4222",
            ),
            (
                "postgres://postgres@127.0.0.2:5432/x",
                "nats://127.1.2.3:4222",
            ),
            ("postgres://postgres@[::1]:5432/x", "nats://[::1]:4222"),
            (
                "postgres://postgres@localhost/x?host=/var/run/postgresql",
                NATS,
            ),
        ] {
            nodes(2, Some(db), Some(nats))
                .topology(&server(None))
                .unwrap_or_else(|e| panic!("{db} {nats}: {e}"));
        }
    }

    #[test]
    fn several_nodes_without_postgres_or_nats_are_refused() {
        let e = refused(nodes(2, None, None), None);
        assert!(
            e.contains("--database-url") && e.contains("--nats-url"),
            "{e}"
        );
        let e = refused(nodes(2, Some(PG), None), None);
        assert!(e.contains("needs --nats-url"), "{e}");
        let e = refused(nodes(2, None, Some(NATS)), None);
        assert!(e.contains("--database-url"), "{e}");
        let e = refused(nodes(2, Some("sqlite:///tmp/chat.db"), Some(NATS)), None);
        assert!(e.contains("must be postgres://"), "{e}");
        let e = refused(nodes(1, None, Some(NATS)), None);
        assert!(e.contains("--database-url"), "{e}");
        let e = refused(nodes(6, Some(PG), Some(NATS)), None);
        assert!(e.contains("1 to 5"), "{e}");
        let e = refused(nodes(0, None, None), None);
        assert!(e.contains("1 to 5"), "{e}");
    }

    #[test]
    fn addresses_off_this_machine_are_refused() {
        for db in [
            "postgres://postgres@10.0.0.5:5432/postgres",
            "postgres://postgres@db.example.com/postgres",
            "postgres://postgres@[2001:db8::1]:5432/postgres",
            "postgres://postgres@0.0.0.0:5432/postgres",
            // No host: the client would take one from its environment (PGHOST).
            "postgres:///postgres",
            // A libpq-style host parameter overriding the URL's loopback host.
            "postgres://postgres@127.0.0.1/postgres?host=db.example.com",
            "postgres://postgres@127.0.0.1/postgres?hostaddr=192.0.2.7",
        ] {
            let e = refused(nodes(2, Some(db), Some(NATS)), None);
            assert!(
                e.contains("loopback") || e.contains("127.0.0.0/8"),
                "{db}: {e}"
            );
        }
        for nats in [
            "nats://192.0.2.7:4222",
            "nats://nats.example.com:4222",
            "nats://127.0.0.1:4222,nats://192.0.2.7:4222",
        ] {
            refused(nodes(2, Some(PG), Some(nats)), None);
        }
        let e = refused(nodes(2, Some(PG), Some("tls://127.0.0.1:4222")), None);
        assert!(e.contains("nats://"), "{e}");
        assert!(loopback_base("http://192.0.2.7:3001").is_err());
        assert!(loopback_base("http://127.0.0.1:3001/").is_ok());
    }

    #[test]
    fn a_running_service_is_one_node_the_bench_did_not_start() {
        let url = Some("http://127.0.0.1:3001");
        let t = nodes(1, None, None).topology(&server(url)).unwrap();
        assert_eq!(t.backend, Backend::External);
        for n in [
            nodes(2, None, None),
            nodes(1, Some(PG), None),
            nodes(2, Some(PG), Some(NATS)),
        ] {
            let e = refused(n, url);
            assert!(e.contains("--chat-url"), "{e}");
        }
    }

    #[test]
    fn printed_database_urls_hide_the_password() {
        let shown = redacted("postgres://bench:s3cret@127.0.0.1:5432/vouch_scratch_1");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("vouch_scratch_1"), "{shown}");
    }
}
