from fastapi import APIRouter

from ..settings import settings

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict:
    return {"status": "ok", "stage": settings.stage}
