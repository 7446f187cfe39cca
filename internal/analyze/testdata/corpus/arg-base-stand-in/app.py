import boto3
from distutils.version import LooseVersion


def handler(event, context):
    return str(LooseVersion('1.0'))
