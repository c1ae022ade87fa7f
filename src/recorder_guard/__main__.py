"""Command line: run the real handlers locally against an embedded AWS (moto).

    python -m recorder_guard invoke EVENT.json [--json] [--verbose]
                             [--auto-restart [--dry-run] [--exempt ARN_PATTERN,...]]
    python -m recorder_guard render EVENT.json [--format email|chatbot|slack|json]
                             [--auto-restart [--dry-run] [--exempt ARN_PATTERN,...]]
    python -m recorder_guard demo [FOLDER] [--auto-restart [--dry-run] [--exempt ...]]
    python -m recorder_guard backstop [--json] [--verbose]
    python -m recorder_guard patterns
    python -m recorder_guard gallery [FOLDER]
    python -m recorder_guard redrive --queue-url URL --function NAME [--dry-run] [--limit N]
    python -m recorder_guard doctor --stack NAME [--region R ...] [--json] [--send-test]
                             [--member-role [NAME] --accounts A,B | --stack-set NAME]

Only redrive and doctor talk to a real AWS account. Errors are one line on stderr; the exit
codes close every --help.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recorder_guard.aws.publish import received_by
from recorder_guard.domain.cloudtrail import MalformedEventError
from recorder_guard.domain.rules import load_rules
from recorder_guard.render.chatbot import chat_preview
from recorder_guard.render.slack import render_slack

EXIT_ALERTED = 0
EXIT_IGNORED = 1
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_REJECTED = 3
EXIT_INTERNAL = 4
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a reader that went away
EXIT_CODES = f"""exit codes:
  {EXIT_ALERTED}    alerted, or the command did what it was asked
  {EXIT_IGNORED}    ignored: a well-formed event that is not ours; nothing published
  {EXIT_USAGE}    usage: bad arguments, or the event file cannot be read or is not JSON
  {EXIT_REJECTED}    rejected: not an EventBridge event at all; nothing published
  {EXIT_INTERNAL}    error: something failed inside (RECORDER_GUARD_DEBUG=1 shows the
       traceback); for redrive, a message that could not be sent back
  {EXIT_BROKEN_PIPE}  the reader of the output went away (as `| head` does); nothing on stderr
doctor's own: 0 no check failed (warnings allowed), 1 a check failed, 2 the stack cannot
be read or the arguments are wrong
"""


class CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def load_event(path: str) -> object:
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise CliError(f"cannot read {path}: {reason}", EXIT_USAGE) from error
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise CliError(
            f"{path} is not JSON: {error.msg} at line {error.lineno} column {error.colno}",
            EXIT_USAGE,
        ) from error


def run(path: str, *, verbose: bool, args: argparse.Namespace) -> dict[str, Any]:
    """The event through the handler at the event's own clock (`local.event_clock`)."""
    from recorder_guard.local import LocalOptions, event_clock, invoke  # noqa: PLC0415

    options = LocalOptions(
        auto_restart=getattr(args, "auto_restart", False),
        remediation_mode="dry_run" if getattr(args, "dry_run", False) else "enforce",
        exempt_principal_arns=getattr(args, "exempt", "") or "",
    )
    event = load_event(path)
    try:
        return invoke(event, verbose=verbose, options=options, now=event_clock(event))
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
        return json.dumps(json.loads(received_by(message, "https")), indent=2, ensure_ascii=False)
    if form == "slack":
        payload = render_slack(json.loads(received_by(message, "lambda")))
        return json.dumps(payload, indent=2, ensure_ascii=False)
    return json.dumps(json.loads(received_by(message, "sqs")), indent=2, ensure_ascii=False)


def human_report(path: str, result: dict[str, Any]) -> str:
    lines = [
        f"== {path}",
        "clock: the event's time + 150 s (a sample replayed as if just delivered)",
        f"outcome: {result['outcome']} ({result['reason']})",
    ]
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
        session.client("sqs"),
        args.queue_url,
        sender,
        dry_run=args.dry_run,
        limit=args.limit,
        function=args.function,
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
    return EXIT_INTERNAL if report.failed else EXIT_ALERTED


def outcome_code(result: dict[str, Any]) -> int:
    return EXIT_ALERTED if result["outcome"] == "alerted" else EXIT_IGNORED


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


NOTICE_NOUNS = {
    "alert": ("alert", "alerts"),
    "reminder": ("reminder", "reminders"),
    "resolved": ("resolution", "resolutions"),
    "gone": ("closing notice", "closing notices"),
    "digest": ("digest", "digests"),
}


