"""The rules of the ``pgiam-iam-database-auth`` CrossGuard policy pack (see ``policies/README.md``).

Modules per concern: :mod:`.rds`, :mod:`.irsa_trust`, :mod:`.rds_db_connect`,
:mod:`.broad_permissions`, :mod:`.postgresql`, :mod:`.kubernetes`, :mod:`.stack_rules`,
:mod:`.document_validity`; shared helpers: :mod:`.model` (resources, findings, rules),
:mod:`.props` (unknown-aware property reading), :mod:`.documents` (IAM documents wherever they
are), :mod:`.links` (references between resources), :mod:`.managed_policies`; the list of
policies: :mod:`.catalog`; their configuration: :mod:`.config`; pulumi-policy adapters:
:mod:`.pack`. Only :mod:`.pack` imports pulumi-policy; importing the rest starts no server.
"""
