"""Configuration: precedence (environment > config.yaml > defaults), derived paths, save/load,
and clear errors for bad settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from eoscatalog.core.errors import ConfigError, EosError
from eoscatalog.local import config as config_module
from eoscatalog.local.config import Config, eos_home


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def env_for(home: Path, **variables: str) -> dict[str, str]:
    """An explicit environment: only EOS_HOME and what the test passes."""
    return {"EOS_HOME": str(home), **variables}


def write_config(home: Path, text: str | dict[str, object]) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.yaml"
    path.write_text(text if isinstance(text, str) else yaml.safe_dump(text))
    return path


# --------------------------------------------------------------------------------------------
# Defaults and EOS_HOME


def test_defaults(home: Path) -> None:
    c = Config.load(env_for(home, EOS_USER="ada"))
    assert c.home == home
    assert c.user == "ada"
    assert c.org == "default"
    assert c.is_embedded
    assert c.store_url == (home / "store").as_uri()
    assert c.store_url.startswith("file://")
    assert c.store_root == (home / "store" / "default").as_uri()
    assert c.endpoint_url is None
    assert c.region is None
    assert c.default_namespace == "users/me"
    assert c.admin is False
    assert c.offline is False
    assert c.scratch_ttl == "7d"
    assert c.config_path == home / "config.yaml"
    assert c.hashcache_path.parent == home
    assert c.index_path.parent == home / "index"


def test_load_reads_the_process_environment_by_default(
    _isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EOS_ORG", "acme")
    c = Config.load()
    assert (c.home, c.user, c.org) == (_isolated_home, "ada", "acme")
    assert c.store_root == (_isolated_home / "store" / "acme").as_uri()


def test_eos_home_defaults_to_dot_eoscatalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/someone")
    assert eos_home({}) == Path("/home/someone/.eoscatalog")
    assert eos_home({"EOS_HOME": ""}) == Path("/home/someone/.eoscatalog")
    assert eos_home({"EOS_HOME": "~/elsewhere"}) == Path("/home/someone/elsewhere")
    assert eos_home({"EOS_HOME": "/data/eos"}) == Path("/data/eos")


def test_home_override_beats_eos_home(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    write_config(other, {"org": "from-other"})
    c = Config.load(env_for(home, EOS_USER="ada"), home=other)
    assert (c.home, c.org) == (other, "from-other")


def test_user_defaults_to_the_login_name(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_module.getpass, "getuser", lambda: "Ada Lovelace")
    assert Config.load(env_for(home)).user == "Ada-Lovelace"


@pytest.mark.parametrize("login", ["", "me", "@@@"])
def test_unusable_login_name_asks_for_eos_user(
    home: Path, monkeypatch: pytest.MonkeyPatch, login: str
) -> None:
    monkeypatch.setattr(config_module.getpass, "getuser", lambda: login)
    with pytest.raises(ConfigError, match="EOS_USER"):
        Config.load(env_for(home))


def test_missing_login_name_asks_for_eos_user(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_login() -> str:
        raise OSError("no login name")

    monkeypatch.setattr(config_module.getpass, "getuser", no_login)
    with pytest.raises(ConfigError, match="EOS_USER"):
        Config.load(env_for(home))


# --------------------------------------------------------------------------------------------
# Precedence


def test_config_file_beats_defaults(home: Path) -> None:
    write_config(home, {"user": "bob", "org": "acme", "store": "s3://bucket/labs",
                        "region": "eu-west-1", "default_namespace": "org", "admin": True,
                        "scratch_ttl": "3d", "checkpoint_every": 50,
                        "endpoint_url": "http://127.0.0.1:9000"})
    c = Config.load(env_for(home))
    assert (c.user, c.org, c.store, c.region) == ("bob", "acme", "s3://bucket/labs", "eu-west-1")
    assert (c.default_namespace, c.admin, c.scratch_ttl, c.checkpoint_every) == (
        "org", True, "3d", 50
    )
    assert c.endpoint_url == "http://127.0.0.1:9000"
    assert not c.is_embedded
    assert c.store_root == "s3://bucket/labs/acme"


@pytest.mark.parametrize(
    ("variable", "key", "value"),
    [("EOS_USER", "user", "carol"), ("EOS_ORG", "org", "genomics"),
     ("EOS_STORE", "store", "s3://other-bucket/x")],
)
def test_environment_beats_config_file(home: Path, variable: str, key: str, value: str) -> None:
    write_config(home, {"user": "bob", "org": "acme", "store": "s3://bucket/labs"})
    c = Config.load(env_for(home, **{variable: value}))
    assert getattr(c, key) == value
    others = {"user": "bob", "org": "acme", "store": "s3://bucket/labs"}
    del others[key]
    assert {k: getattr(c, k) for k in others} == others


def test_environment_beats_defaults(home: Path) -> None:
    c = Config.load(env_for(home, EOS_USER="carol", EOS_ORG="genomics", EOS_STORE="file:///srv/eos"))
    assert (c.user, c.org, c.store) == ("carol", "genomics", "file:///srv/eos")
    assert c.store_root == "file:///srv/eos/genomics"


def test_empty_environment_variables_are_ignored(home: Path) -> None:
    write_config(home, {"user": "bob", "org": "acme"})
    c = Config.load(env_for(home, EOS_USER="", EOS_ORG="", EOS_STORE=""))
    assert (c.user, c.org, c.store) == ("bob", "acme", "")


def test_keyword_overrides_beat_everything(home: Path) -> None:
    write_config(home, {"org": "acme"})
    c = Config.load(env_for(home, EOS_USER="carol", EOS_ORG="genomics"), org="cli-org", user=None)
    assert (c.org, c.user) == ("cli-org", "carol")  # None means "not given"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("TRUE", True), ("yes", True), ("on", True),
     ("0", False), ("false", False), ("no", False), ("off", False)],
)
def test_eos_admin(home: Path, value: str, expected: bool) -> None:
    assert Config.load(env_for(home, EOS_USER="ada", EOS_ADMIN=value)).admin is expected


def test_eos_admin_beats_the_config_file(home: Path) -> None:
    write_config(home, {"admin": True})
    assert Config.load(env_for(home, EOS_USER="ada")).admin is True
    assert Config.load(env_for(home, EOS_USER="ada", EOS_ADMIN="0")).admin is False
    write_config(home, {"admin": False})
    assert Config.load(env_for(home, EOS_USER="ada", EOS_ADMIN="1")).admin is True


def test_eos_offline(home: Path) -> None:
    assert Config.load(env_for(home, EOS_USER="ada", EOS_OFFLINE="1")).offline is True
    assert Config.load(env_for(home, EOS_USER="ada")).offline is False


def test_aws_endpoint_url_s3_is_picked_up(home: Path) -> None:
    c = Config.load(env_for(home, EOS_USER="ada", AWS_ENDPOINT_URL_S3="http://127.0.0.1:9000"))
    assert c.endpoint_url == "http://127.0.0.1:9000"


def test_aws_endpoint_url_is_picked_up(home: Path) -> None:
    c = Config.load(env_for(home, EOS_USER="ada", AWS_ENDPOINT_URL="http://127.0.0.1:9001"))
    assert c.endpoint_url == "http://127.0.0.1:9001"


def test_aws_endpoint_url_s3_beats_aws_endpoint_url(home: Path) -> None:
    c = Config.load(env_for(home, EOS_USER="ada", AWS_ENDPOINT_URL="http://127.0.0.1:9001",
                            AWS_ENDPOINT_URL_S3="http://127.0.0.1:9000"))
    assert c.endpoint_url == "http://127.0.0.1:9000"


def test_aws_endpoint_variables_beat_the_config_file(home: Path) -> None:
    # The module docstring lists AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL with the environment
    # variables that take precedence over config.yaml (boto3 orders them the same way).
    write_config(home, {"endpoint_url": "http://127.0.0.1:7000"})
    assert Config.load(env_for(home, EOS_USER="ada")).endpoint_url == "http://127.0.0.1:7000"
    c = Config.load(env_for(home, EOS_USER="ada", AWS_ENDPOINT_URL_S3="http://127.0.0.1:9000"))
    assert c.endpoint_url == "http://127.0.0.1:9000"


def test_process_aws_endpoint_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9002")
    assert Config.load().endpoint_url == "http://127.0.0.1:9002"


# --------------------------------------------------------------------------------------------
# Store root and index path


@pytest.mark.parametrize(
    ("store", "org", "root"),
    [("s3://bucket/labs", "genomics", "s3://bucket/labs/genomics"),
     ("s3://bucket/labs/", "genomics", "s3://bucket/labs/genomics"),
     ("s3://bucket", "acme", "s3://bucket/acme"),
     ("file:///srv/eos", "acme", "file:///srv/eos/acme")],
)
def test_store_root_is_the_store_plus_the_org(home: Path, store: str, org: str, root: str) -> None:
    c = Config(home=home, user="ada", org=org, store=store)
    assert (c.store_url, c.store_root) == (store, root)


def test_index_path_is_one_per_store_root(home: Path) -> None:
    base = Config(home=home, user="ada")
    same = Config(home=home, user="bob", admin=True)
    other_org = Config(home=home, user="ada", org="acme")
    other_store = Config(home=home, user="ada", store="s3://bucket/labs")
    other_bucket = Config(home=home, user="ada", store="s3://bucket2/labs")
    assert base.index_path == same.index_path
    paths = {c.index_path for c in (base, other_org, other_store, other_bucket)}
    assert len(paths) == 4
    assert all(p.parent == home / "index" and p.suffix == ".sqlite" for p in paths)


def test_index_path_ignores_a_trailing_slash_on_the_store(home: Path) -> None:
    a = Config(home=home, user="ada", store="s3://bucket/labs")
    b = Config(home=home, user="ada", store="s3://bucket/labs/")
    assert a.index_path == b.index_path


def test_max_attempts(home: Path) -> None:
    assert Config.load(env_for(home, EOS_USER="ada")).max_attempts == 4
    assert Config.load(env_for(home, EOS_USER="ada", EOS_MAX_ATTEMPTS="2")).max_attempts == 2
    assert Config.load(env_for(home, EOS_USER="ada", EOS_MAX_ATTEMPTS=" 7 ")).max_attempts == 7
    write_config(home, {"max_attempts": 10})
    assert Config.load(env_for(home, EOS_USER="ada")).max_attempts == 10
    assert Config.load(env_for(home, EOS_USER="ada", EOS_MAX_ATTEMPTS="1")).max_attempts == 1


@pytest.mark.parametrize("value", ["0", "-1", "three", "2.5", "1e3", "4 attempts"])
def test_bad_eos_max_attempts_is_refused(home: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="max_attempts") as info:
        Config.load(env_for(home, EOS_USER="ada", EOS_MAX_ATTEMPTS=value))
    message = str(info.value)
    assert "EOS_MAX_ATTEMPTS" in message and "at least 1" in message and value in message


@pytest.mark.parametrize("value", [0, -3, "3", 2.5, True, [4], None])
def test_bad_max_attempts_in_the_config_file_is_refused(home: Path, value: object) -> None:
    path = write_config(home, {"max_attempts": value})
    with pytest.raises(ConfigError, match="max_attempts") as info:
        Config.load(env_for(home, EOS_USER="ada"))
    assert str(path) in str(info.value) and "at least 1" in str(info.value)


# --------------------------------------------------------------------------------------------
# save / load


def test_save_then_load_round_trips(home: Path) -> None:
    original = Config(
        home=home, user="bob", org="acme", store="s3://bucket/labs",
        endpoint_url="http://127.0.0.1:9000", region="eu-west-1", default_namespace="org",
        admin=True, scratch_ttl="3d", checkpoint_every=50,
    )
    path = original.save()
    assert path == home / "config.yaml"
    assert Config.load({"EOS_HOME": str(home)}) == original


def test_save_then_load_keeps_max_attempts(home: Path) -> None:
    Config(home=home, user="bob", max_attempts=6).save()
    assert yaml.safe_load((home / "config.yaml").read_text()) == {"user": "bob", "max_attempts": 6}
    assert Config.load({"EOS_HOME": str(home)}).max_attempts == 6


def test_save_writes_only_what_differs_from_the_defaults(home: Path) -> None:
    Config(home=home, user="bob").save()
    assert yaml.safe_load((home / "config.yaml").read_text()) == {"user": "bob"}
    assert Config.load({"EOS_HOME": str(home)}) == Config(home=home, user="bob")


def test_save_replaces_the_previous_file_and_leaves_no_temp_file(home: Path) -> None:
    Config(home=home, user="bob", org="acme").save()
    Config(home=home, user="bob", org="genomics").save()
    assert Config.load({"EOS_HOME": str(home)}).org == "genomics"
    assert sorted(os.listdir(home)) == ["config.yaml"]


def test_save_does_not_write_offline(home: Path) -> None:
    Config(home=home, user="bob", offline=True).save()
    assert "offline" not in yaml.safe_load((home / "config.yaml").read_text())


def test_saved_numeric_looking_values_stay_strings(home: Path) -> None:
    original = Config(home=home, user="1234", org="2024", scratch_ttl="90")
    original.save()
    assert Config.load({"EOS_HOME": str(home)}) == original


# --------------------------------------------------------------------------------------------
# Bad configuration: clear ConfigError


def test_empty_config_file_means_defaults(home: Path) -> None:
    write_config(home, "")
    assert Config.load(env_for(home, EOS_USER="ada")) == Config(home=home, user="ada")


@pytest.mark.parametrize("text", ["user: [unclosed", "org: 'acme\n", "a: b: c", "\tuser: x"])
def test_malformed_yaml(home: Path, text: str) -> None:
    path = write_config(home, text)
    with pytest.raises(ConfigError, match="not valid YAML") as info:
        Config.load(env_for(home, EOS_USER="ada"))
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text", ["- user\n- org\n", "just a string\n", "42\n"])
def test_config_that_is_not_a_mapping(home: Path, text: str) -> None:
    write_config(home, text)
    with pytest.raises(ConfigError, match="mapping"):
        Config.load(env_for(home, EOS_USER="ada"))


def test_unknown_keys_are_named(home: Path) -> None:
    write_config(home, {"user": "bob", "colour": "red", "bucket": "x"})
    with pytest.raises(ConfigError) as info:
        Config.load(env_for(home))
    message = str(info.value)
    assert "unknown" in message and "colour" in message and "bucket" in message
    assert "endpoint_url" in message  # and it lists the known ones


def test_home_and_offline_are_not_config_file_keys(home: Path) -> None:
    write_config(home, {"home": "/elsewhere"})
    with pytest.raises(ConfigError, match="unknown"):
        Config.load(env_for(home, EOS_USER="ada"))


BAD_ORGS = ["Acme", "-acme", ".acme", "ac me", "acme/labs", "a" * 64, "ac@me", "acmé",
            "acme\n", "\nacme"]


@pytest.mark.parametrize("org", BAD_ORGS)
def test_bad_org_names_from_the_environment(home: Path, org: str) -> None:
    with pytest.raises(ConfigError, match="invalid organization"):
        Config.load(env_for(home, EOS_USER="ada", EOS_ORG=org))


@pytest.mark.parametrize("org", BAD_ORGS)
def test_bad_org_names_from_the_config_file(home: Path, org: str) -> None:
    write_config(home, {"org": org})
    with pytest.raises(ConfigError, match="invalid organization"):
        Config.load(env_for(home, EOS_USER="ada"))


@pytest.mark.parametrize("org", ["a", "acme", "my-lab.2026", "lab_1", "a" * 63, "2024"])
def test_good_org_names(home: Path, org: str) -> None:
    assert Config.load(env_for(home, EOS_USER="ada", EOS_ORG=org)).org == org


BAD_USERS = ["me", "a b", "-ada", ".ada", "a" * 65, "ada/x", "ada@x", "ada\n"]


@pytest.mark.parametrize("user", BAD_USERS)
def test_bad_user_ids_from_the_environment(home: Path, user: str) -> None:
    with pytest.raises(ConfigError, match="user id") as info:
        Config.load(env_for(home, EOS_USER=user))
    assert "EOS_USER" in str(info.value)


@pytest.mark.parametrize("user", BAD_USERS)
def test_bad_user_ids_from_the_config_file(home: Path, user: str) -> None:
    path = write_config(home, {"user": user})
    with pytest.raises(ConfigError, match="user id") as info:
        Config.load(env_for(home))
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "settings",
    [{"default_namespace": "teams/x"}, {"default_namespace": "users/-x"},
     {"scratch_ttl": "forever"}, {"scratch_ttl": "0d"}, {"checkpoint_every": 0},
     {"checkpoint_every": -5}, {"checkpoint_every": "often"}, {"checkpoint_every": [1]},
     {"org": ["a", "b"]}, {"org": {"name": "acme"}}, {"user": ["ada"]},
     {"store": ["s3://bucket"]}, {"scratch_ttl": ["7d"]}],
    ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()),
)
def test_bad_values_in_the_config_file_are_config_errors(
    home: Path, settings: dict[str, object]
) -> None:
    write_config(home, {"user": "ada", **settings})
    with pytest.raises(ConfigError):
        Config.load(env_for(home))


def test_config_error_is_an_eos_error() -> None:
    assert issubclass(ConfigError, EosError)
