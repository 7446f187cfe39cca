import httpx
import anyio
import tenacity


def handler(event, context):
    return {}
