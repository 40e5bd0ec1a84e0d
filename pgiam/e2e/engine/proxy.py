"""A Service of the local cluster: a TCP proxy on the Service's own loopback address and port that
spreads connections over the pods behind it (round robin), as kube-proxy does.

    python -m pgiam.e2e.engine.proxy --listen 127.41.7.9:80 --endpoints FILE

``FILE`` holds the JSON list of ``"ip:port"`` backends and is re-read for every connection, so
the kubelet can add or remove pods while the proxy runs. A connection with no backend is closed
at once. SIGTERM stops the proxy. Hand-written: no maintained library is a small TCP balancer
that runs inside this interpreter (about forty lines with asyncio).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
from pathlib import Path


def _backends(path: Path) -> list[tuple[str, int]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    backends = []
    for item in raw if isinstance(raw, list) else []:
        host, _, port = str(item).rpartition(":")
        if host and port.isdigit():
            backends.append((host, int(port)))
    return backends


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve(listen_host: str, listen_port: int, endpoints: Path) -> None:
    counter = itertools.count()

    async def handle(client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        backends = _backends(endpoints)
        if not backends:
            client_writer.close()
            return
        start = next(counter)
        for offset in range(len(backends)):
            host, port = backends[(start + offset) % len(backends)]
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
                break
            except OSError:
                continue
        else:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, upstream_writer),
                             _pipe(upstream_reader, client_writer))

    server = await asyncio.start_server(handle, listen_host, listen_port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pgiam.e2e.engine.proxy")
    parser.add_argument("--listen", required=True, help="IP:PORT to listen on")
    parser.add_argument("--endpoints", required=True, type=Path, help="JSON file of backends")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    asyncio.run(serve(host, int(port), args.endpoints))


if __name__ == "__main__":
    main()
