"""The shared template tags that are not plain filters."""

import pytest
from django.template import Context, Template, TemplateSyntaxError


def test_partial_each_renders_the_named_partials_in_the_lists_order_in_the_current_context():
    template = Template('{% load mwms partials %}{% partialdef cell-a %}<a>{{ row }}</a>{% endpartialdef %}'
                        '{% partialdef cell-b %}<b>{{ row }}</b>{% endpartialdef %}'
                        '{% for row in rows %}[{% partial_each columns "cell-" %}]{% endfor %}')
    out = template.render(Context({"rows": [1, 2], "columns": ["b", "a"]}))
    assert out == "[<b>1</b><a>1</a>][<b>2</b><a>2</a>]"


@pytest.mark.parametrize("tag", ['{% partial_each columns %}', '{% partial_each columns cell- %}',
                                 '{% partial_each columns "cell-\' %}'])
def test_partial_each_without_a_quoted_prefix_is_a_syntax_error(tag):
    with pytest.raises(TemplateSyntaxError, match="quoted prefix"):
        Template("{% load mwms %}" + tag)
