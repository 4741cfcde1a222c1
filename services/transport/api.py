"""HTTP API of the transport service."""

from fastapi import APIRouter

router = APIRouter(tags=["transport"])
