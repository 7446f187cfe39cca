import importlib
from importlib import import_module

plugin = importlib.import_module('plugins.extra')
cache = import_module('redis')
name = 'plugins.' + 'extra'
other = importlib.import_module(name)


def handler(event, context):
    return plugin.run()
