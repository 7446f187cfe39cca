import requests
import numpy as np


def main(event, context):
    return float(np.mean([1, 2]))
