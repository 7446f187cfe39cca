import importlib

JOBS = ['jobs.nightly']


def handler(event, context):
    for name in JOBS:
        importlib.import_module(name).run()
