import requests
from aws_lambda_powertools import Logger
import orjson

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event, context):
    return requests.get(event['url'], timeout=2).status_code
