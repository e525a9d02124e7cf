"""Prefect flows: thin orchestration over the followup library (schedules, retries, artifacts)."""
