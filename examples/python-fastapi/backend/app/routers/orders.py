from typing import Dict

from fastapi import APIRouter, HTTPException

from ..models import Order, OrderIn
from ..settings import settings

router = APIRouter(tags=["orders"])

PRICES_CENTS = {"tea": 350, "coffee": 420, "cake": 500}
_orders: Dict[int, Order] = {}


@router.post("", response_model=Order, status_code=201)
def create_order(order: OrderIn) -> Order:
    if order.item not in PRICES_CENTS:
        raise HTTPException(status_code=422, detail=f"unknown item {order.item!r}")
    if order.quantity > settings.max_quantity:
        raise HTTPException(status_code=422, detail=f"at most {settings.max_quantity} per order")
    created = Order(id=len(_orders) + 1, item=order.item, quantity=order.quantity,
                    total_cents=PRICES_CENTS[order.item] * order.quantity, currency=settings.currency)
    _orders[created.id] = created
    return created


@router.get("/{order_id}", response_model=Order)
def get_order(order_id: int) -> Order:
    if order_id not in _orders:
        raise HTTPException(status_code=404, detail=f"no order {order_id}")
    return _orders[order_id]
