import os, \
    sys
from attr import (
    define,
    field,  # comment
)
from requests import \
    Session
import collections.abc as cabc; import pyyaml_missing_thing


def handler(event, context):
    return {}
