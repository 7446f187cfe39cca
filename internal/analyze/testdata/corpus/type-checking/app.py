from __future__ import annotations

import typing
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from aws_lambda_typing.context import Context

if typing.TYPE_CHECKING:
    import pandas
else:
    pandas = None


def handler(event: dict, context: Context) -> dict:
    s3: S3Client = boto3.client('s3')
    return {'buckets': len(s3.list_buckets()['Buckets'])}
