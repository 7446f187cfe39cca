def handler(event, context):
    return {}


if __name__ == '__main__':
    print(handler({}, None))
