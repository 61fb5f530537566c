"""VOEvent Transport Protocol listener (pygcn's wire format): GCN classic, local brokers.

Configuration (``listeners: voevent:``), named as ``gcn.listen`` names them::

    voevent:
      host: [45.58.43.186, 68.169.57.253]   # tried in turn
      port: 8099
      ivorn: ivo://python_voeventclient/anonymous   # who we are, in our responses
      iamalive_timeout: 150                 # seconds of silence before reconnecting
      max_reconnect_timeout: 1024           # seconds, back-off ceiling
      max_packet_bytes: 16777216            # default: max_notice_bytes
      packet_timeout: 60                    # seconds to receive one whole packet

Unlike ``gcn.listen``, which acknowledges a VOEvent *before* handing it over, this
source sends the ``ack`` only from :meth:`VOEventTCPSource.commit`, i.e. after the
notice is in the database. The protocol has no replay: what arrives while no
listener is connected is lost for this listener (run two, on two hosts; the
sha256 dedupe makes that harmless). pygcn's response builder is reused; packets
are read here, because pygcn allocates whatever length a packet announces: the
4-byte length prefix is checked against ``max_packet_bytes`` before anything is
allocated, the payload is received in pieces within ``packet_timeout``, and a
packet announcing more is stored as a rejected notice (its first bytes, the
reason) and the connection dropped (the stream cannot be resynchronised).
"""

from __future__ import annotations

import itertools
import logging
import select
import socket
import struct
import time
from typing import Any

from .loop import Message

__all__ = ["VOEventTCPSource", "voevent_source"]

log = logging.getLogger(__name__)

_VOEVENT_TAGS = ("{http://www.ivoa.net/xml/VOEvent/v1.1}VOEvent",
                 "{http://www.ivoa.net/xml/VOEvent/v2.0}VOEvent")
_TRANSPORT_TAGS = ("{http://telescope-networks.org/schema/Transport/v1.1}Transport",
                   "{http://www.telescope-networks.org/xml/Transport/v1.1}Transport")


