"""The demo application: a pod with no stored credentials that reaches Aurora PostgreSQL with IAM
database auth tokens.

``python -m app serve`` runs the web page and JSON API under waitress; ``python -m app check``
runs the pod's connect flow once (token, TLS connect, ``current_user``, write and read back a
row) and exits 0, or non-zero with the reason. Configuration comes only from the environment
(see :mod:`app.settings`); AWS credentials come only from boto3's default chain (IRSA's web
identity in a pod).

This package is shipped alone in the image built from ``app/Dockerfile``: it must not import
``pgiam``.
"""

__version__ = "0.1.0"
