"""The published sources (calibration/SOURCES.md): every entry complete, keys unique and stable,
citations in the data found and spelled out."""

from __future__ import annotations

import pytest

from sim.inputs.sources import SOURCES_FILE, load_sources


def test_every_entry_says_who_when_what_and_where_it_is_used():
    sources = load_sources()
    assert len(sources.entries) >= 40
    keys = [e.key for e in sources.entries]
    assert len(keys) == len(set(keys))
    for entry in sources.entries:
        assert entry.outlet and entry.date and entry.says and entry.used_for, entry.key
        assert entry.section in sources.sections and entry.topic
    assert "FACTS" not in SOURCES_FILE.read_text(encoding="utf-8")


def test_the_reported_history_cites_entries_of_the_list():
    from sim.analysis.history import history_sources

    sources = load_sources()
    for name, text in history_sources().items():
        assert sources.cited_in(text), name
    cited = sources.cited_in(history_sources()["production_krw"])
    assert [e.key for e in cited] == [
        "hankyung-2024-03-23",
        "etnews-2025-02-19",
        "newspim-2025-02-19",
    ]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Boehm, Levchenko and Pandalai-Nayar (AER 2023): about 0.76", "boehm-2023"),
        ("Target +30% (Ministry of SMEs and Startups 2019-05-23)", "mss-2019-05-23"),
        ("see [mss-2019-05-23]", "mss-2019-05-23"),
        ("KICOX via etnews 2025-02-19", "etnews-2025-02-19"),
    ],
)
def test_a_text_cites_an_entry_by_key_or_by_outlet_and_date(text, key):
    sources = load_sources()
    assert key in [e.key for e in sources.cited_in(text)]
    spelled = sources.references(text)
    entry = sources.get(key)
    assert entry.citation in spelled and entry.says in spelled


def test_section_references_are_spelled_out_as_topics():
    sources = load_sources()
    topic = "calibration/SOURCES.md §7 (Smart factories (the AI-factory channel))"
    assert sources.spell_out("SOURCES.md §7: Bass fits") == f"{topic}: Bass fits"
    assert sources.spell_out("see §7: Bass fits") == f"see {topic}: Bass fits"
    assert sources.spell_out("no reference here") == "no reference here"
    assert sources.cited_in("an unrelated text of 2025-02-19") == []
