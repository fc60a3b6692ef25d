"""The wording of policy briefs in Korean and English: names of partners, sectors, anchor firms,
indicators and uncertain inputs, the fixed sentences (`TEXT`, `text`), and the phrases built from
ranges and chances. Everything a reader sees in a brief is worded here or in
`sim.report.brief.numbers`; `sim.report.brief.compose` only decides what to say.
"""

from __future__ import annotations

from collections.abc import Iterable

from sim.report.brief.numbers import (
    MISSING,
    _finite,
    check_lang,
    choose_scale,
    euro,
    range_numbers,
    topic,
)

# ---------------------------------------------------------------------------------------------
# names of things


PARTNER = {
    "ko": {
        "domestic": "국내",
        "US": "미국",
        "EU": "EU",
        "China": "중국",
        "rest_of_world": "기타 지역",
    },
    "en": {
        "domestic": "domestic",
        "US": "US",
        "EU": "EU",
        "China": "China",
        "rest_of_world": "rest of the world",
    },
}
SECTOR = {
    "ko": {
        "machinery": "기계",
        "electrical_electronics": "전기전자",
        "transport_equipment": "운송장비",
        "steel": "철강",
        "other": "기타",
        "all": "전 업종",
    },
    "en": {
        "machinery": "machinery",
        "electrical_electronics": "electrical and electronics",
        "transport_equipment": "transport equipment",
        "steel": "steel",
        "other": "other",
        "all": "all sectors",
    },
}
ANCHOR = {
    "ko": {
        "hanwha_aerospace": "한화에어로스페이스",
        "hyundai_rotem": "현대로템",
        "doosan_enerbility": "두산에너빌리티",
        "lg_electronics": "LG전자",
        "hyundai_wia": "현대위아",
        "snt_dynamics": "SNT다이내믹스",
    },
    "en": {
        "hanwha_aerospace": "Hanwha Aerospace",
        "hyundai_rotem": "Hyundai Rotem",
        "doosan_enerbility": "Doosan Enerbility",
        "lg_electronics": "LG Electronics",
        "hyundai_wia": "Hyundai WIA",
        "snt_dynamics": "SNT Dynamics",
    },
}

#: Indicator names as nouns inside sentences.
NOUN = {
    "ko": {
        "production_krw": "생산액",
        "exports_usd": "수출액",
        "employment": "연말 고용",
        "value_added_krw": "부가가치",
        "active_firms": "가동 기업 수",
        "adoption_share": "AI 공장 도입률",
    },
    "en": {
        "production_krw": "production",
        "exports_usd": "exports",
        "employment": "year-end employment",
        "value_added_krw": "value added",
        "active_firms": "the number of active firms",
        "adoption_share": "the AI-factory adoption share",
    },
}

