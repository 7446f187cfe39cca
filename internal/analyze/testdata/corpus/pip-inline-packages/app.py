import httpx
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()
client = httpx.Client()
handler = Mangum(app)
