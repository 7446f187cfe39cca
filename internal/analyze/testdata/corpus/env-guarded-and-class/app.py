import os

try:
    PORT = os.environ['PORT']
except KeyError:
    PORT = '8080'


class Settings:
    table = os.environ['TABLE']

    def bucket(self):
        return os.environ['BUCKET']


def handler(event, context):
    return Settings.table
