import os

TABLE = os.environ['TABLE_NAME']


def handler(event, context):
    return TABLE
