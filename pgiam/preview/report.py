"""The preview's outcome: the report (readable or JSON) and the exit code.

Exit codes: 1 when any violation is mandatory (the CLI would block the update), 0 otherwise;
deferred checks never fail a preview (they run at update time). 2 (the program or the pack could
not run) is raised as an error before a report exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pgiam.preview.analysis import Finding, PackInfo

BLOCKING = ("mandatory", "remediate")


@dataclass
class PreviewReport:
    project: str
    stack: str
    mode: str
    pack: PackInfo
    resources: int
    violations: list[Finding] = field(default_factory=list)
    deferred: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Finding]:
        return [finding for finding in self.violations if finding.enforcement in BLOCKING]

    @property
    def advisory(self) -> list[Finding]:
        return [finding for finding in self.violations if finding.enforcement not in BLOCKING]

    @property
    def exit_code(self) -> int:
        return 1 if self.mandatory else 0

    def as_json(self) -> dict[str, Any]:
        return {
            "violations": [finding.as_json() for finding in self.violations],
            "deferred": [{"policy": f.policy, "urn": f.urn, "message": f.message}
                         for f in self.deferred],
            "resources": self.resources,
            "policy_pack": {"name": self.pack.name, "version": self.pack.version},
            "project": self.project,
            "stack": self.stack,
            "mode": self.mode,
            "warnings": list(self.warnings),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_json(), indent=2)

    def to_text(self) -> str:
        what = ("preview of a new stack: computed values unknown" if self.mode == "preview"
                else "as after pulumi up: computed values synthesized")
        lines = [f"Policy pack {self.pack.name}@{self.pack.version} on {self.project}/{self.stack}"
                 f" ({self.resources} resources; {what})", ""]
        for title, items in (("Mandatory violations", self.mandatory),
                             ("Advisory violations", self.advisory)):
            if not items:
                continue
            lines.append(f"{title} ({len(items)}):")
            for finding in items:
                lines.append(f"  [{finding.policy}] {finding.urn or '(stack)'}")
                lines.extend(f"      {text}" for text in finding.message.splitlines())
            lines.append("")
        if self.deferred:
            lines.append(f"Deferred to update time, not checked yet ({len(self.deferred)}):")
            for finding in self.deferred:
                lines.append(f"  [{finding.policy}] {finding.urn or '(stack)'}")
                lines.append(f"      {finding.message}")
            lines.append("")
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  {warning}" for warning in self.warnings)
            lines.append("")
        if self.mandatory:
            lines.append(f"FAILED: {len(self.mandatory)} mandatory violation(s); "
                         "the update would be blocked.")
        else:
            lines.append(f"PASSED: no mandatory violation ({len(self.advisory)} advisory, "
                         f"{len(self.deferred)} deferred).")
        return "\n".join(lines)
