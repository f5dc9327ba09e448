"""EventBridge Scheduler for the sandbox, driven by the local Lambda runtime's clock (see :class:`Schedule`).

rate(), cron() and at() schedules in state ENABLED fire on the sandbox clock (``clock_factor`` times real time):
a Lambda target is invoked asynchronously with the target's Input, a Step Functions state machine target gets
StartExecution as the target's role; context attributes such as ``<aws.scheduler.scheduled-time>`` are replaced in
the Input. cron() fields L, W and # are refused.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.sandbox.lambda_function import SandboxUnsupported
from tests.sandbox.service_roles import service_role_session

if TYPE_CHECKING:
    from tests.sandbox.lambda_runtime import LocalLambdaRuntime


_UNIT_SECONDS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}


def _cron_field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The values a cron field allows; None for * and ? (any)."""
    if text in ("*", "?"):
        return None
    if re.search(r"[LW#]", text):
        raise SandboxUnsupported(f"cron field {text!r}: L, W and # are not supported by the sandbox")
    values: set[int] = set()
    for part in text.split(","):
        part_range, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if part_range == "*":
            start, end = low, high
        else:
            bounds = [
                int(names[b.upper()]) if names and b.upper() in names else int(b)
                for b in part_range.split("-")
            ]
            start, end = bounds[0], bounds[-1] if len(bounds) > 1 else (high if step_text else bounds[0])
        values.update(range(start, end + 1, step))
    return values


