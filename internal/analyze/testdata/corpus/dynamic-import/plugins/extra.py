def run():
    return 'extra'
