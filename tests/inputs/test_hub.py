"""prmlabel.inputs.hub: Hub dataset names, the presets they pick, and reading them from an offline cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prmlabel.contract.config import compose_defaults
from prmlabel.inputs import hub
from prmlabel.inputs.identity import content_digest
from prmlabel.inputs.records import InputError, read_records
from tests.hub_cache import add_hub_dataset, offline_hf_home

DATA = Path(__file__).resolve().parents[1] / "data"  # tests/data/README.md: sources, licenses


@pytest.fixture
def hf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return offline_hf_home(tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("given", "repo", "config"),
    [
        ("hf://openai/gsm8k", "openai/gsm8k", "main"),  # GSM8K has no default config: "main" is the usual one
        ("hf:/openai/gsm8k", "openai/gsm8k", "main"),  # what a Path makes of hf://
        ("hf://OpenAI/GSM8K", "openai/gsm8k", "main"),
        ("hf://openai/gsm8k/socratic", "openai/gsm8k", "socratic"),
        ("hf://Qwen/ProcessBench", "Qwen/ProcessBench", None),
        ("hf://someone/my_set.v2", "someone/my_set.v2", None),
    ],
)
def test_names(given: str, repo: str, config: str | None) -> None:
    assert hub.is_hub(given)
    assert hub.parse(given) == hub.HubRef(repo, config)


@pytest.mark.parametrize("bad", ["hf://", "hf://a/b/c/d", "hf://a b/c", "hf://owner/-x"])
def test_malformed_names_say_how_to_write_one(bad: str) -> None:
    with pytest.raises(InputError, match="hf://OWNER/NAME"):
        hub.parse(bad)


def test_local_paths_are_not_hub_names() -> None:
    assert not hub.is_hub("data/gsm8k.jsonl") and not hub.is_hub("/tmp/hf/x") and not hub.is_hub(None)


@pytest.mark.parametrize(
    ("name", "problems", "responses"),
    [
        ("hf://openai/gsm8k", "gsm8k", None),
        ("hf://HuggingFaceH4/MATH-500", "math500", None),
        ("hf://Qwen/ProcessBench", "processbench", "processbench"),
        ("hf://tasksource/PRM800K", None, "prm800k"),
        ("hf://peiyi9979/Math-Shepherd", None, "math_shepherd"),
        ("hf://yale-nlp/FOLIO", "folio", None),
        ("hf://tasksource/folio", "folio", None),
        # Copies elsewhere are recognised by the name without the owner.
        ("hf://someone/BIG-Bench-Mistake", None, "bigbench_mistake"),
        ("hf://me/math_500", "math500", None),
        # A different layout under a similar name is not guessed at.
        ("hf://HuggingFaceH4/prm800k-trl-dedup", None, None),
        ("hf://someone/unknown", None, None),
    ],
)
def test_the_name_picks_the_preset(name: str, problems: str | None, responses: str | None) -> None:
    assert hub.presets_for(name) == (problems, responses)


def test_an_explicit_preset_or_field_map_wins() -> None:
    shipped = compose_defaults("generate")["fields"]
    base = {"input": "hf://openai/gsm8k", "preset": None, "fields": shipped}
    assert hub.with_preset(base, "generate", shipped)["preset"] == "gsm8k"
    assert hub.with_preset({**base, "preset": "math"}, "generate", shipped)["preset"] == "math"
    mine = {**shipped, "question": "prompt"}
    assert hub.with_preset({**base, "fields": mine}, "generate", shipped)["preset"] is None
    assert hub.with_preset({**base, "input": "gsm8k.jsonl"}, "generate", shipped)["preset"] is None
    imported = {"input": "hf://Qwen/ProcessBench", "preset": None, "fields": {}}
    assert hub.with_preset(imported, "import", {})["preset"] == "processbench"
    # No responses preset reads GSM8K: import keeps its field mapping.
    assert hub.with_preset({**imported, "input": "hf://openai/gsm8k"}, "import", {})["preset"] is None


def _gsm8k_rows(n: int) -> list[dict]:
    return [json.loads(line) for line in (DATA / "gsm8k" / "test.jsonl").read_text().splitlines()[:n]]


def test_records_come_from_the_cached_split(hf_home: Path) -> None:
    rows = _gsm8k_rows(6)
    add_hub_dataset(hf_home, "openai/gsm8k", {"test": rows, "train": rows[:2]}, config="main")
    records = list(read_records("hf://openai/gsm8k", "test"))
    assert [r.data for r in records] == rows
    assert [r.row for r in records] == [1, 2, 3, 4, 5, 6]
    assert {r.file for r in records} == {"hf://openai/gsm8k (config main, split test)"}
    assert len(list(read_records("hf://openai/gsm8k", "train"))) == 2


def test_a_split_must_be_named_when_there_are_several(hf_home: Path) -> None:
    rows = _gsm8k_rows(3)
    add_hub_dataset(hf_home, "openai/gsm8k", {"test": rows, "train": rows}, config="main")
    with pytest.raises(InputError, match=r"splits \['test', 'train'\]; choose one with --split test"):
        list(read_records("hf://openai/gsm8k"))
    with pytest.raises(InputError, match="Unknown split.*--split NAME"):
        list(read_records("hf://openai/gsm8k", "validation"))
    add_hub_dataset(hf_home, "HuggingFaceH4/MATH-500", {"test": DATA / "math500" / "test.jsonl"})
    assert len(list(read_records("hf://HuggingFaceH4/MATH-500"))) == 40  # its only split


def test_a_dataset_not_in_the_cache_says_what_to_do(hf_home: Path) -> None:
    with pytest.raises(InputError) as err:
        list(read_records("hf://Qwen/ProcessBench", "gsm8k"))
    message = str(err.value)
    assert message.startswith("hf://Qwen/ProcessBench")
    assert "HF_HUB_OFFLINE=0" in message and str(hf_home / "datasets") in message
    with pytest.raises(InputError, match="hf://Qwen/ProcessBench"):
        content_digest("hf://Qwen/ProcessBench")


def test_the_digest_is_the_revision(hf_home: Path) -> None:
    rows = _gsm8k_rows(4)
    add_hub_dataset(hf_home, "openai/gsm8k", {"test": rows}, config="main", revision="a" * 40)
    first = content_digest("hf://openai/gsm8k")
    assert first and first.startswith("hf:") and first == hub.revision_digest("hf:/openai/gsm8k")
    hub._builder.cache_clear()
    assert content_digest("hf://openai/gsm8k") == first  # the same copy, read again
    add_hub_dataset(hf_home, "openai/gsm8k", {"test": rows[:3]}, config="main", revision="b" * 40)
    hub._builder.cache_clear()
    assert content_digest("hf://openai/gsm8k") != first  # a newer commit of the dataset
    assert len(list(read_records("hf://openai/gsm8k", "test"))) == 3


def test_readme_hub_commands_run_as_written_from_a_cache(hf_home: Path, tmp_path: Path) -> None:
    """The README's quick start for real data, from a Hub cache with no network (generate runs on the
    simulator through a trailing override, which wins over --backend; everything before it as written)."""
    from tests.conftest import REPO, run_prmlabel

    lines = [line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("prmlabel ")]
    commands = [line.split()[1:] for line in lines if "hf://" in line]
    assert [c[0] for c in commands] == ["generate", "import"], commands
    gsm8k = _gsm8k_rows(3)
    add_hub_dataset(hf_home, "openai/gsm8k", {"test": gsm8k, "train": gsm8k[:1]}, config="main")
    add_hub_dataset(hf_home, "Qwen/ProcessBench", {s: DATA / "processbench" / "gsm8k.json" for s in ("gsm8k", "math")})
    extra = {"generate": ["backend.name=synthetic", "samples=1"], "import": []}
    stdout = {args[0]: run_prmlabel([*args, *extra[args[0]]], cwd=tmp_path).stdout for args in commands}
    assert "problems in        3" in stdout["generate"] and "problems rejected  0" in stdout["generate"]
    assert "responses in                    40" in stdout["import"]
    assert "with a human first-error label  40" in stdout["import"]  # the processbench preset read `label`


def test_a_recipe_keeps_the_hub_name_as_its_input(hf_home: Path, tmp_path: Path) -> None:
    """`prmlabel run RECIPE -i hf://...`: the name is not made a path; the first stage picks the preset."""
    import yaml

    from tests.conftest import run_prmlabel

    add_hub_dataset(hf_home, "openai/gsm8k", {"test": _gsm8k_rows(2)}, config="main")
    args = ["run", "demo", "-i", "hf://openai/gsm8k", "-o", str(tmp_path / "run"), "--show-config"]
    plan = yaml.safe_load(run_prmlabel([*args, "backend=synthetic", "stages.generate.options.split=test"]).stdout)
    generate = plan["stages"]["generate"]["config"]
    assert plan["input"] == generate["input"] == "hf://openai/gsm8k"
    assert generate["preset"] == "gsm8k" and generate["split"] == "test"
    assert generate["input_fingerprint"] == content_digest("hf://openai/gsm8k")
