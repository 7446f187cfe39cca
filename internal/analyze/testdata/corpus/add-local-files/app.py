from helpers import ok


def handler(event, context):
    return ok()
