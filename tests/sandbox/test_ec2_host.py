"""The ec2_cron host's user data checks and its timer, without Terraform (tests/sandbox/ec2_host.py).

The sample user data is written as /work's ec2_cron spec says the module renders it; each malformed variant
changes one part and must be refused with a message that names that part.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.sandbox import ec2_host
from tests.sandbox.ec2_host import UserDataError, check_user_data

ARTIFACT_URI = "s3://cdc-demo-bucket/cdc/artifacts/ddb_cdc-0123456789abcdef.zip"
SERVICE_UNIT = """[Unit]
Description=ddb-cdc loader run (python -m ddb_cdc.cli load)
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
User=ddb-cdc
EnvironmentFile=/etc/ddb-cdc/loader.env
Environment=PYTHONPATH=/opt/ddb-cdc/app
ExecStart=/opt/ddb-cdc/venv/bin/python -m ddb_cdc.cli load
TimeoutStartSec=900
StandardOutput=append:/var/log/ddb-cdc/load.log
StandardError=append:/var/log/ddb-cdc/load.log
"""
TIMER_UNIT = """[Unit]
Description=Run the ddb-cdc loader every 5 minutes

[Timer]
OnBootSec=1min
OnUnitActiveSec=5min
AccuracySec=10s
Persistent=true

