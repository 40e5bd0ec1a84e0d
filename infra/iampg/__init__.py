"""Components of the `iam-postgres` Pulumi program (one module each) and the pure builders of its
IAM documents (``policy_documents``, no Pulumi import)."""
