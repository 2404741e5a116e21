"""Entry-point discovery in-process, on fake installed packages (a ``*.dist-info`` folder on sys.path).

Each test writes its own uniquely named modules, so nothing leaks between tests through sys.modules.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from prmlabel.backends import available_backends, load_backend
from prmlabel.export import format_module
from prmlabel.filters import load_filter, parse_chain
from prmlabel.labelers import available_labelers, load_labeler
from prmlabel.launch.plan import code_hashes
from prmlabel.launch.recipe import available_recipes, recipe_path
from prmlabel.runtime.plugins import PluginError

LABELER = """
from dataclasses import dataclass
from prmlabel.engine.types import StepLabels

@dataclass(frozen=True)
class P:
    k: int = 2

class Rule:
    name = "{name}"
    paper = "test"
    value_kind = "probability"
    Params = P

    def __init__(self, params):
        self.p = params

    def params(self):
        return {{"k": self.p.k}}

    def label(self, response):
        return StepLabels([1.0], [True], -1)
"""


@pytest.fixture
def install(tmp_path, monkeypatch):
    """install(dist, modules={path: source}, entry_points={group: {name: value}}): a fake installed package."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    tops: set[str] = set()

    def _install(dist: str, modules: dict[str, str], entry_points: dict[str, dict[str, str]]) -> Path:
        for rel, source in modules.items():
            (site / rel).parent.mkdir(parents=True, exist_ok=True)
            (site / rel).write_text(textwrap.dedent(source))
            tops.add(rel.split("/")[0].removesuffix(".py"))
        info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
        groups = "".join(
            f"[{g}]\n" + "".join(f"{n} = {v}\n" for n, v in eps.items()) + "\n" for g, eps in entry_points.items()
        )
        (info / "entry_points.txt").write_text(groups)
        return site

    yield _install
    for name in [m for m in sys.modules if m.split(".")[0] in tops]:
        del sys.modules[name]


def test_a_plugin_labeler_is_found_and_built_with_its_params(install):
    install("rules-a", {"rules_a.py": LABELER.format(name="rule_a")}, {"prmlabel.labelers": {"rule_a": "rules_a:Rule"}})
    assert "rule_a" in available_labelers() and "mc" in available_labelers()
    assert load_labeler("rule_a", {"k": 5}).params() == {"k": 5}
    assert load_labeler("rules_a:Rule").params() == {"k": 2}  # the same class named directly
    with pytest.raises(ValueError, match="has no parameter"):
        load_labeler("rule_a", {"n": 1})


def test_a_name_clash_with_a_builtin_names_both(install):
    install("rules-b", {"rules_b.py": LABELER.format(name="rule_b")}, {"prmlabel.labelers": {"mc": "rules_b:Rule"}})
    with pytest.raises(PluginError) as err:
        load_labeler("mc")
    message = str(err.value)
    assert "prmlabel (built-in)" in message and "prmlabel.labelers.mc:MathShepherdMC" in message
    assert "rules-b 1.2.3" in message and "rules_b:Rule" in message


def test_two_plugins_with_one_name_name_both(install):
    source = "class F:\n    pass\n"
    install("filters-c", {"filters_c.py": source}, {"prmlabel.filters": {"same": "filters_c:F"}})
    install("filters-d", {"filters_d.py": source}, {"prmlabel.filters": {"same": "filters_d:F"}})
    with pytest.raises(PluginError, match="registered twice") as err:
        parse_chain("dedup,same")
    assert "filters-c" in str(err.value) and "filters-d" in str(err.value)


def test_a_plugin_that_fails_to_import_says_whose_and_why(install):
    install("rules-e", {"rules_e.py": "raise RuntimeError('boom')\n"}, {"prmlabel.labelers": {"rule_e": "rules_e:R"}})
    with pytest.raises(PluginError, match=r"rule_e.*rules-e 1\.2\.3.*importing 'rules_e' failed: RuntimeError: boom"):
        load_labeler("rule_e")
    with pytest.raises(PluginError, match=r"cannot import 'no_such_pkg\.mod'.*installed in the Python"):
        load_labeler("no_such_pkg.mod:Rule")


def test_a_labeler_lacking_the_interface_is_refused(install):
    source = LABELER.format(name="rule_f")
    modules = {
        "rules_f/__init__.py": "",
        "rules_f/no_params.py": source.replace("    Params = P\n", ""),
        "rules_f/bad_kind.py": source.replace('value_kind = "probability"', 'value_kind = "logit"'),
        "rules_f/builtin_name.py": LABELER.format(name="omegaprm"),
    }
    install("rules-f", modules, {})
    with pytest.raises(PluginError, match=r"lacks what a prmlabel labeler needs: Params \(ClassVar\[type\]"):
        load_labeler("rules_f.no_params:Rule")
    with pytest.raises(PluginError, match="value_kind 'logit' is not one of probability"):
        load_labeler("rules_f.bad_kind:Rule")
    with pytest.raises(PluginError, match="method name 'omegaprm', which is the built-in labeler prmlabel.labelers"):
        load_labeler("rules_f.builtin_name:Rule")