[Install]
WantedBy=timers.target
"""
INSTALL_SCRIPT = """#!/bin/bash
set -euo pipefail
dnf install -y python3.11 python3.11-pip unzip amazon-cloudwatch-agent
id ddb-cdc >/dev/null 2>&1 || useradd --system ddb-cdc
install -d -o ddb-cdc -g ddb-cdc /var/log/ddb-cdc
python3.11 -m venv /opt/ddb-cdc/venv
/opt/ddb-cdc/venv/bin/pip install boto3
aws s3 cp "$(cat /etc/ddb-cdc/artifact)" /opt/ddb-cdc/package.zip
unzip -o /opt/ddb-cdc/package.zip -d /opt/ddb-cdc/app
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \\
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
systemctl daemon-reload
systemctl enable --now ddb-cdc-load.timer
"""
LOADER_ENV = {
    "CDC_BUCKET": "cdc-demo-bucket",
    "CDC_PREFIX": "cdc",
    "CDC_TARGET_SPEC": json.dumps({"schema": "cdc", "table": "readings", "keys": ["pk"]}),
    "LOG_LEVEL": "INFO",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}
AGENT = {
    "logs": {
        "logs_collected": {
            "files": {
                "collect_list": [
                    {
                        "file_path": "/var/log/ddb-cdc/load.log",
                        "log_group_name": "/ddb-cdc/cdc-demo/ec2-loader",
                        "log_stream_name": "{instance_id}",
                    }
                ]
            }
        }
    }
}


def _files() -> list[dict[str, Any]]:
    def entry(path: str, permissions: str, content: str) -> dict[str, Any]:
        return {"path": path, "permissions": permissions, "owner": "root:root", "content": content}

    return [
        entry(ec2_host.LOADER_ENV, "0600", "".join(f"{key}={value}\n" for key, value in LOADER_ENV.items())),
        entry(ec2_host.ARTIFACT, "0644", ARTIFACT_URI + "\n"),
        entry(ec2_host.SERVICE, "0644", SERVICE_UNIT),
        entry(ec2_host.TIMER, "0644", TIMER_UNIT),
        entry(ec2_host.AGENT_CONFIG, "0644", json.dumps(AGENT)),
        entry(ec2_host.INSTALL, "0755", INSTALL_SCRIPT),
    ]


def _user_data(document: dict[str, Any] | None = None, header: str = "#cloud-config") -> str:
    document = document or {"write_files": _files(), "runcmd": [["bash", ec2_host.INSTALL]]}
    return f"{header}\n{yaml.safe_dump(document, sort_keys=False)}"


def _with_file(path: str, content: str) -> str:
    files = [dict(item, content=content) if item["path"] == path else item for item in _files()]
    return _user_data({"write_files": files, "runcmd": [["bash", ec2_host.INSTALL]]})


def test_the_spec_sample_passes_and_says_what_the_host_runs():
    plan = check_user_data(_user_data())
    assert plan.exec_start == ("/opt/ddb-cdc/venv/bin/python", "-m", "ddb_cdc.cli", "load")
    assert plan.loader_environment == LOADER_ENV  # the JSON value survives as written
    assert plan.unit_environment == {"PYTHONPATH": "/opt/ddb-cdc/app"}
    assert (plan.artifact_bucket, plan.artifact_key) == (
        "cdc-demo-bucket",
        "cdc/artifacts/ddb_cdc-0123456789abcdef.zip",
    )
    assert plan.artifact_digest == "0123456789abcdef"
    assert (plan.on_boot_s, plan.period_s, plan.timeout_s) == (60, 300, 900)
    assert plan.log_file == "/var/log/ddb-cdc/load.log"
    assert plan.log_group == "/ddb-cdc/cdc-demo/ec2-loader"
    assert plan.venv == "/opt/ddb-cdc/venv" and plan.app_dir == "/opt/ddb-cdc/app"


def test_terraform_style_encodings_and_quoting_are_read_as_cloud_init_and_systemd_do():
    files = _files()
    files[0]["content"] = (
        'CDC_TARGET_SPEC=\'{"a": 1}\'\nLOG_LEVEL="IN\\"FO"\n# a comment\n\nAWS_REGION=us-east-1\nAWS_DEFAULT_REGION=us-east-1\n'
        'CDC_JSON={"k": "a\\\\b"}\n'
    )
    files[5] = dict(
        files[5], encoding="gz+b64", content=base64.b64encode(gzip.compress(INSTALL_SCRIPT.encode())).decode()
    )
    plan = check_user_data(_user_data({"write_files": files, "runcmd": ["bash /opt/ddb-cdc/install.sh"]}))
    assert plan.loader_environment["CDC_TARGET_SPEC"] == '{"a": 1}'
    assert plan.loader_environment["LOG_LEVEL"] == 'IN"FO'
    assert (
        plan.loader_environment["CDC_JSON"] == '{"k": "a\\b"}'
    )  # unquoted: quotes kept, a backslash escapes
    assert plan.files[ec2_host.INSTALL] == INSTALL_SCRIPT


def _refused(user_data: str) -> str:
    with pytest.raises(UserDataError) as refused:
        check_user_data(user_data)
    return str(refused.value)


def test_no_cloud_config_header_is_refused():
    assert "first line" in _refused(_user_data(header="#!/bin/bash"))


def test_bad_yaml_is_refused():
    assert "not valid YAML" in _refused("#cloud-config\nwrite_files: [\n  - path: /x\n")


def test_a_key_given_twice_is_refused():
    text = _user_data() + "runcmd: []\n"
    assert "duplicate key 'runcmd'" in _refused(text)


def test_an_unknown_cloud_config_key_is_refused():
    document = {"write_files": _files(), "runcmd": [["bash", ec2_host.INSTALL]], "packages": ["python3"]}
    assert "unknown cloud-config key(s) ['packages']" in _refused(_user_data(document))


def test_runcmd_must_run_the_install_script():
    document = {"write_files": _files(), "runcmd": [["bash", "/opt/other.sh"]]}
    assert "runcmd: no command runs the install script" in _refused(_user_data(document))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"owner": "ec2-user:ec2-user"}, "owner 'ec2-user:ec2-user' where root:root is required"),
        ({"permissions": "0644"}, "permissions 0644 where 0600 is required"),
        ({"permissions": 384}, "must be a quoted octal string"),
        ({"mode": "0600"}, "unknown key(s) ['mode']"),
        ({"content": None}, "content is a NoneType"),
    ],
)
def test_malformed_write_files_entries_are_refused(change: dict[str, Any], message: str):
    files = _files()
    files[0] = {**files[0], **change}
    text = _refused(_user_data({"write_files": files, "runcmd": [["bash", ec2_host.INSTALL]]}))
    assert ec2_host.LOADER_ENV in text and message in text


def test_a_missing_file_is_refused():
    files = [item for item in _files() if item["path"] != ec2_host.TIMER]
    text = _refused(_user_data({"write_files": files, "runcmd": [["bash", ec2_host.INSTALL]]}))
    assert f"no entry for {ec2_host.TIMER}" in text


def test_a_unit_without_exec_start_is_refused():
    text = _refused(_with_file(ec2_host.SERVICE, SERVICE_UNIT.replace("ExecStart=", "# ExecStart=")))
    assert text == f"{ec2_host.SERVICE}: [Service] has no ExecStart="


@pytest.mark.parametrize(
    ("path", "unit", "message"),
    [
        (ec2_host.SERVICE, SERVICE_UNIT + "Type=simple\n", "does not parse as a unit file"),  # a key twice
        (ec2_host.SERVICE, SERVICE_UNIT + "ExecStartPost\n", "does not parse as a unit file"),  # no '='
        (
            ec2_host.SERVICE,
            SERVICE_UNIT.replace("oneshot", "simple"),
            "Type=simple where oneshot is required",
        ),
        (
            ec2_host.SERVICE,
            SERVICE_UNIT.replace("/opt/ddb-cdc/venv/bin/python", "python3"),
            "absolute python path",
        ),
        (ec2_host.SERVICE, SERVICE_UNIT.replace("cli load", "cli init"), "must run '-m ddb_cdc.cli load'"),
        (
            ec2_host.SERVICE,
            SERVICE_UNIT.replace("append:/var/log/ddb-cdc/load.log\n", "journal\n", 1),
            "append:",
        ),
        (
            ec2_host.SERVICE,
            SERVICE_UNIT.replace("/etc/ddb-cdc/loader.env", "/etc/x.env"),
            "is not the written",
        ),
        (ec2_host.SERVICE, SERVICE_UNIT.replace("TimeoutStartSec=900", "TimeoutStartSec=soon"), "time span"),
        (ec2_host.TIMER, TIMER_UNIT.replace("OnUnitActiveSec=5min\n", ""), "[Timer] has no OnUnitActiveSec="),
        (ec2_host.TIMER, TIMER_UNIT.replace("5min", "5 fortnights"), "unknown time unit"),
        (ec2_host.TIMER, TIMER_UNIT.replace("timers.target", "multi-user.target"), "timers.target"),
        (ec2_host.TIMER, TIMER_UNIT + "[Path]\nPathExists=/x\n", "unexpected section(s) ['Path']"),
    ],
)
def test_malformed_units_are_refused(path: str, unit: str, message: str):
    text = _refused(_with_file(path, unit))
    assert text.startswith(path) and message in text


def test_an_install_script_with_a_bash_syntax_error_is_refused():
    text = _refused(
        _with_file(ec2_host.INSTALL, INSTALL_SCRIPT.replace("systemctl daemon-reload", "if true; then"))
    )
    assert text.startswith(f"{ec2_host.INSTALL}: bash -n refuses it:") and "syntax error" in text


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (INSTALL_SCRIPT.replace("set -euo pipefail", "set -e"), "no 'set -euo pipefail' line"),
        (INSTALL_SCRIPT.replace("-d /opt/ddb-cdc/app", "-d /srv/app"), "never mentions /opt/ddb-cdc/app"),
        (
            INSTALL_SCRIPT.replace("ddb-cdc-load.timer", "ddb-cdc-load.service"),
            "never mentions ddb-cdc-load.timer",
        ),
    ],
)
def test_an_install_script_that_misses_a_step_is_refused(script: str, message: str):
    assert message in _refused(_with_file(ec2_host.INSTALL, script))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "CDC_BUCKET=b\nAWS_REGION=us-east-1\nAWS_DEFAULT_REGION=us-east-1\nLOG_LEVEL INFO\n",
            "line 4: 'LOG_LEVEL INFO' is not KEY=VALUE",
        ),
        ("CDC-BUCKET=b\n", "line 1: 'CDC-BUCKET' is not a valid variable name"),
        ("A=1\nA=2\n", "line 2: A is set twice"),
        ("A='open\n", "line 1: the quote that opens the value is not closed"),
        ("CDC_BUCKET=b\nAWS_REGION=us-east-1\n", "no AWS_DEFAULT_REGION"),
        (
            "AWS_SECRET_ACCESS_KEY=x\nAWS_REGION=r\nAWS_DEFAULT_REGION=r\n",
            "AWS_SECRET_ACCESS_KEY must not be in it",
        ),
    ],
)
def test_a_malformed_loader_env_is_refused(content: str, message: str):
    text = _refused(_with_file(ec2_host.LOADER_ENV, content))
    assert text.startswith(ec2_host.LOADER_ENV) and message in text


@pytest.mark.parametrize(
    "uri",
    [
        "s3://bucket/key.zip",
        "https://bucket.s3.amazonaws.com/ddb_cdc-0123456789abcdef.zip",
        f"{ARTIFACT_URI}\n{ARTIFACT_URI}",
    ],
)
def test_an_artifact_that_is_not_one_package_uri_is_refused(uri: str):
    assert "expected one line s3://" in _refused(_with_file(ec2_host.ARTIFACT, uri))


def test_the_agent_must_collect_the_service_log():
    agent = json.loads(json.dumps(AGENT))
    agent["logs"]["logs_collected"]["files"]["collect_list"][0]["file_path"] = "/var/log/messages"
    assert "does not collect the service's log" in _refused(
        _with_file(ec2_host.AGENT_CONFIG, json.dumps(agent))
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1min", 60), ("5min", 300), ("900", 900), ("1h 30min", 5400), ("10s", 10), ("2.5min", 150)],
)
def test_systemd_time_spans(text: str, seconds: float):
    assert ec2_host.parse_timespan(text, "x") == seconds


# -- the timer -------------------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _host(tmp_path: Path, clock: FakeClock, run) -> ec2_host.LoaderHost:
    return ec2_host.LoaderHost(
        check_user_data(_user_data()),
        name="test",
        clock=clock,
        work_dir=tmp_path,
        log_path=tmp_path / "load.log",
        run=run,
    )


def test_the_timer_fires_on_boot_sec_then_every_on_unit_active_sec(tmp_path: Path):
    clock, fired = FakeClock(), []
    host = _host(tmp_path, clock, lambda: fired.append(clock.now) or 0)
    booted = clock.now
    for offset in range(0, 1_000, 5):  # the loop polls often; the sandbox clock decides
        clock.now = booted + offset
        host.tick()
    assert [moment - booted for moment in fired] == [60, 360, 660, 960]
    assert (host.stats.runs, host.stats.failures, host.stats.last_exit) == (4, 0, 0)


def test_a_run_longer_than_the_period_is_followed_at_once_never_overlapped(tmp_path: Path):
    clock, fired = FakeClock(0.0), []

    def run() -> int:
        fired.append(clock.now)
        if len(fired) == 1:
            clock.now += 400  # the first run outlasts OnUnitActiveSec (300 s)
        return 1

    host = _host(tmp_path, clock, run)
    clock.now = 60
    assert host.tick()  # starts at 60, ends at 460 (the next was due at 360)
    assert host.tick()  # so the next starts at once, after it
    assert fired == [60, 460] and host.stats.failures == 2 and host.stats.last_exit == 1
    assert host.timer.next_due == 760 and not host.tick()


def test_the_host_runs_the_command_with_the_mapped_interpreter_path_and_environment(tmp_path: Path):
    plan = check_user_data(_user_data())
    host = ec2_host.LoaderHost(
        plan,
        name="test",
        clock=FakeClock(),
        work_dir=tmp_path,
        log_path=tmp_path / "logs" / "load.log",
        environment={"AWS_ENDPOINT_URL": "https://127.0.0.1:1", "AWS_ACCESS_KEY_ID": "ASIA"},
    )
    # What install() leaves: the artifact's package; a stand-in CLI that shows what it was given.
    package = tmp_path / "app" / "ddb_cdc"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cli.py").write_text(
        "import os, sys\nprint('artifact cli', sys.argv[1:], os.environ['CDC_BUCKET'], os.environ['AWS_ACCESS_KEY_ID'])\n"
        "sys.exit(3)\n"
    )
    host.app_dir = tmp_path / "app"
    env = host.service_environment()
    assert env["PYTHONPATH"] == str(tmp_path / "app")
    assert env["CDC_TARGET_SPEC"] == LOADER_ENV["CDC_TARGET_SPEC"]
    assert env["AWS_ACCESS_KEY_ID"] == "ASIA" and env["AWS_ENDPOINT_URL"] == "https://127.0.0.1:1"
    assert host.command()[1:] == ["-m", "ddb_cdc.cli", "load"]
    # A real run: this Python runs the artifact's package (PYTHONPATH comes first), its output appended to the log.
    assert host.run_service() == 3
    assert "artifact cli ['load'] cdc-demo-bucket ASIA" in (tmp_path / "logs" / "load.log").read_text()


def test_stop_waits_for_the_run_in_progress_and_idle_says_so(tmp_path: Path):
    import threading

    clock, release, entered = FakeClock(), threading.Event(), threading.Event()

    def blocking_run() -> int:
        entered.set()
        release.wait(10)
        return 0

    host = _host(tmp_path, clock, blocking_run)
    host.start()
    assert host.idle()
    clock.now += 60
    assert entered.wait(5)
    assert not host.idle()
    release.set()
    host.stop(timeout_s=5)
    assert host.idle() and host.stats.runs == 1


# -- against the emulator: what a group launches, read and run -----------------------------------------------------

TRUST_EC2 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def _package(marker: Path) -> bytes:
    """A stand-in package: its CLI appends what it was run with to ``marker`` and exits 0."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ddb_cdc/__init__.py", "")
        archive.writestr(
            "ddb_cdc/cli.py",
            "import os, sys\n"
            f"with open({str(marker)!r}, 'a') as out:\n"
            "    out.write(' '.join([sys.argv[1], os.environ['AWS_ACCESS_KEY_ID'][:4], os.environ['AWS_REGION']]) + '\\n')\n",
        )
    return buffer.getvalue()


