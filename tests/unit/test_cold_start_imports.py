"""What a cold start of the responder loads: checked by module, never by the clock.

`import recorder_guard.app` in a fresh interpreter must not load the code of paths the first
event does not take (backstop, doctor, findings, restart, Slack, the local runner), and no
class on its path may be a `dataclasses.dataclass` (each compiles its methods at import;
`domain.values.value` is the cheap equivalent). docs/development.md, "Performance", has the
measured effect.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import ROOT

SRC = ROOT / "src"

PROBE = """
import dataclasses, json, sys
import recorder_guard.app
ours = {name: module for name, module in sys.modules.items() if name.startswith("recorder_guard")}
print(json.dumps({
    "modules": sorted(ours),
    "dataclasses": sorted(
        f"{name}.{key}"
        for name, module in ours.items()
        for key, item in vars(module).items()
        if isinstance(item, type) and item.__module__ == name and dataclasses.is_dataclass(item)
    ),
}))
"""

NOT_ON_THE_COLD_PATH = {
    "recorder_guard.aws.doctor",
    "recorder_guard.aws.episodes",  # loaded when a stop opens an episode
    "recorder_guard.aws.redrive",
    "recorder_guard.aws.restart",
    "recorder_guard.aws.securityhub",
    "recorder_guard.aws.alert_events",
    "recorder_guard.domain.doctor",
    "recorder_guard.domain.finding",
    "recorder_guard.domain.notice",
    "recorder_guard.domain.remediation",
    "recorder_guard.flows.backstop",
    "recorder_guard.render.backstop",
    "recorder_guard.render.slack",
    "recorder_guard.local",
}


def cold_import() -> dict[str, list[str]]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_cold_start_loads_only_the_responders_path_and_no_dataclass() -> None:
    loaded = cold_import()
    assert "recorder_guard.flows.responder" in loaded["modules"]
    assert NOT_ON_THE_COLD_PATH.isdisjoint(loaded["modules"]), sorted(
        NOT_ON_THE_COLD_PATH & set(loaded["modules"])
    )
    assert loaded["dataclasses"] == []
