import boto3
import botocore.exceptions
from dateutil import parser
import urllib3

s3 = boto3.client('s3')


def handler(event, context):
    try:
        return s3.list_buckets()
    except botocore.exceptions.ClientError as e:
        return {'error': str(e), 'at': parser.isoparse('2024-01-01').isoformat()}
