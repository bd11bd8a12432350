"""Celery task of screening: a thin, idempotent wrapper over services.execute_import."""

from celery import shared_task

from . import services


@shared_task(
    name=services.IMPORT_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=2,
)
def import_register(self, run_id: int) -> dict:
    """Compare one imported register. A worker killed mid-run leaves the message unacknowledged: it is redelivered."""
    try:
        run = services.execute_import(run_id)
    except Exception as exc:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            services.mark_failed(run_id, f"{type(exc).__name__}: {exc}")
        if self.request.is_eager:
            return {"run": run_id, "status": "failed"}
        raise
    return {"run": run.pk, "status": run.status}