#: Uncertain inputs and model parameters in plain words (the rest are shown by their names).
FACTOR = {
    "ko": {
        "macro.krw_per_usd": "원/달러 환율",
        "macro.producer_price_growth": "생산자물가 상승률",
        "macro.demand_growth.domestic": "국내 수요 증가율",
        "macro.demand_growth.US": "미국 수요 증가율",
        "macro.demand_growth.EU": "EU 수요 증가율",
        "macro.demand_growth.China": "중국 수요 증가율",
        "macro.demand_growth.rest_of_world": "기타 지역 수요 증가율",
        "elasticity_long_run": "장기 무역탄력성 (관세에 대한 수입 수요의 반응)",
        "elasticity_one_year": "1년 무역탄력성",
        "elasticity_years_to_long_run": "장기 탄력성에 이르는 기간",
        "tariff_passthrough": "관세의 미국 구매자 가격 전가율",
        "diversion_share": "미국 외 시장으로 돌릴 수 있는 판매 비중",
        "diversion_months": "판매처 전환에 걸리는 기간",
        "export_price_elasticity": "수출 가격에 대한 해외 수요의 반응",
        "export_krw_invoiced_share": "원화 표시 수출 비중",
        "complex_demand_trend": "단지 수요의 추세",
        "export_demand_loading": "국가 수출 변동에 대한 단지 수출 수요의 반응도",
        "complex_shock_sd": "단지 공통 수요 충격의 크기",
        "labour_productivity_growth": "노동생산성 추세",
        "ai_labour_saving": "AI 공장 도입 시 인력 절감",
        "defence_in_complex_share": "방산 계약 중 단지 내 생산 비중",
        "exit_rate": "기업 퇴출률",
        "firm_shock_sd": "개별 기업 충격의 크기",
        "bass_q": "AI 공장 도입의 모방 효과",
        "bass_p": "AI 공장 자발적 도입률",
        "ai_productivity_gain": "AI 공장 도입 시 생산성 향상",
        "operating_margin": "영업이익률",
        "entry_rate": "신규 기업 진입률",
        "anchor_share_of_exports": "앵커 기업의 수출 비중",
        "us_export_share_machinery": "기계 업종의 대미 수출 비중",
        "us_export_share_transport_equipment": "운송장비 업종의 대미 수출 비중",
        "us_export_share_electrical_electronics": "전기전자 업종의 대미 수출 비중",
        "us_export_share_steel": "철강 업종의 대미 수출 비중",
        "dummy": "가상 입력 (잡음 기준선)",
        "posterior": "보정된 매개변수 (사후분포 추출)",
        "drivers": "국내외 수요·물가·환율의 경로 (동인 모형 추출)",
    },
    "en": {
        "macro.krw_per_usd": "the won/dollar exchange rate",
        "macro.producer_price_growth": "producer-price inflation",
        "macro.demand_growth.domestic": "growth of domestic demand",
        "macro.demand_growth.US": "growth of US demand",
        "macro.demand_growth.EU": "growth of EU demand",
        "macro.demand_growth.China": "growth of Chinese demand",
        "macro.demand_growth.rest_of_world": "growth of demand in the rest of the world",
        "elasticity_long_run": "the long-run trade elasticity (how far US buyers turn away)",
        "elasticity_one_year": "the one-year trade elasticity",
        "elasticity_years_to_long_run": "the years until the long-run elasticity is reached",
        "tariff_passthrough": "the share of the tariff passed on to US buyers",
        "diversion_share": "the share of lost US sales that can be sold elsewhere",
        "diversion_months": "the time it takes to find other buyers",
        "export_price_elasticity": "how foreign buyers respond to export prices",
        "export_krw_invoiced_share": "the share of exports invoiced in won",
        "complex_demand_trend": "the trend of the complex's demand",
        "export_demand_loading": "how far the complex's export demand follows Korea's exports",
        "complex_shock_sd": "the size of complex-wide demand shocks",
        "labour_productivity_growth": "the trend of labour productivity",
        "ai_labour_saving": "the labour saved by AI-factory adoption",
        "defence_in_complex_share": "the share of defence contracts made in the complex",
        "exit_rate": "the exit rate of firms",
        "firm_shock_sd": "the size of firm-level shocks",
        "bass_q": "imitation in AI-factory adoption",
        "bass_p": "spontaneous AI-factory adoption",
        "ai_productivity_gain": "the productivity gain of AI-factory adoption",
        "operating_margin": "the operating margin",
        "entry_rate": "the entry rate of new firms",
        "anchor_share_of_exports": "the anchor firms' share of exports",
        "us_export_share_machinery": "the US share of machinery exports",
        "us_export_share_transport_equipment": "the US share of transport-equipment exports",
        "us_export_share_electrical_electronics": "the US share of electrical exports",
        "us_export_share_steel": "the US share of steel exports",
        "dummy": "a dummy input (the noise floor)",
        "posterior": "the calibrated parameters (a draw of the posterior)",
        "drivers": "the paths of demand, prices and the won (a draw of the driver model)",
    },
}


def factor_label(key: str, lang: str) -> str:
    """An uncertain input or parameter in plain words; dotted scenario paths are spelled out."""
    labels = FACTOR[lang]
    if key in labels:
        return labels[key]
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "tariffs" and parts[2] == "rate":
        return (
            f"관세 조치 '{parts[1]}'의 세율" if lang == "ko" else f"the rate of tariff '{parts[1]}'"
        )
    if len(parts) == 3 and parts[0] == "defence_exports":
        what = {"ko": "방산 수출", "en": "defence exports"}[lang]
        return f"{what}: {'.'.join(parts[1:])}"
    return f"`{key}`"


def has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def korean_title(scenario: dict) -> str:
    """A Korean title from what a scenario contains, e.g. '미국 관세 · 방산 수출 시나리오'."""
    parts = []
    tariffs = scenario.get("tariffs") or []
    partners = list(dict.fromkeys(t.get("partner") for t in tariffs))
    if tariffs:
        rates = sorted({float(t.get("rate", 0)) for t in tariffs})
        who = "·".join(PARTNER["ko"].get(p, str(p)) for p in partners)
        rate = f" {rates[0]:.0%}" if len(rates) == 1 else ""
        parts.append(f"{who} 관세{rate}")
    if scenario.get("ai_factory"):
        parts.append("AI 공장 지원")
    defence = scenario.get("defence_exports") or {}
    if defence.get("contracts") or defence.get("pipeline"):
        parts.append("방산 수출")
    if scenario.get("export_support"):
        parts.append("수출 지원")
    return (" · ".join(parts) + " 시나리오") if parts else "기준 전망 (새 충격 없음)"


def capitalize(phrase: str) -> str:
    """First letter upper case: 'the won/dollar rate' -> 'The won/dollar rate'."""
    return phrase[:1].upper() + phrase[1:]