def notices_text(published: dict[str, int]) -> str:
    """`{'alert': 1}` as a person says it: `1 alert`; nothing as `nothing`."""
    parts = [
        plural(count, *NOTICE_NOUNS.get(kind, (kind, kind + "s")))
        for kind, count in published.items()
        if count
    ]
    return ", ".join(parts) or "nothing"


def rule_of(request: dict[str, Any]) -> str:
    return str(request["MessageAttributes"]["rule_name"]["StringValue"])


def demo_summary(results: list[dict[str, Any]], runs: list[dict[str, Any]]) -> str:
    """What the demo showed, in a few lines a person reads."""
    by_rule: dict[str, int] = {}
    for result in results:
        for request in result["published"]:
            by_rule[rule_of(request)] = by_rule.get(rule_of(request), 0) + 1
    alerted = sum(result["outcome"] == "alerted" for result in results)
    backstop = ", then ".join(notices_text(run_["summary"]["published"]) for run_ in runs)
    return "\n".join(
        [
            "== summary",
            f"{plural(len(results), 'sample event')}: {alerted} alerted,"
            f" {len(results) - alerted} ignored (not ours, nothing published).",
            *(
                f"  {count} {name}"
                for name, count in sorted(by_rule.items(), key=lambda item: -item[1])
            ),
            f"Backstop, {plural(len(runs), 'run')} over a recorder that was never started:"
            f" {backstop}.",
            "Each alert is one SNS publish: the email, chat and JSON renditions shown above.",
        ]
    )


def command_invoke(args: argparse.Namespace) -> int:
    result = run(args.event, verbose=args.verbose, args=args)
    print(json.dumps(result) if args.json else human_report(args.event, result))
    return outcome_code(result)


def command_render(args: argparse.Namespace) -> int:
    result = run(args.event, verbose=False, args=args)
    if not result["published"]:
        print(f"ignored: {result['reason']}", file=sys.stderr)
        return EXIT_IGNORED
    print(rendition(result["published"][0], args.format))
    return EXIT_ALERTED


def command_demo(args: argparse.Namespace) -> int:
    files = sorted(Path(args.folder).glob("*.json"))
    if not files:
        raise CliError(f"no *.json files in {args.folder}", EXIT_USAGE)
    results = []
    for file in files:
        result = run(str(file), verbose=False, args=args)
        results.append(result)
        print(human_report(str(file), result))
        if file.name == DEMO_ALL_RENDITIONS and result["published"]:
            for form in ("slack", "json"):
                print(f"---- {form} rendition of {file.name} ----")
                print(rendition(result["published"][0], form) + "\n")
    runs = print_backstop_runs(verbose=False)
    print(demo_summary(results, runs))
    return EXIT_ALERTED


GALLERY_FORMS = {
    "subject.txt": "subject",
    "email.txt": "email",
    "chat.json": "chatbot",
    "slack.json": "slack",
}
# Samples also shown after a verified auto-restart: the alert's words change with it.
GALLERY_RESTARTED = ("stop_recorder_assumed_role.json",)


def gallery(folder: str) -> dict[str, str]:
    """file name -> content: every sample event's alert in every format, at the event's own
    clock, so the output depends on the code and the samples only."""
    files: dict[str, str] = {}
    for path in sorted(Path(folder).glob("*.json")):
        variants = [("", False)]
        if path.name in GALLERY_RESTARTED:
            variants.append((".restarted", True))
        for suffix, restart in variants:
            args = argparse.Namespace(auto_restart=restart)
            result = run(str(path), verbose=False, args=args)
            stem = path.stem + suffix
            if not result["published"]:
                files[f"{stem}.ignored.txt"] = f"ignored ({result['reason']})\n"
                continue
            request = result["published"][0]
            for extension, form in GALLERY_FORMS.items():
                text = request["Subject"] if form == "subject" else rendition(request, form)
                if form == "email":
                    text = json.loads(request["Message"])["email"]
                files[f"{stem}.{extension}"] = text.rstrip("\n") + "\n"
    return files


def command_gallery(args: argparse.Namespace) -> int:
    """Write the gallery (docs/alerts/); files no sample produces any more are removed."""
    target = Path(args.output)
    target.mkdir(parents=True, exist_ok=True)
    files = gallery(args.events)
    for stale in target.iterdir():
        if stale.is_file() and stale.name not in files and stale.name != "README.md":
            stale.unlink()
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to {target}", file=sys.stderr)
    return 0


def command_backstop(args: argparse.Namespace) -> int:
    if args.json:
        from recorder_guard.local import backstop_scenario  # noqa: PLC0415 - moto when used

        print(json.dumps(backstop_scenario(verbose=args.verbose)))
        return EXIT_ALERTED
    print_backstop_runs(verbose=args.verbose)
    return EXIT_ALERTED


