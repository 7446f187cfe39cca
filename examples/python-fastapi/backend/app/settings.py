"""Settings, read from the function's environment once, at import time."""
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    stage: str
    currency: str
    max_quantity: int


def load() -> Settings:
    return Settings(
        stage=os.environ.get("STAGE", "dev"),
        currency=os.environ.get("CURRENCY", "EUR"),
        max_quantity=int(os.environ.get("MAX_QUANTITY", "100")),
    )


settings = load()