def factor_kind(key: str) -> str:
    """How a factor's values read best: 'share' for rates and shares, else 'number'."""
    last = key.rsplit(".", 1)[-1]
    if any(w in last for w in ("rate", "growth", "passthrough", "share")) or key.startswith(
        "macro.demand_growth"
    ):
        return "share"
    return "number"


# ---------------------------------------------------------------------------------------------
# fixed wording

TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "title": "정책 브리프: {title}",
        "subtitle": (
            "창원국가산업단지 시뮬레이션 · 시나리오 `{name}` · {replicates:,}회 시뮬레이션 · {date}"
        ),
        "summary": "요약",
        "basis": (
            "모든 범위는 {replicates:,}회 시뮬레이션의 80% 구간(10~90번째 백분위수)이며, 괄호 안은 "
            "중앙값입니다."
        ),
        "basis_paired": (
            " 기준 시나리오와의 차이는 같은 난수와 매개변수를 쓴 두 시뮬레이션을 한 쌍씩 비교해 "
            "계산했습니다."
        ),
        "by_year": "연도별 주요 지표",
        "by_year_note": (
            "각 칸: 중앙값 (80% 구간, 10~90번째 백분위수), {replicates:,}회 시뮬레이션. "
            "고용과 기업 수는 연말 값, 생산액·부가가치는 명목 금액입니다."
        ),
        "history_row": "{year} 실적",
        "partial_year": "{year} ({months}개월)",
        "partial_note": (
            "{year}년은 {months}개월만 포함되어, 생산액·수출액 같은 연간 합계는 그 기간의 합입니다."
        ),
        "year": "연도",
        "vs_base": "기준 시나리오 대비",
        "vs_base_intro": (
            "기준 시나리오: {base}. 아래 값은 이 시나리오에서 기준 "
            "시나리오를 뺀 차이로, 같은 난수·매개변수를 쓴 {replicates:,}쌍의 시뮬레이션을 한 쌍씩 "
            "비교해 얻었습니다 (공통 난수 비교). 두 시뮬레이션을 따로 요약해 뺀 값보다 훨씬 "
            "정확합니다."
        ),
        "vs_base_note": "각 칸: 차이의 중앙값 (80% 구간). Δ는 기준 시나리오 대비 차이입니다.",
        "chances": "확률로 본 차이 ({year}년)",
        "chances_note": (
            "확률은 {replicates:,}쌍의 시뮬레이션 중 해당하는 비율입니다. 기준값은 어림수로, "
            "하나는 차이의 중앙값에 가깝게, 다른 하나는 시뮬레이션의 90%에서 넘는 차이 이하로 "
            "골랐습니다."
        ),
        "no_baseline": (
            "기준 시나리오와 비교하지 않았습니다. 같은 시드와 시뮬레이션 횟수로 실행한 기준 "
            "시나리오 결과 폴더를 `--baseline`으로 지정하면 차이와 확률이 추가됩니다."
        ),
        "figures": "전망 그림",
        "fan_caption": (
            "{label} 전망: 굵은 선은 중앙값, 진한 띠는 시뮬레이션의 50%, 옅은 띠는 90%가 놓이는 "
            "구간, 검은 선은 실적."
        ),
        "compare_caption": "{label}: 기준 시나리오 대비 차이(%), 중앙값과 80% 구간.",
        "figure": "그림 {n}.",
        "fan_title": "{label} 전망",
        "drivers": "범위를 좌우하는 요인",
        "no_sensitivity": (
            "이 시나리오에 대한 민감도 분석은 실행되지 않았습니다. 어떤 불확실한 입력이 범위를 "
            "가장 크게 좌우하는지는 `changwon-sim sensitivity`로 확인할 수 있습니다."
        ),
        "sensitivity_unreadable": "민감도 분석 결과 `{path}`를 읽을 수 없습니다: {reason}.",
        "sensitivity_intro": (
            "민감도 분석 (`{path}`, {method}) 결과, 불확실한 입력 중 범위를 가장 크게 좌우하는 "
            "것은 다음과 같습니다."
        ),
        "driver_line": "{output}: {drivers}.",
        "driver_item": "{label} ({index} {value})",
        "noise_floor": " (잡음 기준선 {value})",
        "noise_explain": (
            "잡음 기준선은 난수만 바꾸는 가상 입력의 지수(와 그 구간)로, 이를 넘지 못하는 입력은 "
            "모형의 무작위성과 구별되지 않아 싣지 않았습니다. ±는 95% 부트스트랩 구간입니다."
        ),
        "no_driver": "{output}: 잡음 기준선({value})을 넘는 입력이 없습니다.",
        "leader": "지수가 가장 큰 것은 {item}이지만 잡음과 구별되지 않습니다.",
        "sensitivity_none": (
            "민감도 분석 (`{path}`, {method}) 결과, 어떤 불확실한 입력도 잡음 기준선을 넘지 "
            "못했습니다. 표본이 적거나 모형의 무작위성이 큰 탓이므로, `--samples`를 늘려 다시 "
            "실행해야 요인을 가릴 수 있습니다."
        ),
        "sensitivity_other_version": (
            "주의: 이 민감도 분석은 다른 버전의 시나리오(해시 {hash}…)로 실행되었습니다."
        ),
        "index_total": "총효과 지수",
        "index_first": "1차 지수",
        "index_morris": "모리스 μ*",
        "index_delta": "델타 지수",
        "index_explain_total": (
            "총효과 지수(Sobol)는 결과의 분산 가운데 그 입력이 (단독으로나 다른 입력과 함께) "
            "관여하는 몫입니다."
        ),
        "assumptions": "시나리오 가정",
        "description": "시나리오 설명 (원문): {text}",
        "period": "기간: {start}~{end}, 시뮬레이션 {replicates:,}회 (시드 {seed}).",
        "macro": (
            "거시 여건: 원/달러 환율 {krw}, 생산자물가 상승률 연 {ppi}, 실질 수요 증가율 연 "
            "{demand}."
        ),
        "tariffs": "관세 (같은 업종·월에 여러 조치가 겹치면 세율을 더함):",
        "no_tariffs": "관세: 2024년 이후 새 관세 없음.",
        "tariff_header": "조치|부과국|업종|세율|기간",
        "ai_factory": (
            "AI 공장 지원사업: {start}부터{end} 연 {firms:,}개사, 도입비의 {share} 지원."
        ),
        "no_ai_factory": "AI 공장 지원사업: 없음 (2024년까지의 도입 추세만 이어짐).",
        "contracts": "방산 수출 계약:",
        "contract_item": "{name}: {prime}, {value}, {signed} 계약, {start}부터 {months}개월간 인도",
        "pipeline": (
            "신규 방산 수주(무작위): {start}부터 연평균 {orders}건, 건당 {value}, 주관사 {primes}."
        ),
        "no_defence": "방산 수출: 2025년 이후 새 계약 없음.",
        "export_support": (
            "수출 지원: {start}부터{end} 신용한도 {credit}, 판매처 전환 속도 {boost} 향상."
        ),
        "overrides": "고정한 매개변수: {items}.",
        "uncertain": "매 시뮬레이션마다 새로 뽑는 불확실한 입력:",
        "no_uncertain": "시나리오에 지정된 불확실한 입력 없음.",
        "differs_from_base": "기준 시나리오와 다른 부분: {parts}.",
        "same_as_base": "기준 시나리오와 가정이 같습니다.",
        "dist_uniform": "{low}~{high} 균등분포",
        "dist_triangular": "{low}~{high}, 최빈값 {mode} (삼각분포)",
        "dist_normal": "평균 {mean}, 표준편차 {sd}{bounds} (정규분포)",
        "dist_normal_bounds": ", {low}~{high} 범위로 절단",
        "dist_lognormal": "중앙값 {median}, σ {sigma} (로그정규분포)",
        "calibration": "보정과 자료",
        "calibration_prior": (
            "매개변수 보정: 이 실행은 실적에 맞춰 추정(보정)한 매개변수가 아니라, "
            "`calibration/parameters.yaml`에 적힌 사전 범위(문헌값·가정)에서 시뮬레이션마다 뽑은 "
            "매개변수를 썼습니다 (보정 id `{id}`). 2020~2024년 실적에 대한 적합도 검증은 아직 "
            "없으므로, 범위는 현재 지식의 폭을 보여 줄 뿐 검증된 예측 구간은 아닙니다."
        ),
        "calibration_fitted": (
            "매개변수 보정: 2020~2024년 실적에 맞춘 매개변수는 보정 결과 `{id}`의 사후분포에서, "
            "나머지는 `calibration/parameters.yaml`의 사전 범위에서 시뮬레이션마다 뽑았습니다 "
            "(적합 보고서는 `calibration/fit_report/`)."
        ),
        "calibration_quality": (
            " 이 보정({date})에서 실적 {total}개 목표 중 {inside90}개가 사후예측 90% 구간 안에, "
            "{inside50}개가 50% 구간 안에 들었습니다."
        ),
        "calibration_fixed": (
            " 이 실행은 모든 매개변수를 중앙값으로 고정했으므로(`--fixed-parameters`), 범위에 "
            "매개변수의 불확실성이 빠져 있어 실제보다 좁습니다."
        ),
        "registry_counts": (
            "매개변수 {total}개의 근거: 보고된 사실 {fact}개, 문헌 {literature}개, 보정 대상 "
            "{calibrated}개, 가정 {assumption}개 (`changwon-sim params`로 값·범위·출처 확인)."
        ),
        "registry_changed": "이 실행 이후 `calibration/` 파일이 바뀌었습니다 (현재 id `{now}`).",
        "sources": "실적 자료 (그림의 검은 선, 표의 실적 행):",
        "source_item": "{label}: {source}",
        "caveats": "읽을 때 유의할 점",
        "caveat_ranges": (
            "범위는 위에 적은 불확실한 입력과 매개변수 범위만 반영합니다. 모형 구조의 오차나 "
            "시나리오 밖의 사건은 들어 있지 않으므로, 실제 결과가 80% 구간 밖에 놓일 가능성은 "
            "20%보다 클 수 있습니다."
        ),
        "caveat_nominal": (
            "생산액과 부가가치는 명목 원화(생산자물가 포함), 수출액은 명목 달러입니다."
        ),
        "caveat_employment": (
            "고용은 연말 값입니다. 2020~2021년 실적은 6월, 2022년은 연말 기준입니다."
        ),
        "caveat_few": (
            "시뮬레이션 횟수가 {replicates:,}회로 적어 구간 끝값이 불안정합니다. 인용하려면 "
            "500회 이상으로 다시 실행하십시오."
        ),
        "caveat_mismatch": "기준 시나리오 실행과 {what}이(가) 다릅니다: {this} / 기준 {base}.",
        "reproduce": "재현 정보",
        "repro_scenario": "시나리오: `{name}`, 해시 `{hash}`",
        "repro_run": (
            "실행: 시드 {seed}, {replicates:,}회, 모형 버전 {model}, 패키지 버전 {package}, "
            "보정 id `{calibration}`, 작성 {created}"
        ),
        "repro_folder": "결과 폴더: `{folder}`",
        "repro_base": "기준 시나리오 결과: `{folder}` (해시 `{hash}`)",
        "repro_command": "다시 만들기:",
        "generated": "이 브리프는 `changwon-sim brief`가 결과 폴더에서 자동으로 작성했습니다.",
        "headline_same_year": "같은 해 {items}입니다.",
        "headline_other_year": "{year}년에는 {items}입니다.",
        "headline_item": "{noun} {range}(중앙값 {median}{diff})",
        "item_diff": ", {diff}",
        "none": "없음",
        "and": ", ",
        "scenario_title": "‘{title}’",
        "original_title": "원제: {title}",
        "sensitivity_caption": (
            "{output}의 요인: 민감도 지수와 95% 신뢰구간 (빨간 점선은 잡음 기준선)."
        ),
        "record": "과거 예측의 적중 기록",
        "record_text": (
            "{noun}, {horizon}년 앞: 같은 방법으로 {origins}년 말에 만든 80% 범위는 최초 발표치를 "
            "{total}회 중 {held80}회, 50% 범위는 {held50}회 담았습니다. 기술 점수(CRPS 기준, 0보다 "
            "크면 더 정확): '전년과 같음' 대비 {skill_nc}, '추세 연장' 대비 {skill_rw}."
        ),
        "record_caveat": (
            "적합과 동인 모형을 각 시점까지의 자료로만 다시 추정했습니다 (검증 `{id}`, "
            "`calibration/validation/`). 건수가 적어 이 기록 자체도 불확실합니다."
        ),
        "record_short": (
            "이 범위를 얼마나 믿을 수 있는가: 같은 방법으로 {first}~{last}년 말에 최대 {horizon}년 "
            "앞을 예측했을 때 80% 범위는 생산액 실적을 {production}, 수출액은 {exports}, 고용은 "
            "{jobs} 담았고, 예측은 평균적으로 '전년과 같음'보다 {skill}% {better}(CRPS 기준)."
        ),
        "record_better": "더 정확했습니다",
        "record_worse": "덜 정확했습니다",
        "no_record": "과거 예측 검증 결과(`calibration/validation/validation.json`)가 없습니다.",
        "sources_published": "출처 (`calibration/SOURCES.md`):",
    },
    "en": {
        "title": "Policy brief: {title}",
        "subtitle": (
            "Changwon National Industrial Complex simulation · scenario `{name}` · "
            "{replicates:,} runs · {date}"
        ),
        "summary": "Summary",
        "basis": (
            "All ranges are 80% intervals (10th to 90th percentile) of {replicates:,} simulation "
            "runs, with the median in brackets."
        ),
        "basis_paired": (
            " Differences from the baseline are computed run by run, each run paired with the "
            "baseline run that used the same random numbers and parameters."
        ),
        "by_year": "Main indicators by year",
        "by_year_note": (
            "Each cell: median (80% interval, 10th to 90th percentile) of {replicates:,} runs. "
            "Employment and firms are year-end values; production and value added are nominal."
        ),
        "history_row": "{year} reported",
        "partial_year": "{year} ({months} months)",
        "partial_note": (
            "{year} covers only {months} months, so its annual totals (production, exports) sum "
            "those months."
        ),
        "year": "Year",
        "vs_base": "Against the baseline",
        "vs_base_intro": (
            "Baseline: {base}. The values below are this scenario minus the "
            "baseline, computed pair by pair over {replicates:,} pairs of runs that share random "
            "numbers and parameters (common random numbers) — far more precise than subtracting "
            "two separately summarised runs."
        ),
        "vs_base_note": (
            "Each cell: median difference (80% interval). Δ = difference from the baseline."
        ),
        "chances": "The differences as chances ({year})",
        "chances_note": (
            "A chance is the share of the {replicates:,} pairs of runs in which it happens. "
            "The thresholds are round numbers: one near the median difference, the other at or "
            "below the difference exceeded in 90% of the pairs."
        ),
        "no_baseline": (
            "No baseline comparison was made. Pass the results folder of a baseline run with the "
            "same seed and number of runs as `--baseline` to add differences and chances."
        ),
        "figures": "Fan charts",
        "fan_caption": (
            "{label}: median (line), 50% of runs (dark band), 90% of runs (light band), "
            "reported figures (black)."
        ),
        "compare_caption": "{label}: difference from the baseline (%), median and 80% interval.",
        "figure": "Figure {n}.",
        "fan_title": "{label}: forecast range",
        "drivers": "What drives the range",
        "no_sensitivity": (
            "No sensitivity analysis was run for this scenario. `changwon-sim sensitivity` ranks "
            "the uncertain inputs by how much of the range each one drives."
        ),
        "sensitivity_unreadable": "The sensitivity results `{path}` could not be read: {reason}.",
        "sensitivity_intro": (
            "A sensitivity analysis (`{path}`, {method}) finds these uncertain inputs drive the "
            "ranges most:"
        ),
        "driver_line": "{output}: {drivers}.",
        "driver_item": "{label} ({index} {value})",
        "noise_floor": " (noise floor {value})",
        "noise_explain": (
            "The noise floor is the index (with its interval) of a dummy input that changes "
            "nothing but the random numbers; inputs that do not clear it cannot be told from the "
            "model's own randomness and are not listed. ± is the 95% bootstrap interval."
        ),
        "no_driver": "{output}: no input rises above the noise floor ({value}).",
        "leader": "The largest is {item}, not yet distinguishable from noise.",
        "sensitivity_none": (
            "A sensitivity analysis (`{path}`, {method}) found no uncertain input above the "
            "noise floor: too few samples for the model's own randomness. Re-run it with more "
            "`--samples` to tell the drivers apart."
        ),
        "sensitivity_other_version": (
            "Note: this sensitivity analysis was run on another version of the scenario "
            "(hash {hash}…)."
        ),
        "index_total": "total-order index",
        "index_first": "first-order index",
        "index_morris": "Morris μ*",
        "index_delta": "delta index",
        "index_explain_total": (
            "A total-order (Sobol) index is the share of the output's variance in which the input "
            "takes part, alone or together with others."
        ),
        "assumptions": "What the scenario assumes",
        "description": "Scenario description: {text}",
        "period": "Period: {start} to {end}; {replicates:,} runs (seed {seed}).",
        "macro": (
            "Economy: won/dollar rate {krw}; producer-price inflation {ppi} a year; real demand "
            "growth a year: {demand}."
        ),
        "tariffs": "Tariffs (where measures overlap in a sector and month, their rates add up):",
        "no_tariffs": "Tariffs: no new tariff after 2024.",
        "tariff_header": "Measure|Imposed by|Sectors|Rate|In force",
        "ai_factory": (
            "AI-factory programme: from {start}{end}, {firms:,} firms a year, {share} of the "
            "adoption cost paid."
        ),
        "no_ai_factory": "AI-factory programme: none (only the adoption trend up to 2024 goes on).",
        "contracts": "Defence export contracts:",
        "contract_item": (
            "{name}: {prime}, {value}, signed {signed}, delivered over {months} months from {start}"
        ),
        "pipeline": (
            "New defence orders (drawn at random): from {start}, {orders} a year on average, "
            "{value} each, won by {primes}."
        ),
        "no_defence": "Defence exports: no new contract from 2025 on.",
        "export_support": (
            "Export support: from {start}{end}, a credit line of {credit}; re-routing of lost "
            "sales {boost} faster."
        ),
        "overrides": "Parameters fixed by the scenario: {items}.",
        "uncertain": "Uncertain inputs, drawn anew in every run:",
        "no_uncertain": "The scenario lists no uncertain inputs.",
        "differs_from_base": "Where it differs from the baseline: {parts}.",
        "same_as_base": "Its assumptions are the same as the baseline's.",
        "dist_uniform": "uniform {low} to {high}",
        "dist_triangular": "{low} to {high}, most likely {mode} (triangular)",
        "dist_normal": "mean {mean}, sd {sd}{bounds} (normal)",
        "dist_normal_bounds": ", cut at {low} and {high}",
        "dist_lognormal": "median {median}, σ {sigma} (lognormal)",
        "calibration": "Calibration and data",
        "calibration_prior": (
            "Calibration: this run did not use parameters fitted to the reported figures; every "
            "run drew its parameters from the prior ranges (literature values and assumptions) "
            "in `calibration/parameters.yaml` (calibration id `{id}`). No fit to the 2020–2024 "
            "figures has been checked yet, so the ranges show the spread of current knowledge, "
            "not validated forecast intervals."
        ),
        "calibration_fitted": (
            "Calibration: every run drew the parameters fitted to the 2020–2024 figures from the "
            "posterior of calibration `{id}`, and the others from their prior ranges in "
            "`calibration/parameters.yaml` (fit report in `calibration/fit_report/`)."
        ),
        "calibration_quality": (
            " In that fit ({date}), {inside90} of {total} reported targets fell inside the "
            "posterior-predictive 90% interval and {inside50} inside the 50% interval."
        ),
        "calibration_fixed": (
            " This run fixed every parameter at its central value (`--fixed-parameters`), so the "
            "ranges leave parameter uncertainty out and are narrower than they should be."
        ),
        "registry_counts": (
            "The {total} parameters: {fact} reported facts, {literature} from the literature, "
            "{calibrated} to be calibrated, {assumption} assumptions (`changwon-sim params` lists "
            "values, ranges and sources)."
        ),
        "registry_changed": "Files in `calibration/` have changed since this run (id now `{now}`).",
        "sources": "Reported figures (black lines in the charts, 'reported' rows in the tables):",
        "source_item": "{label}: {source}",
        "caveats": "Caveats",
        "caveat_ranges": (
            "The ranges carry the uncertain inputs and parameter ranges listed above and nothing "
            "else: not errors in the model's structure, nor events outside the scenario. The real "
            "outcome may fall outside an 80% interval more often than one time in five."
        ),
        "caveat_nominal": (
            "Production and value added are in nominal won (producer prices included), exports "
            "in nominal dollars."
        ),
        "caveat_employment": (
            "Employment is at year end; the reported figures for 2020–2021 are June counts, "
            "2022 year end."
        ),
        "caveat_few": (
            "Only {replicates:,} runs: the ends of the intervals are unstable. Re-run with 500 or "
            "more before quoting."
        ),
        "caveat_mismatch": "This run and the baseline run differ in {what}: {this} against {base}.",
        "reproduce": "Reproducibility",
        "repro_scenario": "Scenario: `{name}`, hash `{hash}`",
        "repro_run": (
            "Run: seed {seed}, {replicates:,} runs, model version {model}, package version "
            "{package}, calibration id `{calibration}`, created {created}"
        ),
        "repro_folder": "Results folder: `{folder}`",
        "repro_base": "Baseline results: `{folder}` (hash `{hash}`)",
        "repro_command": "To regenerate:",
        "generated": "This brief was written by `changwon-sim brief` from the results folder.",
        "headline_same_year": "In the same year: {items}.",
        "headline_other_year": "In {year}: {items}.",
        "headline_item": "{noun} {range} (median {median}{diff})",
        "item_diff": "; {diff}",
        "none": "none",
        "and": "; ",
        "scenario_title": "“{title}”",
        "original_title": "original title: {title}",
        "sensitivity_caption": (
            "What drives {output}: sensitivity indices with 95% intervals (the dashed red line is "
            "the noise floor)."
        ),
        "record": "Out-of-sample record",
        "record_text": (
            "{noun}, {horizon} year(s) ahead: 80% ranges made the same way at the end of "
            "{origins} held the first-released outcome {held80} of {total} times, 50% ranges "
            "{held50} times. Skill (CRPS; above zero is better): {skill_nc} against 'same as last "
            "year', {skill_rw} against the trend so far."
        ),
        "record_caveat": (
            "The fit and the driver model were re-estimated on the data up to each origin only "
            "(validation `{id}`, `calibration/validation/`). With so few checks the record is "
            "itself uncertain."
        ),
        "record_short": (
            "How far to trust these ranges: made the same way at the end of {first}-{last} for up "
            "to {horizon} years ahead, 80% ranges held the outcome {production} for production, "
            "{exports} for exports and {jobs} for jobs, and the forecasts were on average {skill}% "
            "{better} than 'same as last year' (CRPS)."
        ),
        "record_better": "more accurate",
        "record_worse": "less accurate",
        "no_record": (
            "No out-of-sample validation (`calibration/validation/validation.json`) found."
        ),
        "sources_published": "Sources (`calibration/SOURCES.md`):",
    },
}


