"""HTTP API of the quarantine service."""

from fastapi import APIRouter

router = APIRouter(tags=["quarantine"])
