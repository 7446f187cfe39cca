#!/bin/sh
# The stand-in Python base image's entrypoint: CMD names the handler
# ("module.function"), and the runtime client serves it over the Lambda
# Runtime API at AWS_LAMBDA_RUNTIME_API. -S keeps Python from processing the
# image's dist-packages (its .pth files import from there); the client sets
# sys.path as Lambda's.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"
exec /usr/bin/python3 -u -S /var/runtime/bootstrap.py "$1"
