"""``demo --calibrate RATE[,RATE...]``: the planner's objects and COPYs per hour against what the sandbox does.

After the apply, for each rate the generator writes changes throttled to that rate for a fixed measuring window
(:func:`measure_seconds`), and the run counts

* **objects**: raw change files that appeared under ``raw_prefix`` during the window (the key sets listed at its
  start and its end, so a file is counted once, by name), and
* **copies**: COPY statements the loader submitted during the window (the Data API emulator's statement list,
  ``CreatedAt`` within the window),

the objects by count (about 57 in a window, so a file cut at either end moves the rate by 2 %; S3 gives LastModified
in whole seconds, too coarse to space them by), the COPYs also by their spacing, (n - 1) intervals over the time from
the first ``CreatedAt`` to the last (:func:`interval_rate_per_hour`; about 20 in a window, where a count is off by up
to one at each end, 5 % of 20, and the spacing is not). The run then sets each figure
beside ``ddb_cdc.plan.model.objects_per_hour`` / ``copies_per_hour`` for the generator's achieved rate,
with :class:`~ddb_cdc.plan.model.Knobs` read from the configuration Terraform applied (:func:`applied_knobs`: the
scratch copy of ``examples/local/main.tf`` and the ``sandbox.auto.tfvars.json`` the demo wrote beside it) and checked
against the event source mappings the runtime polls (:func:`check_deployed`).

Time base. The sandbox's ``--clock-factor`` compresses only what runs on its sandbox clock: EventBridge Scheduler
rates and cron times, asynchronous retry delays, SQS visibility timeouts after a failure, the ec2_cron timer and the
Step Functions waits. The waits that shape objects and COPYs under ``s3_event`` run on real time, as in AWS: the
stream mapping's ``MaximumBatchingWindowInSeconds`` (lambda_stream_poller.py, ``time.monotonic``), the SQS mapping's
batching window (lambda_queue_poller.py) and Firehose's buffering interval (patches/firehose.py, scale 1.0). So a count
over ``seconds`` of wall time is per hour as ``count * 3600 / seconds``, with no clock factor. The one accelerated
schedule of ``s3_event``, the hourly reconciliation (every 2 wall minutes at 30x), loads only files older than
``reconcile.GRACE_SECONDS`` (900 s of the loader's real clock), so it issues no COPY inside a window of a few minutes.
``schedule``/``ec2_cron``/``emr_compaction`` mix the two time bases (files per real second, runs per sandbox second)
and are refused here.

Where the sandbox's counts can differ from the model for reasons of the sandbox, not the model:

* the loader's run time: the planner assumes AWS's (Data API round trips, :class:`~ddb_cdc.plan.model.Assumptions`),
  which would make the loader, reserved at concurrency 1, space the loads; the sandbox's runs are shorter, so the
  prediction is made with the run time measured in the window (:func:`loader_assumptions`; each entry reports it).
  The SQS mapping gathers the next batch while the loader runs, as AWS's does (lambda_queue_poller.py);
* the stream mapping waits for the writer's invocation before it reads on (as AWS's does for a shard), which the
  model's writer cycle leaves out (about 0.1 s in a cycle of 1.1 s here); a busy machine lengthens it;
* the SQS poller long-polls with whole seconds (``WaitTimeSeconds`` is an integer), so in a window's last second it
  short-polls a tenth of a second apart, and a loader batch closes up to about 0.1 s late (more on a busy machine:
  in make test, before the short polls, the late closes let a 2 s window take a third object and COPYs came out
  13-15 % under the prediction).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

from ddb_cdc.plan import model, tfvars

from tests.sandbox.lambda_runtime import wait_stable

# Enough cycles of the slowest batcher in one window that a cycle cut at either end moves the count by a few percent.
CYCLES_PER_WINDOW: Final = 20
# ... and never shorter than this many times the longest configured window.
WINDOWS_PER_MEASURE: Final = 8
MAX_MEASURE_SECONDS: Final = 90.0
# BatchWriteItem calls per second at most: bursts far shorter than the stream's batching window.
GENERATOR_CALLS_PER_SECOND: Final = 20
# The generator's iot items (id, timestamp, three numbers) in DynamoDB JSON; only the 6 MB payload cap depends on it,
# which no batch of 1,000 such records comes near.
IOT_ITEM_BYTES: Final = 200
_COPY: Final = re.compile(r"^\s*COPY\s", re.IGNORECASE)
_VAR: Final = re.compile(r"^\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}$")
SUPPORTED_LOADS: Final = ("s3_event",)
# A window where the generator reached less than this share of its rate is measured again, at most MAX_ATTEMPTS times;
# the test asks for this share of the best fed window. Any window above it is kept: the prediction is made for the
# rate achieved, and a busy machine is not a model error. (At 0.9, in make test at 77ad2f8 the 24/s case measured
# all three windows, 21, 15.6 and 17.5/s, about 106 s more of the run's tail, to keep the first.)
FED_SHARE: Final = 0.5
MAX_ATTEMPTS: Final = 3


def parse_rates(text: str) -> tuple[float, ...]:
    message = f"--calibrate needs one or more positive, finite rates (changes per second), got {text!r}"
    try:
        rates = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(message) from None
    if not rates or any(not (rate > 0 and math.isfinite(rate)) for rate in rates):
        raise ValueError(message)
    return rates


# -- the configuration that was applied --------------------------------------------------------------------------


def _variable_defaults(directory: Path) -> dict[str, Any]:
    import hcl2

    with (directory / "variables.tf").open(encoding="utf-8") as handle:
        document = hcl2.load(handle)
    defaults: dict[str, Any] = {}
    for block in document.get("variable", []):
        for name, body in block.items():
            if "default" in body:
                defaults[tfvars.unquote(name)] = tfvars.unquote(body["default"])
    return defaults


def _resolve(node: Any, variables: Mapping[str, Any]) -> Any:
    """Module inputs with ``var.x`` replaced by its value; any other expression dropped (None)."""
    if isinstance(node, dict):
        return {key: _resolve(value, variables) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(value, variables) for value in node]
    if isinstance(node, str):
        reference = _VAR.match(node)
        if reference:
            return variables.get(reference.group(1))
        return None if "${" in node else node
    return node


def applied_inputs(directory: Path, module: str = "cdc") -> dict[str, Any]:
    """The root module's inputs as ``directory/main.tf`` passes them, its variables resolved from the
    ``*.auto.tfvars.json`` Terraform read there and ``variables.tf``'s defaults."""
    import hcl2

    variables = _variable_defaults(directory)
    for path in sorted(directory.glob("*.auto.tfvars.json")):
        variables.update(json.loads(path.read_text(encoding="utf-8")))
    with (directory / "main.tf").open(encoding="utf-8") as handle:
        document = hcl2.load(handle)
    for block in document.get("module", []):
        for name, body in block.items():
            if tfvars.unquote(name) == module:
                return _resolve(body, variables)
    raise RuntimeError(f"{directory / 'main.tf'} has no module {module!r}")


