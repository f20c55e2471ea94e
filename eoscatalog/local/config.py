"""Configuration: who the user is, which organization and store, where local state lives.

Settings come from, in order of precedence: environment variables (``EOS_USER``, ``EOS_ORG``,
``EOS_STORE``, ``EOS_ADMIN``, ``EOS_OFFLINE``, ``EOS_SINGLE_WRITER``, ``EOS_CACHE``,
``EOS_CACHE_MAX_SIZE``, ``EOS_MAX_ATTEMPTS``, ``AWS_ENDPOINT_URL_S3`` /
``AWS_ENDPOINT_URL``), then ``$EOS_HOME/config.yaml`` (written by ``eos init``), then defaults.
``EOS_HOME`` defaults to ``~/.eoscatalog``; the default store is the embedded one,
``file://$EOS_HOME/store``.

The download cache is capped by default (``EOS_CACHE_MAX_SIZE`` unset, or ``auto``): 10 GiB, or a
quarter of the room it could take on its disk, whichever is smaller; ``none`` lifts the cap.

The store root of the organization is ``<store>/<org>``: ``s3://bucket/labs`` with org ``genomics``
keeps everything under ``s3://bucket/labs/genomics/``.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from eoscatalog.core.errors import ConfigError, InvalidNameError
from eoscatalog.core.fsio import atomic_write
from eoscatalog.core.names import validate_namespace, validate_user
from eoscatalog.core.units import parse_duration, parse_size
from eoscatalog.local.cache_prune import AUTO, Cap
from eoscatalog.store.s3.limits import (  # the S3 client's defaults: no botocore imported
    MAX_ATTEMPTS,
    MAX_PART_SIZE,
    MIN_PART_SIZE,
)

__all__ = ["Config", "eos_home"]

CONFIG_FILE = "config.yaml"
DEFAULT_ORG = "default"
_ORG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_KEYS = ("user", "org", "store", "endpoint_url", "region", "default_namespace", "admin",
         "scratch_ttl", "checkpoint_every", "single_writer", "cache", "cache_max_size",
         "max_attempts", "part_size")


def eos_home(env: Mapping[str, str] | None = None) -> Path:
    """``$EOS_HOME`` or ``~/.eoscatalog``."""
    env = os.environ if env is None else env
    return Path(env.get("EOS_HOME") or Path.home() / ".eoscatalog").expanduser()


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Config:
    """Resolved settings for one client.

    >>> c = Config(home=Path("/tmp/h"), user="ada")
    >>> c.store_url, c.store_root
    ('file:///tmp/h/store', 'file:///tmp/h/store/default')
    """

    home: Path
    user: str
    org: str = DEFAULT_ORG
    store: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    default_namespace: str = "users/me"
    admin: bool = False
    offline: bool = False
    scratch_ttl: str | float = "7d"  # a duration: "7d", or seconds
    checkpoint_every: int = 100
    single_writer: bool = False
    cache: str = ""
    cache_max_size: str | int | None = None  # None or "auto": the default cap; "none": no cap
    max_attempts: int = MAX_ATTEMPTS  # tries of each S3 request, the first included
    part_size: str | int | None = None  # bytes per part of an S3 multipart upload

    def __post_init__(self) -> None:
        for key in ("org", "store", "default_namespace"):
            if not isinstance(getattr(self, key), str):
                raise ConfigError(f"setting {key!r} must be text, not {getattr(self, key)!r}")
        for key in ("endpoint_url", "region"):
            if getattr(self, key) is not None and not isinstance(getattr(self, key), str):
                raise ConfigError(f"setting {key!r} must be text, not {getattr(self, key)!r}")
        if not isinstance(self.scratch_ttl, (str, int, float)) or isinstance(
            self.scratch_ttl, bool
        ):
            raise ConfigError(f"setting 'scratch_ttl' must be a duration like 7d, not "
                              f"{self.scratch_ttl!r}")
        if not isinstance(self.checkpoint_every, int) or isinstance(self.checkpoint_every, bool):
            raise ConfigError(f"setting 'checkpoint_every' must be a whole number, not "
                              f"{self.checkpoint_every!r}")
        where = self.config_path
        _checked(f"user (EOS_USER, or `user:` in {where})", validate_user, self.user)
        if not _ORG_RE.fullmatch(self.org):
            raise ConfigError(
                f"invalid organization {self.org!r}: use 1-63 lower-case letters, digits, '.', "
                "'_' or '-' (set EOS_ORG or `eos init --org`)"
            )
        _checked(f"default_namespace in {where}",
                 lambda v: validate_namespace(v, user=self.user), self.default_namespace)
        _checked(f"scratch_ttl in {where}", parse_duration, self.scratch_ttl)
        if _cap_word(self.cache_max_size) is None:
            _checked(f"cache_max_size (EOS_CACHE_MAX_SIZE, or in {where}; or 'auto', 'none')",
                     parse_size, self.cache_max_size)
        if self.part_size not in (None, ""):
            _checked(f"part_size (EOS_PART_SIZE, or in {where})", _part_bytes, self.part_size)
        if not isinstance(self.cache, str):
            raise ConfigError(f"setting 'cache' must be a folder path, not {self.cache!r}")
        if int(self.checkpoint_every) < 1:
            raise ConfigError("checkpoint_every must be a positive number of changesets")
        if (not isinstance(self.max_attempts, int) or isinstance(self.max_attempts, bool)
                or self.max_attempts < 1):
            raise ConfigError(
                f"bad setting max_attempts (EOS_MAX_ATTEMPTS, or in {where}): the tries of each "
                f"S3 request, the first included, must be a whole number of at least 1, not "
                f"{self.max_attempts!r}"
            )

    @property
    def store_url(self) -> str:
        """The store URL as configured (the embedded folder when none is)."""
        return self.store or (self.home / "store").as_uri()

    @property
    def is_embedded(self) -> bool:
        return not self.store

    @property
    def store_root(self) -> str:
        return f"{self.store_url.rstrip('/')}/{self.org}"

    @property
    def embedded_root(self) -> Path | None:
        """The organization's folder in the embedded store (None when a store is configured)."""
        return self.home / "store" / self.org if self.is_embedded else None

    def check_store(self) -> str:
        """Open the store these settings name and make one listing request, writing nothing
        under ``$EOS_HOME``: a missing bucket or a bad endpoint fails here, clearly. A local
        store folder is created. Returns the store root's URL."""
        from eoscatalog.store import (
            open_store,  # the store layer is imported only when it is needed
        )

        options: dict[str, Any] = {}
        if self.store_root.startswith("s3://"):  # the options Catalog.open gives S3 as well
            options = {"endpoint_url": self.endpoint_url, "region": self.region,
                       "max_attempts": self.max_attempts}
        store = open_store(self.store_root, create=True, **options)
        try:
            store.list_dirs("catalog/")
            return store.url
        finally:
            store.close()

    def describe_store(self) -> str:
        """Which store commands use, for messages: the embedded folder or the store URL."""
        if self.is_embedded:
            return f"the embedded store in {self.embedded_root} (this machine only)"
        return self.store_root

    @property
    def cache_dir(self) -> Path:
        """The shared download cache: ``EOS_CACHE`` or ``$EOS_HOME/cache``."""
        return Path(self.cache).expanduser() if self.cache else self.home / "cache"

    @property
    def cache_max_bytes(self) -> Cap | None:
        """The cache's size cap: bytes, ``"auto"`` (the default: 10 GiB, or a quarter of the
        room on the cache's disk, whichever is smaller) or None (``none``: no cap).

        >>> [Config(home=Path("/h"), user="ada", cache_max_size=v).cache_max_bytes
        ...  for v in (None, "2KiB", "none")]
        ['auto', 2048, None]
        """
        word = _cap_word(self.cache_max_size)
        if word is None:
            return parse_size(self.cache_max_size or 0)
        return AUTO if word == AUTO else None

    @property
    def part_bytes(self) -> int | None:
        """Bytes per part of an S3 multipart upload (None: the store's default, 8 MiB)."""
        return None if self.part_size in (None, "") else _part_bytes(self.part_size)

    @property
    def uploads_path(self) -> Path:
        """The journal of unfinished multipart uploads, which a rerun resumes."""
        return self.home / "uploads.sqlite"

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def index_path(self) -> Path:
        """One index per store root, so switching stores never mixes catalogs."""
        digest = hashlib.sha256(self.store_root.encode()).hexdigest()[:16]
        return self.home / "index" / f"{digest}.sqlite"

    @property
    def hashcache_path(self) -> Path:
        return self.home / "hashcache.sqlite"

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Config:
        """Build the configuration from the environment and the config file."""
        env = os.environ if env is None else env
        home = Path(overrides.pop("home", None) or eos_home(env))
        settings: dict[str, Any] = {}
        path = home / CONFIG_FILE
        if path.exists():
            try:
                loaded = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as e:
                raise ConfigError(f"{path} is not valid YAML ({e}); fix or delete it") from None
            if not isinstance(loaded, dict):
                raise ConfigError(f"{path} must hold a mapping of settings")
            unknown = sorted(set(loaded) - set(_KEYS))
            if unknown:
                raise ConfigError(
                    f"{path} has unknown settings {unknown}; known ones: {', '.join(_KEYS)}"
                )
            settings.update(loaded)
        for key, var in (("user", "EOS_USER"), ("org", "EOS_ORG"), ("store", "EOS_STORE")):
            if env.get(var):
                settings[key] = env[var]
        if env.get("EOS_ADMIN"):
            settings["admin"] = _truthy(env["EOS_ADMIN"])
        if env.get("EOS_CACHE"):
            settings["cache"] = env["EOS_CACHE"]
        if env.get("EOS_CACHE_MAX_SIZE"):
            settings["cache_max_size"] = env["EOS_CACHE_MAX_SIZE"]
        if env.get("EOS_PART_SIZE"):
            settings["part_size"] = env["EOS_PART_SIZE"]
        if env.get("EOS_MAX_ATTEMPTS"):
            settings["max_attempts"] = _whole_number(env["EOS_MAX_ATTEMPTS"])
        if env.get("EOS_SINGLE_WRITER"):
            settings["single_writer"] = _truthy(env["EOS_SINGLE_WRITER"])
        if env.get("EOS_OFFLINE"):
            settings["offline"] = _truthy(env["EOS_OFFLINE"])
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
        if endpoint:
            settings["endpoint_url"] = endpoint
        settings.update({k: v for k, v in overrides.items() if v is not None})
        if not settings.get("user"):
            settings["user"] = _default_user()
        settings["admin"] = _truthy(settings.get("admin", False))
        settings["offline"] = _truthy(settings.get("offline", False))
        settings["single_writer"] = _truthy(settings.get("single_writer", False))
        try:
            return cls(home=home, **settings)
        except InvalidNameError as e:
            raise ConfigError(f"bad setting: {e} (check the EOS_* variables and {path})") from None
        except (TypeError, ValueError) as e:
            raise ConfigError(f"bad setting in {path} or the environment: {e}") from None

    def save(self) -> Path:
        """Write the non-default settings to ``$EOS_HOME/config.yaml``."""
        data = {k: v for k, v in asdict(self).items() if k in _KEYS}
        defaults = {"org": DEFAULT_ORG, "store": "", "endpoint_url": None, "region": None,
                    "default_namespace": "users/me", "admin": False, "scratch_ttl": "7d",
                    "checkpoint_every": 100, "single_writer": False, "cache": "",
                    "cache_max_size": None, "max_attempts": MAX_ATTEMPTS,
                    "part_size": None}
        data = {k: v for k, v in data.items() if k == "user" or defaults.get(k) != v}
        atomic_write(self.config_path, yaml.safe_dump(data, sort_keys=True))
        return self.config_path


