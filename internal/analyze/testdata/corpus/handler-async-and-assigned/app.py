import asyncio
from typing import Callable


async def work(event):
    return event


async def async_handler(event, context):
    return await work(event)


sync_handler: Callable = lambda e, c: asyncio.run(async_handler(e, c))
