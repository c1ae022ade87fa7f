"""Command line: run the real handler locally against an embedded AWS (moto).

    python -m recorder_guard invoke EVENT.json [--json] [--verbose]
                             [--auto-restart [--dry-run] [--exempt ARN_PATTERN,...]]
    python -m recorder_guard render EVENT.json --format email|chatbot|slack|json
    python -m recorder_guard demo [FOLDER] [--auto-restart]
    python -m recorder_guard patterns      the EventBridge pattern of each rule, for template.yaml
    python -m recorder_guard redrive --queue-url URL --function NAME [--dry-run] [--limit N]
    python -m recorder_guard doctor --stack NAME [--region R ...] [--json] [--send-test]
                             [--member-role [NAME] --accounts A,B | --stack-set NAME]

doctor exits 0 when no check fails, 1 when one does, 2 when the stack cannot be read.
Exit codes otherwise: 0 alerted or ignored; 1 the event was rejected as malformed; 2 the file could
not be read or is not JSON; 3 an internal error. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recorder_guard.domain.cloudtrail import MalformedEventError
from recorder_guard.domain.rules import load_rules
from recorder_guard.render.chatbot import chat_preview
from recorder_guard.render.slack import render_slack

EXIT_REJECTED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


class CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def load_event(path: str) -> object:
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise CliError(f"cannot read {path}: {reason}", EXIT_BAD_INPUT) from error
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise CliError(
            f"{path} is not JSON: {error.msg} at line {error.lineno} column {error.colno}",
            EXIT_BAD_INPUT,
        ) from error


def run(path: str, *, verbose: bool, args: argparse.Namespace) -> dict[str, Any]:
    from recorder_guard.local import LocalOptions, invoke  # noqa: PLC0415 - moto only when used

    options = LocalOptions(
        auto_restart=args.auto_restart,
        remediation_mode="dry_run" if getattr(args, "dry_run", False) else "enforce",
        exempt_principal_arns=getattr(args, "exempt", "") or "",
    )
    event = load_event(path)
    try:
        return invoke(event, verbose=verbose, options=options)
    except MalformedEventError as error:
        raise CliError(f"rejected {path}: {error}", EXIT_REJECTED) from error


FORMATS = ("email", "chatbot", "slack", "json")
DEMO_ALL_RENDITIONS = "stop_recorder_assumed_role.json"


def rendition(request: dict[str, Any], form: str) -> str:
    """One channel's view of a published alert, exactly as that subscriber gets it."""
    message = json.loads(request["Message"])
    if form == "email":
        return f"Subject: {request['Subject']}\n\n{message['email']}"
    if form == "chatbot":
        return json.dumps(json.loads(message["https"]), indent=2, ensure_ascii=False)
    if form == "slack":
        payload = render_slack(json.loads(message["lambda"]))
        return json.dumps(payload, indent=2, ensure_ascii=False)
    return json.dumps(json.loads(message["sqs"]), indent=2, ensure_ascii=False)


def human_report(path: str, result: dict[str, Any]) -> str:
    lines = [f"== {path}", f"outcome: {result['outcome']} ({result['reason']})"]
    for request in result["published"]:
        message = json.loads(request["Message"])
        chat = json.loads(message["https"])
        if result["remediation"]:
            remediation = result["remediation"]
            lines.append(f"auto-restart: {remediation['outcome']} ({remediation['detail']})")
        lines += [
            f"recorder now: {result['recorder_state']}",
            f"published to: {request['TopicArn']}",
            "",
            f"---- email ---- Subject: {request['Subject']}",
            message["email"].rstrip(),
            "",
            "---- chat (AWS Chatbot custom notification, as Slack shows it) ----",
            chat_preview(chat),
            "",
        ]
    return "\n".join(lines)


