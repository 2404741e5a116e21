"""Part 2: `prmlabel generate --backend openai` against a real llama.cpp server behind a fault-injecting proxy.

Transient faults (HTTP 500 and 429, dropped connections, truncated bodies, timeouts) are retried with
backoff and the output is byte-identical to a run without faults; a lasting outage ends the run with an
error naming the server and the failure, the shards finished before it are kept, and a re-run after the
server is back finishes the rest.

What is compared: every response id of an undisturbed run, once each, with the row accounting of every
shard; shards finished before an outage are kept byte for byte through the re-run. Response TEXT is not
compared with the undisturbed run: llama.cpp's server reuses the prompt start of whatever request it
served last and its kernels are not batch-invariant, so a retried request can sample other text (see
docs/backends.md). Byte-identical resumes on a deterministic backend are part 1's job.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from prmlabel.contract.store import shard_of
from tests.backends.conftest import LlamaServer
from tests.reliability.fault_proxy import FaultProxy
from tests.reliability.harness import cli, cli_ok, records, row_ids

SHARDS, SAMPLES = 2, 1
# One fault of each kind in a row on the first request (it succeeds on its 6th attempt), then none: every
# kind is met once and a slow-but-healthy request costs nothing extra.
TRANSIENT_PLAN = ["500", "429", "drop", "truncate", "timeout"] + ["pass"] * 100


@pytest.fixture(scope="module")
def proxy(llama_server: LlamaServer) -> Iterator[FaultProxy]:
    p = FaultProxy(llama_server.base_url.removesuffix("/v1"), stall=4.0)
    yield p
    p.close()


def generate_args(proxy: FaultProxy) -> list[str]:
    return [
        "generate", "-i", "problems.jsonl", "-o", "rollouts", "--backend", "openai", "--samples", str(SAMPLES),
        "--num-shards", str(SHARDS), "--batch-size", "2", "--no-progress",
        f"backend.options.base_url={proxy.base_url}", "backend.options.chat_template=chatml",
        "backend.options.concurrency=1", "backend.options.max_retries=5", "backend.options.backoff=0.05",
        "backend.options.max_backoff=0.2", "backend.options.timeout=3",
        "sampling.max_tokens=12", "sampling.temperature=0.7",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def reference(proxy: FaultProxy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run through the proxy with no faults: what every faulty run must end up writing."""
    root = tmp_path_factory.mktemp("faulty_server_ref")
    cli_ok(["synthetic", "problems", "--count", "4", "--steps", "2-3", "--seed", "5", "-o", "problems.jsonl"], root)
    proxy.reset(["pass"])
    cli_ok(generate_args(proxy), root)
    return root


def fresh(reference: Path, tmp_path: Path) -> Path:
    shutil.copy(reference / "problems.jsonl", tmp_path / "problems.jsonl")
    return tmp_path


def test_transient_faults_are_retried_and_change_nothing(proxy: FaultProxy, reference: Path, tmp_path: Path) -> None:
    cwd = fresh(reference, tmp_path)
    proxy.reset(TRANSIENT_PLAN)
    proc = cli_ok(generate_args(proxy), cwd)
    assert set(proxy.injected) == {"500", "429", "drop", "truncate", "timeout"}, proxy.injected
    # Every fault was retried (a request that was slow on a busy machine may add a retry of its own).
    retries = [line for line in proc.stderr.splitlines() if "retry " in line]
    assert len(retries) >= sum(proxy.injected.values()), (retries, proxy.injected)
    for what in ("HTTP 500", "HTTP 429", "RemoteDisconnected", "IncompleteRead", "timed out"):
        assert any(what in line for line in retries), (what, retries)
    assert_complete(reference / "rollouts", cwd / "rollouts")


def assert_complete(expected: Path, actual: Path) -> None:
    """Every response of the undisturbed run, once, and every shard's rows accounted for."""
    ids = row_ids(actual)
    assert sorted(ids) == sorted(row_ids(expected)) and len(ids) == len(set(ids))
    for record in records(actual):
        assert record["rows_in"] == record["rows_out"] + record["rows_rejected"], record
    assert [r["shard"] for r in records(actual)] == list(range(SHARDS))


def test_outage_fails_clearly_keeps_done_shards_and_resumes(proxy: FaultProxy, reference: Path, tmp_path: Path) -> None:
    cwd = fresh(reference, tmp_path)
    problems = [json.loads(line) for line in (cwd / "problems.jsonl").read_text().splitlines()]
    second_shard = [p["question"] for p in problems if shard_of(p["problem_id"], SHARDS) == 1]
    assert second_shard and len(second_shard) < len(problems)

    def down_for(body: bytes) -> bool:  # the server is down for the second shard's requests, retries included
        return any(question in json.loads(body)["prompt"] for question in second_shard)

    # Shards run in order: the first shard's requests all pass (however slow, however often retried),
    # then the server is down for the rest of the run.
    proxy.reset(["pass"], down_for=down_for, outage="500")
    failed = cli(generate_args(proxy), cwd)
    assert failed.returncode == 2, failed.stderr
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, failed.stderr
    error = errors[0]
    assert error.startswith("error: POST ") and proxy.base_url in error, error
    assert "still failing after 6 attempts" in error
    assert "last error: HTTP 500" in error, error
    assert "Traceback" not in failed.stderr
    done = records(cwd / "rollouts")
    assert [r["shard"] for r in done] == [0], "the shard finished before the outage is kept"
    kept = (cwd / "rollouts" / "part-00000.parquet").read_bytes()

    proxy.reset(["pass"])
    resumed = cli_ok(generate_args(proxy), cwd)
    assert f"1 already done, of {SHARDS}" in resumed.stdout
    assert (cwd / "rollouts" / "part-00000.parquet").read_bytes() == kept
    assert_complete(reference / "rollouts", cwd / "rollouts")
