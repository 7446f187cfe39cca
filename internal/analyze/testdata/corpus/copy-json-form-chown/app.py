import util


def handler(event, context):
    return util.VALUE
