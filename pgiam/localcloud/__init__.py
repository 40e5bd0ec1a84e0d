"""The local cloud (``pgiam localcloud``): moto behind a gateway, a strict STS for
``AssumeRoleWithWebIdentity``, an EKS-like OIDC issuer and a local CA, in one daemon per state
directory; extensions (the RDS side) plug in. See docs/localcloud.md.

Modules: :mod:`.lifecycle` (up/down/status, from Python too), :mod:`.tokens` (mint service-account
tokens), :mod:`.client` (a handle for Python callers), :mod:`.ca` (the local CA),
:mod:`.extensions` (the extension contract), :mod:`.gateway` (intercepting AWS actions),
:mod:`.identity` (access keys and policies over moto), :mod:`.sts` (the strict STS model),
:mod:`.oidc` and :mod:`.serviceaccounts` (issuer and token claims), :mod:`.daemon`.
"""
