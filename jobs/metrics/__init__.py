"""Metrics in Prometheus's format: where a job's figures are published, what is waiting in
the warehouse, and what each batch job's last run did (delivery's own per-workspace
counters are in jobs/delivery/metrics.py).

Labels are retailer ids, channels, statuses, reasons and job names, never a customer,
an address or a message id (docs/operations.md#metrics lists every series).
"""
