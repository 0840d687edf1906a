"""Everything the checks read, collected once per audit. Each piece is either its value or
`Unavailable(reason)`: a check that needs an unavailable piece reports "could not check: reason".
The checks are pure functions of this data, so they are tested on synthetic values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, Union

from keytui.core.models import Inventory

T = TypeVar("T")


@dataclass(frozen=True)
class Unavailable:
    reason: str  # "AccessDenied on iam:GetAccountSummary", "not implemented by this endpoint", …


Maybe = Union[T, Unavailable]


@dataclass(frozen=True)
class UserPolicies:
    user: str
    attached: tuple[str, ...]  # managed policy ARNs attached to the user directly
    inline: tuple[str, ...]  # inline policy names on the user
    groups: tuple[str, ...]
    # Policies (attached or inline, on the user directly) that allow every action on every resource.
    full_admin: tuple[str, ...] = ()

    @property
    def direct(self) -> tuple[str, ...]:
        return self.attached + tuple(f"{name} (inline)" for name in self.inline)


@dataclass(frozen=True)
class Instance:
    instance_id: str
    name: str | None
    region: str
    instance_profile: str | None  # the profile's ARN, None without one


@dataclass(frozen=True)
class IngressRule:
    group_id: str
    group_name: str
    region: str
    protocol: str  # "tcp", "udp", "-1" (all) …
    from_port: int | None
    to_port: int | None
    cidr: str  # "0.0.0.0/0" or "::/0" (only world-open rules are kept)

    def covers(self, port: int) -> bool:
        if self.protocol in ("-1", "all"):
            return True
        if self.protocol not in ("tcp", "6"):
            return False
        low = self.from_port if self.from_port is not None else 0
        high = self.to_port if self.to_port is not None else 65535
        return low <= port <= high

    @property
    def permission(self) -> dict[str, Any]:
        """The IpPermissions entry that revokes exactly this rule."""
        entry: dict[str, Any] = {"IpProtocol": self.protocol}
        if self.protocol not in ("-1", "all"):
            entry["FromPort"], entry["ToPort"] = self.from_port, self.to_port
        if ":" in self.cidr:
            entry["Ipv6Ranges"] = [{"CidrIpv6": self.cidr}]
        else:
            entry["IpRanges"] = [{"CidrIp": self.cidr}]
        return entry

    @property
    def ports_text(self) -> str:
        if self.protocol in ("-1", "all"):
            return "all traffic"
        if self.from_port == self.to_port:
            return f"{self.protocol}/{self.from_port}"
        return f"{self.protocol}/{self.from_port}-{self.to_port}"


@dataclass(frozen=True)
class Trail:
    name: str
    arn: str
    home_region: str
    multi_region: bool
    logging: bool | None  # None: the status could not be read


@dataclass(frozen=True)
class PlaintextKey:
    profile: str
    key_id: str
    path: str
    temporary: bool  # a session (ASIA…/token) in a cache: expires, but still readable meanwhile


@dataclass(frozen=True)
class AuditData:
    now: datetime
    account: str | None = None
    inventory: Maybe[Inventory] = Unavailable("not collected")
    summary: Maybe[dict[str, int]] = Unavailable("not collected")
    # None: the account has no password policy at all (AWS answers NoSuchEntity).
    password_policy: Maybe[dict[str, Any] | None] = Unavailable("not collected")
    policies: Maybe[dict[str, UserPolicies]] = Unavailable("not collected")
    instances: Maybe[tuple[Instance, ...]] = Unavailable("not collected")
    open_ingress: Maybe[tuple[IngressRule, ...]] = Unavailable("not collected")
    trails: Maybe[tuple[Trail, ...]] = Unavailable("not collected")
    local: Maybe[tuple[PlaintextKey, ...]] = Unavailable("not collected")
    # The policy simulator runs on demand: None until asked. user -> destructive actions allowed.
    simulation: Maybe[dict[str, tuple[str, ...]]] | None = None
    open_rotations: frozenset[str] = field(default_factory=frozenset)
