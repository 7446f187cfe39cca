import starlette.responses
import pydantic
import pydantic_core
import anyio
import typing_extensions
import annotated_types
import sniffio
import idna
import mangum


def handler(event, context):
    return {}
