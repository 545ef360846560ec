"""Rules as teams write them: every `--when` operator, conditions nested in the file, numbers
compared as numbers, a bad regex refused naming its rule, the rule an earlier one starves found
by `config check`, and `rule test` saying which rule each record meets and why not the others."""

from __future__ import annotations

import json

import pytest

from leadctl.domain.conditions import All, Any, Not, compile_condition, covers, from_data, parse

STORES = ("sqlite", "postgresql")  # routing by rules, territories and accounts on both stores


def meets(text: str, **fields: str) -> bool:
    return compile_condition(parse(text))({k.lower(): v.strip().lower() for k, v in fields.items()})


@pytest.mark.parametrize("condition, yes, no", [
    ("country=US", {"country": " us "}, {"country": "USA"}),
    ("country!=US", {"country": "DE"}, {"country": "us"}),
    ("country!=US", {}, {"country": "US"}),  # a lead without the field is not US
    ("country=US|CA", {"country": "ca"}, {"country": "MX"}),
    ("company~acme", {"company": "The ACME Corp"}, {"company": "Apex"}),
    ("title^=VP", {"title": "vp of sales"}, {"title": "SVP"}),
    ("email$=@acme.com", {"email": "Ann@Acme.com"}, {"email": "ann@notacme.co"}),
    ("employees>500", {"employees": "501"}, {"employees": "500"}),
    ("employees>=500", {"employees": "500.0"}, {"employees": "499.9"}),
    ("employees<10", {"employees": "-3"}, {"employees": "10"}),
    ("employees<=10", {"employees": " 10 "}, {"employees": "ten"}),  # a non-number never matches
    ("employees>5", {"employees": "1e3"}, {"employees": "nan"}),
    ("phone=/^\\+49/", {"phone": "+49 30 1234"}, {"phone": "0049 30"}),
    ("name=/smith$/", {"name": "Ann SMITH"}, {"name": "Smithers"}),  # case-insensitive, searched
    ("notes?", {"notes": "call"}, {"notes": "  "}),
    ("notes?", {"notes": "x"}, {}),
])
def test_each_when_operator(condition, yes, no):
    assert meets(condition, **yes) and not meets(condition, **no)


def test_conditions_nest_in_the_file_and_the_short_form_still_reads():
    cond = from_data({"all": [{"field": "country", "op": "in", "value": ["US", "CA"]},
                              {"any": [{"field": "employees", "op": "gte", "value": 500},
                                       {"field": "tier", "op": "eq", "value": "gold"}]},
                              {"not": {"field": "email", "op": "ends_with", "value": "@gmail.com"}}]})
    assert isinstance(cond, All) and isinstance(cond.parts[1], Any) and isinstance(cond.parts[2], Not)
    test = compile_condition(cond)
    assert test({"country": "ca", "employees": "800", "email": "a@b.com"})
    assert test({"country": "us", "employees": "3", "tier": "gold"})
    assert not test({"country": "us", "employees": "3", "tier": "silver"})
    assert not test({"country": "us", "tier": "gold", "email": "x@gmail.com"})
    short = compile_condition(from_data({"source": "Partner|referral", "type": "lead"}))
    assert short({"source": "referral", "type": "lead"}) and not short({"source": "referral", "type": "deal"})


def test_an_earlier_rule_that_takes_every_lead_a_later_one_could():
    assert covers(parse("country=US|CA"), All((parse("country=us"), parse("employees>1000"))))
    assert covers(parse("employees>10"), parse("employees>=20")) and not covers(parse("employees>10"), parse("employees>=5"))
    assert covers(parse("email~acme"), parse("email$=@acme.com")) and covers(parse("title^=v"), parse("title^=vp"))
    assert not covers(parse("country=US"), parse("region=US"))  # other fields: cannot tell
    assert not covers(parse("country=US"), Any((parse("country=us"), parse("country=ca"))))


