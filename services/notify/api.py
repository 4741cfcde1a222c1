"""HTTP API of the notify service."""

from fastapi import APIRouter

router = APIRouter(tags=["notify"])
