import yaml
import jinja2
import markupsafe
import multipart
import dateutil.parser
from bs4 import BeautifulSoup
import soupsieve


def handler(event, context):
    return {}
