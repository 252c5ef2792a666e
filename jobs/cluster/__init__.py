"""Running the jobs beyond one machine: what executors can import, the shipped package."""
