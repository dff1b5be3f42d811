"""The layers contract (pyproject.toml, [tool.importlinter]) names every module it should judge.

`make lint` (run by `make test` and .ci/run) checks the contract itself; this checks that a new
module of governance_app or mwms_site cannot slip outside it by not being listed. requests_app and
tasks_app are whole layers, so every module of theirs is judged already.
"""

import pkgutil
import re
import tomllib
from pathlib import Path

import governance_app
import governance_app.kernel
import mwms_site

ROOT = Path(__file__).resolve().parent.parent

# Modules no other module imports, so no layer can be broken through them.
OUTSIDE_THE_LAYERS = {
    "governance_app.apps",       # Django's AppConfig: wires the app's own models at start-up
    "governance_app.kernel",     # the kernel's package (its __init__ imports nothing)
    "mwms_site.settings", "mwms_site.env", "mwms_site.wsgi", "mwms_site.asgi",
}


def _contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = config["contracts"]
    return contract


def _listed() -> list[str]:
    return [name for layer in _contract()["layers"] for name in re.split(r"[\s:|]+", layer) if name]


def _children(package) -> set[str]:
    return {f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)}


def test_every_module_of_governance_app_and_mwms_site_is_in_a_layer():
    modules = (_children(governance_app) | _children(governance_app.kernel) | _children(mwms_site)) - {
        "governance_app.kernel"}
    unlisted = modules - set(_listed()) - OUTSIDE_THE_LAYERS

    assert not unlisted, f"add these modules to a layer of the import-linter contract: {sorted(unlisted)}"


def test_the_contract_orders_the_layers_as_the_architecture_does():
    first_layer_of = {}
    for index, layer in enumerate(_contract()["layers"]):
        for name in re.split(r"[\s:|]+", layer):
            if name:
                first_layer_of[name] = index
    order = ["mwms_site.urls", "governance_app.services", "tasks_app", "requests_app", "mwms_site.api_kit",
             "governance_app.kernel.actors", "governance_app.models", "governance_app.kernel.db"]

    assert [first_layer_of[name] for name in order] == sorted(first_layer_of[name] for name in order)
    assert len({first_layer_of[name] for name in order}) == len(order), "each of these is a layer of its own"


def test_nothing_listed_is_a_module_that_does_not_exist():
    existing = (_children(governance_app) | _children(governance_app.kernel) | _children(mwms_site)
                | {"tasks_app", "requests_app"})

    assert not set(_listed()) - existing
