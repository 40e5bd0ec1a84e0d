"""``pgiam e2e``: one ephemeral stack through its whole life (deploy, checks in the pod, negative
checks, teardown), on the local cloud (``targets/local.py``, the local engine in ``engine/``) or
on AWS (``targets/aws.py``), with a JSON and a JUnit XML report. See docs/e2e.md."""
