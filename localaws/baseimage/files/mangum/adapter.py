"""The Mangum handler: each invocation runs the app's lifespan startup, one
HTTP request, and the lifespan shutdown, on an event loop kept between
invocations."""
import asyncio
import logging

from mangum import events
from mangum.exceptions import ConfigurationError, LifespanFailure, LifespanUnsupported, UnexpectedMessage

logger = logging.getLogger("mangum")


class Mangum:
    """A Lambda handler, handler(event, context), for an ASGI 3 app.

    lifespan: "auto" runs the app's lifespan startup and shutdown around
    each request if the app supports the lifespan protocol, "on" requires
    it, "off" skips it. api_gateway_base_path is stripped from request paths
    (a custom domain's base path mapping). text_mime_types are content types
    returned as text besides the usual ones; any other body is returned as
    base64. exclude_headers are left out of responses.
    """

    def __init__(self, app, lifespan="auto", api_gateway_base_path="/", text_mime_types=None, exclude_headers=None):
        if lifespan not in ("auto", "on", "off"):
            raise ConfigurationError("Invalid argument supplied for `lifespan`. Choices are: auto|on|off")
        self.app = app
        self.lifespan = lifespan
        self.api_gateway_base_path = api_gateway_base_path or "/"
        self.text_mime_types = events.TEXT_TYPES + tuple(text_mime_types or ())
        self.exclude_headers = tuple(h.lower() for h in exclude_headers or ())
        self._lifespan_unsupported = False
        self._loop = None

    def __call__(self, event, context):
        request = events.request(event, context, self.api_gateway_base_path)
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
        status, headers, body = self._loop.run_until_complete(self._serve(request))
        return events.response(request.version, status, headers, body, self.text_mime_types, self.exclude_headers)

    async def _serve(self, request):
        lifespan = None
        if self.lifespan != "off" and not self._lifespan_unsupported:
            lifespan = Lifespan(self.app, self.lifespan)
            if not await lifespan.startup():
                self._lifespan_unsupported, lifespan = True, None
        if lifespan is not None:
            request.scope["state"] = dict(lifespan.state)
        try:
            return await http(self.app, request.scope, request.body)
        finally:
            if lifespan is not None:
                await lifespan.shutdown()


class Lifespan:
    """One run of the app's lifespan protocol: startup, then shutdown."""

    def __init__(self, app, mode):
        self.app, self.mode, self.state = app, mode, {}
        self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
        self._task = None

    async def startup(self):
        """Runs the app's startup. False if the app does not speak the
        lifespan protocol and the mode is "auto"; LifespanFailure if it fails."""
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        self._task = asyncio.ensure_future(self.app(scope, self._to_app.get, self._from_app.put))
        # None tells the waiting side that the app's lifespan has returned.
        self._task.add_done_callback(lambda _: self._from_app.put_nowait(None))
        await self._to_app.put({"type": "lifespan.startup"})
        message = await self._from_app.get()
        if message is None:
            error = await self._ended()
            if self.mode == "auto":
                logger.info("ASGI 'lifespan' protocol appears unsupported.")
                return False
            raise LifespanUnsupported("The app's lifespan returned before its startup completed.") from error
        await self._check(message, "startup")
        return True

    async def shutdown(self):
        """Runs the app's shutdown; LifespanFailure if it fails."""
        await self._to_app.put({"type": "lifespan.shutdown"})
        message = await self._from_app.get()
        if message is None:
            raise LifespanFailure("The app's lifespan returned before its shutdown completed.") from await self._ended()
        await self._check(message, "shutdown")
        await self._ended()

    async def _check(self, message, phase):
        if message["type"] == "lifespan.%s.complete" % phase:
            return
        await self._ended()
        if message["type"] == "lifespan.%s.failed" % phase:
            raise LifespanFailure(message.get("message") or "The app's lifespan %s failed." % phase)
        raise UnexpectedMessage("Unexpected ASGI message %r during the lifespan %s." % (message.get("type"), phase))

    async def _ended(self):
        """Waits for the app's lifespan to return; what it raised, if anything."""
        try:
            await self._task
        except Exception as e:
            return e
        return None


async def http(app, scope, body):
    """Runs one request through the app: its status, headers and body. An app
    that fails before it has responded in full answers 500."""
    status, headers, chunks = None, [], []
    complete = asyncio.Event()
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        if pending:
            return pending.pop()
        # The client stays until the response is out, as over HTTP.
        await complete.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        nonlocal status, headers
        kind = message.get("type")
        if kind == "http.response.start" and status is None:
            status, headers = message["status"], list(message.get("headers") or [])
        elif kind == "http.response.body" and status is not None and not complete.is_set():
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                complete.set()
        else:
            raise UnexpectedMessage("Unexpected ASGI message %r." % kind)

    try:
        await app(scope, receive, send)
    except Exception:
        logger.exception("Exception in ASGI application")
    if not complete.is_set():
        return 500, [(b"content-type", b"text/plain; charset=utf-8")], b"Internal Server Error"
    return status, headers, b"".join(chunks)
