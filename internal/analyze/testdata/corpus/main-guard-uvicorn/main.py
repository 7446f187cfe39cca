from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()
handler = Mangum(app)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, port=8000)
