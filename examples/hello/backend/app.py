import json


def handler(event, context):
    path = event.get("rawPath", "/")
    if path == "/health":
        return {"statusCode": 200, "body": json.dumps({"status": "ok"})}
    return {"statusCode": 404, "body": json.dumps({"error": f"no route for {path}"})}
