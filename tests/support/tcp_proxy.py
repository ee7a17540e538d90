"""A small TCP proxy a test can cut and restore, to take the broker away from one client only.

    proxy = await TcpProxy("127.0.0.1", 5672).start()
    bus = Bus(proxy.url(amqp_url), ...)      # the bus talks to RabbitMQ through the proxy
    await proxy.cut()                         # every connection dies, new ones are refused
    await proxy.restore()                     # connections go through again
    await proxy.close()

The machine's RabbitMQ is never touched: only this client's path to it is broken. While cut,
the listening socket stays bound (so no one else can take the port) but every new
connection is closed at once, which a client sees exactly like a broker that is away.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.host = host
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()
        self.accepted = 0  # connections that went through (not refused)
        self.refused = 0   # connections closed at once because the proxy was cut

    @classmethod
    def for_url(cls, url: str) -> TcpProxy:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5672)

    def url(self, url: str) -> str:
        """``url`` (amqp://user:pw@host:port/vhost?...) pointed at the proxy instead."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{self.host}:{self.port}" if userinfo else f"{self.host}:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def is_cut(self) -> bool:
        return self._cut

    @property
    def open_connections(self) -> int:
        return len(self._writers) // 2

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def cut(self) -> None:
        """Drop every open connection (both sides, abruptly) and refuse new ones."""
        self._cut = True
        for writer in list(self._writers):
            _abort(writer)
        self._writers.clear()
        await asyncio.sleep(0)  # let the pipes see the reset

    async def restore(self) -> None:
        """Accept and forward connections again."""
        self._cut = False

    async def close(self) -> None:
        self._cut = True
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            _abort(writer)
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def __aenter__(self) -> TcpProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- internals ---------------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            if self._cut:
                self.refused += 1
                _abort(writer)
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(self.target_host,
                                                                     self.target_port)
            except OSError:
                _abort(writer)
                return
            if self._cut:  # cut while connecting upstream
                _abort(writer)
                _abort(up_writer)
                return
            self.accepted += 1
            self._writers.update((writer, up_writer))
            try:
                await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
            finally:
                self._writers.discard(writer)
                self._writers.discard(up_writer)
                _abort(writer)
                _abort(up_writer)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while not self._cut:
                data = await reader.read(65536)
                if not data or self._cut:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # Half of a pair ended: end the other half too, the way a dead peer would.
            _abort(writer)


def _abort(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    if transport is not None and not transport.is_closing():
        transport.abort()
