"""Profiles: the TOML file, SFBEARER_* variables, flags, one precedence order, key loading."""

from __future__ import annotations

import dataclasses
import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfbearer import ConfigError, KeyFileError, ProfileError, SignerError
from sfbearer._config_file import PROFILE_FIELDS
from sfbearer._files import atomic_write
from sfbearer.config import (
    ENV_VARS,
    Profile,
    config_path,
    default_profile_name,
    get_profile,
    load_profiles,
    load_signer,
    needs_passphrase,
    remove_profile,
    resolve_profile,
    save_profile,
    set_default_profile,
)
from sfbearer.keys import KeyPair, private_key_pem, verify_rs256

CID = "3MVG9" + "a" * 40
PEM_MARKER = "-----BEGIN PRIVATE KEY-----"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cfg() -> Path:
    """The isolated configuration file (from the shared SFBEARER_CONFIG fixture)."""
    return config_path()


def _profile(name: str = "prod", **changes: object) -> Profile:
    values: dict[str, object] = {
        "client_id": CID,
        "username": "int@acme.com",
        "jwt_key_file": "/keys/server.key",
    }
    values.update(changes)
    return Profile(name=name, **values)  # type: ignore[arg-type]


# -- the file ----------------------------------------------------------------------------


def test_profile_fields_match_the_file_schema() -> None:
    names = [f.name for f in dataclasses.fields(Profile) if f.name != "name"]
    assert names == list(PROFILE_FIELDS)
    defaults = {f.name: f.default for f in dataclasses.fields(Profile) if f.name not in ("name",)}
    for key, (_kind, default) in PROFILE_FIELDS.items():
        if defaults[key] is not dataclasses.MISSING:
            assert defaults[key] == default, key


