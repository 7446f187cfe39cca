import json
import logging
from datetime import datetime, timezone

log = logging.getLogger()


def handler(event, context):
    log.info('event %s', json.dumps(event))
    return {'statusCode': 200, 'body': datetime.now(timezone.utc).isoformat()}
