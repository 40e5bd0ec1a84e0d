"""RDS-shaped endpoints for the local databases: DNS names as RDS writes them, each on a loopback
address of its own, and the hosts file that makes the names resolve. Pure: no I/O.

Shapes (as the AWS Advanced Python/JDBC Wrappers' ``RdsUtils`` patterns recognise them):

* cluster (writer) endpoint ``<cluster>.cluster-<hash>.<region>.rds.amazonaws.com``
* reader endpoint ``<cluster>.cluster-ro-<hash>.<region>.rds.amazonaws.com``
* instance endpoint ``<instance>.<hash>.<region>.rds.amazonaws.com``
* China (``aws-cn``): ``...<hash>.rds.<region>.amazonaws.com.cn`` (the current form; the wrappers
  also accept the older ``<region>.rds.amazonaws.com.cn``); GovCloud as ``aws``; ISO partitions
  ``rds.c2s.ic.gov`` / ``rds.sc2s.sgov.gov``.

``<hash>`` is 12 lower-case letters and digits, fixed per account and region as on RDS (derived
here from both, so a program that hard-codes its cluster's endpoint sees the same name on every
run of the same account).

Addresses: a block of :data:`BLOCK_SIZE` loopback addresses per database, drawn at random from
127.2.0.0-127.15.255.255 (below the local engine's pod addresses, 127.16.0.0 and up): writer at
offset 1, reader at 2, the cluster's instances at 3 and on. Every local cloud draws its own
blocks, so several run side by side, each database on its requested port (5432 by default).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

HASH_LENGTH = 12
_HASH_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
DEFAULT_PORT = 5432
BLOCK_SIZE = 32
MAX_CLUSTER_INSTANCES = 16  # Aurora: one writer and up to 15 replicas
_FIRST_BLOCK = int(ipaddress.IPv4Address("127.2.0.0"))
_LAST_BLOCK = int(ipaddress.IPv4Address("127.15.255.224"))
WRITER_OFFSET, READER_OFFSET, FIRST_INSTANCE_OFFSET = 1, 2, 3


def account_hash(account_id: str, region: str) -> str:
    """The 12-character part RDS puts in every endpoint of an account in a region."""
    number = int.from_bytes(hashlib.sha256(f"{account_id}/{region}".encode()).digest()[:16], "big")
    characters = []
    for _ in range(HASH_LENGTH):
        number, index = divmod(number, len(_HASH_ALPHABET))
        characters.append(_HASH_ALPHABET[index])
    return "".join(characters)


def dns_suffix(partition: str, region: str) -> str:
    """What follows ``<hash>.`` in an endpoint of ``region``."""
    if partition == "aws-cn":
        return f"rds.{region}.amazonaws.com.cn"
    if partition == "aws-iso":
        return f"{region}.rds.c2s.ic.gov"
    if partition == "aws-iso-b":
        return f"{region}.rds.sc2s.sgov.gov"
    return f"{region}.rds.amazonaws.com"


@dataclass(frozen=True)
class EndpointNames:
    """The DNS names of one account's databases in one region."""

    partition: str
    region: str
    account_id: str

    @functools.cached_property
    def domain(self) -> str:  # computed once: every login's check lists the database's names
        return f"{account_hash(self.account_id, self.region)}.{dns_suffix(self.partition, self.region)}"

    def cluster(self, identifier: str) -> str:
        return f"{identifier.lower()}.cluster-{self.domain}"

    def reader(self, identifier: str) -> str:
        return f"{identifier.lower()}.cluster-ro-{self.domain}"

    def instance(self, identifier: str) -> str:
        return f"{identifier.lower()}.{self.domain}"

    def instance_wildcard(self) -> str:
        """The SAN that covers every instance endpoint (RDS's certificates carry the same)."""
        return f"*.{self.domain}"


@dataclass(frozen=True)
class AddressBlock:
    """:data:`BLOCK_SIZE` consecutive loopback addresses starting at ``base`` (offset 0 unused)."""

    base: int

    def address(self, offset: int) -> str:
        if not 0 < offset < BLOCK_SIZE:
            raise ValueError(f"offset {offset} is outside an address block")
        return str(ipaddress.IPv4Address(self.base + offset))

    @property
    def writer(self) -> str:
        return self.address(WRITER_OFFSET)

    @property
    def reader(self) -> str:
        return self.address(READER_OFFSET)

    def instance(self, slot: int) -> str:
        if not 0 <= slot < MAX_CLUSTER_INSTANCES:
            raise ValueError(f"a cluster has at most {MAX_CLUSTER_INSTANCES} instances")
        return self.address(FIRST_INSTANCE_OFFSET + slot)

    def cluster_addresses(self) -> tuple[str, ...]:
        """Every address a cluster's server listens on: writer, reader and each instance slot
        (bound up front: PostgreSQL reads ``listen_addresses`` only at start)."""
        return (self.writer, self.reader, *(self.instance(s) for s in range(MAX_CLUSTER_INSTANCES)))

    def standalone_addresses(self) -> tuple[str, ...]:
        return (self.writer,)


def random_block(rng: random.Random) -> AddressBlock:
    blocks = (_LAST_BLOCK - _FIRST_BLOCK) // BLOCK_SIZE + 1
    return AddressBlock(_FIRST_BLOCK + rng.randrange(blocks) * BLOCK_SIZE)


@dataclass(frozen=True)
class Endpoint:
    """One resolvable endpoint: its DNS name, its address, and what it is (``writer``,
    ``reader`` or ``instance``)."""

    name: str
    address: str
    role: str


def render_hosts(endpoints: Iterable[Endpoint]) -> str:
    """An ``/etc/hosts``-format file (what ``NSS_WRAPPER_HOSTS`` names). No comment lines:
    nss_wrapper refuses the whole file for one (``nwrap_he_parse_line: Invalid line``)."""
    return "".join(f"{e.address} {e.name}\n" for e in sorted(endpoints, key=lambda e: (e.name, e.address)))


def parse_hosts(text: str) -> dict[str, str]:
    """name -> address from :func:`render_hosts`'s format (comments and blank lines skipped)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        fields: Sequence[str] = line.split("#", 1)[0].split()
        if len(fields) >= 2:
            for name in fields[1:]:
                found.setdefault(name.lower(), fields[0])
    return found