def test_the_hosts_run_what_the_group_launches_with_the_instance_role(tmp_path: Path):
    import boto3

    from tests.sandbox import client_credentials
    from tests.sandbox.moto_server import running_moto

    marker = tmp_path / "runs.txt"
    package = _package(marker)
    key = f"cdc/artifacts/ddb_cdc-{hashlib.sha256(package).hexdigest()[:16]}.zip"
    files = [
        dict(item, content=f"s3://cdc-demo-bucket/{key}\n") if item["path"] == ec2_host.ARTIFACT else item
        for item in _files()
    ]
    user_data = _user_data({"write_files": files, "runcmd": [["bash", ec2_host.INSTALL]]})
    clock = FakeClock()
    with running_moto() as endpoint:
        session = boto3.Session(**client_credentials(), region_name="us-east-1")
        s3, iam = session.client("s3", endpoint_url=endpoint), session.client("iam", endpoint_url=endpoint)
        ec2 = session.client("ec2", endpoint_url=endpoint)
        autoscaling = session.client("autoscaling", endpoint_url=endpoint)
        s3.create_bucket(Bucket="cdc-demo-bucket")
        s3.put_object(Bucket="cdc-demo-bucket", Key=key, Body=package)
        iam.create_role(RoleName="loader-host", AssumeRolePolicyDocument=TRUST_EC2)
        iam.put_role_policy(
            RoleName="loader-host",
            PolicyName="artifact",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "s3:GetObject",
                            "Resource": f"arn:aws:s3:::cdc-demo-bucket/{key}",
                        }
                    ],
                }
            ),
        )
        profile = iam.create_instance_profile(InstanceProfileName="loader-host")["InstanceProfile"]
        iam.add_role_to_instance_profile(InstanceProfileName="loader-host", RoleName="loader-host")
        template = ec2.create_launch_template(
            LaunchTemplateName="loader-host",
            LaunchTemplateData={
                "ImageId": "ami-12c6146b",
                "InstanceType": "t4g.nano",
                "UserData": base64.b64encode(user_data.encode()).decode(),
                "IamInstanceProfile": {"Arn": profile["Arn"]},
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
            },
        )["LaunchTemplate"]
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName="loader-host",
            LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "$Latest"},
            MinSize=1,
            MaxSize=1,
            DesiredCapacity=1,
            AvailabilityZones=["us-east-1a"],
        )
        with ec2_host.running_hosts(
            group_name="loader-host",
            count=2,
            session=session,
            endpoint_url=endpoint,
            emulator_environment={"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing"},
            clock=clock,
            work_dir=tmp_path / "hosts",
            log_dir=tmp_path / "logs",
        ) as hosts:
            clock.now += 60  # OnBootSec: each host runs once
            deadline = time.monotonic() + 60
            while hosts.stats()["runs"] < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            hosts.stop()
            stats = hosts.stats()
    assert (stats["hosts"], stats["runs"], stats["failures"]) == (2, 2, 0), stats
    assert stats["instances"] and stats["per_host"][0]["name"].endswith(stats["instances"][0])
    # Both ran the artifact's CLI, signed with a session of the instance role (ASIA keys), not the admin's.
    assert marker.read_text().splitlines() == ["load ASIA us-east-1", "load ASIA us-east-1"]