def applied_knobs(directory: Path) -> tfvars.Configuration:
    """The planner's knobs for the configuration applied from ``directory`` (via the planner's own tfvars reader)."""
    return tfvars.from_mapping(applied_inputs(directory))


def check_deployed(knobs: model.Knobs, mappings: Sequence[Mapping[str, Any]], load: str) -> dict[str, Any]:
    """The knobs that shape the counts must be what the runtime polls with (its mappings as deployed)."""
    stream = next((m for m in mappings if ":dynamodb:" in str(m.get("source_arn"))), None)
    queue = next((m for m in mappings if ":sqs:" in str(m.get("source_arn"))), None)
    deployed: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    if stream is not None:
        deployed["stream"] = (stream["batch_size"], stream["batching_window_s"])
        expected["stream"] = (knobs.batch_size, float(knobs.batching_window_seconds))
    if load == "s3_event":
        if queue is None:
            raise RuntimeError("s3_event deployed no SQS event source mapping")
        deployed["s3_event"] = (queue["batch_size"], queue["batching_window_s"])
        expected["s3_event"] = (knobs.s3_event_batch_size, float(knobs.s3_event_batching_window_seconds))
    if deployed != expected:
        raise RuntimeError(
            f"the deployed mappings {deployed} differ from the applied configuration {expected}"
        )
    return {name: {"batch_size": size, "window_s": window} for name, (size, window) in deployed.items()}


