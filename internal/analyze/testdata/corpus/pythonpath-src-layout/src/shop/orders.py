import requests


def place(event):
    return event
