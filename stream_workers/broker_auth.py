"""How the workers prove who they are to Kafka (KAFKA_SECURITY_PROTOCOL and the KAFKA_SASL_* / KAFKA_SSL_* settings).

The workers are the only tier that speaks Kafka (the web tier writes the outbox in PostgreSQL; the relay, a worker
service, publishes it), so they hold the only client credentials; the web tier holds none. In production the
broker authenticates them (SASL/SCRAM, over TLS where the network is not private; or TLS client certificates)
and its ACLs give their principal only the pipeline's topics and group (docker-compose.yml, deploy/kafka/).

An unauthenticated broker is accepted only on loopback (`videoflix dev`, the tests) or when
KAFKA_SECURITY_PROTOCOL=PLAINTEXT says so explicitly: a worker pointed at a remote broker without credentials
refuses to start rather than run a pipeline anyone on the network could feed forged jobs.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import faust

from videoflix.core.environment import value

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
LOCAL_HOSTS = ("localhost",)


@dataclass(frozen=True)
class BrokerAuth:
    """The workers' Kafka security settings, checked when read (a wrong combination refuses to start)."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str = ""
    password: str = ""
    ca_file: str = ""  # TLS: the CA that signed the broker's certificate (empty: the system's)
    cert_file: str = ""  # TLS client certificate (mTLS) and its key
    key_file: str = ""

    def __repr__(self) -> str:  # never the password, in a log or a traceback
        return f"BrokerAuth(protocol={self.protocol!r}, mechanism={self.mechanism!r}, username={self.username!r})"

    @classmethod
    def from_settings(cls, env: Mapping[str, str], bootstrap_servers: str) -> BrokerAuth:
        explicit = value(env, "KAFKA_SECURITY_PROTOCOL").upper()
        auth = cls(
            protocol=explicit or "PLAINTEXT",
            mechanism=value(env, "KAFKA_SASL_MECHANISM").upper(),
            username=value(env, "KAFKA_SASL_USERNAME"),
            password=password(env),
            ca_file=value(env, "KAFKA_SSL_CA_FILE"),
            cert_file=value(env, "KAFKA_SSL_CERT_FILE"),
            key_file=value(env, "KAFKA_SSL_KEY_FILE"),
        )
        if problem := auth.problem(bootstrap_servers, explicit=bool(explicit)):
            raise ValueError(problem)
        return auth

    def problem(self, bootstrap_servers: str, explicit: bool) -> str | None:
        """Why these settings must not start a worker against `bootstrap_servers`, or None."""
        if self.protocol not in PROTOCOLS:
            return f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}: {self.protocol!r}"
        if self.sasl:
            if self.mechanism not in MECHANISMS:
                return f"KAFKA_SASL_MECHANISM must be one of {', '.join(MECHANISMS)}: {self.mechanism!r}"
            if not (self.username and self.password):
                return f"KAFKA_SECURITY_PROTOCOL={self.protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            if self.mechanism == "PLAIN" and not self.tls:
                return "KAFKA_SASL_MECHANISM=PLAIN sends the password itself: only over SASL_SSL"
        elif self.username or self.password:
            return f"KAFKA_SASL_USERNAME/PASSWORD are set; KAFKA_SECURITY_PROTOCOL={self.protocol} would not send them"
        if bool(self.cert_file) != bool(self.key_file):
            return "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (the client certificate and its key)"
        if (self.cert_file or self.ca_file) and not self.tls:
            return f"KAFKA_SSL_* files are set but KAFKA_SECURITY_PROTOCOL={self.protocol} does not use TLS"
        if self.protocol == "SSL" and not self.cert_file:
            return "KAFKA_SECURITY_PROTOCOL=SSL logs in with a client certificate: set KAFKA_SSL_CERT_FILE/KEY_FILE"
        if self.protocol == "PLAINTEXT" and not explicit and not all_loopback(bootstrap_servers):
            return (
                f"Kafka at {bootstrap_servers} is not on this host and no credentials are set: set "
                "KAFKA_SECURITY_PROTOCOL (SASL_SSL or SASL_PLAINTEXT with KAFKA_SASL_USERNAME/PASSWORD, or SSL with "
                "a client certificate), or KAFKA_SECURITY_PROTOCOL=PLAINTEXT to accept an unauthenticated broker"
            )
        return None

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file or None)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_options(self) -> dict:
        """The same settings as aiokafka's clients take them (the census' own admin client and consumer)."""
        options: dict = {"security_protocol": self.protocol, "ssl_context": self.ssl_context()}
        if self.sasl:
            options.update(sasl_mechanism=self.mechanism, sasl_plain_username=self.username,
                           sasl_plain_password=self.password)  # fmt: skip
        return options

    def credentials(self) -> faust.types.auth.CredentialsT | None:
        """What Faust hands its consumer, producer and admin client (`broker_credentials`), or None."""
        if self.sasl:
            return faust.SASLCredentials(
                username=self.username, password=self.password, mechanism=self.mechanism, ssl_context=self.ssl_context()
            )
        if self.tls:
            return faust.SSLCredentials(self.ssl_context())
        return None


def password(env: Mapping[str, str]) -> str:
    """KAFKA_SASL_PASSWORD, or the contents of the file KAFKA_SASL_PASSWORD_FILE names (a compose secret); both
    set is refused, as is a file that cannot be read or holds nothing."""
    inline, path = value(env, "KAFKA_SASL_PASSWORD"), value(env, "KAFKA_SASL_PASSWORD_FILE")
    if inline and path:
        raise ValueError("set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both")
    if not path:
        return inline
    try:
        secret = Path(path).read_text().strip()
    except OSError as exc:
        raise ValueError(f"KAFKA_SASL_PASSWORD_FILE cannot be read: {exc.strerror}") from None
    if not secret:
        raise ValueError("KAFKA_SASL_PASSWORD_FILE names an empty file")
    return secret


def all_loopback(bootstrap_servers: str) -> bool:
    """Whether every `host:port` of a bootstrap list is this machine."""
    hosts = [h.strip().rsplit(":", 1)[0].strip("[]") for h in bootstrap_servers.replace(";", ",").split(",")]
    for host in filter(None, hosts):
        if host.lower() in LOCAL_HOSTS:
            continue
        try:
            if not ipaddress.ip_address(host).is_loopback:
                return False
        except ValueError:  # a name other than localhost
            return False
    return True
