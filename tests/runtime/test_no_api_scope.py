"""A session refused for a missing ``api`` scope is not "expired": no re-login is spent on it."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from org_setup import integration
from sfbearer import ApiError, JWTBearerCredentials, SalesforceClient
from sfbearer.emulator import Emulator
from sfbearer.integrations.requests import SalesforceRequestsAuth
from sfbearer.keys import load_private_key

USER = "noapi@acme.example"


def test_one_login_then_a_clear_error_not_a_relogin_loop(key_files: tuple[Path, Path]) -> None:
    with Emulator() as sf:
        client_id = integration(
            sf, app="noapi", username=USER, cert=key_files[1], scopes="refresh_token"
        )
        creds = JWTBearerCredentials(
            client_id=client_id,
            username=USER,
            private_key=load_private_key(key_files[0]),
            environment=sf.url,
        )
        with creds, SalesforceClient(creds, api_version="68.0") as client:
            with pytest.raises(ApiError) as info:
                client.limits()
            assert info.value.status == 401
            assert "api" in info.value.hint
            with pytest.raises(ApiError):
                client.limits()
        assert sf.stats()["token_requests"]["ok"] == 1  # neither call logged in again

        session = requests.Session()
        session.auth = SalesforceRequestsAuth(creds)
        response = session.get(creds.token().instance_url + "/services/data/v68.0/limits/")
        assert response.status_code == 401
        assert sf.stats()["token_requests"]["ok"] == 1
