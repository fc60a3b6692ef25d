"""The exploration page, on Mesa's SolaraViz: the model is an `EnsembleModel` (replicates of the
baseline and of the policy, paired), the components are the policy inputs, the fan charts with
the effect in words, and the effect by sector.

The inputs take effect as they are moved (SolaraViz's own model parameters wait for its Reset
button): the panel gives the model its new inputs, which drops the replicates of the old ones,
and a task of the page steps the model until its replicates are done, redrawing the charts after
each chunk (SolaraViz's Play and Step buttons add their steps to the same model, harmlessly).
Served by `sim.explore.server`; `Page` is the component solara serves.
"""

from __future__ import annotations

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from sim.explore.charts import effect_lines, fan_figure, sector_figure
from sim.explore.ensemble import EnsembleModel
from sim.explore.policy import RANGES, PolicyInputs, label, start_months
from sim.inputs.scenario_errors import ScenarioError

TITLE = "창원국가산단 정책 탐색 · Changwon industrial complex: policy explorer"
#: The language of charts and summaries, chosen on the page (labels of the inputs show both).
language = solara.reactive("en")


@solara.component
def PolicyPanel(model: EnsembleModel):
    """The policy inputs: each change starts the model over with the new inputs."""
    update_counter.get()
    problem, set_problem = solara.use_state("")
    inputs = model.inputs
    months = start_months(model.baseline)

    def change(**values) -> None:
        try:
            model.set_inputs(PolicyInputs(**{**_as_dict(inputs), **values}))
            set_problem("")
        except ScenarioError as error:
            set_problem(str(error))
        force_update()

    with solara.Card("정책 입력 · Policy inputs"):
        with solara.Column(classes=["explore-tariff-rate"]):
            _slider("tariff_rate", inputs, change)
        solara.Select(
            label("tariff_start"),
            values=months,
            value=inputs.tariff_start if inputs.tariff_start in months else months[0],
            on_value=lambda v: change(tariff_start=v),
            classes=["explore-tariff-start"],
        )
        for name in ("ai_firms_per_year", "ai_subsidy_share", "contract_bn_usd"):
            _slider(name, inputs, change)
        solara.Select(
            label("contract_start"),
            values=months,
            value=inputs.contract_start if inputs.contract_start in months else months[-1],
            on_value=lambda v: change(contract_start=v),
        )
        solara.ToggleButtonsSingle(value=language, values=["en", "ko"])
        if problem:
            solara.Error(problem)


def _slider(name: str, inputs: PolicyInputs, change) -> None:
    """The slider of one numeric input (whole numbers where its default is one)."""
    low, high, step = RANGES[name]
    whole = isinstance(getattr(PolicyInputs(), name), int)
    kind = solara.SliderInt if whole else solara.SliderFloat
    kind(
        label(name),
        value=getattr(inputs, name),
        min=low,
        max=high,
        step=step,
        on_value=lambda v: change(**{name: int(v) if whole else round(float(v), 4)}),
    )


def _as_dict(inputs: PolicyInputs) -> dict:
    return {name: getattr(inputs, name) for name in PolicyInputs.__slots__}


@solara.component
def FanCharts(model: EnsembleModel):
    """Production, exports and jobs against the baseline, the effect in words, the progress;
    owns the task that steps the model while replicates remain."""
    update_counter.get()

    def keep_stepping() -> None:
        model.step_while_unclaimed(model.generation, force_update)  # new inputs: a new task

    solara.lab.use_task(keep_stepping, dependencies=[model, model.generation], prefer_threaded=True)
    snapshot = model.snapshot()
    lang = language.value
    status = "done" if snapshot.done >= snapshot.target else "running"
    drawn = [model, model.generation, snapshot.done, lang]
    figure = solara.use_memo(lambda: fan_figure(snapshot, lang), dependencies=drawn)
    with solara.Card("생산·수출·고용 · Production, exports and jobs"):
        solara.Text(snapshot.title, classes=["explore-setting"])
        with solara.Column(classes=["explore-fan"]):
            solara.FigureMatplotlib(figure, format="png", dependencies=drawn)
        with solara.Column(classes=["explore-effects"]):
            for line in effect_lines(snapshot, lang):
                solara.Text(line)
        solara.Text(
            f"{snapshot.done} / {snapshot.target} ({status})",
            classes=["explore-progress", f"explore-{status}"],
        )


@solara.component
def SectorEffects(model: EnsembleModel):
    update_counter.get()
    snapshot = model.snapshot()
    lang = language.value
    drawn = [model, model.generation, snapshot.done, lang]
    figure = solara.use_memo(lambda: sector_figure(snapshot, lang), dependencies=drawn)
    with solara.Card("업종별 효과 · Effect by sector"):
        solara.FigureMatplotlib(figure, format="png", dependencies=drawn)


@solara.component
def Page():
    model = solara.use_memo(EnsembleModel, dependencies=[])
    return SolaraViz(
        model,
        components=[(PolicyPanel, 0), (FanCharts, 0), (SectorEffects, 0)],
        name=TITLE,
    )
