"""Request bodies past the size limit are refused with 413 before they are read into memory.

The body is only ever read through ``receive``; this wraps it so that a declared
``Content-Length`` over the limit fails the first read, and a chunked body fails as soon as the
bytes received pass the limit. The failure is :class:`~qstation.errors.PayloadTooLarge`, which
the error handlers turn into the usual JSON error. A request whose handler never reads its body
(a refused login token, say) is answered without reading it at all.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qstation.errors import PayloadTooLarge


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared > self.max_bytes:
                raise self._too_large()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, limited_receive, send)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"the request body is larger than {self.max_bytes:,} bytes (QSTATION_MAX_REQUEST_BYTES)"
        )


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0  # the server itself refuses a malformed length
    return 0
