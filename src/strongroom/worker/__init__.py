"""The worker process: enrollment, claim loop, staged pipeline, scratch dirs (no Django).

Entry point: ``strongroom.worker.main.run_worker(WorkerConfig(...))``.
"""
