"""Results: provider events into the warehouse, attribution, and the reports built on them.

ingest.py        each workspace's event export into delivery_events, exactly once
attribution.py   orders to the last touch (click, open, send) within its window
catalog.py       every table, the configuration's dimensions and sql/ as Spark views
dashboards.py    one HTML dashboard per retailer, from the same SQL reports
"""
