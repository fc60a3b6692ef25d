"""The names a scenario may use: sectors, trade partners and anchor firms. Cheap to import."""

from functools import cache

from sim.inputs.paths import CALIBRATION_DIR
from sim.inputs.safe_yaml import read_data_file

SECTORS: tuple[str, ...] = (
    "machinery",
    "electrical_electronics",
    "transport_equipment",
    "steel",
    "other",
)
PARTNERS: tuple[str, ...] = ("domestic", "US", "EU", "China", "rest_of_world")
EXPORT_PARTNERS: tuple[str, ...] = PARTNERS[1:]


@cache
def population_spec() -> dict:
    """The parsed `calibration/population.yaml`."""
    spec = read_data_file(CALIBRATION_DIR / "population.yaml")
    if tuple(spec["sectors"]) != SECTORS or tuple(spec["partners"]) != PARTNERS:
        raise ValueError(
            "calibration/population.yaml: sectors or partners differ from sim.inputs.names"
        )
    return spec


@cache
def anchor_ids() -> tuple[str, ...]:
    """Ids of the named anchor firms, in population order."""
    return tuple(a["id"] for a in population_spec()["anchors"])


@cache
def defence_primes() -> tuple[str, ...]:
    """Anchor ids that can be the prime contractor of a defence export contract."""
    return tuple(a["id"] for a in population_spec()["anchors"] if "defence_prime" in a["roles"])
