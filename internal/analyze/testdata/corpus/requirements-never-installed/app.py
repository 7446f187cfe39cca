import yaml


def handler(event, context):
    return yaml.safe_dump(event)
