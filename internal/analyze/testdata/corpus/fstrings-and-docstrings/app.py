'''Module doc.

import notamodule
'''
import json

NAME = 'x'
Q = f"{NAME!r:>{10}} {json.dumps({'a': 1})}"
NESTED = f"{f'{NAME}'} {"import fake"}"
RAW = r'\d+ import other'
TRIPLE = f'''
import alsofake {NAME}
'''
B = b'import bytesfake'


def handler(event, context):
    """import docfake"""
    return Q
