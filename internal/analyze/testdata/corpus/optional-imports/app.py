import contextlib

try:
    import ujson as json
except ImportError:
    import json

try:
    import orjson
except Exception:
    orjson = None

try:
    from rich import print
except:  # noqa: E722
    pass

with contextlib.suppress(ModuleNotFoundError):
    import uvloop

try:
    import numpy
except (ModuleNotFoundError, AttributeError):
    numpy = None


def handler(event, context):
    return json.dumps(event)
