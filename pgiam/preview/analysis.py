"""One analysis session with a running policy pack, in the CLI's order, and its findings.

``GetPluginInfo``, ``GetAnalyzerInfo``, ``Configure`` (every policy's enforcement level and
properties), ``ConfigureStack``, then ``Analyze`` for each resource as it is registered and
``AnalyzeStack`` with all of them. Diagnostics become :class:`Finding`\\ s: violations, and
*deferred* checks - pulumi-policy turns a policy that read an unknown value into an advisory
"can't run policy ... during preview" diagnostic; those are checks the update will make, not
passes, and are reported apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pgiam.preview.engine_view import EngineResource, analyze_request, analyze_stack_request
from pgiam.preview.pack_host import PackProcess
from pgiam.preview.policy_config import configure_request

_DEFERRED = re.compile(r"^can't run policy '(?P<policy>[^']*)' from policy pack '[^']*' "
                       r"during preview: (?P<reason>.*)$", re.DOTALL)
_URN_LINE = re.compile(r"^(?P<urn>urn:pulumi:\S+?): (?P<reason>.+)$")


@dataclass(frozen=True)
class Finding:
    """A violation or a deferred check: which policy, how enforced, on which resource, what."""

    policy: str
    enforcement: str
    urn: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"policy": self.policy, "enforcement": self.enforcement, "urn": self.urn,
                "message": self.message}


@dataclass
class PackInfo:
    name: str
    version: str
    policies: dict[str, str] = field(default_factory=dict)   # name -> configured enforcement


@dataclass
class AnalysisResult:
    pack: PackInfo
    violations: list[Finding] = field(default_factory=list)
    deferred: list[Finding] = field(default_factory=list)


def _level(value: int) -> str:
    from pulumi.runtime.proto import analyzer_pb2

    return analyzer_pb2.EnforcementLevel.Name(value).lower()


def _strip_description(message: str, description: str) -> str:
    if description and message.startswith(description):
        rest = message[len(description):]
        return rest.lstrip("\n") or message
    return message


def findings(response: Any, urn: str) -> tuple[list[Finding], list[Finding]]:
    """(violations, deferred) of one ``AnalyzeResponse``; ``urn`` is the analysed resource's
    (empty for ``AnalyzeStack``)."""
    violations: list[Finding] = []
    deferred: list[Finding] = []
    for diagnostic in response.diagnostics:
        match = _DEFERRED.match(diagnostic.message)
        if match:
            reasons = match.group("reason").strip().splitlines() or [""]
            for reason in reasons:
                line = _URN_LINE.match(reason.strip())
                if line:
                    deferred.append(Finding(diagnostic.policyName, "deferred", line.group("urn"),
                                            line.group("reason")))
                elif reason.strip() or len(reasons) == 1:
                    deferred.append(Finding(diagnostic.policyName, "deferred",
                                            diagnostic.urn or urn, reason.strip()))
            continue
        violations.append(Finding(diagnostic.policyName, _level(diagnostic.enforcementLevel),
                                  diagnostic.urn or urn,
                                  _strip_description(diagnostic.message, diagnostic.description)))
    return violations, deferred


class AnalysisSession:
    """The calls to one pack for one stack (not thread-safe: one caller at a time)."""

    def __init__(self, pack: PackProcess, *, project: str, stack: str, organization: str,
                 dry_run: bool, config: Mapping[str, str], secret_keys: Iterable[str],
                 policy_config: Mapping[str, Any]) -> None:
        self._pack = pack
        self._project = project
        self._stack = stack
        self._organization = organization
        self._dry_run = dry_run
        self._config = dict(config)
        self._secret_keys = list(secret_keys)
        self._policy_config = policy_config
        self.result: AnalysisResult | None = None

    def start(self) -> AnalysisResult:
        import grpc
        from google.protobuf import empty_pb2
        from pulumi.runtime.proto import analyzer_pb2

        self._pack.call("GetPluginInfo", empty_pb2.Empty())
        info = self._pack.call("GetAnalyzerInfo", empty_pb2.Empty())
        request = configure_request(info, self._policy_config)
        self._pack.call("Configure", request)
        try:
            self._pack.stub.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=self._stack, project=self._project, organization=self._organization,
                dry_run=self._dry_run, config=self._config,
                config_secret_keys=self._secret_keys), timeout=30)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
        version = self._pack.pack.version or info.version
        levels = {name: _level(config.enforcementLevel)
                  for name, config in request.policyConfig.items()}
        self.result = AnalysisResult(PackInfo(info.name, version, levels))
        return self.result

    def analyze(self, item: EngineResource) -> None:
        assert self.result is not None, "start() first"
        response = self._pack.call("Analyze", analyze_request(item))
        violations, deferred = findings(response, item.urn)
        self.result.violations.extend(violations)
        self.result.deferred.extend(deferred)

    def analyze_stack(self, items: list[EngineResource]) -> AnalysisResult:
        assert self.result is not None, "start() first"
        response = self._pack.call("AnalyzeStack", analyze_stack_request(items))
        violations, deferred = findings(response, "")
        self.result.violations.extend(violations)
        self.result.deferred.extend(deferred)
        return self.result
