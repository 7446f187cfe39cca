import json
import yaml


def handler(event, context):
    match event.get('op'):
        case 'dump':
            return json.dumps(event)
        case _:
            return None