def text(lang: str, key: str, **values: object) -> str:
    """The fixed wording `key` in `lang`, filled in with `values`."""
    return TEXT[check_lang(lang)][key].format(**values)


def _pct_ends(lo_pct: float, hi_pct: float, lang: str) -> tuple[str, str, str]:
    """(direction, a, b): 'down' with the smaller fall first, 'up', 'mixed' (signed) or 'zero'."""
    lo, hi = float(lo_pct), float(hi_pct)
    scale = choose_scale("percent", [lo, hi], lang)
    if lo == 0 and hi == 0:
        return "zero", "0", "0"
    if hi < 0:
        return ("down", *range_numbers(-hi, -lo, scale))
    if lo > 0:
        return ("up", *range_numbers(lo, hi, scale))
    return ("mixed", *range_numbers(lo, hi, scale, signed=True))


def diff_short(lo_pct: float | None, hi_pct: float | None, lang: str) -> str:
    """A paired 80% range of percentage differences in words, for lists and tables.

    Both ends below zero: '기준 대비 2.1~4.0% 감소' / '2.1–4.0% below the baseline' (the smaller
    fall first, as a reader says it); both above: 증가 / above; across zero: the signed range and
    'direction uncertain'.
    """
    check_lang(lang)
    if not (_finite(lo_pct) and _finite(hi_pct)):
        return MISSING[lang]
    direction, a, b = _pct_ends(lo_pct, hi_pct, lang)  # type: ignore[arg-type]
    if lang == "ko":
        return {
            "down": f"기준 대비 {a}~{b}% 감소",
            "up": f"기준 대비 {a}~{b}% 증가",
            "mixed": f"기준 대비 {a}~{b}%, 증감 방향 불확실",
            "zero": "기준과 같음",
        }[direction]
    return {
        "down": f"{a}–{b}% below the baseline",
        "up": f"{a}–{b}% above the baseline",
        "mixed": f"{a} to {b}% against the baseline, direction uncertain",
        "zero": "the same as the baseline",
    }[direction]