def test_a_group_whose_template_allows_imdsv1_is_refused(tmp_path: Path):
    import boto3

    from tests.sandbox import client_credentials
    from tests.sandbox.moto_server import running_moto

    with running_moto(enforce_iam=False) as endpoint:
        session = boto3.Session(**client_credentials(), region_name="us-east-1")
        iam = session.client("iam", endpoint_url=endpoint)
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST_EC2)
        iam.create_instance_profile(InstanceProfileName="p")
        iam.add_role_to_instance_profile(InstanceProfileName="p", RoleName="r")
        template = session.client("ec2", endpoint_url=endpoint).create_launch_template(
            LaunchTemplateName="t",
            LaunchTemplateData={
                "ImageId": "ami-12c6146b",
                "UserData": base64.b64encode(_user_data().encode()).decode(),
                "IamInstanceProfile": {"Name": "p"},
                "MetadataOptions": {"HttpTokens": "optional"},
            },
        )["LaunchTemplate"]
        session.client("autoscaling", endpoint_url=endpoint).create_auto_scaling_group(
            AutoScalingGroupName="g",
            LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "$Latest"},
            MinSize=1,
            MaxSize=1,
            DesiredCapacity=1,
            AvailabilityZones=["us-east-1a"],
        )
        with (
            pytest.raises(UserDataError, match="HttpTokens=optional, IMDSv2 must be required"),
            ec2_host.running_hosts(
                group_name="g",
                count=1,
                session=session,
                endpoint_url=endpoint,
                emulator_environment={},
                clock=FakeClock(),
                work_dir=tmp_path,
                log_dir=tmp_path,
            ),
        ):
            pass


def test_a_role_can_attach_an_aws_managed_policy_as_in_aws():
    import boto3

    from tests.sandbox import client_credentials
    from tests.sandbox.moto_server import running_moto
    from tests.sandbox.patches import iam_aws_managed_policies

    arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    with iam_aws_managed_policies.installed(), running_moto() as endpoint:
        iam = boto3.Session(**client_credentials(), region_name="us-east-1").client(
            "iam", endpoint_url=endpoint
        )
        iam.create_role(RoleName="host", AssumeRolePolicyDocument=TRUST_EC2)
        iam.attach_role_policy(RoleName="host", PolicyArn=arn)
        attached = iam.list_attached_role_policies(RoleName="host")["AttachedPolicies"]
        document = iam.get_policy_version(
            PolicyArn=arn, VersionId=iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        )
    assert [policy["PolicyArn"] for policy in attached] == [arn]
    assert "ssm:UpdateInstanceInformation" in json.dumps(document["PolicyVersion"]["Document"])
