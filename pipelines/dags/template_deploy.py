"""Airflow DAG: templates to every retailer's workspace, on demand (trigger it) and on change.

Every ten minutes the deploy compares the template library and the retailers'
brands with what the last successful deploy recorded; unchanged, the task is
skipped (exit 99) without a request to any workspace. Changed or triggered, it
validates, then writes only the templates whose content differs per workspace.
"""

from __future__ import annotations

from airflow.sdk import Param

from campaigns_tasks import campaigns_dag, job_task

with campaigns_dag(
    "template_deploy",
    description="validate and deploy the Liquid library to every workspace",
    schedule="*/10 * * * *",
    params={"force": Param(False, type="boolean", description="deploy even if unchanged")},
    tags=["campaigns", "templates"],
    doc_md=__doc__,
) as dag:
    job_task(
        "deploy_templates",
        ["deploy-templates", "{{ '' if params.force else '--if-changed' }}"],
    )
