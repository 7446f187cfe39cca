import requests


def handler(event, context):
    return {}
