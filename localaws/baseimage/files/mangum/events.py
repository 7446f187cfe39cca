"""API Gateway events to ASGI HTTP requests, and ASGI responses back to the
results API Gateway expects.

Two payload formats are understood: 2.0, which HTTP APIs send by default and
Lambda function URLs always send, and 1.0, which REST APIs send (and HTTP
APIs configured for it).
"""
import base64
from urllib.parse import unquote, urlencode

UNRECOGNISED = ("The adapter was unable to infer a handler to use for the event. This is likely related to how the "
                "Lambda function was invoked. (Are you testing locally? Make sure the request payload is valid for a "
                "supported handler.)")

# Content types whose bodies go back as text; any other body goes as base64.
# Types ending in +json or +xml count as text too.
TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml",
              "application/x-www-form-urlencoded", "application/graphql")


class Request:
    """An HTTP request taken from an event: the payload version, the ASGI
    scope and the body."""

    def __init__(self, version, scope, body):
        self.version, self.scope, self.body = version, scope, body


def payload_version(event):
    """The event's payload format, "2.0" or "1.0"; None for any other event."""
    if not isinstance(event, dict) or not isinstance(event.get("requestContext"), dict):
        return None
    context = event["requestContext"]
    if event.get("version") == "2.0" and isinstance(context.get("http"), dict) and "method" in context["http"]:
        return "2.0"
    if isinstance(event.get("httpMethod"), str) and isinstance(event.get("path"), str) and "elb" not in context:
        return "1.0"
    return None


def request(event, context, base_path="/"):
    """The request an API Gateway event carries, as an ASGI 3 HTTP scope and
    a body; base_path is stripped from the path. RuntimeError for any other event."""
    version = payload_version(event)
    if version is None:
        raise RuntimeError(UNRECOGNISED)
    ctx = event["requestContext"]
    if version == "2.0":
        method = ctx["http"]["method"]
        path = event.get("rawPath") or ctx["http"].get("path") or "/"
        query = event.get("rawQueryString") or ""
        headers = list((event.get("headers") or {}).items())
        if event.get("cookies"):
            headers.append(("cookie", "; ".join(event["cookies"])))
        client = ctx["http"].get("sourceIp", "")
    else:
        method = event["httpMethod"]
        path = event["path"] or "/"
        params = event.get("multiValueQueryStringParameters") or event.get("queryStringParameters") or {}
        query = urlencode(params, doseq=True)
        if event.get("multiValueHeaders"):
            headers = [(k, v) for k, values in event["multiValueHeaders"].items() for v in values or ()]
        else:
            headers = list((event.get("headers") or {}).items())
        client = (ctx.get("identity") or {}).get("sourceIp", "")
    headers = [(k.lower(), v) for k, v in headers if isinstance(v, str)]
    named = dict(headers)
    scheme = named.get("x-forwarded-proto", "https")
    host, _, port = (named.get("host") or ctx.get("domainName") or "localhost").partition(":")
    port = named.get("x-forwarded-port", port)
    body = event.get("body") or ""
    body = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": scheme,
        "path": unquote(strip_base_path(path, base_path)),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(k.encode(), v.encode()) for k, v in headers],
        "client": (client, 0),
        "server": (host, int(port) if port.isdigit() else (80 if scheme == "http" else 443)),
        "aws.event": event,
        "aws.context": context,
    }
    return Request(version, scope, body)


def strip_base_path(path, base_path):
    """The path without a leading base path ("/api" of "/api/items")."""
    base = "/" + (base_path or "").strip("/")
    if base != "/" and (path == base or path.startswith(base + "/")):
        return path[len(base):] or "/"
    return path


def response(version, status, headers, body, text_types=TEXT_TYPES, exclude_headers=()):
    """The Lambda result for an ASGI response: for payload 2.0, headers
    joined with commas and cookies apart; for 1.0, multi-valued headers in
    multiValueHeaders. The body is text for text content types, else base64."""
    named = {}
    for name, value in headers:
        named.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    for name in exclude_headers:
        named.pop(name, None)
    content_type = named.get("content-type", [""])[0].split(";")[0].strip().lower()
    as_text = "content-encoding" not in named and (
        content_type.startswith(tuple(text_types)) or content_type.endswith(("+json", "+xml")))
    result = {"statusCode": status}
    if version == "2.0":
        cookies = named.pop("set-cookie", [])
        result["headers"] = {k: ", ".join(v) for k, v in named.items()}
        result["cookies"] = cookies
    else:
        result["headers"] = {k: v[0] for k, v in named.items() if len(v) == 1}
        result["multiValueHeaders"] = {k: v for k, v in named.items() if len(v) > 1}
    result["body"], result["isBase64Encoded"] = encode_body(body, as_text)
    return result


def encode_body(body, as_text):
    """The body as Lambda returns it, and whether that is base64."""
    if not body:
        return "", False
    if as_text:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True
