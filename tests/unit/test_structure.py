"""The check on the way out: placeholders, keys and tags of a translation must be the source's."""

from __future__ import annotations

import pytest

from hymt.core.structure import check_structure, placeholders


def test_placeholders_of_the_usual_template_languages_are_found():
    text = "Hi {name}, {{user}} has ${count} items: %s of %d (%1$s, %(total)d) {0}"
    assert sorted(placeholders(text)) == sorted(
        ["{name}", "{{user}}", "${count}", "%s", "%d", "%1$s", "%(total)d", "{0}"]
    )


def test_kept_placeholders_give_no_warning():
    assert check_structure("Hello {name}, you have %d messages", "Bonjour {name}, vous avez %d messages") == []


@pytest.mark.parametrize(
    ("translation", "said"),
    [
        ("Bonjour {nom}, vous avez %d messages", "the placeholder {name} appears once in the source but 0 times"),
        ("Bonjour {name}, vous avez des messages", "the placeholder %d appears once in the source but 0 times"),
        ("Bonjour {name} {name}, %d", "the placeholder {name} appears once in the source but 2 times"),
    ],
)
def test_a_lost_renamed_or_doubled_placeholder_is_flagged(translation, said):
    warnings = check_structure("Hello {name}, you have %d messages", translation)
    assert any(said in warning for warning in warnings), warnings


def test_json_that_keeps_its_keys_passes():
    source = '{"title": "Welcome, {{user}}", "items": ["Open", "Close"], "count": 2}'
    assert (
        check_structure(source, '{"title": "Bienvenue, {{user}}", "items": ["Ouvrir", "Fermer"], "count": 2}', "json")
        == []
    )


@pytest.mark.parametrize(
    ("translation", "said"),
    [
        ('{"titre": "Bienvenue", "items": ["Ouvrir", "Fermer"], "count": 2}', "the keys of $ changed: lost ['title']"),
        ('{"title": "Bienvenue", "items": ["Ouvrir"], "count": 2}', "$.items is a list of 2"),
        ('{"title": "Bienvenue", "items": ["Ouvrir", "Fermer"], "count": 3}', "$.count changed its value"),
        ('{"title": "Bienvenue", "items": ["Ouvrir", "Fermer"], "count": 2', "the translation is not valid JSON"),
    ],
)
def test_json_that_loses_keys_items_values_or_validity_is_flagged(translation, said):
    source = '{"title": "Welcome", "items": ["Open", "Close"], "count": 2}'
    warnings = check_structure(source, translation, "json")
    assert any(said in warning for warning in warnings), warnings


def test_yaml_keys_must_stay():
    source = "menu:\n  open: Open\n  close: Close {n}\n"
    assert check_structure(source, "menu:\n  open: Ouvrir\n  close: Fermer {n}\n", "yaml") == []
    warnings = check_structure(source, "menu:\n  ouvrir: Ouvrir\n  close: Fermer {n}\n", "yaml")
    assert any("the YAML key 'open' (indented 2) appears once" in w for w in warnings), warnings


def test_html_tags_and_attributes_must_stay():
    source = '<p class="x">Hello <b>world</b> <a href="/a">more</a></p>'
    assert check_structure(source, '<p class="x">Bonjour <b>le monde</b> <a href="/a">plus</a></p>', "html") == []
    dropped = check_structure(source, '<p class="x">Bonjour le monde <a href="/a">plus</a></p>', "html")
    assert any("the HTML tag <b> appears once in the source but 0 times" in w for w in dropped), dropped
    moved = check_structure("<b>a</b><i>b</i>", "<i>b</i><b>a</b>", "html")
    assert moved and "another order" in moved[0]


def test_markdown_blocks_and_link_targets_must_stay():
    source = "# Title\n\n- one\n- two\n\nSee [docs](https://example.com/docs).\n"
    assert (
        check_structure(source, "# Titre\n\n- un\n- deux\n\nVoir [la doc](https://example.com/docs).\n", "markdown")
        == []
    )
    warnings = check_structure(source, "Titre\n\n- un\n- deux\n\nVoir [la doc](https://example.com/doc).\n", "markdown")
    assert any("the Markdown block marker '#' appears once" in w for w in warnings), warnings
    assert any("the Markdown link target https://example.com/docs appears once" in w for w in warnings), warnings


def test_delimiter_counts_are_checked_when_they_are_to_be_kept():
    source = "Name|Age|City\nAnna|30|Paris"
    kept = "Nom|Âge|Ville\nAnna|30|Paris"
    lost = "Nom|Âge Ville\nAnna|30|Paris"
    assert check_structure(source, kept, delimiters=True) == []
    assert check_structure(source, lost, delimiters=True) == [
        "the delimiter '|' appears 4 times in the source but 3 times in the translation"
    ]
    assert check_structure(source, lost) == []  # only asked for with the delimiters feature


def test_the_features_check_what_they_ask_for():
    from hymt.core.features import Features

    assert Features(delimiters=True).check("a|b", "a b") == [
        "the delimiter '|' appears once in the source but 0 times in the translation"
    ]
    assert Features(format="json").check('{"a": "x"}', '{"b": "x"}') == [
        "the keys of $ changed: lost ['a'], gained ['b']"
    ]
