"""A small Lambda runtime client for the stand-in Python base image.

It speaks the Lambda Runtime API (next, response, error, init/error) and
shapes its errors and log lines like AWS's awslambdaric does. As on Lambda,
the handler sees only the standard library, the task root and layers: not
the image's own dist-packages. So the client itself uses the standard
library alone.
"""
import importlib
import json
import os
import sys
import time
import traceback
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"


def post(path, body, headers=None):
    data = json.dumps(body).encode()
    req = urllib.request.Request(API + path, data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    urllib.request.urlopen(req).read()


def error_body(etype, message, tb=None):
    return {"errorMessage": message, "errorType": etype, "requestId": "",
            "stackTrace": traceback.format_list(traceback.extract_tb(tb)) if tb else []}


def log_error(etype, message, tb=None):
    lines = "[ERROR] %s: %s" % (etype, message)
    if tb is not None:
        lines += "\nTraceback (most recent call last):\n" + "".join(traceback.format_list(traceback.extract_tb(tb)))
    print(lines.replace("\n", "\r"), flush=True)


def init_error(etype, message, tb=None):
    log_error(etype, message, tb)
    post("/init/error", error_body(etype, message, tb), {"Lambda-Runtime-Function-Error-Type": etype})
    sys.exit(1)


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
        self._deadline = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")

    def get_remaining_time_in_millis(self):
        return max(self._deadline - int(time.time() * 1000), 0)


def lambda_path():
    """sys.path as Lambda's: the task root, the layers (/opt/python), any
    PYTHONPATH, then the standard library; no site- or dist-packages."""
    version = "python%d.%d" % sys.version_info[:2]
    stdlib = [p for p in sys.path if p.startswith(os.path.join(sys.base_prefix, "lib", ""))
              and not p.rstrip("/").endswith(("site-packages", "dist-packages"))]
    path = [os.environ.get("LAMBDA_TASK_ROOT", "/var/task"), "/opt/python/lib/%s/site-packages" % version, "/opt/python"]
    path += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p] + stdlib
    return list(dict.fromkeys(path))


def load(handler):
    sys.path[:] = lambda_path()
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        init_error("Runtime.MalformedHandlerName", "Bad handler '%s': not enough values to unpack (expected 2, got 1)" % handler)
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as e:
        init_error("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_name, e))
    except SyntaxError as e:
        init_error("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (module_name, e))
    except Exception as e:
        init_error(type(e).__name__, str(e), sys.exc_info()[2])
    fn = getattr(module, function_name, None)
    if fn is None:
        init_error("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (function_name, module_name))
    return fn


def main():
    handler = load(sys.argv[1] if len(sys.argv) > 1 else os.environ["_HANDLER"])
    while True:
        with urllib.request.urlopen(API + "/invocation/next") as resp:
            headers = dict(resp.headers)
            event = json.loads(resp.read() or b"null")
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        try:
            result = handler(event, Context(headers))
            post("/invocation/%s/response" % request_id, result)
        except Exception as e:
            tb = sys.exc_info()[2]
            log_error(type(e).__name__, str(e), tb)
            post("/invocation/%s/error" % request_id, error_body(type(e).__name__, str(e), tb),
                 {"Lambda-Runtime-Function-Error-Type": "Unhandled"})


if __name__ == "__main__":
    main()
