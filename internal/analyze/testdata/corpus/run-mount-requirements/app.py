import requests
import structlog


def handler(event, context):
    return {}