def run_redrive(args: argparse.Namespace) -> int:
    import boto3  # noqa: PLC0415 - only this command talks to a real account

    from recorder_guard.aws.redrive import lambda_sender, redrive  # noqa: PLC0415

    session = boto3.Session(region_name=args.region)
    sender = lambda_sender(session.client("lambda"), args.function)
    report = redrive(
        session.client("sqs"), args.queue_url, sender, dry_run=args.dry_run, limit=args.limit
    )
    for event in report.listed:
        print(json.dumps(event))
    for line in report.failed:
        print(f"failed: {line}", file=sys.stderr)
    print(
        f"redriven: {len(report.redriven)}, failed: {len(report.failed)}"
        + (f", listed: {len(report.listed)}" if args.dry_run else ""),
        file=sys.stderr,
    )
    return 1 if report.failed else 0


def command_invoke(args: argparse.Namespace) -> int:
    result = run(args.event, verbose=args.verbose, args=args)
    print(json.dumps(result) if args.json else human_report(args.event, result))
    return 0


def command_render(args: argparse.Namespace) -> int:
    result = run(args.event, verbose=False, args=args)
    if not result["published"]:
        print(f"ignored: {result['reason']}", file=sys.stderr)
        return 0
    print(rendition(result["published"][0], args.format))
    return 0


def command_demo(args: argparse.Namespace) -> int:
    files = sorted(Path(args.folder).glob("*.json"))
    if not files:
        raise CliError(f"no *.json files in {args.folder}", EXIT_BAD_INPUT)
    for file in files:
        result = run(str(file), verbose=False, args=args)
        print(human_report(str(file), result))
        if file.name == DEMO_ALL_RENDITIONS and result["published"]:
            for form in ("slack", "json"):
                print(f"---- {form} rendition of {file.name} ----")
                print(rendition(result["published"][0], form) + "\n")
    return 0


def command_backstop(args: argparse.Namespace) -> int:
    from recorder_guard.local import backstop_scenario  # noqa: PLC0415 - moto only when used

    runs = backstop_scenario(verbose=args.verbose)
    if args.json:
        print(json.dumps(runs))
        return 0
    for run_ in runs:
        summary = run_["summary"]
        print(f"== backstop run at {run_['at']}: {run_['story']}")
        published = summary["published"] or "nothing"
        print(
            f"checked {summary['regions_checked']} region(s), {summary['recorders']} recorder(s),"
            f" {summary['not_recording']} not recording; published {published}"
        )
        for request in run_["published"]:
            message = json.loads(request["Message"])
            print(f"\n---- email ---- Subject: {request['Subject']}")
            print(message["email"].rstrip())
            print("\n---- chat (AWS Chatbot custom notification, as Slack shows it) ----")
            print(chat_preview(json.loads(message["https"])))
        print()
    return 0


def command_patterns(_: argparse.Namespace) -> int:
    print(json.dumps({rule.key: rule.event_pattern() for rule in load_rules()}, indent=2))
    return 0


# ---- doctor (issue #21): checks a deployed stack with the operator's own credentials --------
# Kept apart from the local-runner commands above: this block talks to a real account.

