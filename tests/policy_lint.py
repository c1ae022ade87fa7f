"""Every IAM policy document both templates create, resolved for the five parameter sets of
test_self_protection.py, through parliament (a pinned IAM policy linter). A finding not in
tests/data/policy-findings-accepted.txt fails: accept one only with a one-line reason.

    python -m tests.policy_lint            (what `make lint-policies` runs)
    python -m tests.policy_lint --list     print every finding's key, accepted or not
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.integration.test_self_protection import CENTRAL_BUS, PARAMETER_SETS, Resolver
from tests.support import FORWARDER, ROOT, TEMPLATE, load_template

ACCEPTED = ROOT / "tests" / "data" / "policy-findings-accepted.txt"
FORWARDER_SETS = {
    "member-default": {"CentralEventBusArn": CENTRAL_BUS},
    "member-role-restart-backstop": {
        "CentralEventBusArn": CENTRAL_BUS,
        "ResponderRoleArn": "arn:aws:iam::111122223333:role/responder",
        "BackstopRoleArn": "arn:aws:iam::111122223333:role/backstop",
        "AllowRestart": "true",
    },
}


# What the resolver's tokens for resources (<Name>, <Name.Arn>) stand for, as an ARN of the
# right service and shape, so the linter reads real ARNs.
ARN_SHAPES = {
    "AWS::SNS::Topic": "sns:us-east-1:111122223333:{}",
    "AWS::SQS::Queue": "sqs:us-east-1:111122223333:{}",
    "AWS::Events::Rule": "events:us-east-1:111122223333:rule/{}",
    "AWS::Events::EventBus": "events:us-east-1:111122223333:event-bus/{}",
    "AWS::KMS::Key": "kms:us-east-1:111122223333:key/{}",
    "AWS::DynamoDB::Table": "dynamodb:us-east-1:111122223333:table/{}",
    "AWS::Serverless::Function": "lambda:us-east-1:111122223333:function:{}",
    "AWS::IAM::Role": "iam::111122223333:role/{}",
}


def with_arns(node: Any, types: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [with_arns(item, types) for item in node]
    if isinstance(node, dict):
        return {key: with_arns(value, types) for key, value in node.items()}
    match = re.fullmatch(r"<(\w+)(\.Arn)?>", node) if isinstance(node, str) else None
    if match and match.group(1) in types and types[match.group(1)] in ARN_SHAPES:
        return "arn:aws:" + ARN_SHAPES[types[match.group(1)]].format(match.group(1))
    return node


def documents(path: Path, sets: dict[str, dict[str, str]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, policy document) for every identity and resource policy in a template. Trust
    policies are left out: parliament reads them as identity policies without a Resource."""
    types = {i: r["Type"] for i, r in load_template(path)["Resources"].items()}
    for overrides in sets.values():
        resources = with_arns(Resolver(load_template(path), overrides, "run").resources(), types)
        for logical_id, resource in resources.items():
            properties = resource["Properties"]
            where = f"{path.name}:{logical_id}"
            for index, policy in enumerate(properties.get("Policies", [])):
                if isinstance(policy, dict) and "Statement" in policy:  # SAM inline policy
                    yield f"{where}.Policies[{index}]", {"Version": "2012-10-17", **policy}
                elif isinstance(policy, dict) and "PolicyDocument" in policy:
                    yield f"{where}.{policy['PolicyName']}", policy["PolicyDocument"]
            for key in ("KeyPolicy", "PolicyDocument"):
                if key in properties:
                    yield f"{where}.{key}", properties[key]


def findings() -> dict[str, str]:
    """finding key (file:resource.policy ISSUE) -> detail, over every parameter set."""
    from parliament import analyze_policy_string  # type: ignore[import-not-found]  # make lint-policies installs it

    found: dict[str, str] = {}
    for path, sets in ((TEMPLATE, PARAMETER_SETS), (FORWARDER, FORWARDER_SETS)):
        for where, document in documents(path, sets):
            policy = analyze_policy_string(json.dumps(document), ignore_private_auditors=True)
            for finding in policy.findings:
                found.setdefault(f"{where} {finding.issue}", str(finding.detail)[:200])
    return found


def accepted() -> dict[str, str]:
    """key -> reason, from the checked-in list (`key | reason` per line, # comments)."""
    entries = {}
    for line in ACCEPTED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, reason = line.partition(" | ")
            if not reason.strip():
                raise SystemExit(f"{ACCEPTED.name}: no reason given for {key!r}")
            entries[key.strip()] = reason.strip()
    return entries


def main(argv: list[str]) -> int:
    current = findings()
    if "--list" in argv:
        for key, detail in sorted(current.items()):
            print(f"{key}    # {detail}")
        return 0
    allowed = accepted()
    new = sorted(set(current) - set(allowed))
    gone = sorted(set(allowed) - set(current))
    for key in new:
        print(f"new policy finding: {key} ({current[key]})", file=sys.stderr)
    for key in gone:
        print(f"accepted finding no longer found (remove it): {key}", file=sys.stderr)
    print(
        f"parliament: {len(current)} findings, {len(new)} new, {len(gone)} stale", file=sys.stderr
    )
    return 1 if new or gone else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
