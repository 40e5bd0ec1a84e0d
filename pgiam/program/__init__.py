"""Running Pulumi Python programs without the Pulumi engine or a cloud.

* :mod:`pgiam.program.synth`: realistic computed values for resources and answers to data
  sources, in type-keyed registries;
* :mod:`pgiam.program.iam_policy_document`: ``aws.iam.get_policy_document`` rendered as
  pulumi-aws renders it;
* :mod:`pgiam.program.mocks`: ``RecordingMocks``, the ``pulumi.runtime.Mocks`` built on them, which
  records every resource and call for assertions.
"""