def test_rules_route_by_numbers_text_and_nesting(lc):
    lc.team(users=("tom", "stephanie", "lewis", "denise"))
    for group, member in (("enterprise", "denise"), ("partners", "lewis")):
        lc("group", "add", group)
        lc("group", "member", "add", group, member)
    lc("rule", "add", "--group", "enterprise", "--when", "country=US|CA", "--when", "employees>=500")
    lc("rule", "add", "--group", "partners", "--when", "source^=partner", "--when", "email$=@reseller.io", "--any")
    text = lc.config.read_text()
    assert 'when = {all = [{field = "country", op = "in", value = ["US", "CA"]}, {field = "employees", op = "gte",' \
           ' value = 500}]}' in text  # one line in the file, as a person would write it
    out = lc.jsonl("route", input="id,country,employees,source,email\n"
                                  "E1,us,800,web,a@b.com\n"      # enterprise
                                  "E2,CA,many,web,b@b.com\n"     # not a number: not enterprise
                                  "P1,de,10,Partner-Portal,c@c.com\n"
                                  "P2,fr,10,web,d@reseller.io\n"
                                  "D1,us,499,web,e@e.com\n")
    assert [(o["lead_id"], o["group"]) for o in out] == [
        ("E1", "enterprise"), ("E2", "tele-sales"), ("P1", "partners"), ("P2", "partners"), ("D1", "tele-sales")]
    assert [o["assigned_to"] for o in out if o["group"] != "tele-sales"] == ["denise", "lewis", "lewis"]


@pytest.mark.any_store
def test_a_bad_rule_is_exit_2_naming_it_and_changes_nothing(lc):
    lc.team(users=("tom",))
    before = lc.config.read_bytes()
    for when, words in (("x=/(/", "regex does not compile"), ("size>abc", "'abc' is not a number"),
                        ("size", "must look like FIELD=VALUE"), ("=3", "names no field")):
        refused = lc("rule", "add", "--group", "tele-sales", "--when", when, ok=None)
        assert refused.exit_code == 2 and words in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert lc.config.read_bytes() == before
    assert "rules = []" in lc.config.read_text()
    lc.config.write_text(lc.config.read_text().replace("rules = []", 'rules = [{group = "tele-sales",'
                         ' when = {any = [{field = "name", op = "regex", value = "[a-"}]}}]'))
    broken = lc("config", "check", ok=None)
    assert broken.exit_code == 2 and "rule 1" in broken.stderr and "does not compile" in broken.stderr
    lc.config.write_text(lc.config.read_text().replace('op = "regex"', 'op = "like"'))
    broken = lc("route", input="id\nX1\n", ok=None)
    assert broken.exit_code == 2 and "unknown op 'like'" in broken.stderr
    assert lc.query("SELECT count(*) FROM leads") == [(0,)]


@pytest.mark.any_store
def test_config_check_finds_a_rule_an_earlier_one_starves(lc):
    lc.team(users=("tom", "ann"))
    lc("group", "add", "big")
    lc("group", "member", "add", "big", "ann")
    lc("rule", "add", "--group", "big", "--when", "country=US|CA")
    lc("rule", "add", "--group", "tele-sales", "--when", "country=us", "--when", "employees>1000")
    lc("rule", "add", "--group", "tele-sales", "--when", "country=de")
    checked = lc("config", "check")
    assert checked.exit_code == 0
    assert "rule 2 (country=us and employees>1000 -> tele-sales) can never match: rule 1" in checked.stderr
    assert "rule 3" not in checked.stderr


def test_rule_test_says_which_rule_each_record_meets_and_writes_nothing(lc):
    lc.team(users=("tom", "ann"))
    lc("group", "add", "big")
    lc("group", "member", "add", "big", "ann")
    lc("rule", "add", "--group", "big", "--when", "country=US|CA", "--when", "employees>=500")
    lc("rule", "add", "--group", "big", "--when", "source=partner")
    before = lc.snapshot()
    data = "id,country,employees,source\nA,US,800,web\nB,us,20,partner\nC,DE,many,web\n"
    table = lc("rule", "test", input=data).stdout
    assert "employees>=500 (employees is '20')" in table and "default" in table
    rows = json.loads(lc("rule", "test", "-o", "json", input=data).stdout)
    assert [(r["id"], r["rule"], r["group"]) for r in rows] == [("A", 1, "big"), ("B", 2, "big"),
                                                                ("C", "default", "tele-sales")]
    assert rows[1]["failed"] == [{"rule": 1, "failed": "employees>=500 (employees is '20')"}]
    assert rows[2]["failed"] == [{"rule": 1, "failed": "country=US|CA (country is 'de')"},
                                 {"rule": 2, "failed": "source=partner (source is 'web')"}]
    assert lc.snapshot() == before  # nothing routed, nothing written
    path = lc.write("one.jsonl", '{"id": "J", "country": "CA", "employees": "500"}\nnot json\n')
    both = lc("rule", "test", str(path), "-o", "json", ok=None)
    assert json.loads(both.stdout)[0]["rule"] == 1 and "line 2" in both.stderr  # a bad line said, the rest tested