def _checked(setting: str, check: Callable[[Any], Any], value: Any) -> None:
    try:
        check(value)
    except InvalidNameError as e:
        raise ConfigError(f"bad setting {setting}: {e}") from None


def _cap_word(value: str | int | None) -> str | None:
    """``auto`` or ``none`` when a cache cap setting says so (unset is ``auto``); None when it
    should be a size."""
    if value is None or value == "":
        return AUTO
    word = value.strip().lower() if isinstance(value, str) else ""
    return word if word in (AUTO, "none") else None
def _part_bytes(value: str | int) -> int:
    """A part size: a size (``8MiB``) S3 accepts for a part, 5 MiB to 5 GiB.

    >>> _part_bytes("16MiB")
    16777216
    """
    size = parse_size(value)
    if not MIN_PART_SIZE <= size <= MAX_PART_SIZE:
        raise InvalidNameError(f"a part must be 5 MiB to 5 GiB (S3's limits), not {value!r}")
    return size


def _whole_number(text: str) -> int | str:
    """``text`` as an int; as it is when it is not one, for ``Config`` to refuse by name.

    >>> _whole_number(" 3 "), _whole_number("three")
    (3, 'three')
    """
    try:
        return int(text)
    except ValueError:
        return text


def _default_user() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = ""
    candidate = re.sub(r"[^A-Za-z0-9._-]", "-", name).strip("-._")[:64]
    if not candidate or candidate == "me":
        raise ConfigError("cannot tell who you are: set EOS_USER or run `eos init --user ID`")
    return candidate
