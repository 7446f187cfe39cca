from google.cloud import storage
from google.cloud import bigquery
import google.protobuf.json_format
from google.protobuf import timestamp_pb2
import google.auth


def handler(event, context):
    return storage.Client().project
