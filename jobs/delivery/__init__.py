"""The delivery job: campaign_events -> rebatched, rate-limited provider sends -> message_sends.

Layout, stage by stage:
    plan.py      which Delta files to read (driver), today's caps, carry-over work
    source.py    reading event files into per-group chunks, skipping what is recorded
    rebatch.py   groups of at most 50 per (retailer, run, channel, variant)
    limits.py    token bucket, daily cap and circuit breaker (per retailer workspace)
    controls.py  pause and resume (campaign_controls)
    sender.py    one batch through the provider: retries, backoff, outcomes
    results.py   message_sends rows, committed in batches with the source version
    flink.py     the PyFlink functions and the job graph
"""
