"""The pack's configuration: the JSON schemas (with defaults) of the configurable policies.

Set them with the CLI's ``--policy-pack-config`` file (or ``pgiam preview --policy-config``)::

    {
      "rds-not-publicly-accessible": {"allowedStacks": ["dev", "dev-*", "e2e-*"]},
      "irsa-trust-audience": {"allowedAudiences": ["sts.amazonaws.com"]},
      "irsa-trust-subject": {"nonKubernetesIssuers": ["oidc.example.com/ci"]},
      "irsa-trust-audience-present": "mandatory",
      "all": "mandatory"
    }

Every policy also takes ``enforcementLevel`` (``advisory``, ``mandatory``, ``disabled``).
"""

from __future__ import annotations

ALLOWED_STACKS = {
    "allowedStacks": {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "stack name patterns (shell wildcards) where publicly accessible "
                       "databases are allowed, e.g. throw-away dev stacks",
    },
}
NON_KUBERNETES_ISSUERS = {
    "nonKubernetesIssuers": {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "OIDC issuer patterns (besides the built-in CI providers) whose tokens are "
                       "not Kubernetes service account tokens",
    },
}
ALLOWED_AUDIENCES = {
    "allowedAudiences": {
        "type": "array", "items": {"type": "string"}, "minItems": 1,
        "default": ["sts.amazonaws.com"],
        "description": "audiences an IRSA trust policy's :aud condition may name",
    },
}
EXEMPTIONS = {
    "exemptions": {
        "type": "array", "default": [],
        "description": "where this policy does not apply, each with the reason (a policy "
                       "decision, e.g. a password-only application's database): the stacks "
                       "and/or the resources (URN, or resource name, shell wildcards)",
        "items": {
            "type": "object",
            "properties": {
                "stacks": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "resources": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "reason": {"type": "string", "minLength": 1},
            },
            "required": ["reason"],
            "anyOf": [{"required": ["stacks"]}, {"required": ["resources"]}],
            "additionalProperties": False,
        },
    },
}
