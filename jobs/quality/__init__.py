"""Data quality gates (Great Expectations) that stop a job before it writes."""