DOCTOR_MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def doctor_report(checks: list[Any]) -> str:
    """One line per check; the fix under every line that is not ok; a count at the end."""
    lines = []
    for check in checks:
        lines.append(f"{DOCTOR_MARKS[check.status]}  {check.area:<11} {check.name}: {check.detail}")
        if check.status != "ok" and check.fix:
            lines.append(f"{'':17}fix: {check.fix}")
    counts = {status: sum(c.status == status for c in checks) for status in DOCTOR_MARKS}
    lines.append(f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failure(s)")
    return "\n".join(lines)


def _doctor_regions(values: list[str] | None) -> list[str] | None:
    regions = [r.strip() for value in values or [] for r in value.split(",") if r.strip()]
    return regions or None


def doctor_send_test(args: argparse.Namespace, session: Any, stack: Any, now: Any) -> int:
    """Invoke the deployed responder with the synthetic test event; print what it published
    and where it should arrive."""
    from recorder_guard.aws.doctor import read_topic, send_test  # noqa: PLC0415
    from recorder_guard.domain.alert import Alert  # noqa: PLC0415
    from recorder_guard.domain.cloudtrail import parse_event  # noqa: PLC0415
    from recorder_guard.flows.responder import build_test_alert  # noqa: PLC0415
    from recorder_guard.render.chatbot import render_chatbot  # noqa: PLC0415
    from recorder_guard.render.email import render_email  # noqa: PLC0415

    function = stack.outputs.get("FunctionName")
    if not function:
        raise CliError(f"stack {stack.name} has no FunctionName output", EXIT_BAD_INPUT)
    identity = session.client("sts", region_name=stack.region).get_caller_identity()
    sent = send_test(
        session.client("lambda", region_name=stack.region),
        function,
        account=identity["Account"],
        region=stack.region,
        caller_arn=identity["Arn"],
        now=now,
    )
    summary = sent.summary
    alerted = sent.function_error is None and summary.get("outcome") == "alerted"
    topic_arn = stack.outputs.get("AlertTopicArn", "")
    topic = read_topic(session.client("sns", region_name=stack.region), "alert topic", topic_arn)
    if args.json:
        print(
            json.dumps(
                {
                    "sent": alerted,
                    "function": function,
                    "event": sent.event,
                    "response": summary,
                    "function_error": sent.function_error,
                    "subscriptions": [s.__dict__ for s in topic.subscriptions],
                }
            )
        )
        return 0 if alerted else 1
    if not alerted:
        print(f"test alert NOT published by {function}: {sent.function_error or ''} {summary}")
        return 1
    print(f"TEST alert published by {function} (event {sent.event['id']})")
    print(f"  subject:    {summary.get('subject')}")
    print(f"  message id: {summary.get('message_id')}")
    print(f"  topic:      {topic_arn}")
    for subscription in topic.subscriptions:
        state = "pending confirmation" if subscription.pending else "confirmed"
        print(f"  look in:    {subscription.protocol} {subscription.endpoint} ({state})")
    alert = build_test_alert(parse_event(sent.event), now)
    if isinstance(alert, Alert):
        print("\n---- email (as rendered by this version; the deployed one sent its own) ----")
        print(render_email(alert).rstrip())
        print("\n---- chat ----")
        print(chat_preview(render_chatbot(alert)))
    return 0


def command_doctor(args: argparse.Namespace) -> int:
    import boto3  # noqa: PLC0415 - only doctor and redrive talk to a real account

    from recorder_guard.aws.doctor import (  # noqa: PLC0415
        DoctorError,
        Reader,
        member_checks,
        read_stack,
        read_stack_instances,
        stack_checks,
    )
    from recorder_guard.domain.doctor import exit_status  # noqa: PLC0415

    regions = _doctor_regions(args.region)
    session = boto3.Session(profile_name=args.profile, region_name=args.stack_region)
    stack_region = session.region_name or (regions[0] if regions else None)
    if not stack_region:
        raise CliError("no region: pass --stack-region or set AWS_REGION", EXIT_BAD_INPUT)
    reader = Reader(session)
    now = datetime.now(UTC)
    try:
        stack = read_stack(reader.client("cloudformation", stack_region), args.stack, stack_region)
    except DoctorError as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    if args.send_test:
        return doctor_send_test(args, session, stack, now)
    checks = stack_checks(reader, stack, regions, now)
    if args.member_role is not None:
        bus = stack.outputs.get("CentralEventBusArn")
        if not bus:
            raise CliError(f"{args.stack} is not a central stack (no CentralEventBusArn)", 2)
        role = args.member_role or stack.parameters.get("MemberRoleName", "recorder-guard-member")
        instances = (
            read_stack_instances(
                reader.client("cloudformation", stack_region), args.stack_set, args.call_as
            )
            if args.stack_set
            else None
        )
        accounts = [a for a in (args.accounts or "").split(",") if a] or sorted(
            {i.account for i in instances or []}
        )
        if not accounts:
            raise CliError("--member-role needs --accounts or --stack-set", EXIT_BAD_INPUT)
        checks += member_checks(
            session,
            accounts=accounts,
            regions=regions or [stack_region],
            role_name=role,
            central_bus_arn=bus,
            instances=instances,
            partition=bus.split(":")[1],
        )
    if args.json:
        for check in checks:
            print(json.dumps(check.to_dict()))
    else:
        print(doctor_report(checks))
    return exit_status(checks)


def add_doctor_parser(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="check that a deployed stack would really alert (real AWS, read-only)",
        description=(
            "Reads the stack's resources and the account around them with your credentials"
            " (read-only) and prints one line per check: ok, WARN or FAIL with the fix."
            " Exit status 0 only when nothing fails."
        ),
    )
    doctor.add_argument("--stack", required=True, help="the stack name (sam deploy's)")
    doctor.add_argument(
        "--region",
        action="append",
        help="a region to check CloudTrail and recorders in (repeat, or comma-separated);"
        " default: the stack's region and its BackstopRegions",
    )
    doctor.add_argument("--stack-region", help="where the stack is; default: AWS_REGION/profile")
    doctor.add_argument("--profile", help="an AWS CLI profile")
    doctor.add_argument("--json", action="store_true", help="one JSON document per line")
    doctor.add_argument(
        "--send-test",
        action="store_true",
        help="invoke the deployed function with a TEST event and print what it published",
    )
    doctor.add_argument(
        "--member-role",
        nargs="?",
        const="",
        help="central mode: check each member account through this role"
        " (default: the stack's MemberRoleName)",
    )
    doctor.add_argument("--accounts", help="member accounts, comma-separated")
    doctor.add_argument("--stack-set", help="the forwarder StackSet: its instances are checked")
    doctor.add_argument(
        "--call-as",
        choices=("SELF", "DELEGATED_ADMIN"),
        default="SELF",
        help="how to read the StackSet (DELEGATED_ADMIN from a delegated administrator)",
    )


# ---- end of doctor ------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m recorder_guard",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True)
    invoke_cmd = commands.add_parser(
        "invoke", help="one EventBridge event file through the handler"
    )
    invoke_cmd.add_argument("event", help="JSON file: an EventBridge event as Lambda receives it")
    invoke_cmd.add_argument("--json", action="store_true", help="print one JSON object")
    invoke_cmd.add_argument("--verbose", action="store_true", help="handler logs on stderr")
    invoke_cmd.add_argument("--dry-run", action="store_true", help="with --auto-restart")
    invoke_cmd.add_argument("--exempt", help="comma-separated exempt principal ARN patterns")
    render_cmd = commands.add_parser("render", help="print one rendition of an event's alert")
    render_cmd.add_argument("event", help="JSON file: an EventBridge event as Lambda receives it")
    render_cmd.add_argument("--format", choices=FORMATS, default="email")
    demo_cmd = commands.add_parser("demo", help="every *.json file in a folder")
    demo_cmd.add_argument("folder", nargs="?", default="events")
    for command in (invoke_cmd, render_cmd, demo_cmd):
        command.add_argument(
            "--auto-restart", action="store_true", help="as with the AutoRestart parameter"
        )
    backstop_cmd = commands.add_parser(
        "backstop", help="the scheduled backstop's runs over a recorder that was never started"
    )
    backstop_cmd.add_argument("--json", action="store_true", help="print one JSON array")
    backstop_cmd.add_argument("--verbose", action="store_true", help="handler logs on stderr")
    commands.add_parser("patterns", help="print each rule's EventBridge pattern as JSON")
    redrive_cmd = commands.add_parser(
        "redrive", help="send dead-letter events back to the deployed function (real AWS)"
    )
    redrive_cmd.add_argument("--queue-url", required=True, help="the DeadLetterQueueUrl output")
    redrive_cmd.add_argument("--function", required=True, help="the FunctionName output")
    redrive_cmd.add_argument("--dry-run", action="store_true", help="list, send nothing")
    redrive_cmd.add_argument("--limit", type=int, help="at most this many messages")
    redrive_cmd.add_argument("--region", help="defaults to the AWS CLI configuration")
    add_doctor_parser(commands)
    return root


COMMANDS = {
    "invoke": command_invoke,
    "render": command_render,
    "demo": command_demo,
    "backstop": command_backstop,
    "patterns": command_patterns,
    "redrive": run_redrive,
    "doctor": command_doctor,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    except Exception as error:
        if os.environ.get("RECORDER_GUARD_DEBUG"):
            raise
        print(f"error: internal: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
