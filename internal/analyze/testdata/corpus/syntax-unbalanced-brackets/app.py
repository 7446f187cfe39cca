import json

CONFIG = dict(
    region='eu-west-1',
    retries=3,

def handler(event, context):
    import jmespath
    return json.dumps(CONFIG)
