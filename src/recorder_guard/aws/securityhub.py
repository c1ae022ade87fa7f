"""Findings into Security Hub with BatchImportFindings, under the account's default product.

With the default product ARN the caller must be the account the finding is about
(`AwsAccountId`): "BatchImportFindings must be called by ... the AWS account that is associated
with a finding if you are using the default product ARN"
(https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html). So a
member account's finding is imported through its member role, in its region. A 200 response
can still reject findings one by one (`FailedFindings`, e.g. `InvalidAccess` where Security
Hub is not enabled): that is a failure too.
"""

from __future__ import annotations

from typing import Any

from recorder_guard.aws.errors import error_code
from recorder_guard.domain.values import value

FINDINGS_PERMISSIONS = ("securityhub:BatchImportFindings",)


@value
class ImportResult:
    finding_id: str
    imported: bool
    error: str | None = None  # why not: an error code and message, never the finding itself


def import_finding(securityhub: Any, finding: dict[str, Any]) -> ImportResult:
    """One finding, one call; every failure is returned, never raised (the SNS alert is out
    already and must not be retried because of Security Hub)."""
    finding_id = str(finding["Id"])
    try:
        response = securityhub.batch_import_findings(Findings=[finding])
    except Exception as error:  # any botocore error: counted and logged by the caller
        return ImportResult(finding_id, False, error_code(error))
    failed = response.get("FailedFindings") or []
    if response.get("FailedCount") or failed:
        first = failed[0] if failed else {}
        reason = f"{first.get('ErrorCode', 'Failed')}: {first.get('ErrorMessage', '')}".strip()
        return ImportResult(finding_id, False, reason[:300])
    return ImportResult(finding_id, True)
