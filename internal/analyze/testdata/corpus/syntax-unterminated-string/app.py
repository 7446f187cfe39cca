import requests
import yaml


GREETING = 'hello

import toml


def handler(event, context):
    return GREETING
