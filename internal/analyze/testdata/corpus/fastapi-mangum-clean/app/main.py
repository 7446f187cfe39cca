from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel

app = FastAPI(title="orders")


class Order(BaseModel):
    id: str
    quantity: int = 1


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.post("/orders")
def create(order: Order) -> Order:
    return order


handler = Mangum(app, lifespan="off")
