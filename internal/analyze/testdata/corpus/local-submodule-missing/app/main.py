import app.services.billing
from app.services import mail


def handler(event, context):
    return {}