def test_config_path_follows_sfbearer_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SFBEARER_CONFIG", str(tmp_path / "x.toml"))
    assert config_path() == tmp_path / "x.toml"
    monkeypatch.delenv("SFBEARER_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg" / "sfbearer" / "config.toml"


def test_missing_file_means_no_profiles(cfg: Path) -> None:
    assert not cfg.exists()
    assert load_profiles() == {}
    assert default_profile_name() is None


def test_save_is_0600_in_a_0700_directory_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    profile = _profile(allow_hosts=("sf.example.net",), cache="redis://r:6379/0", timeout=12.5)
    assert save_profile(profile, path=path) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_profiles(path) == {"prod": profile}
    assert default_profile_name(path) == "prod"  # the first profile becomes the default
    text = path.read_text()
    assert 'default = "prod"' in text
    assert "[profiles.prod]" in text
    assert "session_timeout" not in text  # defaults are left out


def test_save_refuses_to_overwrite_without_force(cfg: Path) -> None:
    save_profile(_profile())
    with pytest.raises(ProfileError, match="already exists") as info:
        save_profile(_profile(username="other@acme.com"))
    assert "--force" in info.value.hint
    assert get_profile("prod").username == "int@acme.com"
    save_profile(_profile(username="other@acme.com"), force=True)
    assert get_profile("prod").username == "other@acme.com"


def test_save_is_atomic_when_the_write_fails(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_profile(_profile())
    before = cfg.read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ProfileError, match="cannot write"):
        save_profile(_profile("uat"))
    assert cfg.read_bytes() == before
    assert sorted(p.name for p in cfg.parent.iterdir()) == ["config.toml", "config.toml.lock"]


def test_make_default_remove_and_set_default(cfg: Path) -> None:
    save_profile(_profile("prod"))
    save_profile(_profile("uat"))
    assert default_profile_name() == "prod"
    save_profile(_profile("dev"), make_default=True)
    assert default_profile_name() == "dev"
    set_default_profile("uat")
    assert default_profile_name() == "uat"
    remove_profile("uat")
    assert set(load_profiles()) == {"dev", "prod"}
    assert default_profile_name() is None  # the default went with its profile
    with pytest.raises(ProfileError, match="no profile named 'prd'") as info:
        remove_profile("prd")
    assert "prod" in info.value.hint
    with pytest.raises(ProfileError):
        set_default_profile("nope")


def test_concurrent_saves_lose_nothing(cfg: Path) -> None:
    errors: list[BaseException] = []

    def add(i: int) -> None:
        try:
            save_profile(_profile(f"p{i}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert set(load_profiles()) == {f"p{i}" for i in range(12)}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[profiles.prod\nclient_id = "x"\n', r"invalid TOML: .*line 1"),
        ("[profiles.prod]\nclient_id = x\n", r"invalid TOML: .*line 2"),
        ('[profiles.prod]\nclient_id = "a"\nclient_id = "b"\n', "invalid TOML"),
    ],
)
def test_corrupt_toml_names_the_file_and_line(cfg: Path, text: str, match: str) -> None:
    _write(cfg, text)
    with pytest.raises(ProfileError, match=match) as info:
        load_profiles()
    assert str(cfg) in str(info.value)


def test_unreadable_and_odd_files(cfg: Path, tmp_path: Path) -> None:
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(ProfileError, match="not UTF-8"):
        load_profiles()
    with pytest.raises(ProfileError, match="is a directory"):
        load_profiles(tmp_path)


@pytest.mark.parametrize(
    ("body", "message", "hint"),
    [
        ('usename = "u"', "unknown key 'usename'", "did you mean 'username'?"),
        ('session_timeout = "2h"', "session_timeout must be a whole number", ""),
        ("session_timeout = 0", "session_timeout must be 1 to 1440", ""),
        ("timeout = true", "timeout must be a number", ""),
        ("allow_hosts = 3", "allow_hosts must be a list", ""),
        ('cache = "disk"', "'disk' is not a cache", "file:PATH"),
        ('jwt_key_env = "-----BEGIN PRIVATE KEY-----"', "jwt_key_env must be the NAME", ""),
        ('jwt_key_file = "k.pem"\njwt_key_env = "PEM"', "both set", ""),
        ('environment = ""', "environment must be a non-empty string", ""),
    ],
)
def test_invalid_profile_values(cfg: Path, body: str, message: str, hint: str) -> None:
    base = f'client_id = "{CID}"\nusername = "u@acme.com"\n'
    _write(cfg, f"[profiles.prod]\n{base}{body}\n")
    with pytest.raises(ProfileError, match=message) as info:
        load_profiles()
    assert "'prod'" in str(info.value)
    assert hint in info.value.hint


def test_a_pem_in_jwt_key_file_is_refused_without_echoing_it(cfg: Path) -> None:
    secret = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-canary"
    _write(
        cfg,
        f'[profiles.p]\nclient_id = "{CID}"\nusername = "u@a.com"\n'
        f'jwt_key_file = """{PEM_MARKER}\n{secret}\n"""\n',
    )
    with pytest.raises(ProfileError, match="holds PEM text") as info:
        load_profiles()
    assert secret not in str(info.value) + info.value.hint


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ('[profile.prod]\nclient_id = "x"\n', "unknown top-level key 'profile'", "'profiles'"),
        ('[prod]\nclient_id = "x"\n', "unknown top-level key 'prod'", "[profiles.prod]"),
        ('profiles = "prod"\n', "must be a table", ""),
        (
            'default = "prd"\n[profiles.prod]\nclient_id = "c"\nusername = "u"\n',
            "names no profile",
            "'prod'",
        ),
        ('[profiles.prod]\nusername = "u"\n', "client_id is required", ""),
        ('[profiles."bad name"]\nclient_id = "c"\nusername = "u"\n', "invalid profile name", ""),
    ],
)
def test_invalid_documents(cfg: Path, text: str, message: str, hint: str) -> None:
    _write(cfg, text)
    with pytest.raises(ProfileError, match=message) as info:
        load_profiles()
    assert hint in info.value.hint


def test_relative_paths_are_relative_to_the_config_file(cfg: Path) -> None:
    _write(
        cfg,
        f'[profiles.p]\nclient_id = "{CID}"\nusername = "u@a.com"\n'
        'jwt_key_file = "keys/server.key"\ncert_file = "~/c.crt"\ncache = "file:cache.json"\n'
        'audit = "/var/log/a.jsonl"\n',
    )
    p = load_profiles()["p"]
    assert p.jwt_key_file == str(cfg.parent / "keys" / "server.key")
    assert p.cert_file == str(Path("~/c.crt").expanduser())
    assert p.cache == "file:" + str(cfg.parent / "cache.json")
    assert p.audit == "/var/log/a.jsonl"


def test_signer_uris_are_kept_verbatim(cfg: Path) -> None:
    uri = "pkcs11:token=acme;object=jwt?module-path=/usr/lib/softhsm/libsofthsm2.so"
    save_profile(_profile(jwt_key_file=uri))
    p = get_profile("prod")
    assert p.jwt_key_file == uri
    assert p.uses_signer_uri
    assert p.certificate_path() is None


