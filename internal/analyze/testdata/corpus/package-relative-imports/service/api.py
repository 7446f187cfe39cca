from .models import Item
from .util.text import slug
from ..shared import nothing  # beyond the top-level package: Python fails, but it is relative
import service.util.text as text


def handler(event, context):
    return {'slug': slug(Item(name=event['name']).name), 'mod': text.__name__}
