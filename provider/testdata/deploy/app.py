import json

import typing_extensions  # noqa: F401  (a requirement, installed by the Dockerfile)

VERSION = "v1"


def handler(event, context):
    path = event.get("rawPath", "/")
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"path": path, "version": VERSION})}