# -- choosing a profile -------------------------------------------------------------------


def test_get_profile_choice_order(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ProfileError, match="no profile configured") as none:
        get_profile()
    assert "sfbearer init" in none.value.hint
    save_profile(_profile("prod"))
    assert get_profile().name == "prod"  # the only profile
    save_profile(_profile("uat"))
    assert get_profile().name == "prod"  # the file's default
    monkeypatch.setenv("SFBEARER_PROFILE", "uat")
    assert get_profile().name == "uat"
    assert get_profile("prod").name == "prod"  # an explicit name wins
    _write(cfg, cfg.read_text().replace('default = "prod"\n', ""))
    monkeypatch.delenv("SFBEARER_PROFILE")
    with pytest.raises(ProfileError, match="none is the default") as several:
        get_profile()
    assert "--profile" in several.value.hint
    with pytest.raises(ProfileError, match="no profile named 'uta'") as typo:
        get_profile("uta")
    assert "did you mean 'uat'?" in typo.value.hint


def test_get_profile_when_the_file_does_not_exist(cfg: Path) -> None:
    with pytest.raises(ProfileError, match="does not exist") as info:
        get_profile("prod")
    assert "sfbearer init prod" in info.value.hint


# -- precedence: flags > env > profile > defaults -------------------------------------------

# field -> (profile value, env var, env value, flag value)
_LAYERS = {
    "client_id": (CID, "SFBEARER_CLIENT_ID", "3MVG9env" + "b" * 30, "3MVG9flag" + "c" * 30),
    "username": ("p@acme.com", "SFBEARER_USERNAME", "e@acme.com", "f@acme.com"),
    "jwt_key_file": ("/p/server.key", "SFBEARER_JWT_KEY_FILE", "/e/server.key", "/f/server.key"),
    "cert_file": ("/p/server.crt", "SFBEARER_CERT_FILE", "/e/server.crt", "/f/server.crt"),
    "environment": ("sandbox", "SFBEARER_ENVIRONMENT", "https://e.my.salesforce.com", "production"),
    "audience": (
        "https://p.my.salesforce.com",
        "SFBEARER_AUDIENCE",
        "https://e.my.salesforce.com",
        "https://f.my.salesforce.com",
    ),
    "cache": ("memory", "SFBEARER_CACHE", "redis://e:6379/0", "rediss://f:6380/1"),
    "audit": ("/p/audit.jsonl", "SFBEARER_AUDIT", "/e/audit.jsonl", "/f/audit.jsonl"),
    "proxy": ("http://p:3128", "SFBEARER_PROXY", "http://e:3128", "http://f:3128"),
    "ca_bundle": ("/p/ca.pem", "SFBEARER_CA_BUNDLE", "/e/ca.pem", "/f/ca.pem"),
}