def test_the_indexed_rulebook_meets_the_same_rule_as_trying_each_in_order():
    """Property: for random rules (every operator, nesting, several rules on one field, regexes
    side by side) and random leads, `RuleBook.group_for` (index, prefilters, one generated
    function) picks the same rule as testing each rule's condition in order."""
    from types import SimpleNamespace

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from leadctl.domain.rulebook import RuleBook, lowered

    values = st.sampled_from(["us", "acme", "me", "10", "1e3", ""])  # few: leads meet rules often
    fields = st.sampled_from(["country", "size", "email"])
    leaf = st.one_of(
        st.builds(lambda f, v: parse(f"{f}={v or 'x'}"), fields, values),
        st.builds(lambda f, v: parse(f"{f}!={v}"), fields, values),
        st.builds(lambda f, a, b: parse(f"{f}={a or 'q'}|{b or 'r'}"), fields, values, values),
        st.builds(lambda f, op, v: parse(f"{f}{op}{v or 'z'}"), fields, st.sampled_from(["~", "^=", "$="]), values),
        st.builds(lambda f, op, n: parse(f"{f}{op}{n}"), fields, st.sampled_from([">", ">=", "<", "<="]),
                  st.integers(-5, 600)),
        st.builds(lambda f, r: parse(f"{f}=/{r}/"), fields, st.sampled_from(["^a", "e$", "c.m", "(a|d)e", "[0-9]+", "^c|e", "^(m|u)"])),
        st.builds(lambda f: parse(f"{f}?"), fields),
    )
    condition = st.recursive(leaf, lambda inner: st.one_of(
        st.builds(lambda ps: All(tuple(ps)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(lambda ps: Any(tuple(ps)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(Not, inner)), max_leaves=5)
    lead = st.dictionaries(fields, values, max_size=4)

    @settings(max_examples=500, deadline=None)
    @given(st.lists(condition, min_size=1, max_size=12), st.lists(lead, min_size=1, max_size=8))
    def check(conditions, leads):
        groups = {f"g{i}": SimpleNamespace(name=f"g{i}", record_type="lead") for i in range(len(conditions))}
        cfg = SimpleNamespace(rules=[SimpleNamespace(when=c, group=f"g{i}") for i, c in enumerate(conditions)],
                              default_group=None, group=groups.__getitem__)
        book = RuleBook(cfg)
        tests = [compile_condition(c) for c in conditions]
        for fields_ in leads:
            low = lowered(fields_)
            expected = next((f"g{i}" for i, t in enumerate(tests) if t(low)), None)
            got, _ = book.group_for(fields_, "lead")
            assert (got.name if got else None) == expected, (conditions, fields_)

    check()


def test_tags_route_to_the_members_who_have_them_else_the_whole_group_unless_strict(lc):
    lc.team(users=("tom", "stephanie", "lewis", "denise"))
    lc("user", "edit", "stephanie", "--tag", "lang:de", "--tag", "LANG:fr")
    lc("user", "edit", "lewis", "--tag", "lang:de")
    assert lc.json("user", "list")[1]["tags"] == ["lang:de", "lang:fr"]  # kept in lower case, sorted
    lc("rule", "add", "--group", "tele-sales", "--when", "language?", "--require-tag", "lang:{language}")
    out = lc.jsonl("route", input="id,language\nA,DE\nB,de\nC,fr\nD,\nE,it\n")
    got = {o["lead_id"]: (o["assigned_to"], o["reason"]) for o in out}
    assert [got[i][0] for i in "ABC"] == ["stephanie", "lewis", "stephanie"]  # the rotation among those tagged
    assert "tom (no tag lang:de)" in lc("leads", "explain", "A").stdout  # passed over, and why
    assert got["D"] == ("lewis", None)  # no language: the rule does not apply (`language?`): the next in turn
    assert got["E"][0] == "denise" and got["E"][1].startswith("nobody with lang:it could take it: the whole group")
    lc("user", "edit", "lewis", "--untag", "lang:de")
    refused = lc("user", "edit", "lewis", "--untag", "lang:de", ok=None)
    assert refused.exit_code == 2 and "has no tag 'lang:de'" in refused.stderr
    bad = lc("user", "edit", "lewis", "--tag", "two words", ok=None)
    assert bad.exit_code == 2 and "tag 'two words'" in bad.stderr


def test_strict_tags_wait_in_the_queue_instead_of_going_to_anyone(lc):
    lc.team(users=("tom", "stephanie"))
    lc("group", "edit", "tele-sales", "--queue")
    lc("user", "edit", "stephanie", "--tag", "product:crm")
    lc("rule", "add", "--group", "tele-sales", "--when", "product=crm", "--require-tag", "product:crm",
       "--strict-tags")
    assert lc.json("rule", "list")[0]["require_tags"] == ["product:crm"]
    lc("group", "member", "edit", "tele-sales", "stephanie", "--daily", "1")
    out = lc.jsonl("route", input="id,product\nP1,crm\nP2,crm\nP3,web\n", ok=None)
    assert [(o["lead_id"], o["status"], o["assigned_to"]) for o in out] == [
        ("P1", "assigned", "stephanie"), ("P2", "queued", None), ("P3", "assigned", "tom")]
    refused = lc("rule", "add", "--group", "tele-sales", "--strict-tags", ok=None)
    assert refused.exit_code == 2 and "strict_tags needs require_tags" in refused.stderr
    lc("drain")  # tom could take it, but has not the tag: it still waits
    assert lc.query("SELECT lead_id FROM queue") == [("P2",)]
    lc("group", "member", "edit", "tele-sales", "stephanie", "--daily", "5")
    lc("drain")
    assert lc.json("leads", "show", "P2", "--format", "json")["assigned_to"] == "stephanie"


TERRITORIES = """territory,country,state,zip,target,priority
bay,United States,,94*,ann,
sf-exact,us,,94105,tom,
sf-narrow,US,,941*,west,
valley,US,,95000-95999,west,
valley-core,US,,95100-95199,lewis,
california,US,California,,west,
california-vip,US,CA,,denise,5
bavaria,Germany,Bavaria,,denise,
nsw,AU,New South Wales,,west,
bc,CA,BC,,west,
germany,DEU,,,rest,
"""


@pytest.fixture
def territory_team(lc):
    lc.team(users=("tom", "ann", "lewis", "denise"), group="rest")
    lc("group", "add", "west")
    lc("group", "member", "add", "west", "tom")
    lc.write("t.csv", TERRITORIES)
    lc("territory", "import", str(lc.folder / "t.csv"))
    lc("rule", "add", "--territories", "--when", "country?")
    return lc


def test_the_most_specific_territory_wins_then_the_higher_priority(territory_team):
    lc = territory_team
    out = lc.jsonl("route", input="id,country,state,zip\n"
                                  "A,US,CA,94105\n"       # exact zip > longer prefix > prefix > state
                                  "B,USA,ca,94110\n"      # prefix 941* (longer) over 94*
                                  "C,us,California,94010\n"  # prefix 94*
                                  "D,US,NV,95150\n"       # the narrower range
                                  "E,US,NV,95900\n"       # the wider range
                                  "F,US,California,90001\n"  # state: priority 5 over 0
                                  "G,Germany,Bayern,80331\n"  # state by its German name and its English one
                                  "H,DE,,10115\n"         # country (alpha-3 in the table)
                                  "I,Australia,NSW,2000\n"
                                  "J,Canada,British Columbia,V5K\n"
                                  "K,FR,,75001\n")         # in no territory: the default group
    got = {o["lead_id"]: (o["assigned_to"], o["group"], o["method"]) for o in out}
    assert got["A"] == ("tom", "rest", "territory")
    assert got["B"][1] == "west" and got["C"][0] == "ann" and got["D"][0] == "lewis" and got["E"][1] == "west"
    assert got["F"][0] == "denise" and got["G"][0] == "denise" and got["H"][1] == "rest"
    assert got["I"][1] == got["J"][1] == "west" and got["K"][1] == "rest" and got["K"][2] == "sequential"
    reasons = {o["lead_id"]: o["reason"] for o in out}
    assert reasons["A"] == "territory 'sf-exact' (US, zip 94105)"
    assert reasons["D"].startswith("territory 'valley-core' (US, zip range 95100-95199)")
    assert "the territory table (counted towards their own caps)" in lc("leads", "explain", "A").stdout
    tested = json.loads(lc("rule", "test", "-o", "json", input="id,country,zip\nX,US,94105\nY,FR,1\n").stdout)
    assert tested[0]["decided_by"] == "territory 'sf-exact' (US, zip 94105), line 3 -> tom"
    assert tested[1]["decided_by"] == "no territory holds it"


def test_a_territorys_user_who_cannot_take_it_hands_it_to_the_fallback(territory_team):
    lc = territory_team
    lc("user", "edit", "tom", "--daily", "1")  # tom's own cap, over every group and territory
    out = lc.jsonl("route", input="id,country,zip\nT1,US,94105\nT2,US,94105\n")
    assert (out[0]["assigned_to"], out[0]["method"]) == ("tom", "territory")
    assert (out[1]["assigned_to"], out[1]["group"], out[1]["method"]) == ("ann", "rest", "sequential")
    assert out[1]["reason"].startswith("territory 'sf-exact' (US, zip 94105), and tom cannot take it (")


@pytest.mark.any_store
def test_territory_import_refuses_a_bad_row_naming_its_line_and_check_finds_overlaps_and_gaps(territory_team):
    lc = territory_team
    table = (lc.folder / "territories.csv").read_text()
    for text, words in (("territory,country,target\nx,Atlantis,rest\n", "line 2: unknown country 'Atlantis'"),
                        ("territory,country,zip,target\nx,US,9500-94000,rest\n", "line 2: zip range"),
                        ("territory,country,target\nx,US,nobody\n", "line 2: target 'nobody' is no group or user"),
                        ("territory,country,target,priority\nx,US,rest,high\n", "priority 'high'"),
                        ("country,target\nUS,rest\n", "no territory column")):
        path = lc.write("bad.csv", text)
        refused = lc("territory", "import", str(path), ok=None)
        assert refused.exit_code == 2 and words in refused.stderr, (text, refused.stderr)
    assert (lc.folder / "territories.csv").read_text() == table  # nothing changed
    assert lc("territory", "check").exit_code == 0
    lc.jsonl("route", input="id,country,state\nG1,FR,\nG2,FR,\nG3,US,TX\n")
    checked = lc("territory", "check")
    assert "gap: FR: 2 lead(s)" in checked.stdout and "gap: US / TX: 1 lead(s)" in checked.stdout
    lc.write("more.csv", "territory,country,state,zip,target,priority\nbay2,US,,94*,tom,\n")
    lc("territory", "import", str(lc.folder / "more.csv"))
    overlapping = lc("territory", "check", ok=None)
    assert overlapping.exit_code == 1 and "overlap: line 2 (territory 'bay'" in overlapping.stdout
    lc("territory", "import", str(lc.folder / "more.csv"), "--replace")
    assert [r["territory"] for r in lc.json("territory", "list", "-o", "json")] == ["bay2"]


def test_accounts_go_to_their_owner_by_exact_domain_never_free_mail_and_say_why(lc):
    lc.team(users=("tom", "stephanie", "lewis", "denise"))
    lc.write("accounts.csv", "domain,owner\nacme.com,denise\nGlobex.DE,Lewis\n")
    imported = lc("account", "import", str(lc.folder / "accounts.csv"))
    assert "--match-domains" in imported.stderr  # not on yet: said
    lc("settings", "--match-domains")
    assert lc.json("account", "list", "-o", "json") == [{"domain": "acme.com", "owner": "denise"},
                                                         {"domain": "globex.de", "owner": "lewis"}]
    out = lc.jsonl("route", input="id,email\n"
                                  "A1,ann@ACME.com\n"          # the accounts table
                                  "A2,bob@notacme.com\n"       # no suffix tricks: routed by the group
                                  "A3,cy@sales.acme.com\n"     # nor a subdomain
                                  "A4,di@gmail.com\n"          # free mail never matches
                                  "A5,ed@gmail.com\n"
                                  "A6,fi@initech.io\n"         # routed by the group ...
                                  "A7,gu@initech.io\n")        # ... and the next from there follows it
    got = {o["lead_id"]: (o["assigned_to"], o["method"], o["reason"]) for o in out}
    assert got["A1"] == ("denise", "account", "account acme.com (the accounts table)")
    assert got["A2"][1] == got["A3"][1] == got["A4"][1] == got["A5"][1] == "sequential"
    assert got["A7"] == (got["A6"][0], "account", "account initech.io (as lead A6)")
    assert "account matching (the company's owner, by the email's domain)" in lc("leads", "explain", "A1").stdout
    assert lc.query("SELECT counted FROM events WHERE lead_id = 'A1'") == [(0,)]  # outside the rules
    lc("away", "add", "denise", "--from", "2000-01-01", "--to", "2999-12-31", "--backup", "stephanie")
    lc("away", "add", "lewis", "--from", "2000-01-01", "--to", "2999-12-31")
    out = lc.jsonl("route", input="id,email\nB1,x@acme.com\nB2,y@globex.de\n")
    assert (out[0]["assigned_to"], out[0]["method"], out[0]["reason"]) == (
        "stephanie", "account", "account acme.com (the accounts table); backup for denise, who is away")
    assert out[1]["method"] == "sequential" and out[1]["assigned_to"] != "lewis"
    assert out[1]["reason"].startswith("account globex.de (the accounts table), and lewis is away: routed by group")
    bad = lc.write("bad.csv", "domain,owner\nacme.com,nobody\n")
    refused = lc("account", "import", str(bad), ok=None)
    assert refused.exit_code == 2 and "line 2: owner 'nobody'" in refused.stderr


def test_report_by_rule_and_by_territory_counts_what_routed_each_lead(territory_team):
    lc = territory_team
    lc("rule", "add", "--group", "west", "--when", "source=partner", "--at", "1")
    lc.jsonl("route", input="id,country,zip,source\nR1,US,94105,web\nR2,US,94110,web\nR3,DE,,web\n"
                            "R4,FR,,web\nR5,US,,partner\nR6,,,web\n")
    by_rule = {r["rule"]: r["count"] for r in lc.json("report", "--by", "rule", "--format", "json")}
    assert by_rule == {"rule 1": 1, "rule 2": 4, "default": 1}
    by_territory = {r["territory"]: r["count"] for r in lc.json("report", "--by", "territory", "--format", "json")}
    assert by_territory == {"sf-exact": 1, "sf-narrow": 1, "germany": 1, None: 3}
    shown = lc.json("leads", "show", "R1", "--format", "json")
    assert (shown["rule"], shown["territory"]) == (2, "sf-exact")


def test_a_territory_table_edited_by_hand_still_reads_names(territory_team):
    lc = territory_team
    path = lc.folder / "territories.csv"
    path.write_text(path.read_text() + "france,France,Île-de-France,,west,\nparis,FR,,75*,west,2\n")
    out = lc.jsonl("route", input="id,country,state,zip\nP1,fr,IDF,75001\nP2,France,Île-de-France,\n")
    assert [o["group"] for o in out] == ["west", "west"]
    assert [o["reason"].split(" (")[0] for o in out] == ["territory 'paris'", "territory 'france'"]


def test_a_regex_looks_at_a_values_first_thousand_characters_only():
    """A lead's values come from outside: a regex reads at most their first 1,000 characters
    (a huge value cannot make a pattern's work grow without bound), the same both ways."""
    from leadctl.domain.condition_tests import first_of

    ends_x = parse("notes=/x$/")
    assert compile_condition(ends_x)({"notes": "a" * 900 + "x"}) is True
    assert compile_condition(ends_x)({"notes": "a" * 2000 + "x"}) is False  # the x is past the first 1,000
    assert first_of([(0, ends_x)])({"notes": "a" * 2000 + "x"}, 0, 1) == 1  # (1: none met)
    assert first_of([(0, ends_x)])({"notes": "a" * 900 + "x"}, 0, 1) == 0


def test_contains_finds_the_text_anywhere_in_a_long_value_in_both_ways_of_testing():
    """`notes~urgent` is a plain substring test over the whole value (no regex bound applies):
    the one-rule test and the many-rules function agree, also past the first 1,000 characters."""
    from leadctl.domain.condition_tests import first_of

    urgent = parse("notes~urgent")
    far = {"notes": "a" * 5000 + "urgent"}
    assert compile_condition(urgent)(far) is True
    assert first_of([(0, urgent), (1, parse("notes~later"))])(far, 0, 2) == 0
    assert first_of([(0, urgent)])({"notes": "a" * 5000}, 0, 1) == 1


def test_a_stored_territory_table_reads_back_as_the_rows_imported_and_matches_alike():
    """Routing reads the table `import` wrote without looking names up again (a column at a
    time); every row comes back as the checked import made it — and a file edited by hand
    (a name, a blank line, a negative priority) is read fully, to the same rows."""
    from leadctl.domain.territories import Table, read_rows, to_csv

    imported = read_rows(
        "territory,country,state,zip,target,priority\n"
        "bay,United States,California,94*,west,2\nexact,US,,94105,ann,\nspan,US,,94000-94999,west,1\n"
        "cal,US,CA,,west,\nde,Germany,Bavaria,,east,0\nuk,GB,,SW1A 1AA,east,3\nall,FR,,,east,\n", check=True)
    stored = to_csv(imported)
    assert read_rows(stored, check=False) == imported
    by_hand = stored.replace("\nde,DE,BY", "\n\nde,Germany,Bavaria").replace(",east,3", ",east,-3")
    again = read_rows(by_hand, check=False)
    assert [(r.territory, r.country, r.state, r.zip, r.specificity) for r in again] == \
        [(r.territory, r.country, r.state, r.zip, r.specificity) for r in imported]
    assert [r.priority for r in again][-2] == -3
    table = Table(read_rows(stored, check=False))
    lead = {"country": "us", "state": "ca", "zip": "94105"}
    assert table.match_lead(lead).territory == "exact"
    assert table.match_lead({**lead, "zip": "94110"}).territory == "bay"
    assert table.match_lead({"country": "gb", "zip": "sw1a 1aa"}).territory == "uk"
    assert table.match_lead({"country": "Germany", "state": "Bavaria"}).territory == "de"


def test_a_zip_falls_in_the_narrowest_range_holding_it_then_priority_then_line():
    """Overlapping zip ranges (an index of cut points, not a scan): for every zip, the row is
    the one a person would pick from the table by hand — the narrowest range holding it, then
    the higher priority, then the earlier line; ranges with as many digits as the zip only, and
    naming no state or the lead's."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from leadctl.domain.territories import Table, read_rows

    span = st.tuples(st.integers(0, 60), st.integers(0, 30), st.integers(0, 2), st.sampled_from(["", "", "CA", "NY"]))

    @settings(max_examples=300, deadline=None)
    @given(st.lists(span, min_size=1, max_size=12), st.lists(st.integers(0, 99), min_size=1, max_size=20),
           st.sampled_from(["ca", "ny", "tx", ""]))
    def check(spans, zips, state):
        text = "territory,country,state,zip,target,priority\n" + "".join(
            f"r{i},US,{where},{lo:03d}-{lo + width:03d},g,{prio}\n" for i, (lo, width, prio, where) in enumerate(spans))
        table = Table(read_rows(text, check=False))
        for z in zips:
            holding = [(width, -prio, i) for i, (lo, width, prio, where) in enumerate(spans)
                       if lo <= z <= lo + width and where in ("", state.upper())]
            expected = f"r{min(holding)[2]}" if holding else None
            got = table.match_lead({"country": "us", "state": state, "zip": f"{z:03d}"})
            assert (got.territory if got else None) == expected
            assert table.match_lead({"country": "us", "state": state, "zip": f"{z:05d}"}) is None  # 5 digits

    check()
