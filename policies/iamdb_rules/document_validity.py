"""Every IAM document the stack writes is one IAM accepts and the pack can read.

A document IAM would refuse fails the deployment late (at ``pulumi up``, after other resources
exist); a document the pack cannot read is one no other rule can vouch for. Documents are checked
with :func:`pgiam.iam.parse_policy` (the IAM grammar: operators, element names, ARNs, principal
forms, values per operator) once they are fully known.
"""

from __future__ import annotations

from collections.abc import Iterator

from .documents import document_error, documents_of
from .model import Deferred, Finding, Resource, RuleContext, Violation, message


def check_documents_valid(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    for ref in documents_of(resource):
        document = ref.read()
        if document is None:
            continue
        if not document.fully_known:
            if document.error is None:
                yield Deferred(resource.urn, f"{ref.path} is not fully known yet")
                continue
        error = document_error(document, ref.kind)
        if error is not None:
            yield Violation(resource.urn, message(
                f"The {ref.kind} policy document is not one IAM accepts: {error}.",
                f"{resource.urn} {ref.path}",
                "write the document with aws.iam.get_policy_document or a dict passed through "
                "json.dumps, with IAM's element names, operators and ARN formats"))
