import boto3


def handler(event, context):
    return {}
