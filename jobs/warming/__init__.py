"""Automated IP warming: a plan per pool, advanced each morning from yesterday's deliverability."""