class Schedule:
    """One EventBridge Scheduler schedule, fired on the sandbox clock.

    Targets (EventBridge Scheduler User Guide, "Using templated targets"): a Lambda function is invoked
    asynchronously with the target's Input; a Step Functions state machine gets a StartExecution with the Input,
    made as the target's RoleArn would make it ("Set up the execution role": the role must trust
    ``scheduler.amazonaws.com`` and allow ``states:StartExecution`` on the machine): the request goes to the
    emulator over HTTP signed with a session of that role, so the ``iam-request-context`` patch decides. A refused
    or failed delivery is recorded in :attr:`failed_deliveries` and the runtime's notes (RetryPolicy and
    DeadLetterConfig are not exercised).

    Context attributes ("Adding context attributes in EventBridge Scheduler",
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html) are replaced in
    the Input of every target: ``<aws.scheduler.scheduled-time>`` by the time the schedule was due (for example
    ``2022-03-22T18:59:43Z``), ``<aws.scheduler.schedule-arn>``, ``<aws.scheduler.execution-id>`` (16 hex digits,
    new for each invocation) and ``<aws.scheduler.attempt-number>`` (always 1: no retries). Assumption: the
    execution started for a state machine is named after the execution id.
    """

    TARGET_SERVICES = ("lambda", "states")

    def __init__(self, runtime: LocalLambdaRuntime, config: dict) -> None:
        self.runtime = runtime
        self.name: str = config["Name"]
        self.arn: str = config.get("Arn") or ""
        self.expression: str = config["ScheduleExpression"]
        self.target_arn: str = config["Target"]["Arn"]
        self.role_arn: str = config["Target"].get("RoleArn") or ""
        self.input: str = config["Target"].get("Input") or "{}"
        parts = self.target_arn.split(":")
        self.service = parts[2] if len(parts) > 2 else ""
        if self.service == "states" and ":stateMachine:" not in self.target_arn:
            raise SandboxUnsupported(f"schedule {self.name}: target {self.target_arn} is not a state machine")
        self.zone = ZoneInfo(config.get("ScheduleExpressionTimezone") or "UTC")
        self.fires = 0
        self.started: list[str] = []  # execution ARNs started for a state machine target
        self.failed_deliveries: list[str] = []
        self._done = False
        rate = re.fullmatch(r"rate\((\d+)\s+(\w+)\)", self.expression)
        cron = re.fullmatch(r"cron\((.+)\)", self.expression)
        at = re.fullmatch(r"at\((.+)\)", self.expression)
        if rate:
            unit = rate.group(2).lower()
            if unit not in _UNIT_SECONDS:
                raise SandboxUnsupported(f"schedule {self.name}: unknown rate unit {unit}")
            self.period_s = int(rate.group(1)) * _UNIT_SECONDS[unit]
            self.kind = "rate"
        elif cron:
            fields = cron.group(1).split()
            if len(fields) != 6:
                raise SandboxUnsupported(f"schedule {self.name}: cron() needs six fields")
            self.cron = (
                _cron_field(fields[0], 0, 59),
                _cron_field(fields[1], 0, 23),
                _cron_field(fields[2], 1, 31),
                _cron_field(fields[3], 1, 12, _MONTHS),
                _cron_field(fields[4], 1, 7, _DAYS),
                _cron_field(fields[5], 1970, 2199),
            )
            self.kind = "cron"
        elif at:
            self.at = datetime.fromisoformat(at.group(1)).replace(tzinfo=self.zone).timestamp()
            self.kind = "at"
        else:
            raise SandboxUnsupported(f"schedule {self.name}: expression {self.expression} is not supported")
        self.next_due = self._next_after(runtime.sandbox_time())

    def _next_after(self, sandbox_now: float) -> float | None:
        if self.kind == "rate":
            return sandbox_now + self.period_s
        if self.kind == "at":
            return None if self._done else self.at
        minute, hour, dom, month, dow, year = self.cron
        moment = datetime.fromtimestamp(sandbox_now, self.zone).replace(second=0, microsecond=0)
        for _ in range(366 * 24 * 60):
            moment += timedelta(minutes=1)
            cron_dow = (moment.isoweekday() % 7) + 1  # SUN=1 .. SAT=7
            if (
                (minute is None or moment.minute in minute)
                and (hour is None or moment.hour in hour)
                and (dom is None or moment.day in dom)
                and (month is None or moment.month in month)
                and (dow is None or cron_dow in dow)
                and (year is None or moment.year in year)
            ):
                return moment.timestamp()
        return None

    def payload(self, scheduled: float, execution_id: str, attempt: int = 1) -> str:
        """The target's Input with the context attributes replaced."""
        values = {
            "<aws.scheduler.scheduled-time>": datetime.fromtimestamp(scheduled, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "<aws.scheduler.schedule-arn>": self.arn,
            "<aws.scheduler.execution-id>": execution_id,
            "<aws.scheduler.attempt-number>": str(attempt),
        }
        text = self.input
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        return text

    def tick(self, sandbox_now: float) -> None:
        if self.next_due is None or sandbox_now < self.next_due:
            return
        self.fires += 1
        execution_id = uuid.uuid4().hex[:16]
        payload = self.payload(self.next_due, execution_id)
        if self.service == "states":
            self._start_execution(payload, execution_id)
        else:
            self.runtime.invoke_async(self.target_arn, payload.encode())
        if self.kind == "at":
            self._done = True
            self.next_due = None
        elif self.kind == "rate":
            self.next_due += self.period_s
        else:
            self.next_due = self._next_after(sandbox_now)

    def _start_execution(self, payload: str, execution_id: str) -> None:
        region = self.target_arn.split(":")[3]
        try:
            session = service_role_session(self.role_arn, "scheduler.amazonaws.com", self.name[:64], region)
            client = boto3.client(
                "stepfunctions",
                region_name=region,
                endpoint_url=self.runtime.endpoint_url,
                aws_access_key_id=session["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=session["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=session["AWS_SESSION_TOKEN"],
                config=Config(retries={"max_attempts": 1}, account_id_endpoint_mode="disabled"),
            )
            started = client.start_execution(
                stateMachineArn=self.target_arn, name=execution_id, input=payload
            )
            self.started.append(started["executionArn"])
        except (PermissionError, ClientError, KeyError, ValueError) as exc:
            problem = f"schedule {self.name}: StartExecution of {self.target_arn} failed: {type(exc).__name__}: {exc}"
            self.failed_deliveries.append(problem)
            self.runtime._note(problem)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "expression": self.expression,
            "target": self.target_arn,
            "fires": self.fires,
            "failed_deliveries": len(self.failed_deliveries),
        }
