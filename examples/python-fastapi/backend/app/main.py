"""The FastAPI app and the Lambda handler that serves it."""
from fastapi import FastAPI
from mangum import Mangum

from .routers import health, orders

app = FastAPI(title="orders", version="1.0.0")
app.include_router(health.router)
app.include_router(orders.router, prefix="/orders")

handler = Mangum(app, lifespan="off")
