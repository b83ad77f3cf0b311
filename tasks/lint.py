"""The lint task: check a local folder before any API call, publish the report as a table artifact."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import acreate_table_artifact

from bria_api.lint import LintReport, LintRules, lint_folder
from tasks._common import TAGS


@task(name="lint-images", task_run_name="lint-{folder.name}", tags=TAGS, timeout_seconds=900)
async def lint_images(folder: Path, rules: LintRules | None = None, fail_on_error: bool = True) -> LintReport:
    """Lint the folder; errors fail the task (and the flow) before anything is created or spent.

    The report carries the upload manifest (content hash per file), from the same single read of each file.
    """
    logger = get_run_logger()
    report = lint_folder(Path(folder), rules or LintRules())
    rows = report.as_rows() or [
        {"path": str(folder), "severity": "info", "code": "ok", "message": "no findings"}
    ]
    await acreate_table_artifact(rows, key="lint-report", description=f"Lint of {folder}: {report.summary()}")
    for finding in report.findings:
        log = logger.error if finding.severity.value == "error" else logger.info
        log("%s", finding.message)
    logger.info("lint: %s", report.summary())
    if fail_on_error:
        report.raise_for_errors()
    return report
