import distutils.version
import tomllib


def handler(event, context):
    return {}
