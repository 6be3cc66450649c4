"""DigitalOcean managed PostgreSQL that only the cluster can reach."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_digitalocean as do

from infra.config_model import ManagedDatabaseConfig

DATABASE_NAME = "taskstream"
USER_NAME = "taskstream"
# DigitalOcean's managed PostgreSQL: the server itself (the admin's grant) and the connection
# pools (the app), on the cluster's private address.
SERVER_PORT = 25060
POOL_PORT = 25061
# "Clusters provide 25 connections per 1 GB of RAM. 3 connections per cluster are reserved
# for maintenance, and all remaining connections can be allocated to connection pools."
# https://docs.digitalocean.com/products/databases/postgresql/how-to/manage-connection-pools/
CONNECTIONS_PER_GIB = 25
RESERVED_CONNECTIONS = 3
_PLAN_MEMORY = re.compile(r"-(\d+)gb$")


def connection_limit(size: str) -> int:
    """Backend connections a plan leaves for pools and direct clients (db-s-1vcpu-1gb: 22)."""
    match = _PLAN_MEMORY.search(size)
    if match is None:
        raise ValueError(
            f"cannot tell the connection limit of database size {size!r}; "
            "use a slug ending in its memory, such as db-s-2vcpu-4gb"
        )
    return CONNECTIONS_PER_GIB * int(match.group(1)) - RESERVED_CONNECTIONS


@dataclass(frozen=True)
class DatabaseArgs:
    name: str
    region: str
    config: ManagedDatabaseConfig
    vpc_id: pulumi.Input[str]
    cluster_id: pulumi.Input[str]
    protect: bool
    # Client connections the app's processes can hold (app_workloads.pooled_connections).
    pool_size: int
    # Connections that bypass the pool (the admin's grant Job), out of the same limit.
    direct_connections: int = 0


class Database(pulumi.ComponentResource):
    """Creates a PostgreSQL DatabaseCluster, database, user, connection pool and firewall.

    Outputs: url (secret) — the pool's private connection string the app reads;
    admin_url (secret) — the admin's direct connection to the app's database, for the grant
    Job only (the API creates the database owned by the admin); role — the app's role name.
    """

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        _validate(args)
        super().__init__("taskstream:platform:Database", name, None, opts)
        self.cluster = do.DatabaseCluster(
            name,
            name=args.name,
            engine="pg",
            version=args.config.version,
            size=args.config.size,
            node_count=args.config.node_count,
            region=args.region,
            private_network_uuid=args.vpc_id,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        child = pulumi.ResourceOptions(parent=self)
        # The database holds the app's data and the user owns its tables: a protected cluster
        # alone would let `destroy --exclude-protected` drop both from inside it.
        kept = pulumi.ResourceOptions(parent=self, protect=args.protect)
        self.database = do.DatabaseDb(
            f"{name}-db", cluster_id=self.cluster.id, name=DATABASE_NAME, opts=kept
        )
        self.user = do.DatabaseUser(
            f"{name}-user", cluster_id=self.cluster.id, name=USER_NAME, opts=kept
        )
        self.pool = do.DatabaseConnectionPool(
            f"{name}-pool",
            cluster_id=self.cluster.id,
            name=f"{DATABASE_NAME}-pool",
            db_name=self.database.name,
            user=self.user.name,
            # Session mode keeps psycopg's server-side prepared statements valid across a
            # session; transaction mode would hand them to another client mid-stream.
            mode="session",
            size=args.pool_size,
            opts=child,
        )
        # Only the cluster's nodes may connect; the public internet never reaches the database.
        self.firewall = do.DatabaseFirewall(
            f"{name}-firewall",
            cluster_id=self.cluster.id,
            rules=[do.DatabaseFirewallRuleArgs(type="k8s", value=args.cluster_id)],
            opts=child,
        )
        self.url: pulumi.Output[str] = pulumi.Output.secret(self.pool.private_uri)
        self.role = USER_NAME
        # Built from the database's and the user's names so the grant waits for both.
        self.admin_url: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(
                self.cluster.user,
                self.cluster.password,
                self.cluster.private_host,
                self.cluster.port,
                self.database.name,
                self.user.name,
            ).apply(lambda parts: _admin_url(*parts[:5]))
        )
        self.register_outputs({"url": self.url, "host": self.cluster.private_host})


def _admin_url(user: str, password: str, host: str, port: int, database: str) -> str:
    # Direct to the server, not through the pool: the pool is bound to the app's user.
    return (
        f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/"
        f"{database}?sslmode=require"
    )


def _validate(args: DatabaseArgs) -> None:
    if args.protect and args.config.node_count < 2:
        raise ValueError(
            f"Database {args.name}: a protected (production) database needs a standby; "
            "set taskstream:dbNodeCount to 2 or 3"
        )
    if args.pool_size < 1:
        raise ValueError(f"Database {args.name}: pool_size {args.pool_size} must be at least 1")
    limit = connection_limit(args.config.size)
    if args.pool_size + args.direct_connections > limit:
        raise ValueError(
            f"Database {args.name}: the processes can hold {args.pool_size} pooled and "
            f"{args.direct_connections} direct connections, but {args.config.size} allows "
            f"{limit}; lower taskstream:services.*.dbPool or maxReplicas, or raise "
            "taskstream:dbSize"
        )