# -- one window ----------------------------------------------------------------------------------------------------


def relevant_windows(aggregation: str, load: str, knobs: model.Knobs) -> dict[str, float]:
    windows = {"stream_mapping": float(knobs.batching_window_seconds)}
    if aggregation == "firehose":
        windows["firehose_buffering_interval"] = float(knobs.firehose_buffering_interval_seconds)
    if load == "s3_event":
        windows["s3_event_batching_window"] = float(knobs.s3_event_batching_window_seconds)
    return windows


def measure_seconds(windows: Mapping[str, float], predicted_per_hour: Sequence[float]) -> float:
    """Long enough for ``CYCLES_PER_WINDOW`` cycles of the slowest predicted batcher and at least
    ``WINDOWS_PER_MEASURE`` times the longest configured window; capped so that the run stays short."""
    slowest_cycle = max((3600 / n for n in predicted_per_hour if n > 0), default=0.0)
    wanted = max(WINDOWS_PER_MEASURE * max(windows.values(), default=1.0), CYCLES_PER_WINDOW * slowest_cycle)
    return round(min(MAX_MEASURE_SECONDS, wanted), 1)


def per_hour(count: int, seconds: float) -> float:
    """A count over ``seconds`` of wall time, per hour: every wait that shapes it runs on real time (module doc)."""
    return count * 3600 / seconds if seconds > 0 else 0.0


def raw_keys(s3: Any, bucket: str, prefix: str) -> set[str]:
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.update(item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(".json.gz"))
    return keys


def copies_between(statements: Sequence[Mapping[str, Any]], start: float, end: float) -> list[float]:
    """When each COPY statement submitted in [start, end) (epoch seconds) was created, from the Data API's
    statement list (one per COPY in a batch)."""
    times: list[float] = []
    for statement in statements:
        created = float(statement["CreatedAt"])
        if start <= created < end:
            sqls = statement.get("QueryStrings") or [statement.get("QueryString", "")]
            times.extend(created for sql in sqls if _COPY.match(sql))
    return sorted(times)


def interval_rate_per_hour(times: Sequence[float]) -> float:
    """Events per hour from their spacing: (n - 1) intervals over the span from the first to the last."""
    ordered = sorted(times)
    if len(ordered) < 2 or ordered[-1] <= ordered[0]:
        return 0.0
    return (len(ordered) - 1) * 3600 / (ordered[-1] - ordered[0])


def _mapping_counts(runtime_stats: Mapping[str, Any]) -> dict[str, float]:
    """Batches delivered and seconds spent in flight, by the stream's mapping (writer) and the queue's (loader)."""
    counts = {"stream_batches": 0.0, "loader_batches": 0.0, "writer_in_flight": 0.0, "loader_in_flight": 0.0}
    for mapping in runtime_stats.get("mappings", []):
        source = str(mapping.get("source_arn"))
        kind = "stream" if ":dynamodb:" in source else "loader" if ":sqs:" in source else None
        if kind is None:
            continue
        counts[f"{kind}_batches"] += int(mapping.get("batches", 0))
        counts["writer_in_flight" if kind == "stream" else "loader_in_flight"] += float(
            mapping.get("in_flight_seconds", 0.0)
        )
    return counts


