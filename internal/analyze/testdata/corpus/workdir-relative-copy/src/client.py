import httpx
import h11


def fetch():
    return httpx.get('https://example.com').status_code
