"""``pgiam preview``: any Pulumi Python program under the mock runtime, analysed by a real
CrossGuard policy pack over gRPC, as ``pulumi preview --policy-pack`` would, offline.

* :mod:`.offline_mocks`: the mocks (unknown computed values at preview, synthesized ones for
  ``--mode up``, stack references refused);
* :mod:`.engine_view`: a run as the engine hands it to analyzers (protobuf messages, default
  providers);
* :mod:`.pack_host`: the pack as its own process and the Engine ``Log`` service;
* :mod:`.policy_config`: the CLI's policy configuration rules;
* :mod:`.analysis`: the session's calls and its findings (violations, deferred checks);
* :mod:`.report`, :mod:`.run`, :mod:`.cli`: the outcome, the orchestration, the command.
"""
