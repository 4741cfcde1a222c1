from services.dashboard.models import metadata
from shared.migrations import run_env

run_env(metadata)
