import sys

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

if sys.version_info < (3, 9):
    from backports.zoneinfo import ZoneInfo
else:
    from zoneinfo import ZoneInfo

if sys.platform == 'win32':
    import winreg_helpers


def handler(event, context):
    return tomllib.loads('a = 1')
