from distutils.util import strtobool
import imp
import asyncore


def handler(event, context):
    return bool(strtobool(event.get('flag', 'no')))
