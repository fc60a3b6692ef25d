"""Property tests of the scenario loader through the command line.

Every input goes through `sim.cli.main.main(["check", FILE])`, and every invalid one also through
`main(["run", FILE, "--out", DIR])`. Whether an input is valid is decided by how it was made
(a mutation known to break a rule, or one known to keep every rule), never by asking the loader.
For a refused input the properties are: exit code 2; no traceback; nothing on stdout; every line
of stderr reads `FILE:LINE: ...` with FILE one of the files involved; where a mutation targets a
key, a line names its dotted path at the line PyYAML places that key on (PyYAML's composer is an
independent oracle for lines); `run` prints exactly the same lines and writes nothing under
--out.
"""

from __future__ import annotations

import datetime
import io
import math
import os
import re
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from sim.cli.main import main
from sim.inputs.safe_yaml import MAX_ALIAS_NODES
from sim.inputs.scenario_files import MAX_EXTENDS_DEPTH, load_scenario, resolved_yaml

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

SMALL = """\
name: small
title: A small scenario with every section
period: {start: 2025-01, end: 2026-12}
runs: {replicates: 8, seed: 7}
macro:
  krw_per_usd: {2025-01: 1400, 2026-01: 1350}
  producer_price_growth: 0.02
  demand_growth: {domestic: 0.015, US: 0.02}
tariffs:
  - {name: reciprocal, partner: US, sectors: all, rate: 0.15, start: 2025-08, end: 2026-06}
  - {name: steel, partner: US, sectors: [steel, machinery], rate: 0.5, start: 2025-06}
ai_factory: {start: 2025-07, subsidised_firms_per_year: 100, subsidy_share: 0.5}
defence_exports:
  contracts:
    - name: K9 Vietnam
      prime: hanwha_aerospace
      value_usd: 2.5e8
      partner: rest_of_world
      signed: 2025-07
      delivery: {start: 2026-01, months: 24}
  pipeline:
    orders_per_year: 2.0
    value_usd: {dist: lognormal, median: 1.0e9, sigma: 0.8}
    primes: [hanwha_aerospace, hyundai_rotem]
    start: 2026-01
export_support: {start: 2025-09, credit_line_krw: 2.0e11, diversion_boost: 0.5}
parameters: {elasticity_long_run: 2.0, bass_q: 0.5}
uncertain:
  elasticity_long_run: {dist: uniform, low: 1.5, high: 2.5}
  tariffs.reciprocal.rate: {dist: triangular, low: 0.1, mode: 0.15, high: 0.25}
  macro.demand_growth.US: {dist: normal, mean: 0.02, sd: 0.01, low: -0.05, high: 0.08}
outputs: {quantiles: [0.05, 0.5, 0.95]}
"""

