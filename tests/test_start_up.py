"""What a process does once at its start, done once per version of a file: a large config's
TOML kept in the cache folder, a territory table's index kept beside it. A copy is used only
for the very text it was made of; a changed file is read again; a broken copy is ignored."""

from __future__ import annotations

import os
from pathlib import Path

from leadctl.config.load import load
from leadctl.config.toml_cache import MIN_BYTES


def _big_config(lc, rules: int = 250) -> str:
    """The team's config with enough rules to pass MIN_BYTES."""
    lc.team(users=("tom", "ann"), group="rest")
    lc("group", "add", "west")
    text = lc.config.read_text().replace("rules = []\n", "") + "".join(
        f'\n[[routing.rules]]\ngroup = "west"\nwhen = {{field = "source", op = "eq", value = "partner-{i}"}}\n'
        for i in range(rules))
    lc.config.write_text(text)
    assert len(text) >= MIN_BYTES
    return text


def _copies() -> list[Path]:
    return sorted((Path(os.environ["XDG_CACHE_HOME"]) / "leadctl").glob("config-*.marshal"))


def test_a_large_configs_toml_is_read_from_its_copy_and_a_change_is_read_again(lc):
    text = _big_config(lc)
    before = set(_copies())
    first = load(lc.config)
    made = set(_copies()) - before
    assert len(made) == 1  # the copy of this text
    (copy,) = made
    assert oct(copy.stat().st_mode & 0o777) == "0o600"
    assert load(lc.config) == first  # read again: from the copy, the same config

    import marshal

    doctored = marshal.loads(copy.read_bytes())
    doctored["routing"]["rules"][0]["group"] = "rest"
    copy.write_bytes(marshal.dumps(doctored))
    assert load(lc.config).rules[0].group == "rest"  # (proof the copy is what was read)

    lc.config.write_text(text.replace('value = "partner-0"', 'value = "partner-zero"'))
    changed = load(lc.config)  # another text: read, not the copy
    assert changed.rules[0].group == "west" and changed.rules[0].when.value == "partner-zero"

    copy.write_bytes(b"not marshal data")
    lc.config.write_text(text)
    assert load(lc.config) == first  # a broken copy is read past, and made again
    out = lc.jsonl("route", input="id,source\nA,partner-3\nB,web\n")
    assert [o["group"] for o in out] == ["west", "rest"]


def test_a_small_config_or_one_with_toml_dates_keeps_no_copy(lc):
    before = set(_copies())
    load(lc.config)
    assert set(_copies()) == before  # small: reading it is as quick as reading a copy
    lc.config.write_text(_big_config(lc) + "\n[extra]\nsince = 2026-12-07\n")  # a TOML date: marshal has none
    result = lc("user", "list", ok=None)
    assert result.exit_code == 2 and "extra" in result.stderr  # the config's own error, said as ever
    assert set(_copies()) == before


def test_a_territory_tables_index_is_made_at_import_used_after_and_remade_when_the_table_changes(lc):
    from leadctl.assign.territory_table import index_path

    lc.team(users=("tom", "ann"), group="rest")
    lc("group", "add", "west")
    lc("group", "member", "add", "west", "ann")
    lc.write("t.csv", "territory,country,state,zip,target,priority\nbay,US,,94*,west,\ncal,US,CA,,tom,\n")
    lc("territory", "import", str(lc.folder / "t.csv"))
    lc("rule", "add", "--territories", "--when", "country?")
    table = lc.folder / "territories.csv"
    index = index_path(table)
    assert index.exists()  # made by the import, not by the first route
    made = index.read_bytes()
    out = lc.jsonl("route", input="id,country,state,zip\nA,US,NY,94105\nB,US,CA,10001\n")
    assert [(o["assigned_to"], o["reason"].split(";")[0]) for o in out] == [
        ("ann", "territory 'bay' (US, zip prefix 94*)"), ("tom", "territory 'cal' (US, state CA)")]
    assert index.read_bytes() == made  # used as it was

    table.write_text(table.read_text().replace("94*", "10*"))  # edited by hand
    out = lc.jsonl("route", input="id,country,state,zip\nC,US,NY,10001\n")
    assert out[0]["assigned_to"] == "ann" and "10*" in out[0]["reason"]
    assert index.read_bytes() != made  # indexed again

    index.write_bytes(index.read_bytes()[:-50])  # broken: read past, the table indexed again
    out = lc.jsonl("route", input="id,country,state,zip\nD,US,CA,99999\n")
    assert out[0]["assigned_to"] == "tom"
