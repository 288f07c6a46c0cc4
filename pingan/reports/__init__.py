"""Reports apart from time: digests (日报/周报/阶段总结), the ledger (台账) and their charts. What
they say and to whom; when they go out is the scheduler's (pingan/scheduler/jobs.py)."""