def test_filter_backend_and_export_plugins(install):
    modules = {
        "kit_g/__init__.py": "",
        "kit_g/filt.py": """
            from dataclasses import dataclass

            @dataclass
            class P:
                min_steps: int = 2

            class Short:
                name = "short"
                paper = "test"
                Params = P

                def __init__(self, params):
                    self.p = params

                def params(self):
                    return {"min_steps": self.p.min_steps}

                def apply(self, candidates):
                    for c in candidates:
                        if len(c.labels_final) < self.p.min_steps:
                            c.drop("short:too_short")
        """,
        "kit_g/engine.py": """
            class Echo:
                name = "echo"
                def __init__(self, model=None, **options):
                    self.model = model
                def generate(self, requests):
                    return []
                def provenance(self):
                    return {"backend": "echo", "model": self.model or ""}
                def close(self):
                    pass

            def broken(model=None):
                return object()
        """,
        "kit_g/fmt.py": "NAME = 'tiny'\nBOOL_ONLY = True\nWRITES_UNKNOWN = False\n",
    }
    eps = {
        "prmlabel.filters": {"short": "kit_g.filt:Short"},
        "prmlabel.backends": {"echo": "kit_g.engine:Echo", "broken": "kit_g.engine:broken"},
        "prmlabel.exports": {"tiny": "kit_g.fmt"},
    }
    install("kit-g", modules, eps)
    from prmlabel.filters.base import Candidate

    assert parse_chain("dedup,short") == ["dedup", "short"]
    candidates = [Candidate(row={}, labels_final=[1.0]), Candidate(row={}, labels_final=[1.0, 0.0])]
    load_filter("short", {"min_steps": 2}).apply(candidates)
    assert [c.keep for c in candidates] == [False, True] and candidates[0].reason == "short:too_short"
    assert "echo" in available_backends() and load_backend("echo", model="m").provenance()["model"] == "m"
    with pytest.raises(PluginError, match="backend 'broken'.*lacks.*generate"):
        load_backend("broken")
    with pytest.raises(PluginError, match=r"export format 'tiny'.*lacks.*schema \(function.*record \(function"):
        format_module("tiny")
    assert format_module("trl").NAME == "trl"


def test_plugin_recipes_and_their_clashes(install):
    recipe = Path(recipe_path("demo")).read_text()
    modules = {"recipes_h/__init__.py": "", "recipes_h/mine.yaml": recipe.replace("name: demo", "name: mine")}
    install("recipes-h", modules, {"prmlabel.recipes": {"recipes_h": "recipes_h"}})
    assert "mine" in available_recipes() and recipe_path("mine").name == "mine.yaml"
    install(
        "recipes-i",
        {"recipes_i/__init__.py": "", "recipes_i/demo.yaml": recipe},
        {"prmlabel.recipes": {"i": "recipes_i"}},
    )
    with pytest.raises(
        PluginError, match=r"recipe 'demo' of the plug-in package recipes-i .* has the name of .*recipes/demo\.yaml"
    ):
        recipe_path("demo")


def test_the_code_hash_covers_a_plugins_files_and_names_a_missing_one(install):
    site = install("rules-j", {"rules_j/__init__.py": "", "rules_j/rule.py": LABELER.format(name="rule_j")}, {})
    plugin = {"kind": "labeler", "name": "rules_j.rule:Rule", "target": "rules_j.rule:Rule", "distribution": "rules-j"}
    hashes = code_hashes([plugin])
    assert {"plugins/rules-j/rules_j/__init__.py", "plugins/rules-j/rules_j/rule.py"} <= set(hashes)
    assert "labelers/mc.py" in hashes and not any(key.startswith(("cli/", "launch/")) for key in hashes)
    (site / "rules_j" / "rule.py").write_text(LABELER.format(name="rule_j2"))
    assert code_hashes([plugin])["plugins/rules-j/rules_j/rule.py"] != hashes["plugins/rules-j/rules_j/rule.py"]
    gone = {**plugin, "target": "rules_gone.rule:Rule", "distribution": "rules-gone"}
    assert code_hashes([gone])["plugins/rules-gone/rules_gone.rule"] == "(missing)"


def test_a_plugin_export_format_writes_through_the_export_stage(install, tmp_path):
    fmt = """
        import pyarrow as pa

        NAME = "steps_csv"
        BOOL_ONLY = True
        WRITES_UNKNOWN = True

        def schema(float_labels):
            return pa.schema([("id", pa.string()), ("labels", pa.list_(pa.bool_()))])

        def record(row, labels):
            return {"id": row.response_id, "labels": labels}
    """
    install("fmt-k", {"fmt_k.py": fmt}, {"prmlabel.exports": {"steps_csv": "fmt_k"}})
    import pyarrow.parquet as pq

    from prmlabel.stages.export import run_export
    from tests.export.folders import labels_folder

    summary = run_export(labels_folder(tmp_path), tmp_path / "out.parquet", "steps_csv")
    rows = {r["id"]: r["labels"] for r in pq.read_table(tmp_path / "out.parquet").to_pylist()}
    assert summary.format == "steps_csv" and rows["p1/r1"] == [True, False, None]  # null kept: WRITES_UNKNOWN