def print_backstop_runs(*, verbose: bool) -> list[dict[str, Any]]:
    from recorder_guard.local import backstop_scenario  # noqa: PLC0415 - moto only when used

    runs = backstop_scenario(verbose=verbose)
    for run_ in runs:
        summary = run_["summary"]
        print(f"== backstop run, {run_['at']}: {run_['story']}")
        print(
            f"checked {plural(summary['regions_checked'], 'region')},"
            f" {plural(summary['recorders'], 'recorder')}:"
            f" {summary['not_recording']} not recording;"
            f" published {notices_text(summary['published'])}"
        )
        for request in run_["published"]:
            message = json.loads(request["Message"])
            print(f"\n---- email ---- Subject: {request['Subject']}")
            print(message["email"].rstrip())
            print("\n---- chat (AWS Chatbot custom notification, as Slack shows it) ----")
            print(chat_preview(json.loads(message["https"])))
        print()
    return runs


def command_patterns(_: argparse.Namespace) -> int:
    print(json.dumps({rule.key: rule.event_pattern() for rule in load_rules()}, indent=2))
    return EXIT_ALERTED


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
        raise CliError(f"stack {stack.name} has no FunctionName output", EXIT_USAGE)
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
        raise CliError("no region: pass --stack-region or set AWS_REGION", EXIT_USAGE)
    reader = Reader(session)
    now = datetime.now(UTC)
    try:
        stack = read_stack(reader.client("cloudformation", stack_region), args.stack, stack_region)
    except DoctorError as error:
        raise CliError(str(error), EXIT_USAGE) from error
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
            raise CliError("--member-role needs --accounts or --stack-set", EXIT_USAGE)
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
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    invoke_cmd = command("invoke", "one EventBridge event file through the handler")
    invoke_cmd.add_argument("event", help="JSON file: an EventBridge event as Lambda receives it")
    invoke_cmd.add_argument("--json", action="store_true", help="print one JSON object")
    invoke_cmd.add_argument("--verbose", action="store_true", help="handler logs on stderr")
    render_cmd = command("render", "print one rendition of an event's alert")
    render_cmd.add_argument("event", help="JSON file: an EventBridge event as Lambda receives it")
    render_cmd.add_argument("--format", choices=FORMATS, default="email")
    demo_cmd = command("demo", "every *.json file in a folder, then the backstop, then a summary")
    demo_cmd.add_argument("folder", nargs="?", default="events")
    for runner in (invoke_cmd, render_cmd, demo_cmd):
        runner.add_argument(
            "--auto-restart", action="store_true", help="as with the AutoRestart parameter"
        )
        runner.add_argument(
            "--dry-run", action="store_true", help="with --auto-restart: RemediationMode=dry_run"
        )
        runner.add_argument(
            "--exempt",
            metavar="ARN_PATTERN,...",
            help="with --auto-restart: ExemptPrincipalArns, comma-separated",
        )
        runner.set_defaults(subparser=runner)
    backstop_cmd = command(
        "backstop", "the scheduled backstop's runs over a recorder that was never started"
    )
    backstop_cmd.add_argument("--json", action="store_true", help="print one JSON array")
    backstop_cmd.add_argument("--verbose", action="store_true", help="handler logs on stderr")
    command("patterns", "print each rule's EventBridge pattern as JSON")
    gallery_cmd = command("gallery", "every sample event's alert in every format, into a folder")
    gallery_cmd.add_argument("output", nargs="?", default="docs/alerts")
    gallery_cmd.add_argument("--events", default="events", help="folder of sample events")
    redrive_cmd = command(
        "redrive", "send dead-letter events back to the deployed function (real AWS)"
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
    "gallery": command_gallery,
    "redrive": run_redrive,
    "doctor": command_doctor,
}


def check_arguments(args: argparse.Namespace) -> None:
    """Options that mean nothing alone are refused, never silently ignored (exit 2)."""
    if getattr(args, "auto_restart", True):
        return
    given = [
        option
        for option in ("--dry-run", "--exempt")
        if getattr(args, option[2:].replace("-", "_"))
    ]
    if given:
        it = "them" if len(given) > 1 else "it"
        args.subparser.error(
            f"{' and '.join(given)} only {'apply' if len(given) > 1 else 'applies'} with"
            f" --auto-restart (add --auto-restart, or leave {it} out)"
        )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    check_arguments(args)
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # Like `head`: the reader has what it wanted. Point stdout at /dev/null so the
        # interpreter's own flush at exit cannot fail again, and say nothing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return 128 + 2  # SIGINT, as a shell reports it
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
