"""lambdacontainer's stand-in for mangum: runs an ASGI app (FastAPI,
Starlette, ...) as an AWS Lambda handler.

    from mangum import Mangum
    handler = Mangum(app, lifespan="auto")

It understands API Gateway HTTP API events (payload 2.0, and Lambda function
URLs, which share it) and REST API events (payload 1.0), and follows
mangum's API so apps run unchanged on either. It is written for the local
Python base image, whose Debian has no mangum package.
"""
from mangum.adapter import Mangum
from mangum.exceptions import ConfigurationError, LifespanFailure, LifespanUnsupported, UnexpectedMessage

__all__ = ["Mangum", "ConfigurationError", "LifespanFailure", "LifespanUnsupported", "UnexpectedMessage"]
