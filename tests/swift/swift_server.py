"""A real OpenStack Swift (proxy, account, container, object servers) in one process.

Run as a script by the test fixture: ``python swift_server.py WORKDIR``. It binds four sockets
on 127.0.0.1 (free ports), writes ``swift.conf``, the server configs and one-replica rings into
WORKDIR, loads each server with ``swift.common.wsgi.loadapp`` and serves them all with
eventlet. It prints ``READY <proxy_port>`` on stdout once the proxy answers, then runs until
killed or until the process that started it is gone. tempauth's tokens live in a small
in-process dict cache (the ``cache`` filter below), so no memcached is needed. Auth:
``http://127.0.0.1:PORT/auth/v1.0``, ``test:tester`` / ``testing``.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

SERVERS = ("account", "container", "object", "proxy")


class DictCache:
    """The subset of swift's MemcacheRing the proxy and tempauth use, over a dict."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _alive(self, key: str) -> Any:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires and expires < time.time():
            self._data.pop(key, None)
            return None
        return value

    @staticmethod
    def _expiry(ttl: float) -> float:
        if not ttl:
            return 0.0
        return ttl if ttl > 30 * 24 * 3600 else time.time() + ttl

    def set(self, key: str, value: Any, serialize: bool = True, time: float = 0, **_: Any) -> None:
        with self._lock:
            self._data[key] = (self._expiry(time), value)

    def get(self, key: str, raise_on_error: bool = False, **_: Any) -> Any:
        with self._lock:
            return self._alive(key)

    def incr(self, key: str, delta: int = 1, time: float = 0, **_: Any) -> int:
        with self._lock:
            value = int(self._alive(key) or 0) + delta
            self._data[key] = (self._expiry(time), value)
            return value

    def decr(self, key: str, delta: int = 1, time: float = 0, **_: Any) -> int:
        return self.incr(key, -delta, time)

    def delete(self, key: str, server_key: str | None = None, **_: Any) -> None:
        with self._lock:
            self._data.pop(key, None)

    def set_multi(
        self,
        mapping: dict[str, Any],
        server_key: str,
        serialize: bool = True,
        time: float = 0,
        **_: Any,
    ) -> None:
        for key, value in mapping.items():
            self.set(key, value, time=time)

    def get_multi(self, keys: list[str], server_key: str, **_: Any) -> list[Any]:
        return [self.get(key) for key in keys]


_CACHE = DictCache()


def dict_cache_filter(global_conf: dict[str, str], **local_conf: str) -> Any:
    """Paste filter factory: puts the shared :class:`DictCache` into ``env['swift.cache']``."""

    def make(app: Any) -> Any:
        def middleware(env: dict[str, Any], start_response: Any) -> Any:
            env["swift.cache"] = _CACHE
            return app(env, start_response)

        return middleware

    return make


def write_configs(workdir: str, ports: dict[str, int]) -> None:
    """swift.conf, one config per server, and the three rings."""
    from swift.common.ring import RingBuilder

    devices = os.path.join(workdir, "devices")
    os.makedirs(os.path.join(devices, "d1"), exist_ok=True)
    with open(os.path.join(workdir, "swift.conf"), "w") as f:
        f.write(
            "[swift-hash]\nswift_hash_path_prefix = pre\nswift_hash_path_suffix = suf\n"
            "[storage-policy:0]\nname = gold\ndefault = yes\n"
            "[swift-constraints]\nmax_file_size = 5368709122\n"
        )
    common = (
        f"[DEFAULT]\nbind_ip = 127.0.0.1\nworkers = 0\nuser = root\nswift_dir = {workdir}\n"
        f"devices = {devices}\nmount_check = false\ndisable_fallocate = true\n"
        "log_udp_host = 127.0.0.1\nlog_udp_port = 9\nlog_level = WARNING\n"
        "eventlet_debug = false\n"
    )
    for kind in ("account", "container", "object"):
        with open(os.path.join(workdir, f"{kind}-server.conf"), "w") as f:
            f.write(
                common + f"bind_port = {ports[kind]}\n"
                f"[pipeline:main]\npipeline = {kind}-server\n"
                f"[app:{kind}-server]\nuse = egg:swift#{kind}\n"
                # generous timeouts: a loaded CI machine must not drop container updates
                "conn_timeout = 5\nnode_timeout = 60\ncontainer_update_timeout = 30\n"
            )
        builder = RingBuilder(4, 1, 0)
        builder.add_dev(
            {
                "id": 0,
                "region": 1,
                "zone": 1,
                "ip": "127.0.0.1",
                "port": ports[kind],
                "device": "d1",
                "weight": 1,
                "meta": "",
            }
        )
        builder.rebalance()
        builder.get_ring().save(os.path.join(workdir, f"{kind}.ring.gz"))
    pipeline = (
        "catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl "
        "tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server"
    )
    filters = "".join(
        f"[filter:{name}]\nuse = egg:swift#{egg}\n"
        for name, egg in (
            ("catch_errors", "catch_errors"),
            ("gatekeeper", "gatekeeper"),
            ("healthcheck", "healthcheck"),
            ("proxy-logging", "proxy_logging"),
            ("listing_formats", "listing_formats"),
            ("bulk", "bulk"),
            ("tempurl", "tempurl"),
            ("copy", "copy"),
            ("slo", "slo"),
            ("dlo", "dlo"),
            ("versioned_writes", "versioned_writes"),
            ("symlink", "symlink"),
        )
    )
    with open(os.path.join(workdir, "proxy-server.conf"), "w") as f:
        f.write(
            common + f"bind_port = {ports['proxy']}\n"
            f"[pipeline:main]\npipeline = {pipeline}\n"
            "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n"
            "conn_timeout = 5\nnode_timeout = 60\nrecoverable_node_timeout = 60\n"
            "allow_account_management = true\n"
            "[filter:tempauth]\nuse = egg:swift#tempauth\n"
            "user_test_tester = testing .admin\n"
            "user_test2_tester2 = testing2 .admin\n"
            "[filter:cache]\npaste.filter_factory = swift_server:dict_cache_filter\n" + filters
        )


def main() -> None:
    """Bind, configure, load and serve; print READY with the proxy port."""
    workdir = sys.argv[1]
    sockets = {kind: eventlet.listen(("127.0.0.1", 0)) for kind in SERVERS}
    for sock in sockets.values():  # as swift's own get_socket: no Nagle delays
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ports = {kind: sock.getsockname()[1] for kind, sock in sockets.items()}
    write_configs(workdir, ports)

    from eventlet import wsgi
    from swift.common import utils
    from swift.common.storage_policy import reload_storage_policies
    from swift.common.wsgi import loadapp

    # A test server: durability does not matter, speed does. Skip the fsyncs of object data.
    def no_sync(*_: Any) -> None:
        return None

    os.fsync = no_sync
    os.fdatasync = no_sync
    from swift.obj import diskfile

    for module in (utils, diskfile):
        for name in ("fsync", "fdatasync", "fsync_dir"):
            if hasattr(module, name):
                setattr(module, name, no_sync)
    utils.set_swift_dir(workdir)
    reload_storage_policies()
    null_log = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    for kind in SERVERS:
        app = loadapp(os.path.join(workdir, f"{kind}-server.conf"))
        eventlet.spawn(wsgi.server, sockets[kind], app, log=null_log, max_size=1000)
    eventlet.sleep(0)
    print(f"READY {ports['proxy']}", flush=True)
    parent = os.getppid()
    while os.getppid() == parent:  # never outlive the test run that started it
        eventlet.sleep(1)


if __name__ == "__main__":
    main()
