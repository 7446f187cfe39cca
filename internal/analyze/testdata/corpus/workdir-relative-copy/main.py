from src.client import fetch


def handler(event, context):
    return fetch()