# Names and keys the mutations use. Keys are plain words: keys with line breaks are the subject of
# their own test below.
MONTH_KEYS = {"start", "end", "signed"}
ENUM_KEYS = {"partner", "prime", "primes", "sectors", "dist"}
# Numbers that no negative value fits (>= 0 or > 0 by the design), and their upper limits.
NON_NEGATIVE = {
    "rate",
    "replicates",
    "seed",
    "value_usd",
    "value_krw",
    "months",
    "orders_per_year",
    "subsidised_firms_per_year",
    "subsidy_share",
    "credit_line_krw",
    "diversion_boost",
    "sd",
    "sigma",
    "median",
    "krw_per_usd",
    "quantiles",
}
UPPER = {  # key -> a bound every larger value breaks
    "rate": 10,
    "replicates": 100_000,
    "seed": 2**63 - 1,
    "subsidy_share": 1,
    "value_usd": 1e13,
    "value_krw": 1e16,
    "months": 600,
    "orders_per_year": 1000,
    "subsidised_firms_per_year": 100_000,
    "credit_line_krw": 1e16,
    "diversion_boost": 100,
    "sigma": 10,
    "quantiles": 1,
    "producer_price_growth": 1,
    "demand_growth": 1,
}
# Required keys by the kind of mapping they belong to; a missing one is an error.
REQUIRED = {
    "top": {"name"},
    "tariff": {"name", "partner", "rate", "start"},
    "ai_factory": {"start", "subsidised_firms_per_year", "subsidy_share"},
    "contract": {"name", "prime", "partner", "signed", "delivery"},
    "delivery": {"start", "months"},
    "pipeline": {"orders_per_year", "value_usd", "primes", "start"},
    "export_support": {"start", "credit_line_krw", "diversion_boost"},
    "uniform": {"dist", "low", "high"},
    "triangular": {"dist", "low", "mode", "high"},
    "normal": {"dist", "mean", "sd"},
    "lognormal": {"dist", "median", "sigma"},
}
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines breaks
BAD_MONTHS = [
    "2025-13",
    "2025-00",
    "2025-1",
    "25-01",
    "2025/01",
    "",
    "1899-12",
    "2201-01",
    "Jan 2025",
    "2025-01-15",
    datetime.date(2025, 1, 15),
    202501,
    2025.5,
]
BAD_NAMES = {
    "partner": ["Japan", "us", "USA", "domestic", "rest of world", "EU "],
    "prime": ["samsung", "Hanwha_Aerospace", "lg_electronics", ""],
    "primes": ["samsung", "hanwha aerospace", "doosan"],
    "sectors": ["textiles", "Steel", "machinery ", "autos"],
    "dist": ["beta", "Uniform", "gamma", "poisson", ""],
}
WRONG_TYPES = ["abc", [1, 2], {"x": 1}, True]
NUMBER_OR_PATH = {("macro", "krw_per_usd"), ("macro", "producer_price_growth")}


# --- running the command line -------------------------------------------------------------------


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


LINE = re.compile(r"(?P<line>[1-9]\d*): (?P<rest>\S.*)")


def parse_lines(err: str, files: set[str]) -> list[tuple[str, int, str]]:
    """(file, line, rest) of every stderr line; fails unless each reads `FILE:LINE: ...`."""
    parsed = []
    for text in err.split("\n")[:-1]:
        assert text.splitlines() == [text], f"a message spans lines: {text!r}"
        file = next(
            (f for f in sorted(files, key=len, reverse=True) if text.startswith(f + ":")), ""
        )
        assert file, f"names none of {sorted(files)}: {text!r}"
        match = LINE.fullmatch(text[len(file) + 1 :])
        assert match, f"not FILE:LINE: message: {text!r}"
        parsed.append((file, int(match["line"]), match["rest"]))
    assert err.endswith("\n") and parsed, f"no message: {err!r}"
    return parsed


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def assert_refused(path: Path, files: set[str] | None = None) -> list[tuple[str, int, str]]:
    """`check` and `run` both refuse the file the same way and write nothing."""
    files = files or {str(path)}
    code, out, err = cli("check", str(path))
    assert code == 2, (code, out, err)
    assert out == "" and "Traceback" not in err
    parsed = parse_lines(err, files)

    out_root = path.parent / "out" / "results"  # not made yet: making it is writing
    before = tree(path.parent)
    code, out, err_run = cli("run", str(path), "--out", str(out_root), "--workers", "1")
    assert code == 2, (code, out, err_run)
    assert err_run == err and out == ""
    assert tree(path.parent) == before
    return parsed


def assert_accepted(path: Path) -> None:
    code, out, err = cli("check", str(path))
    assert code == 0, err
    assert out.startswith(f"ok: {path}: ") and err == ""


# --- documents and where their keys are -----------------------------------------------------------


def dump(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False)


