"""SASL_SSL for the test broker: a throwaway CA and server certificate, SCRAM users, ACLs.

The users and their ACLs are the platform's own (infra.kafka_access.users, what the
cluster's rpk Job applies), so a test that a user is refused proves the cluster refuses it.
Certificates are made with the openssl command line at test time.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import kafka_access

from .ports import LOOPBACK

JAAS_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
# KRaft's authorizer (Kafka 3.9 kafka-metadata, org.apache.kafka.metadata.authorizer).
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
LISTENER = "SASL_SSL"
CERT_DAYS = "2"


class TlsError(RuntimeError):
    """keytool failed to make the test CA or the broker's certificate."""


@dataclass(frozen=True)
class TlsMaterial:
    keystore: Path  # PEM: the broker's key and its certificate chain
    ca_pem: str  # what clients trust


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass
class BrokerSecurity:
    """The broker's TLS material and every SCRAM user: the superuser and one per app."""

    tls: TlsMaterial
    admin: Credentials
    users: dict[str, Credentials] = field(default_factory=dict)

    @classmethod
    def create(cls, workdir: Path) -> BrokerSecurity:
        users = {
            user.name: Credentials(user.name, secrets.token_urlsafe(24))
            for user in kafka_access.all_users()
        }
        admin = Credentials(kafka_access.ADMIN_USER, secrets.token_urlsafe(24))
        return cls(make_tls(workdir / "tls"), admin, users)

    @property
    def ca_path(self) -> Path:
        return self.tls.keystore.parent / "ca.pem"

    def server_config(self) -> dict[str, str]:
        """Broker properties: SCRAM-SHA-512 over TLS on the client listener, ACLs enforced.

        KRaft controllers cannot use SCRAM (its credentials live in the metadata they
        serve), so the controller listener stays PLAINTEXT on loopback and its anonymous
        principal is a superuser; no client is ever given that port.
        """
        mechanism = kafka_access.SASL_MECHANISM
        jaas = (
            f'{JAAS_MODULE} required username="{self.admin.username}" '
            f'password="{self.admin.password}";'
        )
        return {
            "sasl.enabled.mechanisms": mechanism,
            "sasl.mechanism.inter.broker.protocol": mechanism,
            f"listener.name.{LISTENER.lower()}.{mechanism.lower()}.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.tls.keystore),
            # The broker checks at start that a client with its own settings could connect
            # to it, so it must trust its own CA.
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_path),
            "authorizer.class.name": AUTHORIZER,
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{self.admin.username};User:ANONYMOUS",
        }

    def scram_arguments(self) -> list[str]:
        """`kafka-storage format` arguments that store every user's SCRAM credentials."""
        args: list[str] = []
        for creds in (self.admin, *self.users.values()):
            entry = f"[name={creds.username},password={creds.password}]"
            args += ["--add-scram", f"{kafka_access.SASL_MECHANISM}={entry}"]
        return args

    def client_config(self, credentials: Credentials | None) -> dict[str, object]:
        """confluent-kafka settings for SASL_SSL as `credentials` (None: TLS, no SASL)."""
        config: dict[str, object] = {"ssl.ca.location": str(self.ca_path)}
        if credentials is None:
            config["security.protocol"] = "SSL"
            return config
        config.update(
            {
                "security.protocol": LISTENER,
                "sasl.mechanisms": kafka_access.SASL_MECHANISM,
                "sasl.username": credentials.username,
                "sasl.password": credentials.password,
            }
        )
        return config

    def dapr_env(self, app_id: str) -> dict[str, str]:
        """What the injector gives `app_id`'s daprd in the cluster (dapr.io/env-from-secret)."""
        creds = self.users[app_id]
        return {
            kafka_access.ENV_USERNAME: creds.username,
            kafka_access.ENV_PASSWORD: creds.password,
            kafka_access.ENV_CA_CERT: self.tls.ca_pem,
        }


def acl_bindings(users: list[kafka_access.KafkaUser] | None = None) -> list[Any]:
    """The platform's ACLs as confluent-kafka AclBindings (literal names, any host)."""
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    resource_types: Mapping[str, Any] = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}
    bindings = []
    for user in users if users is not None else kafka_access.all_users():
        for acl in user.acls:
            for operation in acl.operations:
                bindings.append(
                    AclBinding(
                        resource_types[acl.resource],
                        acl.name,
                        ResourcePatternType.LITERAL,
                        f"User:{user.name}",
                        "*",
                        AclOperation[operation.upper()],
                        AclPermissionType.ALLOW,
                    )
                )
    return bindings


def make_tls(directory: Path) -> TlsMaterial:
    """A CA and a broker certificate for 127.0.0.1 signed by it, valid for two days."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TlsError("openssl is needed to make the test broker's certificates")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_pem = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "broker.key", directory / "broker.csr", directory / "broker.crt"
    extensions = directory / "broker.ext"
    extensions.write_text(
        f"subjectAltName=IP:{LOOPBACK},DNS:localhost\n"
        "extendedKeyUsage=serverAuth\n"
        "keyUsage=critical,digitalSignature\n",
        encoding="utf-8",
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc"]

    def run(*args: str) -> None:
        result = subprocess.run(
            [openssl, *args], capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode != 0:
            raise TlsError(f"openssl {args[0]} failed:\n{result.stdout}\n{result.stderr}")

    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca_pem), "-days", CERT_DAYS,
        "-subj", "/CN=taskstream test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    run("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={LOOPBACK}")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", CERT_DAYS,
        "-extfile", str(extensions))  # fmt: skip
    ca_key.unlink()  # nothing signs with it again
    keystore = directory / "broker-keystore.pem"
    # Kafka's PEM keystore: the unencrypted PKCS#8 key, then the chain (KIP-651).
    keystore.write_text(
        key.read_text(encoding="utf-8") + cert.read_text(encoding="utf-8")
        + ca_pem.read_text(encoding="utf-8"),
        encoding="utf-8",
    )  # fmt: skip
    return TlsMaterial(keystore, ca_pem.read_text(encoding="utf-8"))
