"""A local Redis Cluster of three masters, from the same pip-installed ``valkey-server`` binary.

For the cluster test run (``make test-cluster``) and the scale benchmark, not for production:
production clusters are run by whoever runs Redis. Each node listens on a loopback TCP port
(a cluster node must be reachable by its peers and by clients at the address it announces, so
a Unix socket will not do), persists with an append-only file (fsync every second) in its own
directory, and the 16,384 slots are split evenly between the three with ``CLUSTER ADDSLOTSRANGE``
and joined with ``CLUSTER MEET``, so no ``valkey-cli`` is needed.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from ingest.errors import StoreError
from ingest.store.connect import answers, server_command
from workers.embedded import EmbeddedRedisError, server_binary

SLOTS = 16_384


def free_port() -> int:
    """A loopback port that is free, and whose cluster-bus twin (port + 10000) is free too."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + 10_000 < 65_536 and _free(port + 10_000):
            return port
    raise EmbeddedRedisError("no free loopback port pair for a cluster node")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class LocalNode:
    """One ``valkey-server`` in cluster mode on a loopback port."""

    def __init__(self, root: Path, port: int) -> None:
        self.port = port
        self.dir = root / f"node-{port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "valkey.conf"
        config.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {self.port}",
                    "cluster-enabled yes",
                    f'cluster-config-file "{self.dir / "nodes.conf"}"',
                    "cluster-node-timeout 5000",
                    "cluster-require-full-coverage yes",
                    f'dir "{self.dir}"',
                    "appendonly yes",
                    "appendfsync everysec",
                    'save ""',
                    "daemonize no",
                    f'logfile "{self.dir / "server.log"}"',
                ]
            )
            + "\n"
        )
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
            [str(server_binary()), str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def command(self, *args: str | int) -> str:
        """Send one command to this node; its reply as text (:class:`StoreError` if refused)."""
        return server_command("127.0.0.1", self.port, *args)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EmbeddedRedisError(f"cluster node on port {self.port} exited")
            if answers(host="127.0.0.1", port=self.port, timeout=5.0):
                return
            time.sleep(0.05)
        raise EmbeddedRedisError(f"cluster node on port {self.port} did not answer")

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # flushes the AOF
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class LocalCluster:
    """Three masters, slots split evenly, no replicas; ``url`` names the first node."""

    def __init__(self, root: Path, masters: int = 3) -> None:
        self.root = root
        self.nodes = [LocalNode(root, free_port()) for _ in range(masters)]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 30.0) -> str:
        for node in self.nodes:
            node.start()
        try:
            for node in self.nodes:
                node.wait_ready(timeout)
            self._assign_slots()
            self._meet()
            self.wait_ok(timeout)
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def _assign_slots(self) -> None:
        share = SLOTS // len(self.nodes)
        for n, node in enumerate(self.nodes):
            first = n * share
            last = SLOTS - 1 if n == len(self.nodes) - 1 else first + share - 1
            node.command("CLUSTER", "ADDSLOTSRANGE", first, last)

    def _meet(self) -> None:
        first = self.nodes[0]
        for node in self.nodes[1:]:
            first.command("CLUSTER", "MEET", "127.0.0.1", node.port)

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every node says the cluster is up and knows every other node."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._node_ok(node) for node in self.nodes):
                return
            time.sleep(0.1)
        raise EmbeddedRedisError(f"local cluster did not come up within {timeout:g} s")

    def _node_ok(self, node: LocalNode) -> bool:
        try:
            text = node.command("CLUSTER", "INFO")
        except StoreError:
            return False
        fields = dict(line.split(":", 1) for line in text.split() if ":" in line)
        return (
            fields.get("cluster_state") == "ok"
            and fields.get("cluster_known_nodes") == str(len(self.nodes))
            and fields.get("cluster_slots_assigned") == str(SLOTS)
        )

    def restart(self, timeout: float = 30.0) -> None:
        """Stop every node cleanly and start them again on the same ports and files."""
        self.stop()
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_ready(timeout)
        self.wait_ok(timeout)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - developer tooling
    """``python -m workers.local_cluster DIR [COMMAND ...]``: start a local cluster in DIR; run
    COMMAND with ``WIREFEED_REDIS_URL`` naming it and return its status, or without a command
    print the URL and run until interrupted."""
    import os
    import shutil
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m workers.local_cluster DIR [COMMAND ...]", file=sys.stderr)
        return 2
    root = Path(args[0]).resolve()
    shutil.rmtree(root, ignore_errors=True)  # a fresh cluster: old nodes.conf name old ports
    with LocalCluster(root) as cluster:
        print(f"local cluster at {cluster.url} ({len(cluster.nodes)} masters)", flush=True)
        if len(args) == 1:
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
            return 0
        env = {**os.environ, "WIREFEED_REDIS_URL": cluster.url}
        return subprocess.call(args[1:], env=env)  # noqa: S603 - the developer's own command


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
