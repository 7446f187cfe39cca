"""The API's request and response bodies."""
from pydantic import BaseModel, Field


class OrderIn(BaseModel):
    item: str = Field(..., min_length=1)
    quantity: int = Field(..., gt=0)


class Order(OrderIn):
    id: int
    total_cents: int
    currency: str