def generator_argv(
    table: str, rate: float, seconds: float, seed: int, update_share: float, delete_share: float
):
    batch = max(1, min(25, round(rate / GENERATOR_CALLS_PER_SECOND)))
    return [
        sys.executable,
        "-m",
        "ddb_cdc.generator",
        "--table",
        table,
        "--duration",
        f"{seconds:g}",
        "--rate",
        f"{rate:g}",
        "--batch-size",
        str(batch),
        "--profile",
        "iot",
        "--update-share",
        str(update_share),
        "--delete-share",
        str(delete_share),
        "--seed",
        str(seed),
    ]


def run(
    *,
    rates: Sequence[float],
    aggregation: str,
    load: str,
    config_dir: Path,
    env: Mapping[str, str],
    table: str,
    bucket: str,
    raw_prefix: str,
    s3: Any,
    runtime: Any,
    statements: Callable[[], Sequence[Mapping[str, Any]]],
    shards: int,
    seed: int,
    update_share: float,
    delete_share: float,
    idle_timeout: float,
    log: Callable[[str], None],
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Each rate in turn on the one applied stack. Returns the calibration entries and the generators' totals."""
    if load not in SUPPORTED_LOADS:
        raise ValueError(f"--calibrate supports load {', '.join(SUPPORTED_LOADS)} only (one time base)")
    configuration = applied_knobs(config_dir)
    if (configuration.aggregation, configuration.load_strategy) != (aggregation, load):
        raise RuntimeError(
            f"the applied configuration is {configuration.aggregation} + {configuration.load_strategy}, "
            f"not {aggregation} + {load}"
        )
    knobs = configuration.knobs
    deployed = check_deployed(knobs, runtime.stats()["mappings"], load)
    windows = relevant_windows(aggregation, load, knobs)

    def workload(rate: float) -> model.Workload:
        return model.Workload(
            hourly_rates=(rate,),
            item_bytes=IOT_ITEM_BYTES,
            update_share=update_share,
            delete_share=delete_share,
            shards=shards,
        )

    entries: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    for index, rate in enumerate(rates):
        unhurried = loader_assumptions(0.0, 0.0)  # the window is sized on the batching alone
        planned = [
            model.objects_per_hour(aggregation, load, rate, workload(rate), knobs, unhurried),
            model.copies_per_hour(aggregation, load, rate, workload(rate), knobs, unhurried),
        ]
        seconds = measure_seconds(windows, planned)
        # Warm-up: every batcher has opened and closed a few times before the window starts.
        warmup = 3 * max(windows.values()) + 2.0
        tail = 1.0
        best: dict[str, Any] | None = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            runtime_idle = wait_stable(runtime.sources_idle, idle_timeout, settle_s=0.0, poll_s=0.25)
            log(f"calibration: {rate:g} changes/s for {seconds:g} s (+{warmup:g} s warm-up)")
            argv = generator_argv(
                table, rate, warmup + seconds + tail, seed + 100 * index + attempt, update_share, delete_share
            )
            with subprocess.Popen(
                argv, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            ) as gen:
                started = time.monotonic()
                time.sleep(warmup)
                start_wall, start_mono = time.time(), time.monotonic()
                keys_before = raw_keys(s3, bucket, raw_prefix)
                counts_before = _mapping_counts(runtime.stats())
                time.sleep(max(0.0, start_mono + seconds - time.monotonic()))
                end_wall = time.time()
                keys_after = raw_keys(s3, bucket, raw_prefix)
                counts_after = _mapping_counts(runtime.stats())
                measured = end_wall - start_wall
                out, err = gen.communicate(timeout=warmup + seconds + tail + 120)
            if gen.returncode != 0:
                raise RuntimeError(f"generator failed ({gen.returncode}): {err[-2000:]}")
            summary = json.loads(out.strip().splitlines()[-1])
            for name, value in summary.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    totals[name] = totals.get(name, 0) + value
            achieved = float(summary["rate"])
            copy_times = copies_between(statements(), start_wall, end_wall)
            objects, copies = len(keys_after - keys_before), len(copy_times)
            writer_in_flight = counts_after["writer_in_flight"] - counts_before["writer_in_flight"]
            loader_in_flight = counts_after["loader_in_flight"] - counts_before["loader_in_flight"]
            loader_batches = counts_after["loader_batches"] - counts_before["loader_batches"]
            assumptions = loader_assumptions(loader_in_flight, loader_batches)
            entry = {
                "rate": rate,
                "achieved_rate": achieved,
                "seconds": round(measured, 2),
                "generator_seconds": round(time.monotonic() - started, 2),
                "objects": objects,
                "copies": copies,
                "objects_per_hour": round(per_hour(objects, measured), 1),
                "copies_per_hour": round(per_hour(copies, measured), 1),
                "predicted_objects_per_hour": round(
                    model.objects_per_hour(
                        aggregation, load, achieved, workload(achieved), knobs, assumptions
                    ),
                    1,
                ),
                "predicted_copies_per_hour": round(
                    model.copies_per_hour(
                        aggregation, load, achieved, workload(achieved), knobs, assumptions
                    ),
                    1,
                ),
                "loader_run_seconds": round(assumptions.loader_run_seconds, 3),
                "stream_batches": int(counts_after["stream_batches"] - counts_before["stream_batches"]),
                "loader_batches": int(loader_batches),
                "writer_in_flight_seconds": round(writer_in_flight, 2),
                "loader_in_flight_seconds": round(loader_in_flight, 2),
                "copies_per_hour_by_spacing": round(interval_rate_per_hour(copy_times), 1),
                "idle_before": runtime_idle,
                "time_base": "wall seconds x 3600 (the windows that shape these counts run on real time)",
                "knobs": model.knobs_that_matter(aggregation, load, knobs),
                "deployed_mappings": deployed,
                "workload": {k: v for k, v in asdict(workload(achieved)).items() if k != "hourly_rates"},
            }
            log(
                f"calibration: {achieved:g}/s achieved; objects/h {entry['objects_per_hour']:g} "
                f"(predicted {entry['predicted_objects_per_hour']:g}); "
                f"COPYs/h {entry['copies_per_hour_by_spacing']:g} by spacing, {entry['copies_per_hour']:g} by count "
                f"(predicted {entry['predicted_copies_per_hour']:g}); in flight: writer {writer_in_flight:.1f} s, "
                f"loader {loader_in_flight:.1f} s"
            )
            entry["attempts"] = attempt
            # Of the windows measured, the best fed one (the prediction is made for each window's achieved rate).
            if best is None or entry["achieved_rate"] > best["achieved_rate"]:
                best = entry
            if achieved >= FED_SHARE * rate or attempt == MAX_ATTEMPTS:
                break
            # A busy machine starved the generator: that window measured another rate's case. Measure again.
            log(f"calibration: the generator reached {achieved:g} of {rate:g} changes/s; measuring again")
        assert best is not None
        best["attempts"] = attempt
        entries.append(best)
    return entries, totals


def loader_assumptions(in_flight_seconds: float, batches: float) -> model.Assumptions:
    """The model's loader run time as the sandbox measured it (its mean invocation over the window, which in poll mode
    includes the wait for the load): the planner's defaults (3 s of Data API round trips per run, 1 s per load, 60 s per
    load in poll mode) are assumptions about AWS, and the calibration checks the batching, not them."""
    measured = in_flight_seconds / batches if batches > 0 else 0.0
    return model.Assumptions(loader_run_seconds=measured, loader_seconds_per_load=0.0, load_seconds=0.0)


def deviation(measured: float, predicted: float) -> float:
    """|measured - predicted| / predicted (inf when nothing was predicted but something was measured)."""
    if predicted == 0:
        return 0.0 if measured == 0 else float("inf")
    return abs(measured - predicted) / predicted
