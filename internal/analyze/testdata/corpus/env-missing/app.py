import os
from os import environ

TABLE = os.environ['TABLE_NAME']
LEVEL = os.environ['LOG_LEVEL']
REGION = os.environ['AWS_REGION']
BUCKET = environ["BUCKET"]
DEBUG = os.getenv('DEBUG')
STAGE = os.environ.get('STAGE', 'dev')
os.environ['PYTHONUNBUFFERED'] = '1'


def handler(event, context):
    return os.environ['ONLY_AT_CALL']


if __name__ == '__main__':
    print(os.environ['LOCAL_ONLY'])
