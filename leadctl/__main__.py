"""Entry point. `leadctl --version` answers before Typer is imported."""

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from . import __version__

        sys.stdout.write(f"leadctl {__version__}\n")
        return
    from .cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