def headline_first(
    lang: str,
    *,
    title: str,
    year: int,
    noun: str,
    range_text: str,
    median: str,
    lo_pct: float | None = None,
    hi_pct: float | None = None,
) -> str:
    """The headline's first sentence (bold): the key range, its year, and the baseline gap."""
    check_lang(lang)
    paired = _finite(lo_pct) and _finite(hi_pct)
    direction, a, b = _pct_ends(lo_pct, hi_pct, lang) if paired else ("", "", "")  # type: ignore
    if lang == "ko":
        head = (
            f"{title} 시나리오에서 {year}년 창원국가산업단지 {topic(noun)} {euro(range_text)} 예상"
        )
        if not paired:
            return f"**{head}됩니다(중앙값 {median}).**"
        tail = {
            "down": f"기준 시나리오보다 {a}~{b}% 적습니다",
            "up": f"기준 시나리오보다 {a}~{b}% 많습니다",
            "mixed": f"기준 시나리오 대비 {a}~{b}%로 증감 방향은 불확실합니다",
            "zero": "기준 시나리오와 같습니다",
        }[direction]
        return f"**{head}되며(중앙값 {median}), {tail}.**"
    head = (
        f"Under the scenario {title}, {noun} of the Changwon National Industrial Complex in "
        f"{year} is expected at {range_text} (median {median})"
    )
    if not paired:
        return f"**{head}.**"
    tail = {
        "down": f", {a}–{b}% below the baseline",
        "up": f", {a}–{b}% above the baseline",
        "mixed": f", {a} to {b}% against the baseline (direction uncertain)",
        "zero": ", the same as the baseline",
    }[direction]
    return f"**{head}{tail}.**"


def chance_lower(noun: str, direction: str, probability: str, lang: str) -> str:
    """'수출액: 기준 시나리오보다 적을 확률 97% (100회 중 97회)' / 'Exports: lower than ...'."""
    if lang == "ko":
        word = "적을" if direction == "down" else "많을"
        return f"{noun}: 기준 시나리오보다 {word} 확률 {probability}"
    word = "lower" if direction == "down" else "higher"
    return f"{capitalize(noun)}: {word} than in the baseline in {probability}"


def chance_threshold(amount: str, direction: str, probability: str, lang: str) -> str:
    """'10억 달러 넘게 적을 확률 85% (...)' / 'more than 1.0 bn USD lower in 85% of runs (...)'."""
    if lang == "ko":
        word = "적을" if direction == "down" else "많을"
        return f"{amount} 넘게 {word} 확률 {probability}"
    word = "lower" if direction == "down" else "higher"
    return f"more than {amount} {word} in {probability}"


def join_chances(parts: Iterable[str], lang: str) -> str:
    return (", " if lang == "ko" else "; ").join(parts) + "."
