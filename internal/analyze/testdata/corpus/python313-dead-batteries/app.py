import cgi
import telnetlib
import json


def handler(event, context):
    return cgi.escape('x')
