"""Every command has help with an example, every option a help text, and the README's
command reference names every command."""

from __future__ import annotations

import typer

from leadctl.cli import app
from tests.conftest import REPO


def leaf_commands():
    def walk(command, path):
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), command

    yield from walk(typer.main.get_command(app), ["leadctl"])


def test_there_are_commands_to_check():
    names = [name for name, _ in leaf_commands()]
    assert "leadctl route" in names and "leadctl group member add" in names and len(names) >= 25


def test_every_command_has_help_with_an_example_and_every_option_has_help():
    missing = []
    for name, command in leaf_commands():
        if not command.help or "Example:" not in command.help:
            missing.append(f"{name}: no help with an example")
        for param in command.params:
            if param.param_type_name == "option" and not getattr(param, "help", None) and param.name != "help":
                missing.append(f"{name}: option {param.opts[0]} has no help")
    assert missing == []


def test_readme_command_reference_names_every_command():
    readme = (REPO / "README.md").read_text()
    reference = readme[readme.index("## Command reference"):]
    missing = [name for name, _ in leaf_commands() if name + " " not in reference and name + "\n" not in reference]
    assert missing == []


def test_every_contract_option_is_in_the_readme():
    readme = (REPO / "README.md").read_text()
    reference = readme[readme.index("## Command reference"):]
    for name, command in leaf_commands():
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert param.opts[0] in reference, f"{name} {param.opts[0]} is not in the README"


def test_every_page_under_docs_is_linked_from_the_readme_and_every_link_leads_somewhere():
    import re

    readme = (REPO / "README.md").read_text()
    pages = sorted(p.name for p in (REPO / "docs").glob("*.md"))
    assert pages and all(f"](docs/{name})" in readme for name in pages), pages
    for page in [REPO / "README.md", *(REPO / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which is not there"
