"""The config file itself: one change at a time under a lock, written atomically (temp file,
then rename), as a small edit of the admin's own text when it can be (edit_text.py), and
checked to read back as exactly the config meant."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError
from .checks import validate
from .load import from_dict
from .model import Config, to_dict


LOCK_TIMEOUT = 30.0  # seconds a change waits for another leadctl command's change to finish


def lock_path(path: Path) -> Path:
    """The lock file beside the config (beside its target, when the config is a symlink)."""
    target = Path(os.path.realpath(path))
    return target.with_name(f".{target.name}.lock")


@contextmanager
def locked(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the config's lock: one load-change-validate-write at a time.

    Every command that changes the config holds it from reading the file to
    renaming the new one into place, so N parallel edits leave N changes (or a
    clear refusal after `timeout` seconds), never a silently lost one. Readers
    need no lock: the file is only ever replaced whole.
    """
    import fcntl
    import time

    timeout = LOCK_TIMEOUT if timeout is None else timeout
    where = lock_path(path)
    try:  # never through a symlink: a planted link would make leadctl create or open its target
        fd = os.open(where, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        if where.is_symlink():
            raise ConfigError(f"cannot lock config file {path}: the lock file {where} is a symbolic link;"
                              " remove it (leadctl makes its own)") from None
        raise ConfigError(f"cannot lock config file {path}: {exc.strerror} ({where})") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ConfigError(
                        f"config file {path} is being changed by another leadctl command"
                        f" (waited {timeout:.0f} s for {where}); nothing was changed, try again"
                    ) from None
                time.sleep(0.005)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so a crash leaves the old file or the new, never half.

    A new file is readable by its owner only; an existing file keeps its mode. A
    symlink is written through: its target is replaced, the link stays a link.
    """
    path = Path(os.path.realpath(path))
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600
    import tempfile  # only a command that writes the config needs it

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def render_text(cfg: Config, old: Config | None = None, old_text: str | None = None) -> str:
    """The file text for `cfg`: the old text with only the change applied (comments,
    order and layout kept, via tomlkit), or, for a new file or a layout that does not
    take a small edit, the whole config written fresh (tomli-w). Either way it is
    checked to read back as exactly `cfg` before anything is written."""
    validate(cfg)
    if old is not None and old_text is not None:
        from .edit_text import CannotEdit, edit_text

        try:
            text = edit_text(old_text, to_dict(old), to_dict(cfg))
            if _reads_as(text, cfg):
                return text
        except CannotEdit:
            pass
    import tomli_w

    text = "# leadctl config; see `leadctl --help` and README.md\n" + tomli_w.dumps(to_dict(cfg))
    if not _reads_as(text, cfg):
        raise ConfigError("internal error: the config would not read back as written; nothing changed")
    return text


def _reads_as(text: str, cfg: Config) -> bool:
    try:
        return from_dict(tomllib.loads(text), cfg.path) == cfg
    except (tomllib.TOMLDecodeError, ConfigError):
        return False


def write_text(path: Path, text: str) -> None:
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {exc.strerror}") from None


def save(cfg: Config, old: Config | None = None, old_text: str | None = None) -> None:
    """Validate the whole config, then replace the file atomically."""
    write_text(cfg.path, render_text(cfg, old, old_text))
