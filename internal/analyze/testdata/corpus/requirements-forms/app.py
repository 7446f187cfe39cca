import orjson
import simplejson
import uvicorn
import httpx
import my_lib
import attr
import cachetools
import sentry_sdk
import tenacity
from fastapi import FastAPI


def handler(event, context):
    return orjson.dumps({'v': my_lib.VALUE}).decode()
