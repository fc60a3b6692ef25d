"""The brief's sections on what a run assumed: the scenario's inputs in plain words (from its
resolved scenario.yaml) and the calibration and data sources it used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sim.model.indicators import INDICATORS
from sim.report.brief import numbers, wording
from sim.report.brief.document import Block, Bullets, Heading, Paragraph, Table, code, md
from sim.report.brief.folders import Comparison, RunFolder
from sim.report.brief.wording import text


def _number_text(x: float, kind: str, lang: str) -> str:
    """A scenario number for reading: shares as % ('15%', '1.7%'), others as '1,364.4', '0.8'."""
    value = 100 * float(x) if kind == "share" else float(x)
    if value == 0 or abs(value) >= 1:
        shown = f"{value:,.2f}".rstrip("0").rstrip(".")
    else:
        shown = f"{value:.3g}"
    return shown + ("%" if kind == "share" else "")


def _distribution(spec: Mapping[str, Any], kind: str, lang: str) -> str:
    def f(key: str) -> str:
        return _number_text(spec[key], kind, lang)

    dist = spec.get("dist")
    if dist == "uniform":
        return text(lang, "dist_uniform", low=f("low"), high=f("high"))
    if dist == "triangular":
        return text(lang, "dist_triangular", low=f("low"), mode=f("mode"), high=f("high"))
    if dist == "normal":
        bounds = ""
        if spec.get("low") is not None and spec.get("high") is not None:
            bounds = text(lang, "dist_normal_bounds", low=f("low"), high=f("high"))
        return text(lang, "dist_normal", mean=f("mean"), sd=f("sd"), bounds=bounds)
    if dist == "lognormal":
        return text(lang, "dist_lognormal", median=f("median"), sigma=f"{spec['sigma']:.3g}")
    return md(json.dumps(spec, ensure_ascii=False))


def _money(spec: Mapping[str, Any], lang: str) -> str:
    if spec.get("value_usd") is not None:
        return numbers.format_usd(spec["value_usd"], lang)
    if spec.get("value_krw") is not None:
        return numbers.format_krw(spec["value_krw"], lang)
    return numbers.MISSING[lang]


DRAWN = {
    "ko": "추정된 동인 모형에서 매번 추출",
    "en": "drawn in every replicate from the estimated driver model",
}


def _number_or_path(value: Any, fmt, lang: str) -> str:
    """A pinned number, a path by month, an outlook {mean, sd}, or drawn (not pinned)."""
    if value is None:
        return DRAWN[lang]
    if isinstance(value, Mapping) and "mean" in value:
        sd = "표준편차" if lang == "ko" else "sd"
        return f"{fmt(value['mean'])} ({sd} {fmt(value['sd'])})"
    if isinstance(value, Mapping):
        points = [f"{numbers.format_month(str(m), lang)} {fmt(v)}" for m, v in value.items()]
        return " → ".join(points)
    return fmt(value)


def _end(section: Mapping[str, Any], lang: str) -> str:
    end = section.get("end")
    if not end:
        return ""
    return (
        f" {numbers.format_month(str(end), lang)}까지"
        if lang == "ko"
        else (f" to {numbers.format_month(str(end), lang)}")
    )


_SECTION_NAMES = {
    "ko": {
        "period": "기간",
        "macro": "거시 여건",
        "tariffs": "관세",
        "ai_factory": "AI 공장 지원사업",
        "defence_exports": "방산 수출",
        "export_support": "수출 지원",
        "parameters": "고정 매개변수",
        "uncertain": "불확실한 입력",
    },
    "en": {
        "period": "period",
        "macro": "economy",
        "tariffs": "tariffs",
        "ai_factory": "AI-factory programme",
        "defence_exports": "defence exports",
        "export_support": "export support",
        "parameters": "fixed parameters",
        "uncertain": "uncertain inputs",
    },
}


def assumptions_section(run: RunFolder, comparison: Comparison | None, lang: str) -> list[Block]:
    """What the scenario assumes, from its resolved scenario.yaml, in plain words."""
    s = run.scenario
    blocks: list[Block] = [Heading(text(lang, "assumptions"))]
    if s.get("description"):
        words = md(" ".join(str(s["description"]).split()))
        blocks.append(Paragraph(text(lang, "description", text=words)))
    items = []
    period = s.get("period", {})
    items.append(
        text(
            lang,
            "period",
            start=numbers.format_month(str(period.get("start")), lang),
            end=numbers.format_month(str(period.get("end")), lang),
            replicates=run.replicates,
            seed=run.seed,
        )
    )
    macro = s.get("macro", {})
    krw_unit = "원" if lang == "ko" else " KRW per USD"
    growth = macro.get("demand_growth", {}) or {}
    demand = ", ".join(
        f"{wording.PARTNER[lang].get(p, p)} "
        f"{_number_or_path(v, lambda x: _number_text(x, 'share', lang), lang)}"
        for p, v in growth.items()
    )
    items.append(
        text(
            lang,
            "macro",
            krw=_number_or_path(
                macro.get("krw_per_usd"), lambda v: f"{float(v):,.1f}{krw_unit}", lang
            ),
            ppi=_number_or_path(
                macro.get("producer_price_growth"), lambda v: _number_text(v, "share", lang), lang
            ),
            demand=demand or DRAWN[lang],
        )
    )
    ai = s.get("ai_factory")
    if ai:
        items.append(
            text(
                lang,
                "ai_factory",
                start=numbers.format_month(str(ai["start"]), lang),
                end=_end(ai, lang),
                firms=round(float(ai["subsidised_firms_per_year"])),
                share=_number_text(ai["subsidy_share"], "share", lang),
            )
        )
    else:
        items.append(text(lang, "no_ai_factory"))
    defence = s.get("defence_exports") or {}
    contracts = defence.get("contracts") or []
    pipeline = defence.get("pipeline")
    if not contracts and not pipeline:
        items.append(text(lang, "no_defence"))
    if pipeline:
        items.append(
            text(
                lang,
                "pipeline",
                start=numbers.format_month(str(pipeline["start"]), lang),
                orders=f"{float(pipeline['orders_per_year']):.3g}",
                value=_distribution_money(pipeline["value_usd"], lang),
                primes=", ".join(
                    wording.ANCHOR[lang].get(p, p) for p in pipeline.get("primes", [])
                ),
            )
        )
    support = s.get("export_support")
    if support:
        items.append(
            text(
                lang,
                "export_support",
                start=numbers.format_month(str(support["start"]), lang),
                end=_end(support, lang),
                credit=numbers.format_krw(support["credit_line_krw"], lang),
                boost=_number_text(support["diversion_boost"], "share", lang),
            )
        )
    overrides = s.get("parameters") or {}
    if overrides:
        listed = ", ".join(
            f"{md(wording.factor_label(k, lang))} = {_number_text(v, 'number', lang)}"
            for k, v in overrides.items()
        )
        items.append(text(lang, "overrides", items=listed))
    if comparison is not None:
        base = comparison.base.scenario
        differ = [
            _SECTION_NAMES[lang][key]
            for key in _SECTION_NAMES[lang]
            if _canonical(s.get(key)) != _canonical(base.get(key))
        ]
        items.append(
            text(lang, "differs_from_base", parts=", ".join(differ))
            if differ
            else text(lang, "same_as_base")
        )
    blocks.append(Bullets(tuple(items)))

    tariffs = s.get("tariffs") or []
    if tariffs:
        blocks.append(Paragraph(text(lang, "tariffs")))
        rows = []
        for t in tariffs:
            sectors = t.get("sectors", "all")
            names = (
                wording.SECTOR[lang]["all"]
                if sectors == "all"
                else ", ".join(wording.SECTOR[lang].get(x, x) for x in sectors)
            )
            rows.append(
                (
                    code(t["name"]),
                    wording.PARTNER[lang].get(t["partner"], t["partner"]),
                    names,
                    _number_text(t["rate"], "share", lang),
                    numbers.format_span(str(t["start"]), t.get("end") and str(t["end"]), lang),
                )
            )
        header = tuple(text(lang, "tariff_header").split("|"))
        blocks.append(Table(header, tuple(rows), numeric=(3,)))
    else:
        blocks.append(Paragraph(text(lang, "no_tariffs")))
    if contracts:
        blocks.append(Paragraph(text(lang, "contracts")))
        blocks.append(
            Bullets(
                tuple(
                    text(
                        lang,
                        "contract_item",
                        name=md(c["name"]),
                        prime=wording.ANCHOR[lang].get(c["prime"], c["prime"]),
                        value=_money(c, lang),
                        signed=numbers.format_month(str(c["signed"]), lang),
                        start=numbers.format_month(str(c["delivery"]["start"]), lang),
                        months=c["delivery"]["months"],
                    )
                    for c in contracts
                )
            )
        )
    uncertain = s.get("uncertain") or {}
    if uncertain:
        blocks.append(Paragraph(text(lang, "uncertain")))
        blocks.append(
            Bullets(
                tuple(
                    f"{wording.capitalize(md(wording.factor_label(key, lang)))}: "
                    f"{_distribution(spec, wording.factor_kind(key), lang)}"
                    for key, spec in uncertain.items()
                )
            )
        )
    else:
        blocks.append(Paragraph(text(lang, "no_uncertain")))
    return blocks


def _distribution_money(spec: Mapping[str, Any], lang: str) -> str:
    """A distribution of dollar values: 'median 10억 달러, σ 0.8 (lognormal)'."""
    money = {k: numbers.format_usd(v, lang) for k, v in spec.items() if k not in ("dist", "sigma")}
    dist = spec.get("dist")
    if dist == "lognormal":
        return text(lang, "dist_lognormal", median=money["median"], sigma=f"{spec['sigma']:.3g}")
    if dist == "uniform":
        return text(lang, "dist_uniform", low=money["low"], high=money["high"])
    if dist == "triangular":
        return text(
            lang, "dist_triangular", low=money["low"], mode=money["mode"], high=money["high"]
        )
    if dist == "normal":
        bounds = ""
        if spec.get("low") is not None and spec.get("high") is not None:
            bounds = text(lang, "dist_normal_bounds", low=money["low"], high=money["high"])
        return text(lang, "dist_normal", mean=money["mean"], sd=money["sd"], bounds=bounds)
    return md(json.dumps(spec, ensure_ascii=False))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _fit_quality(calibration: str, lang: str) -> str:
    """When and how well the fit the run used matched its targets, from `calibration/fit.json`
    (empty if that file belongs to another fit)."""
    from sim.inputs.paths import CALIBRATION_DIR

    try:
        fit = json.loads((CALIBRATION_DIR / "fit.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if fit.get("fit_id") != calibration:
        return ""
    targets = fit.get("targets", [])
    return text(
        lang,
        "calibration_quality",
        date=str(fit.get("created_utc", ""))[:10],
        inside90=sum(1 for t in targets if t.get("in90")),
        inside50=sum(1 for t in targets if t.get("in50")),
        total=len(targets),
    )


def calibration_section(run: RunFolder, lang: str) -> list[Block]:
    from sim.analysis.history import history_sources
    from sim.inputs.parameters import load_registry, registry_id

    calibration = str(run.manifest.get("calibration_id", "unknown"))
    if calibration.startswith("prior-"):
        first = text(lang, "calibration_prior", id=calibration)
    else:
        first = text(lang, "calibration_fitted", id=calibration) + _fit_quality(calibration, lang)
    if run.manifest.get("parameters") == "central values":
        first += text(lang, "calibration_fixed")
    blocks: list[Block] = [Heading(text(lang, "calibration")), Paragraph(first)]
    items = []
    try:
        registry = load_registry()
        kinds = {
            k: sum(1 for s in registry.values() if s.kind == k)
            for k in ("fact", "literature", "calibrated", "assumption")
        }
        items.append(text(lang, "registry_counts", total=len(registry), **kinds))
        now = registry_id()
        if now != calibration:
            items.append(text(lang, "registry_changed", now=now))
    except (OSError, ValueError) as error:  # the brief is still useful without the registry
        items.append(md(f"calibration/parameters.yaml: {error}"))
    blocks.append(Bullets(tuple(items)))
    sources = history_sources()
    blocks.append(Paragraph(text(lang, "sources")))
    blocks.append(
        Bullets(
            tuple(
                text(
                    lang,
                    "source_item",
                    label=INDICATORS[name].label_ko if lang == "ko" else INDICATORS[name].label_en,
                    source=md(source),
                )
                for name, source in sources.items()
            )
        )
    )
    cited = published_sources([*sources.values(), *_parameter_sources()])
    if cited:
        blocks.append(Paragraph(text(lang, "sources_published")))
        blocks.append(Bullets(tuple(md(line) for line in cited)))
    blocks += record_section(lang)
    return blocks


def _parameter_sources() -> list[str]:
    from sim.inputs.parameters import load_registry

    try:
        return [spec.source for spec in load_registry().values()]
    except (OSError, ValueError):
        return []


def published_sources(texts: list[str]) -> list[str]:
    """'outlet, date: what it says' for every entry of SOURCES.md the texts cite, in file order."""
    from sim.inputs.sources import load_sources

    try:
        sources = load_sources()
    except (OSError, ValueError):
        return []
    keys = {entry.key for t in texts for entry in sources.cited_in(t)}
    return [f"{e.citation}: {e.says}" for e in sources.entries if e.key in keys]


RECORD_INDICATORS = ("production_krw", "exports_usd", "employment")


def load_record() -> dict | None:
    """The record of `changwon-sim validate` (calibration/validation/validation.json) with its
    entries for forecasts made as runs make them (drivers drawn), or None."""
    from sim.inputs.paths import CALIBRATION_DIR

    try:
        validation = json.loads(
            (CALIBRATION_DIR / "validation" / "validation.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None
    entries = [e for e in validation.get("record", []) if e.get("drivers") == "drawn"]
    return {**validation, "record": entries} if entries else None


def record_sentence(lang: str) -> str | None:
    """How far to trust the ranges, in words, for the summary beside them: how often 80% ranges
    made the same way at past origins held the first-released outcome, and how much closer their
    forecasts came than 'same as last year' (CRPS)."""
    validation = load_record()
    if validation is None:
        return None
    held = {}
    for name in RECORD_INDICATORS:
        mine = [e for e in validation["record"] if e["indicator"] == name]
        held[name] = (sum(e["held80"] for e in mine), sum(e["checks"] for e in mine))
    pooled = [e for e in validation["record"] if e["indicator"] == "all"]
    checks = sum(e["checks"] for e in pooled)
    if not checks:
        return None
    skill = sum(e["skill_no_change"]["skill"] * e["checks"] for e in pooled) / checks
    origins = sorted({o for e in pooled for o in e["origins"]})

    def count(name: str) -> str:
        n, m = held[name]
        return f"{m}회 중 {n}회" if lang == "ko" else f"{n} of {m} times"

    return text(
        lang,
        "record_short",
        first=origins[0],
        last=origins[-1],
        horizon=max(e["horizon"] for e in pooled),
        production=count("production_krw"),
        exports=count("exports_usd"),
        jobs=count("employment"),
        skill=f"{100 * abs(skill):.0f}",
        better=text(lang, "record_better" if skill >= 0 else "record_worse"),
    )


def record_section(lang: str) -> list[Block]:
    """The record of ranges made the same way at past origins (`changwon-sim validate`): how
    often they held the outcome, and their skill against simple rules, in words."""
    blocks: list[Block] = [Heading(text(lang, "record"), 3)]
    validation = load_record()
    if validation is None:
        return [*blocks, Paragraph(text(lang, "no_record"))]
    for e in validation["record"]:
        if e["indicator"] not in RECORD_INDICATORS:
            continue
        blocks.append(
            Paragraph(
                text(
                    lang,
                    "record_text",
                    noun=wording.NOUN[lang].get(e["indicator"], e["indicator"]),
                    horizon=e["horizon"],
                    held80=e["held80"],
                    held50=e["held50"],
                    total=e["checks"],
                    origins=", ".join(str(o) for o in e["origins"]),
                    skill_nc=f"{e['skill_no_change']['skill']:+.2f}",
                    skill_rw=f"{e['skill_random_walk_drift']['skill']:+.2f}",
                )
            )
        )
    blocks.append(Paragraph(text(lang, "record_caveat", id=md(validation.get("fit_id", "?")))))
    return blocks
