"""The errors the adapter raises, named as mangum names them."""


class ConfigurationError(Exception):
    """Mangum was given an argument it can't use."""


class LifespanFailure(Exception):
    """The app's lifespan startup or shutdown failed."""


class LifespanUnsupported(Exception):
    """The app does not speak the lifespan protocol (lifespan="on" demands it)."""


class UnexpectedMessage(Exception):
    """The app sent an ASGI message out of turn."""
