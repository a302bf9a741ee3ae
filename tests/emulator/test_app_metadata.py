"""Loading External Client App metadata into a running emulator (``--app-metadata``)."""

from __future__ import annotations

from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization

from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair

from .conftest import Org

NS = "http://soap.sforce.com/2006/04/metadata"


def _write(path: Path, root: str, fields: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="{NS}">{body}</{root}>')


def test_app_metadata_directory(tmp_path: Path, key_pair: KeyPair) -> None:
    pem = key_pair.certificate.public_bytes(serialization.Encoding.PEM).decode()
    base = tmp_path / "force-app" / "main" / "default"
    _write(base / "externalClientApps/Sync.eca-meta.xml", "ExternalClientApplication",
           {"label": "Sync", "contactEmail": "ops@acme.com", "distributionState": "Local"})  # fmt: skip
    _write(base / "extlClntAppGlobalOauthSets/Sync.ecaGlblOauth-meta.xml", "ExtlClntAppGlobalOauthSettings",
           {"externalClientApplication": "Sync", "certificate": pem, "consumerKey": "3MVG9metadata.sync.key"})  # fmt: skip
    _write(base / "extlClntAppOauthSettings/Sync.ecaOauth-meta.xml", "ExtlClntAppOauthSettings",
           {"externalClientApplication": "Sync", "label": "Sync", "commaSeparatedOauthScopes": "Api, RefreshToken"})  # fmt: skip
    _write(base / "extlClntAppOauthPolicies/Sync.ecaOauthPlcy-meta.xml", "ExtlClntAppOauthConfigurablePolicies",
           {"externalClientApplication": "Sync", "permittedUsersPolicyType": "AdminApprovedPreAuthorized",
            "commaSeparatedProfile": "Integration User", "sessionTimeoutInMinutes": "30"})  # fmt: skip
    with (
        Emulator(app_metadata=tmp_path / "force-app") as sf,
        httpx.Client(base_url=sf.url) as client,
    ):
        app = sf.ctx.registry.get_app("Sync")
        assert app is not None
        assert (app.consumer_key, app.session_timeout, app.scopes) == (
            "3MVG9metadata.sync.key",
            30,
            frozenset({"api", "refresh_token"}),
        )
        sf.add_user(username="meta@acme.com")
        org = Org(sf, key_pair, app.consumer_key, client, "Sync", "meta@acme.com")
        token = org.login()
        sf.clock.advance(minutes=31)
        assert org.api("GET", "/services/data/v68.0/", token).status_code == 401