def key_line(text: str, path: tuple) -> int:
    """The 1-based line PyYAML places the key (or list item) at `path` on."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    line = node.start_mark.line + 1
    for step in path:
        if isinstance(node, yaml.MappingNode):
            key, value = next((k, v) for k, v in node.value if k.value == str(step))
            line, node = key.start_mark.line + 1, value
        else:
            node = node.value[step]
            line = node.start_mark.line + 1
    return line


def shown(document: Any, path: tuple) -> str:
    """A path as messages show it: keys by dots, list items by their unique name or `[i]`."""
    text, node = "", document
    for step in path:
        if isinstance(node, list):
            item = node[step]
            name = item.get("name") if isinstance(item, dict) else None
            names = [other.get("name") for other in node if isinstance(other, dict)]
            if isinstance(name, str) and names.count(name) == 1 and "." not in name:
                text += f".{name}"
            else:
                text += f"[{step}]"
            node = item
        else:
            text = f"{text}.{step}" if text else str(step)
            node = node[step] if isinstance(node, dict) and step in node else None
    return text


def leaves(node: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in leaves(value, (*path, key))]
    if isinstance(node, list) and node and all(isinstance(i, dict) for i in node):
        return [leaf for i, value in enumerate(node) for leaf in leaves(value, (*path, i))]
    return [(path, node)]


def mappings(node: Any, path: tuple = ()) -> list[tuple]:
    found = []
    if isinstance(node, dict):
        found.append(path)
        for key, value in node.items():
            found += mappings(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += mappings(value, (*path, i))
    return found


def get(document: Any, path: tuple) -> Any:
    for step in path:
        document = document[step]
    return document


def put(document: Any, path: tuple, value: Any) -> None:
    get(document, path[:-1])[path[-1]] = value


def kind_of(document: dict, path: tuple) -> str | None:
    """What the mapping at `path` is, for REQUIRED (None: no required keys known)."""
    if path == ():
        return "top"
    node = get(document, path)
    if isinstance(node, dict) and node.get("dist") in REQUIRED:
        return node["dist"]
    head, last = path[0], path[-1]
    if head == "tariffs" and len(path) == 2:
        return "tariff"
    if head == "defence_exports" and path[1:2] == ("contracts",) and len(path) == 3:
        return "contract"
    if last == "delivery":
        return "delivery"
    if path in {("ai_factory",), ("export_support",), ("defence_exports", "pipeline")}:
        return {"ai_factory": "ai_factory", "export_support": "export_support"}.get(
            head, "pipeline"
        )
    return None


def base_documents() -> list[dict]:
    documents = [yaml.safe_load(SMALL)]
    for path in sorted(SCENARIOS.glob("*.yaml")):
        documents.append(yaml.safe_load(resolved_yaml(load_scenario(path))))
    return documents


BASES = base_documents()


def month_number(text: str) -> int:
    year, month = text.split("-")
    return int(year) * 12 + int(month) - 1


def month_text(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


# --- mutations known to break a rule --------------------------------------------------------------


@st.composite
def broken_documents(draw) -> tuple[dict, tuple, tuple, str]:
    """(document, path the message must name, path whose line it must give, mutation)."""
    document = draw(st.sampled_from(BASES))
    document = yaml.safe_load(dump(document))  # a deep copy
    kinds = ["wrong_type", "not_finite", "negative", "too_large", "bad_month", "reversed"]
    kinds += ["unknown_key", "missing_key", "unknown_name"]
    mutation = draw(st.sampled_from(kinds))
    all_leaves = [(p, v) for p, v in leaves(document) if p]
    numbers = [
        (p, v) for p, v in all_leaves if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    number_items = [  # numbers inside lists of numbers (quantiles)
        ((*p, i), x) for p, v in all_leaves if isinstance(v, list) for i, x in enumerate(v)
    ]
    numbers += [(p, v) for p, v in number_items if isinstance(v, (int, float))]

    def key_of(path: tuple) -> str:
        return next(str(step) for step in reversed(path) if isinstance(step, str))

    if mutation == "wrong_type":
        # Values of a type the key never takes, chosen so the error is at the key itself (a list
        # put where a list of names belongs would be reported at its items).
        path, old = draw(st.sampled_from([(p, v) for p, v in all_leaves if v is not None]))
        if isinstance(old, list):
            options = ["abc", 123, True, {"x": 1}]
        elif isinstance(old, str):
            options = [123, True, {"x": 1}] + ([] if old == "all" else [[1, 2]])
        elif path[0] == "uncertain" or path[:2] in NUMBER_OR_PATH:
            options = ["abc", True, [1, 2]]  # a mapping there is a path or a distribution
        else:
            options = WRONG_TYPES
        put(document, path, draw(st.sampled_from(options)))
        return document, path, path, mutation
    if mutation == "not_finite":
        path, _ = draw(st.sampled_from(numbers))
        put(document, path, draw(st.sampled_from([math.nan, math.inf, -math.inf])))
        return document, path, path, mutation
    if mutation == "negative":
        candidates = [
            (p, v)
            for p, v in numbers
            if (key_of(p) in NON_NEGATIVE and p[0] not in ("parameters", "uncertain"))
            or p[:2] == ("macro", "demand_growth")
            or key_of(p) == "producer_price_growth"
        ]
        path, _ = draw(st.sampled_from(candidates))
        value = draw(
            st.one_of(
                st.floats(max_value=-1, allow_nan=False, allow_infinity=False),
                st.integers(max_value=-1),
            )
        )
        put(document, path, value)
        return document, path, path, mutation
    if mutation == "too_large":
        candidates = []
        for p, _ in numbers:
            if p[0] in ("parameters", "uncertain"):
                continue
            if p[:2] == ("macro", "demand_growth"):
                candidates.append((p, UPPER["demand_growth"]))
            elif key_of(p) in UPPER:
                candidates.append((p, UPPER[key_of(p)]))
        path, bound = draw(st.sampled_from(candidates))
        value = draw(
            st.one_of(
                st.just(bound * 2 if bound > 1 else bound + 1),
                st.floats(min_value=max(bound * 1.001, bound + 1e-9), max_value=1e300),
                st.integers(min_value=int(bound) + 1, max_value=10**40),
                st.just(10**400),
            )
        )
        if key_of(path) in ("seed", "replicates", "months") and isinstance(value, float):
            value = int(bound) + 1
        put(document, path, value)
        return document, path, path, mutation
    if mutation == "bad_month":
        months = [
            (p, v)
            for p, v in all_leaves
            if p[-1] in MONTH_KEYS and isinstance(v, str) and p[0] != "uncertain"
        ]
        path, _ = draw(st.sampled_from(months))
        put(document, path, draw(st.sampled_from(BAD_MONTHS)))
        return document, path, path, mutation
    if mutation == "reversed":
        spans = []
        for p in mappings(document):
            node = get(document, p)
            if isinstance(node.get("start"), str) and isinstance(node.get("end"), str):
                spans.append((p, "end", node["start"]))
            if "signed" in node and isinstance(node.get("delivery"), dict):
                spans.append(((*p, "delivery"), "start", node["signed"]))
        path, key, start = draw(st.sampled_from(spans))
        back = draw(st.integers(1, 60))
        put(document, (*path, key), month_text(month_number(start) - back))
        return document, (*path, key), (*path, key), mutation
    if mutation == "unknown_key":
        where = draw(st.sampled_from(mappings(document)))
        key = "zz_" + draw(st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True))
        get(document, where)[key] = draw(st.sampled_from([1, "x", None, [1]]))
        return document, (*where, key), (*where, key), mutation
    if mutation == "missing_key":
        options = []
        for p in mappings(document):
            kind = kind_of(document, p)
            node = get(document, p)
            for key in sorted(REQUIRED.get(kind, set()) & set(node)):
                options.append((p, key))
            if kind == "contract":  # its value: value_usd or value_krw
                options += [(p, k) for k in ("value_usd", "value_krw") if node.get(k) is not None]
        parent, key = draw(st.sampled_from(options))
        del get(document, parent)[key]
        if key in ("dist", "value_usd", "value_krw") and kind_of(document, parent) != "pipeline":
            return document, parent, parent, mutation  # reported at the mapping itself
        return document, (*parent, key), parent, mutation
    # unknown_name
    names = []
    for p, v in all_leaves:
        key = p[-1]
        if (key in ENUM_KEYS and p[0] != "uncertain") or (p[0] == "uncertain" and key == "dist"):
            if isinstance(v, str):
                names.append((p, key))
            elif isinstance(v, list):
                names += [((*p, i), key) for i in range(len(v))]
    path, key = draw(st.sampled_from(names))
    value = draw(st.sampled_from(BAD_NAMES[key]))
    if key == "sectors" and isinstance(path[-1], str):
        value = draw(st.sampled_from(["All", "every", "steel"]))  # 'all' or a list of sectors
    put(document, path, value)
    return document, path, path, mutation


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=broken_documents())
def test_a_broken_scenario_is_refused_naming_the_key_and_its_line(tmp_path, case):
    document, key_path, line_path, mutation = case
    event(mutation)
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        path = Path(folder) / "broken.yaml"
        text = dump(document)
        path.write_text(text, encoding="utf-8")
        parsed = assert_refused(path)
        expected = shown(document, key_path)
        at = key_line(text, line_path)
        named = [(line, rest) for _, line, rest in parsed if rest.startswith(expected + ":")]
        assert named, f"{mutation}: no message names {expected}:\n{text}\n{parsed}"
        assert at in {line for line, _ in named}, f"{mutation}: {expected} is on line {at}"


# --- mutations known to keep every rule -------------------------------------------------------


@st.composite
def valid_documents(draw) -> dict:
    document = yaml.safe_load(dump(draw(st.sampled_from(BASES))))
    changes = draw(
        st.lists(
            st.sampled_from(["replicates", "seed", "rate", "drop", "quantiles"]),
            min_size=1,
            max_size=4,
        )
    )
    for change in changes:
        if change == "replicates":
            document.setdefault("runs", {})["replicates"] = draw(st.integers(1, 100_000))
        elif change == "seed":
            document.setdefault("runs", {})["seed"] = draw(st.integers(0, 2**63 - 1))
        elif change == "rate" and document.get("tariffs"):
            tariff = draw(st.sampled_from(document["tariffs"]))
            tariff["rate"] = draw(st.floats(0, 10))
            # Any rate, with the tariff fully passed on: exporters then absorb none of it (a
            # rate above 1 absorbed in part is refused, sim.inputs.validity).
            document.setdefault("parameters", {})["tariff_passthrough"] = 1.0
            document.get("uncertain", {}).pop("tariff_passthrough", None)
        elif change == "drop":
            for key in draw(st.sets(st.sampled_from(["title", "description", "outputs"]))):
                document.pop(key, None)
        elif change == "quantiles":
            levels = draw(st.sets(st.floats(0.001, 0.999), min_size=1, max_size=9))
            document["outputs"] = {"quantiles": sorted(levels, reverse=draw(st.booleans()))}
    return document


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=valid_documents(), flow=st.booleans())
def test_a_scenario_changed_within_the_rules_passes_check(tmp_path, document, flow):
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        path = Path(folder) / "valid.yaml"
        text = yaml.safe_dump(document, sort_keys=flow, allow_unicode=True, default_flow_style=flow)
        path.write_text(text, encoding="utf-8")
        assert_accepted(path)


# --- arbitrary text, bytes and YAML documents ----------------------------------------------------

yaml_text = st.text(
    alphabet=st.one_of(
        st.sampled_from([*":-[]{}&*!|>'\"#%@`,?~ \n\t", "a", "0", "1", "."]),
        st.characters(codec="utf-8"),
    ),
    max_size=200,
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=yaml_text)
@example(text="name: [unclosed\n")
@example(text="- a\n- b\n")
@example(text="\ufeff")
@example(text="name: x\n\tperiod: 1\n")
def test_any_text_is_refused_cleanly_unless_it_is_a_scenario(tmp_path, text):
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        path = Path(folder) / "text.yaml"
        path.write_text(text, encoding="utf-8")
        code, out, err = cli("check", str(path))
        assert code in (0, 2) and "Traceback" not in err
        if code == 0:  # only a mapping with a name can be a scenario
            assert "name" in text and out.startswith(f"ok: {path}: ")
        else:
            assert_refused(path)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
@example(data=b"name: x\n\x00")
@example(data=b"name: \xff\xfe\n")
@example(data=b"\xef\xbb\xbfname: [")
def test_any_bytes_are_refused_cleanly(tmp_path, data):
    assume(b"name" not in data)
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        path = Path(folder) / "bytes.yaml"
        path.write_bytes(data)
        assert_refused(path)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.dates(),
)
yaml_keys = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_ .-]{0,15}", fullmatch=True),
    st.integers(-5, 5),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(yaml_keys, children, max_size=5)
    ),
    max_leaves=25,
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=documents, flow=st.sampled_from([None, True, False]), named=st.booleans())
def test_any_yaml_document_that_cannot_be_a_scenario_is_refused(tmp_path, document, flow, named):
    if isinstance(document, dict):
        # By construction not a scenario: no name, or an unknown key beside a good name.
        document.pop("name", None)
        document.pop("extends", None)
        if named:
            document = {"name": "ok", "zz_unknown": document}
    text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        path = Path(folder) / "doc.yaml"
        path.write_text(text, encoding="utf-8")
        parsed = assert_refused(path)
        if isinstance(document, dict) and named:
            assert any(rest.startswith("zz_unknown: unknown key") for _, _, rest in parsed)
        elif isinstance(document, dict):
            # Keys none of which is a scenario's are not quoted back (it may be any file).
            expected = ("name: required key is missing", "not a scenario file")
            assert any(rest.startswith(expected) for _, _, rest in parsed)


# --- hostile YAML ------------------------------------------------------------------------------


@st.composite
def hostile_documents(draw) -> tuple[str, str]:
    """(text, a word the message must contain) of YAML built to attack the loader."""
    kind = draw(
        st.sampled_from(["laughs", "tag", "merge", "nesting", "loop", "duplicate", "undefined"])
    )
    if kind == "laughs":
        fan, depth = draw(st.integers(2, 12)), draw(st.integers(2, 14))
        lines = ["name: laughs", f"a0: &a0 [{', '.join(['lol'] * fan)}]"]
        for level in range(1, depth):
            refs = ", ".join([f"*a{level - 1}"] * fan)
            lines.append(f"a{level}: &a{level} [{refs}]")
        # Nodes reached through aliases: a_l holds `fan` aliases of a_(l-1), of size[l-1] nodes.
        size = [1 + fan]
        for _ in range(1, depth):
            size.append(1 + fan * size[-1])
        expanded = sum(fan * size[level - 1] for level in range(1, depth))
        if expanded > 100_000:  # whatever the library's limit, this many must be refused
            return "\n".join(lines) + "\n", "alias"
        if expanded < MAX_ALIAS_NODES // 2:
            return "\n".join(lines) + "\n", "unknown key"
        return "\n".join(lines) + "\n", ""
    if kind == "tag":
        tag = draw(
            st.sampled_from(
                [
                    "!!python/object/apply:os.system ['touch {marker}']",
                    "!!python/object/new:os.system ['touch {marker}']",
                    "!!python/name:os.system",
                    "!!binary aGVsbG8=",
                    "!!set {a, b}",
                    "!!omap [a: 1]",
                    "!custom 1",
                    "!<tag:example.com,2000:x> 1",
                ]
            )
        )
        return f"name: tagged\ntitle: {tag}\n", "tag"
    if kind == "merge":
        return "name: m\nbase: &b {seed: 1}\nruns:\n  <<: *b\n", "merge"
    if kind == "nesting":
        depth = draw(st.integers(45, 5000))
        return f"name: deep\ndescription: {'[' * depth}1{']' * depth}\n", ""
    if kind == "loop":
        return "name: loop\ntitle: &a [1, *a]\n", ""
    if kind == "duplicate":
        key = draw(st.sampled_from(["name", "runs", "period"]))
        return f"name: d\n{key}: 1\n{key}: 2\n", "duplicate"
    return "name: u\ntitle: *nowhere\n", ""


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=hostile_documents())
def test_hostile_yaml_is_refused_fast_without_running_anything(tmp_path, case):
    text, word = case
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        marker = Path(folder) / "pwned"
        path = Path(folder) / "hostile.yaml"
        path.write_text(text.replace("{marker}", str(marker)), encoding="utf-8")
        started = time.perf_counter()
        parsed = assert_refused(path)
        # Generous: an alias bomb that is expanded takes minutes and gigabytes, not seconds.
        assert time.perf_counter() - started < 10
        assert not marker.exists(), "a YAML tag ran a command"
        assert any(word in rest for _, _, rest in parsed), parsed


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("name: big\n" + "# padding\n" * 120_000, encoding="utf-8")
    parsed = assert_refused(path)
    assert parsed[0][1] == 1 and "larger than the limit" in parsed[0][2]


# --- extends chains and cycles ------------------------------------------------------------------


@st.composite
def extends_chains(draw) -> dict:
    """Files f0 -> f1 -> ... (each extends the next), in nested folders, maybe closing a cycle,
    maybe with a bad seed set in one of them and maybe overridden nearer f0."""
    count = draw(st.integers(1, MAX_EXTENDS_DEPTH + 4))
    folders = draw(
        st.lists(st.sampled_from(["", "a", "a/b", "c", "c/d/e"]), min_size=count, max_size=count)
    )
    cycle_to = draw(st.one_of(st.none(), st.integers(0, count - 1)))
    seeds = draw(
        st.lists(
            st.one_of(st.none(), st.integers(0, 10**6), st.just(-1), st.just("seven")),
            min_size=count,
            max_size=count,
        )
    )
    blank_lines = draw(st.lists(st.integers(0, 3), min_size=count, max_size=count))
    return {
        "count": count,
        "folders": folders,
        "cycle_to": cycle_to,
        "seeds": seeds,
        "blank": blank_lines,
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chain=extends_chains())
@example(
    chain={
        "count": MAX_EXTENDS_DEPTH + 1,
        "folders": [""] * (MAX_EXTENDS_DEPTH + 1),
        "cycle_to": None,
        "seeds": [None] * (MAX_EXTENDS_DEPTH + 1),
        "blank": [0] * (MAX_EXTENDS_DEPTH + 1),
    }
)
@example(
    chain={
        "count": MAX_EXTENDS_DEPTH + 2,
        "folders": [""] * (MAX_EXTENDS_DEPTH + 2),
        "cycle_to": None,
        "seeds": [None] * (MAX_EXTENDS_DEPTH + 2),
        "blank": [0] * (MAX_EXTENDS_DEPTH + 2),
    }
)
def test_extends_chains_resolve_or_fail_at_the_right_file_and_line(tmp_path, chain):
    count = chain["count"]
    with tempfile.TemporaryDirectory(dir=tmp_path) as root:
        paths = [
            Path(os.path.normpath(Path(root) / folder / f"f{i}.yaml"))
            for i, folder in enumerate(chain["folders"])
        ]
        seed_lines = {}
        for i, path in enumerate(paths):
            path.parent.mkdir(parents=True, exist_ok=True)
            lines = [""] * chain["blank"][i]
            lines.append("name: chained" if i == 0 else f"description: file {i}")  # not empty
            target = i + 1 if i + 1 < count else chain["cycle_to"]
            if target is not None:
                relative = os.path.relpath(paths[target], path.parent)
                lines.append(f"extends: {relative}")
            if chain["seeds"][i] is not None:
                lines.append(f"runs: {{seed: {chain['seeds'][i]}}}")
                seed_lines[i] = len(lines)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")

        files = {str(p) for p in paths}
        hops = count - 1 if chain["cycle_to"] is None else count
        if chain["cycle_to"] is not None and count <= MAX_EXTENDS_DEPTH + 1:
            parsed = assert_refused(paths[0], files)
            assert any("cycle" in rest for _, _, rest in parsed), parsed
            return
        if hops > MAX_EXTENDS_DEPTH:
            parsed = assert_refused(paths[0], files)
            assert any(f"more than {MAX_EXTENDS_DEPTH}" in rest for _, _, rest in parsed)
            return
        # The seed that counts is the one set nearest f0.
        decisive = next((i for i in range(count) if chain["seeds"][i] is not None), None)
        seed = None if decisive is None else chain["seeds"][decisive]
        if seed is None or (isinstance(seed, int) and seed >= 0):
            assert_accepted(paths[0])
            return
        parsed = assert_refused(paths[0], files)
        assert (str(paths[decisive]), seed_lines[decisive]) in {(f, n) for f, n, _ in parsed}
        assert all(rest.startswith("runs.seed: ") for _, _, rest in parsed), parsed


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(reference=st.text(st.characters(codec="utf-8", exclude_characters=LINE_BREAKS), max_size=40))
@example(reference="")
@example(reference=".")
@example(reference="..")
@example(reference="/")
@example(reference="self.yaml")
@example(reference="./self.yaml")
@example(reference="missing.yaml")
def test_any_extends_reference_is_refused_cleanly(tmp_path, reference):
    """In an otherwise empty folder no reference can name a usable parent."""
    assume(not reference.startswith("/") and ".." not in reference)
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        path = Path(folder) / "self.yaml"
        path.write_text(yaml.safe_dump({"name": "s", "extends": reference}), encoding="utf-8")
        parsed = assert_refused(path)
        assert [rest.split(": ")[0] for _, _, rest in parsed] == ["extends"], parsed


# --- what the loader must refuse but does not yet ------------------------------------------------


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.text(st.sampled_from(["a", "b", "\n", "\r", "\x85", "\u2028"]), min_size=2, max_size=8)
)
@example(key="zz\nfoo")
def test_a_key_with_a_line_break_still_gives_one_line_per_problem(tmp_path, key):
    assume(any(char in key for char in "\n\r\x85\u2028"))
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        path = Path(folder) / "keys.yaml"
        document = {"name": "k", key: 1, "parameters": {key: 1.0}}
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        assert len(assert_refused(path)) == 2


PARAMETER_CRASHERS = [
    # (key, value, what the run does today with a scenario that passes `check`)
    ("parameters.entry_rate", 1e6, "MemoryError: tries to allocate 48 GiB"),
    ("parameters.diversion_months", 0, "ZeroDivisionError"),
    ("parameters.small_firm_share", 0, "StatisticsError"),
    ("parameters.firm_shock_persistence", 9.7, "NaN in production_krw, month 1"),
    ("parameters.us_export_share_machinery", 1e6, "-inf defect_rate, month 4"),
    ("macro.krw_per_usd", 1e300, "runs: employment 1.8e39 persons"),
]


@pytest.mark.parametrize(("key", "value", "today"), PARAMETER_CRASHERS, ids=lambda x: str(x))
def test_a_value_the_model_cannot_compute_with_is_refused_by_check(tmp_path, key, value, today):
    section, name = key.split(".")
    document = {"name": "extreme", section: {name: value}}
    path = tmp_path / "extreme.yaml"
    path.write_text(dump(document), encoding="utf-8")
    parsed = assert_refused(path)
    assert [rest.split(":")[0] for _, _, rest in parsed] == [key]
