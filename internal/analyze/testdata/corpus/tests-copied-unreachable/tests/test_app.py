import pytest
import app


def test_handler():
    assert app.handler({}, None) == {}
