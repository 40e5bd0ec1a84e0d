"""The hosts file nss_wrapper reads: a process started before a database existed resolves its
name once the file is rewritten (nss_wrapper rereads on a new mtime, in whole seconds), and names
it does not list still resolve through the system (``localhost``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from pgiam.localcloud.rds.endpoints import Endpoint
from pgiam.localcloud.rds.resolver import connect_address, resolver_env, write_hosts

pytestmark = pytest.mark.integration

NAME = "db1.cluster-abcdefghijkl.us-east-1.rds.amazonaws.com"
RESOLVE = textwrap.dedent("""
    import json, socket, sys
    def lookup(name):
        try:
            return sorted({a[4][0] for a in socket.getaddrinfo(name, 5432, type=socket.SOCK_STREAM)})
        except OSError as error:
            return str(error)
    for line in sys.stdin:
        print(json.dumps({name: lookup(name) for name in json.loads(line)}), flush=True)
""")


@pytest.fixture
def hosts(tmp_path):
    path = tmp_path / "hosts"
    write_hosts(path, [])
    env = resolver_env(path)
    if env is None:
        pytest.fail("libnss_wrapper.so is not installed: run `make postgres`")
    return path, env


def test_a_running_process_sees_a_name_added_after_it_started(hosts):
    path, env = hosts
    process = subprocess.Popen([sys.executable, "-c", RESOLVE], env={"PATH": os.environ["PATH"], **env},
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        def ask(*names: str) -> dict:
            process.stdin.write(json.dumps(names) + "\n")
            process.stdin.flush()
            return json.loads(process.stdout.readline())

        before = ask(NAME, "localhost")
        assert isinstance(before[NAME], str) and "127.0.0.1" in before["localhost"]
        write_hosts(path, [Endpoint(NAME, "127.2.0.33", "writer")])  # no sleep: the mtime moves itself
        assert ask(NAME)[NAME] == ["127.2.0.33"]
        write_hosts(path, [Endpoint(NAME, "127.2.0.65", "writer")])
        assert ask(NAME.upper())[NAME.upper()] == ["127.2.0.65"]
        write_hosts(path, [])
        assert isinstance(ask(NAME)[NAME], str)  # deleted: the name is gone
    finally:
        process.stdin.close()
        process.wait(timeout=10)


def test_connect_address_reads_the_same_file(hosts):
    path, _ = hosts
    write_hosts(path, [Endpoint(NAME, "127.2.0.33", "writer")])
    assert connect_address(path, NAME.upper() + ".") == "127.2.0.33"
    assert connect_address(path, "localhost") is None