class VOEventTCPSource:
    """A VOEvent TCP client that acknowledges only stored notices."""

    name = "voevent"

    def __init__(self, hosts: list[str], ports: list[int], *,
                 ivorn: str = "ivo://python_voeventclient/anonymous",
                 iamalive_timeout: float = 150.0, max_reconnect_timeout: float = 1024.0,
                 max_packet_bytes: int = 16 << 20, packet_timeout: float = 60.0):
        self._all = list(zip(hosts, ports, strict=True))
        self._servers = itertools.cycle(self._all)
        self.ivorn = ivorn
        self.iamalive_timeout = iamalive_timeout
        self.max_reconnect_timeout = max_reconnect_timeout
        self.max_packet_bytes = max_packet_bytes
        self.packet_timeout = packet_timeout
        self._sock: socket.socket | None = None
        self._peer = ""
        self._backoff = 1.0
        self._next_attempt = 0.0

    # -- connection -----------------------------------------------------------
    def _connect(self) -> bool:
        if time.monotonic() < self._next_attempt:
            return False
        host, port = next(self._servers)
        try:
            sock = socket.create_connection((host, port), timeout=10.0)
        except OSError as exc:
            log.warning("voevent: cannot connect to %s:%s (%s); retry in %.0f s",
                        host, port, exc, self._backoff)
            self._next_attempt = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, self.max_reconnect_timeout)
            return False
        sock.settimeout(self.iamalive_timeout)
        self._sock, self._peer, self._backoff = sock, f"{host}:{port}", 1.0
        self._last_packet = time.monotonic()
        log.info("voevent: connected to %s", self._peer)
        return True

    def _drop(self, why: str) -> None:
        log.warning("voevent: %s: %s; reconnecting", self._peer, why)
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None

    def _recv(self, n: int, deadline: float, partial: bool = False) -> bytes:
        """``n`` bytes, received in pieces (memory grows only as they arrive).

        With ``partial``, what arrived by the deadline (or the close) is returned.
        """
        assert self._sock is not None
        buf = bytearray()
        while len(buf) < n:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError(f"packet not complete within {self.packet_timeout:g} "
                                       f"s ({len(buf)} of {n} bytes)")
                self._sock.settimeout(min(left, self.iamalive_timeout))
                piece = self._sock.recv(min(n - len(buf), 1 << 16))
                if not piece:
                    raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
            except (OSError, TimeoutError):
                if partial:
                    break
                raise
            buf += piece
        return bytes(buf)

    def _recv_packet(self) -> bytes | Message:
        """The next packet's payload, or a rejected :class:`Message` for an oversize one."""
        deadline = time.monotonic() + self.packet_timeout
        (length,) = struct.unpack(">I", self._recv(4, deadline))
        if length <= self.max_packet_bytes:
            return self._recv(length, deadline)
        reason = (f"voevent: packet from {self._peer} announces {length} bytes, over the "
                  f"{self.max_packet_bytes}-byte limit; connection dropped")
        # keep what comes quickly of its start, as evidence
        head = self._recv(min(length, 4096), time.monotonic() + 2.0, partial=True)
        self._drop(reason)
        return Message(payload=head, topic=self._peer, raw=None,
                       problem=reason + f"; first {len(head)} bytes kept")

    def check(self, timeout: float = 10.0) -> str:
        """Connect for real to each configured server once; what answered.

        Raises
        ------
        RuntimeError
            When none of the servers accepts a connection.
        """
        failures = []
        for host, port in dict.fromkeys(self._all):
            try:
                socket.create_connection((host, port), timeout=timeout).close()
                return f"connected to {host}:{port}"
            except OSError as exc:
                failures.append(f"{host}:{port}: {exc}")
        raise RuntimeError("voevent: no server accepts a connection: " + "; ".join(failures))

    # -- Source protocol --------------------------------------------------------
    def poll(self, timeout: float) -> list[Message]:
        from gcn.voeventclient import _form_response, _send_packet
        from lxml.etree import XMLSyntaxError, fromstring

        if self._sock is None and not self._connect():
            time.sleep(min(timeout, 0.2))
            return []
        ready, _, _ = select.select([self._sock], [], [], timeout)
        if not ready:
            if time.monotonic() - self._last_packet > self.iamalive_timeout:
                self._drop("no packet within iamalive_timeout")
            return []
        peer = self._peer
        try:
            payload = self._recv_packet()
        except (OSError, struct.error, TimeoutError) as exc:
            self._drop(f"receive failed ({exc})")
            return []
        self._last_packet = time.monotonic()
        if isinstance(payload, Message):
            payload.topic = peer
            return [payload]
        try:
            root = fromstring(payload)
        except XMLSyntaxError:
            # Not XML: still a notice as far as we are concerned (stored, rejected at parse).
            return [Message(payload=payload, topic=self._peer, raw=None)]
        if root.tag in _TRANSPORT_TAGS and root.attrib.get("role") == "iamalive":
            origin = root.find("Origin")
            _send_packet(self._sock, _form_response(
                "iamalive", origin.text if origin is not None else "", self.ivorn,
                time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())))
            return []
        ivorn = root.attrib.get("ivorn") if root.tag in _VOEVENT_TAGS else None
        return [Message(payload=payload, topic=self._peer, raw=ivorn)]

    def commit(self, message: Message) -> None:
        from gcn.voeventclient import _form_response, _send_packet

        if message.raw is None or self._sock is None:
            return
        _send_packet(self._sock, _form_response(
            "ack", message.raw, self.ivorn, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())))

    def lag(self) -> dict[tuple[str, int], int | None]:
        return {}

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def voevent_source(conf: dict[str, Any]) -> VOEventTCPSource:
    """Build the VOEvent TCP listener from its config (defaults: the GCN classic servers)."""
    from gcn.voeventclient import _validate_host_port

    from ...config import load_settings

    hosts, ports = _validate_host_port(conf.get("host", ["45.58.43.186", "68.169.57.253"]),
                                       conf.get("port", 8099))
    return VOEventTCPSource(list(hosts), [int(p) for p in ports],
                            ivorn=conf.get("ivorn", "ivo://python_voeventclient/anonymous"),
                            iamalive_timeout=float(conf.get("iamalive_timeout", 150)),
                            max_reconnect_timeout=float(conf.get("max_reconnect_timeout",
                                                                 1024)),
                            max_packet_bytes=int(conf.get("max_packet_bytes")
                                                 or load_settings().max_notice_bytes),
                            packet_timeout=float(conf.get("packet_timeout", 60)))
