from distutils.util import strtobool
import imp


def handler(event, context):
    return bool(strtobool(event.get('flag', 'no')))
