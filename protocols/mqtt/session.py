"""The broker connection's edges: connecting without races, and saying plainly why the broker dropped us.

``connect()`` replaces ``aiomqtt.Client.__aenter__`` for the adapter. A broker refusing us (wrong password)
answers CONNACK "not authorized" and closes the socket at once; paho reports both in one read, but aiomqtt's
connect task may not have woken up yet when the close is seen. The CONNACK's reason code is recorded as it
arrives, so the refusal wins over the close however the event loop orders them.

``DropTracker`` turns a lost connection into a sentence: MQTT 5 brokers say "Session taken over" (0x8E) when
another client connects with our client id; MQTT 3.1.1 brokers just close, so a connection that the broker
accepts at once and then closes within seconds, twice in a row, is reported as a probable client-id clash.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

AUTH_CODES = {4, 5, 134, 135}  # CONNACK bad username or password / not authorized (3.1.1 and 5)
SESSION_TAKEN_OVER = 0x8E  # MQTT 5 DISCONNECT reason: another connection used our client id


class ClosedAfterConnack(aiomqtt.MqttError):
    """The broker accepted the connection and closed it before we could use it (e.g. a client-id takeover)."""


def reason_code(exc: BaseException | None) -> int | None:
    """The MQTT reason code behind an aiomqtt error (aiomqtt chains the code of a disconnect as the cause)."""
    seen = 0
    while exc is not None and seen < 5:
        rc = getattr(exc, "rc", None)
        if rc is not None:
            return int(getattr(rc, "value", rc))
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


async def connect(client: aiomqtt.Client, timeout: float) -> None:
    """``client.__aenter__()``, but a CONNACK refusal always wins, and a close before any CONNACK fails at once.

    aiomqtt ignores a disconnect that comes before CONNACK and waits for its timeout instead (a broker that
    rejects our client certificate, or one that is shutting down). paho's client is aiomqtt's ``_client``.
    """
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[None] = loop.create_future()
    refused: list[Any] = []  # the reason code of a CONNACK that refused us
    paho_client = client._client
    inner_connect: Any = paho_client.on_connect  # aiomqtt's callbacks, always set
    inner_disconnect: Any = paho_client.on_disconnect

    def on_connect(*args: Any) -> None:
        rc = args[3]  # (client, userdata, flags, reason_code, properties)
        if getattr(rc, "is_failure", False) and not refused:
            refused.append(rc)
        inner_connect(*args)

    def on_disconnect(*args: Any) -> None:
        if not closed.done():
            closed.set_result(None)
        inner_disconnect(*args)
        # aiomqtt drops the disconnect error of a close right after CONNACK (it resets that future when its
        # connect resumes) and asyncio would log it as never retrieved; we report the close ourselves
        gone = client._disconnected
        if gone.done() and not gone.cancelled():
            gone.exception()

    paho_client.on_connect, paho_client.on_disconnect = on_connect, on_disconnect
    abandon = _closer(client)
    task: asyncio.Future[Any] = asyncio.ensure_future(client.__aenter__())
    try:
        await asyncio.wait([task, closed], timeout=timeout + 1, return_when=asyncio.FIRST_COMPLETED)
        if refused and not task.done():
            # the refusal is known; let aiomqtt see it too (it then resets its state) before we report it
            await asyncio.wait([task], timeout=2)
    except BaseException:
        abandon(task)  # cancelled while connecting (the gateway stops): leave no socket behind
        raise
    finally:
        paho_client.on_connect, paho_client.on_disconnect = inner_connect, inner_disconnect
    if task.done() and not refused:
        task.result()
        if closed.done():
            raise ClosedAfterConnack("the broker closed the connection right after accepting it")
        return
    abandon(task)
    if refused:
        raise MqttConnectError(refused[0])
    if closed.done():
        raise aiomqtt.MqttError("the broker closed the connection before accepting it (CONNACK)")
    raise TimeoutError(f"no CONNACK within {timeout:g} s")


def forget_drop(client: aiomqtt.Client) -> None:
    """Mark the error of aiomqtt's disconnect future as seen, now or when it comes: nobody awaits a client we
    give up, and asyncio would log "Future exception was never retrieved" when the future is collected."""
    gone = client._disconnected
    if gone.done():
        _seen(gone)
    else:
        gone.add_done_callback(_seen)


def _seen(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()


def _closer(client: aiomqtt.Client) -> Callable[[asyncio.Future[Any]], None]:
    """How to give up a connect attempt: stop aiomqtt's connect and close the socket paho holds or opens later.

    aiomqtt connects in an executor thread that a cancel does not stop; that thread queues aiomqtt's reader
    and writer (``call_soon_threadsafe``) as its socket opens. A socket closed at once could still get a
    queued reader on its closed (or reused) descriptor; a socket opened after the cancel would stay open,
    read the CONNACK, and fail ``_disconnected`` on the next drop with nobody to see it. So the close is
    queued behind any reader or writer, and a socket opened after the abandon is closed without one (paho's
    ``_sock_close`` also removes aiomqtt's reader and keep-alive task, which would otherwise outlive the loop).
    """
    loop = asyncio.get_running_loop()
    paho_client = client._client
    abandoned: list[bool] = []
    lock = threading.Lock()  # an add_reader/add_writer is queued either before the abandon's close, or never

    def close_soon() -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing left to read the socket
            loop.call_soon_threadsafe(paho_client._sock_close)

    def unless_abandoned(inner: Any) -> Callable[..., None]:
        def callback(*args: Any) -> None:  # in the connect thread: aiomqtt queues its add_reader / add_writer
            with lock:
                if not abandoned:
                    inner(*args)
                    return
            close_soon()  # a socket opened (or a CONNECT queued) after the abandon: close it, never watch it

        return callback

    def abandon(task: asyncio.Future[Any]) -> None:
        with lock:
            abandoned.append(True)
        task.cancel()
        task.add_done_callback(_seen)  # nobody awaits it any more
        forget_drop(client)
        close_soon()

    paho_client.on_socket_open = unless_abandoned(paho_client.on_socket_open)
    paho_client.on_socket_register_write = unless_abandoned(paho_client.on_socket_register_write)
    return abandon


class ConnectFailed(Exception):
    """A connect attempt that failed, in one sentence; ``login``: the broker refused our credentials (retrying
    will not help until someone fixes them); ``detail``: the error without the endpoint."""

    def __init__(self, message: str, detail: str, *, login: bool = False) -> None:
        super().__init__(message)
        self.detail = detail
        self.login = login


async def open_connection(client: aiomqtt.Client, timeout: float, drops: DropTracker, where: str) -> None:
    """``connect()`` telling ``drops`` how it went; ``ConnectFailed`` saying why it did not (the MQTT source and the
    northbound link report a broker the same way)."""
    try:
        await connect(client, timeout)
    except ClosedAfterConnack as exc:
        drops.connected()  # accepted, then closed: a short-lived connection, not an unreachable broker
        detail = drops.lost(exc) or str(exc)
        raise ConnectFailed(f"{where}: {detail}", detail) from None
    except aiomqtt.MqttCodeError as exc:
        drops.failed()
        login = getattr(exc.rc, "value", exc.rc) in AUTH_CODES
        raise ConnectFailed(f"{where} refused the connection: {exc}", str(exc), login=login) from None
    except (aiomqtt.MqttError, OSError, TimeoutError) as exc:
        drops.failed()
        detail = str(exc) or type(exc).__name__
        raise ConnectFailed(f"cannot connect to {where}: {detail}", detail) from None
    drops.connected()


class DropTracker:
    """Remembers how the last connections ended, to explain a broker dropping us."""

    def __init__(self, client_id: str, short: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.client_id = client_id
        self._clock = clock
        self.short = short  # a connection closed sooner than this after connecting counts as "right after"
        self.short_drops = 0  # such closes in a row, each after a connect that succeeded at the first attempt
        self._connected_at: float | None = None
        self._failed_since_drop = False

    def connected(self) -> None:
        """``start()`` succeeded."""
        if self._failed_since_drop:
            self.short_drops = 0  # the broker was really away in between: not a client-id fight
        self._failed_since_drop = False
        self._connected_at = self._clock()

    def failed(self) -> None:
        """``start()`` could not connect."""
        self._failed_since_drop = True
        self._connected_at = None

    def lost(self, exc: BaseException | None) -> str:
        """Record a lost connection; a sentence on why, when there is more to say than the error itself."""
        up = None if self._connected_at is None else self._clock() - self._connected_at
        self._connected_at = None
        if reason_code(exc) == SESSION_TAKEN_OVER:
            self.short_drops = 0
            return (
                f"the broker handed our session to another client using the same client id '{self.client_id}' "
                "(MQTT reason 0x8E Session taken over); give each gateway its own client_id"
            )
        self.short_drops = self.short_drops + 1 if up is not None and up < self.short else 0
        if self.short_drops >= 2:  # MQTT 3.1.1 (and some MQTT 5 brokers) close without a reason
            return (
                f"the broker closed the connection {self.short_drops} times in a row within {self.short:g} s of "
                f"accepting it; another client may be using client id '{self.client_id}'"
            )
        return ""
