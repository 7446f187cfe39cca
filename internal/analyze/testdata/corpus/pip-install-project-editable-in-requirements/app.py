import click
import rich
import markdown_it
import httpx


def handler(event, context):
    return {}