@pytest.mark.parametrize("field", sorted(_LAYERS))
def test_precedence_for_every_variable(
    cfg: Path, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    in_profile, var, in_env, in_flag = _LAYERS[field]
    base = {"client_id": CID, "username": "p@acme.com", "jwt_key_file": "/p/server.key"}
    save_profile(Profile(name="p", **{**base, field: in_profile}))  # type: ignore[arg-type]
    defaults = Profile(name="d", client_id="c", username="u")
    assert getattr(resolve_profile("p"), field) == in_profile
    monkeypatch.setenv(var, in_env)
    assert getattr(resolve_profile("p"), field) == in_env
    assert getattr(resolve_profile("p", overrides={field: in_flag}), field) == in_flag
    assert getattr(resolve_profile("p", overrides={field: None}), field) == in_env
    # and with nothing anywhere, the default
    monkeypatch.delenv(var)
    remove_profile("p")
    save_profile(Profile(name="p", **base))  # type: ignore[arg-type]
    if field not in base:
        assert getattr(resolve_profile("p"), field) == getattr(defaults, field)


def test_every_documented_variable_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    handled = {var for _f, (_p, var, _e, _fl) in _LAYERS.items()}
    handled |= {
        "SFBEARER_PROFILE",
        "SFBEARER_CONFIG",
        "SFBEARER_JWT_KEY",
        "SFBEARER_KEY_PASSPHRASE",
    }
    assert set(ENV_VARS) == handled


def test_no_profile_at_all_from_flags_or_env(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flags = {"client_id": CID, "username": "u@acme.com", "jwt_key_file": "server.key"}
    p = resolve_profile(overrides=flags)
    assert (p.name, p.client_id, p.environment, p.cache) == ("", CID, "production", "memory")
    monkeypatch.setenv("SFBEARER_CLIENT_ID", CID)
    monkeypatch.setenv("SFBEARER_USERNAME", "env@acme.com")
    monkeypatch.setenv("SFBEARER_JWT_KEY", "pem-in-env")
    p = resolve_profile()
    assert (p.username, p.jwt_key_env, p.jwt_key_file) == ("env@acme.com", "SFBEARER_JWT_KEY", None)


def test_a_complete_identity_does_not_read_the_file(cfg: Path) -> None:
    _write(cfg, "this is [ not toml")
    flags = {"client_id": CID, "username": "u@acme.com", "jwt_key_file": "server.key"}
    assert resolve_profile(overrides=flags).username == "u@acme.com"
    with pytest.raises(ProfileError, match="invalid TOML"):
        resolve_profile("prod", overrides=flags)  # a named profile is always read


def test_a_partial_identity_falls_back_to_the_default_profile(cfg: Path) -> None:
    save_profile(_profile("prod", environment="sandbox"))
    p = resolve_profile(overrides={"username": "other@acme.com"})
    assert (p.name, p.username, p.environment) == ("prod", "other@acme.com", "sandbox")


def test_missing_values_are_named(cfg: Path) -> None:
    with pytest.raises(ProfileError) as info:
        resolve_profile(overrides={"client_id": CID})
    message = str(info.value)
    assert "username (--username / SFBEARER_USERNAME)" in message
    assert "private key" in message
    assert "client id" not in message
    assert "sfbearer init" in info.value.hint


def test_a_named_profile_must_exist(cfg: Path) -> None:
    flags = {"client_id": CID, "username": "u@acme.com", "jwt_key_file": "server.key"}
    with pytest.raises(ProfileError, match="no profile named 'ghost'"):
        resolve_profile("ghost", overrides=flags)


def test_higher_key_source_replaces_the_whole_key_source(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_profile(
        _profile(cert_file="/p/server.crt", passphrase_env="P_PASS", jwt_key_file="/p/server.key")
    )
    p = resolve_profile("prod", overrides={"jwt_key_file": "/f/k.pem"})
    assert (p.jwt_key_file, p.cert_file, p.passphrase_env) == ("/f/k.pem", None, None)
    assert p.certificate_path() == Path("/f/server.crt")
    monkeypatch.setenv("SFBEARER_JWT_KEY", "pem")
    p = resolve_profile("prod")
    assert (p.jwt_key_env, p.jwt_key_file) == ("SFBEARER_JWT_KEY", None)
    p = resolve_profile("prod", overrides={"jwt_key_file": "/f/k.pem"})
    assert (p.jwt_key_env, p.jwt_key_file) == (None, "/f/k.pem")
    monkeypatch.setenv("SFBEARER_JWT_KEY_FILE", "/e/k.pem")
    with pytest.raises(ProfileError, match="both SFBEARER_JWT_KEY_FILE and SFBEARER_JWT_KEY"):
        resolve_profile("prod")


def test_a_new_environment_drops_the_old_audience_and_hosts_add_up(cfg: Path) -> None:
    save_profile(
        _profile(
            environment="https://acme.my.salesforce.com",
            audience="https://acme.my.salesforce.com",
            allow_hosts=("a.example",),
        )
    )
    p = resolve_profile("prod", overrides={"environment": "sandbox", "allow_hosts": ("B.example",)})
    assert p.audience is None
    assert p.env().audience == "https://test.salesforce.com"
    assert p.allow_hosts == ("a.example", "b.example")


def test_bad_values_from_flags_or_env_are_profile_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    flags = {"client_id": CID, "username": "u@acme.com", "jwt_key_file": "server.key"}
    monkeypatch.setenv("SFBEARER_CACHE", "bogus")
    with pytest.raises(ProfileError, match="'bogus' is not a cache"):
        resolve_profile(overrides=flags)
    with pytest.raises(TypeError, match="no_such_flag"):
        resolve_profile(overrides={**flags, "no_such_flag": 1})


def test_profile_env_applies_the_host_rules() -> None:
    assert _profile(environment="sandbox").env().token_url.startswith("https://test.")
    with pytest.raises(ConfigError, match="not a Salesforce host"):
        _profile(environment="https://evil.example.com").env()
    p = _profile(environment="https://sf.example.com", allow_hosts=("sf.example.com",))
    assert p.env().base_url == "https://sf.example.com"


# -- loading the signer --------------------------------------------------------------------


def _encrypted_key(tmp_path: Path, key_pair: KeyPair, passphrase: str) -> Path:
    path = tmp_path / "enc" / "server.key"
    path.parent.mkdir()
    atomic_write(path, private_key_pem(key_pair.private_key, passphrase), mode=0o600)
    return path


def test_load_signer_from_a_file(key_files: tuple[Path, Path], key_pair: KeyPair) -> None:
    key_path, cert_path = key_files
    signer = load_signer(_profile(jwt_key_file=str(key_path)))
    assert verify_rs256(key_pair.private_key.public_key(), b"m", signer.sign(b"m"))
    assert _profile(jwt_key_file=str(key_path)).certificate_path() == cert_path


def test_load_signer_refuses_an_open_key_file(key_files: tuple[Path, Path]) -> None:
    key_path, _ = key_files
    key_path.chmod(0o644)
    with pytest.raises(KeyFileError, match="mode 0644") as info:
        load_signer(_profile(jwt_key_file=str(key_path)))
    assert "chmod 600" in info.value.hint


def test_load_signer_from_a_pem_in_the_environment(
    key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SFBEARER_JWT_KEY", private_key_pem(key_pair.private_key).decode())
    monkeypatch.setenv("SFBEARER_CLIENT_ID", CID)
    monkeypatch.setenv("SFBEARER_USERNAME", "u@acme.com")
    signer = load_signer(resolve_profile())
    assert verify_rs256(key_pair.private_key.public_key(), b"m", signer.sign(b"m"))
    assert "env:SFBEARER_JWT_KEY" in repr(signer)


def test_a_bad_pem_in_the_environment_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    canary = "not-a-key-canary-4711"
    monkeypatch.setenv("MY_PEM", f"{PEM_MARKER}\n{canary}\n-----END PRIVATE KEY-----")
    with pytest.raises(KeyFileError) as info:
        load_signer(_profile(jwt_key_file=None, jwt_key_env="MY_PEM"))
    assert canary not in str(info.value) + info.value.hint


def test_passphrase_sources_in_order(
    tmp_path: Path, key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    right = "correct horse battery staple"
    key_path = _encrypted_key(tmp_path, key_pair, right)
    pw_file = tmp_path / "pw"
    atomic_write(pw_file, b"wrong-from-file\n", mode=0o600)
    monkeypatch.setenv("PASS_VAR", "wrong-from-var")
    monkeypatch.setenv("SFBEARER_KEY_PASSPHRASE", "wrong-from-default-var")
    full = _profile(
        jwt_key_file=str(key_path), passphrase_env="PASS_VAR", passphrase_file=str(pw_file)
    )
    assert needs_passphrase(full) is False
    # 1. the explicit argument beats every other source
    load_signer(full, passphrase=right)
    # 2. passphrase_env beats passphrase_file and SFBEARER_KEY_PASSPHRASE
    monkeypatch.setenv("PASS_VAR", right)
    load_signer(full)
    # 3. passphrase_file beats SFBEARER_KEY_PASSPHRASE
    no_env = dataclasses.replace(full, passphrase_env=None)
    with pytest.raises(KeyFileError, match="wrong passphrase") as info:
        load_signer(no_env)
    assert "wrong-from-file" not in str(info.value) + info.value.hint
    atomic_write(pw_file, right.encode() + b"\n", mode=0o600)
    load_signer(no_env)
    # 4. SFBEARER_KEY_PASSPHRASE last
    only_default = dataclasses.replace(no_env, passphrase_file=None)
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_signer(only_default)
    monkeypatch.setenv("SFBEARER_KEY_PASSPHRASE", right)
    load_signer(only_default)
    monkeypatch.delenv("SFBEARER_KEY_PASSPHRASE")
    assert needs_passphrase(only_default) is True
    with pytest.raises(KeyFileError, match="no passphrase"):
        load_signer(only_default)


def test_passphrase_source_problems(tmp_path: Path, key_pair: KeyPair) -> None:
    key_path = _encrypted_key(tmp_path, key_pair, "pw")
    with pytest.raises(KeyFileError, match=r"UNSET_VAR .* is not set"):
        load_signer(_profile(jwt_key_file=str(key_path), passphrase_env="UNSET_VAR"))
    pw_file = tmp_path / "pw"
    pw_file.write_text("pw")
    pw_file.chmod(0o644)
    with pytest.raises(KeyFileError, match=r"passphrase file .* mode 0644") as info:
        load_signer(_profile(jwt_key_file=str(key_path), passphrase_file=str(pw_file)))
    assert "chmod 600" in info.value.hint
    with pytest.raises(KeyFileError, match="cannot read passphrase file"):
        load_signer(_profile(jwt_key_file=str(key_path), passphrase_file=str(tmp_path / "no")))


def test_no_key_and_unavailable_signer_uris(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SignerError, match="no private key configured"):
        load_signer(_profile(jwt_key_file=None))
    import sys

    monkeypatch.setitem(sys.modules, "sfbearer.signers.uri", None)  # import fails
    with pytest.raises(SignerError, match="not available") as info:
        load_signer(_profile(jwt_key_file="awskms:alias/sfbearer?region=eu-west-1"))
    assert "pip install" in info.value.hint


def test_a_partial_identity_does_not_hide_file_problems(cfg: Path) -> None:
    _write(cfg, "[profiles.prod\n")
    with pytest.raises(ProfileError, match="invalid TOML"):
        resolve_profile(overrides={"username": "u@acme.com"})
    _write(cfg, "")
    save_profile(_profile("a"))
    save_profile(_profile("b"))
    _write(cfg, cfg.read_text().replace('default = "a"\n', ""))
    with pytest.raises(ProfileError, match="none is the default"):
        resolve_profile(overrides={"username": "u@acme.com"})


# -- round trip, property-based --------------------------------------------------------------


_text = st.text(min_size=1, max_size=40).filter(lambda s: s == s.strip() and s.strip() != "")
_abs_path = st.lists(
    st.text(alphabet="abcxyz-_. 0123é", min_size=1, max_size=8).filter(
        lambda s: s.strip() == s and s not in (".", "..")
    ),
    min_size=1,
    max_size=3,
).map(lambda parts: "/" + "/".join(parts))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True),
    client_id=_text,
    username=_text,
    environment=_text,
    audience=st.none() | _text,
    hosts=st.lists(st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True), max_size=3),
    key=_abs_path,
    session_timeout=st.integers(1, 1440),
    timeout=st.floats(0.001, 600, allow_nan=False),
    proxy=st.none() | _text,
)
def test_save_then_load_round_trips(
    tmp_path: Path,
    name: str,
    client_id: str,
    username: str,
    environment: str,
    audience: str | None,
    hosts: list[str],
    key: str,
    session_timeout: int,
    timeout: float,
    proxy: str | None,
) -> None:
    path = tmp_path / "rt.toml"
    profile = Profile(
        name=name, client_id=client_id, username=username, environment=environment,
        audience=audience, allow_hosts=tuple(dict.fromkeys(hosts)), jwt_key_file=key,
        session_timeout=session_timeout, timeout=timeout, proxy=proxy,
    )  # fmt: skip
    save_profile(profile, path=path, force=True)
    assert load_profiles(path)[name] == profile
    path.unlink()


def test_identity_variables_replacing_a_named_profile_are_logged(
    cfg: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    save_profile(Profile(name="agent", client_id=CID, username="a@acme.com", jwt_key_file="a.key"))
    caplog.set_level("WARNING", logger="sfbearer.config")
    monkeypatch.setenv("SFBEARER_USERNAME", "a@acme.com")  # the same value: nothing replaced
    assert resolve_profile("agent").username == "a@acme.com"
    assert caplog.records == []
    monkeypatch.setenv("SFBEARER_USERNAME", "other@acme.com")
    monkeypatch.setenv("SFBEARER_JWT_KEY", "pem-in-env")
    p = resolve_profile("agent")
    assert (p.username, p.jwt_key_env) == ("other@acme.com", "SFBEARER_JWT_KEY")
    [record] = caplog.records
    assert "profile agent" in record.getMessage()
    assert "SFBEARER_USERNAME, SFBEARER_JWT_KEY" in record.getMessage()
    assert "pem-in-env" not in record.getMessage()
