import json


def report(rows):
    import pandas as pd
    return pd.DataFrame(rows).to_csv()


def handler(event, context):
    if event.get('report'):
        return report(event['rows'])
    return json.dumps(event)
