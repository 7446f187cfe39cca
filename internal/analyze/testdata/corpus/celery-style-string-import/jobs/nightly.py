import pandas


def run():
    return pandas.__version__
