"""kernel.paths: `path_to` makes the address `reverse` makes, for every route of the site."""

import uuid

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import NoReverseMatch, get_resolver, reverse, set_script_prefix

from governance_app.kernel.paths import path_to

ID = uuid.UUID("8a7c2a5e-1f0b-4c59-9b9a-3d4f6a1e2b7c")


def _routes():
    """(name, number of positional arguments) of every named route that takes arguments."""
    resolver = get_resolver()
    found = set()
    for namespace, sub in [("", resolver)] + [(f"{ns}:", sub) for ns, (_p, sub) in resolver.namespace_dict.items()]:
        for name in sub.reverse_dict:
            if not isinstance(name, str):
                continue
            for possibilities, _pattern, _defaults, _converters in sub.reverse_dict.getlist(name):
                for _text, params in possibilities:
                    if params:
                        found.add((namespace + name, len(params)))
    return sorted(found)


def _same(name, *args):
    try:
        expected = reverse(name, args=args)
    except NoReverseMatch:
        with pytest.raises(NoReverseMatch):
            path_to(name, *args)
        return None
    assert path_to(name, *args) == expected
    return expected


def test_every_route_gets_the_address_reverse_makes_for_every_kind_of_argument():
    routes = _routes()
    assert ("requests:detail", 1) in routes and ("requests:move", 2) in routes
    samples = [ID, str(ID), 7, "7", "research", "a_b-c", "Has Space", "ümlaut", str(ID).upper(), -3]
    made = 0
    for name, count in routes:
        for sample in samples:
            made += _same(name, *([sample] * count)) is not None
        made += _same(name, *([ID] * (count - 1) + ["respond"])) is not None
    assert made > len(routes)  # most routes took at least one sample


def test_two_arguments_take_their_own_places():
    assert path_to("requests:move", ID, "respond") == f"/requests/{ID}/moves/respond/"
    other = uuid.uuid4()
    assert path_to("requests:move", other, "close") == reverse("requests:move", args=[other, "close"])


def test_a_refused_argument_still_raises_and_a_route_without_arguments_is_reversed():
    with pytest.raises(NoReverseMatch):
        path_to("requests:detail", "not-a-uuid")
    with pytest.raises(NoReverseMatch):
        path_to("requests:detail")
    assert path_to("requests:list") == reverse("requests:list")


def test_the_script_prefix_is_the_current_one():
    try:
        set_script_prefix("/mwms/")
        assert path_to("requests:detail", ID) == f"/mwms/requests/{ID}/" == reverse("requests:detail", args=[ID])
    finally:
        set_script_prefix("/")
    assert path_to("requests:detail", ID) == f"/requests/{ID}/"


@override_settings(ROOT_URLCONF="tests.governance_app.paths_urls")
def test_another_urlconf_is_reversed_on_its_own_routes():
    assert path_to("thing", ID) == f"/elsewhere/{ID}/" == reverse("thing", args=[ID])


def test_the_template_tag_writes_the_url_tags_address_and_takes_as():
    context = Context({"id": ID})
    rendered = Template("{% load mwms %}{% path 'requests:detail' id %}|{% path 'requests:move' id 'close' as u %}"
                        "{{ u }}|{% url 'requests:detail' id %}").render(context)
    first, second, third = rendered.split("|")
    assert first == third == f"/requests/{ID}/"
    assert second == f"/requests/{ID}/moves/close/"
