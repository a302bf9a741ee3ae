"""Configuration operations shared by the Python API, the admin HTTP API, seed files and the CLI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sfbearer.emulator import data
from sfbearer.emulator.context import Context
from sfbearer.emulator.registry import AppRecord, RegistryError, UserRecord

__all__ = [
    "CertificateSource",
    "add_app",
    "add_field",
    "add_object",
    "add_user",
    "authorize",
    "certificate_pem",
    "revoke_sessions",
]

CertificateSource = str | bytes | os.PathLike[str] | x509.Certificate


def certificate_pem(certificate: CertificateSource) -> str:
    """PEM text of a certificate given as an object, PEM text/bytes, DER bytes or a path.

    Raises:
        RegistryError: it is not a readable X.509 certificate.
    """
    from sfbearer._exceptions import CertificateError
    from sfbearer.keys import load_certificate

    if isinstance(certificate, x509.Certificate):
        cert = certificate
    else:
        source: str | bytes | os.PathLike[str] = certificate
        if isinstance(certificate, str) and "-----BEGIN" in certificate:
            source = certificate.encode()
        try:
            cert = load_certificate(source).certificate
        except CertificateError as exc:
            raise RegistryError(str(exc)) from None
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def add_app(
    ctx: Context,
    *,
    name: str,
    certificate: CertificateSource,
    scopes: str = "api,refresh_token",
    policy: str = "admin-approved",
    session_timeout: int = 120,
    consumer_key: str | None = None,
    installed: bool = True,
    profiles: tuple[str, ...] | list[str] = (),
    permission_sets: tuple[str, ...] | list[str] = (),
) -> AppRecord:
    """Create (or replace, cutting its certificate over) an External Client App."""
    return ctx.registry.add_app(
        name=name,
        certificate_pem=certificate_pem(certificate),
        consumer_key=consumer_key,
        scopes=scopes,
        policy=policy,
        session_timeout=int(session_timeout),
        installed=bool(installed),
        profiles=tuple(profiles),
        permission_sets=tuple(permission_sets),
    )


def add_user(
    ctx: Context,
    *,
    username: str,
    profile: str = "Integration User",
    permission_sets: tuple[str, ...] | list[str] = (),
    active: bool = True,
    email: str | None = None,
) -> UserRecord:
    """Create or update a user (and its ``User`` record in the data API)."""
    user = ctx.registry.add_user(
        username=username,
        profile=profile,
        permission_sets=tuple(permission_sets),
        active=bool(active),
        email=email,
    )
    data.sync_user(ctx, user)
    return user


def add_field(
    ctx: Context,
    *,
    object: str,
    name: str,
    type: str = "string",
    **options: Any,
) -> dict[str, Any]:
    """Add a custom field to Account, Contact, Opportunity, Case or a custom object of the org
    (kept in its state file).

    ``options``: ``label``, ``length``, ``values`` (picklist), ``reference_to`` and
    ``relationship_name`` (lookup), ``external_id``, ``unique``, ``required``, ``scale``.
    Adding a field that exists with the same definition changes nothing (so a seed can be
    applied at every start).

    Raises:
        RegistryError: a definition Salesforce would refuse, or another field of that name.
    """
    with ctx.db.lock:
        return _add_field(ctx, object, name, type, options)


def _add_field(
    ctx: Context, sobject_name: str, name: str, kind: str, options: dict[str, Any]
) -> dict[str, Any]:
    from dataclasses import replace

    from sfbearer.emulator.custom_fields import custom_field

    schema = _current_schema(ctx)
    sobject, fdef = custom_field(sobject_name, name, kind, schema=schema, **options)
    existing = schema.get(sobject).field(fdef.name)
    if existing is not None and existing == replace(fdef, name=existing.name):
        return field_summary(sobject, existing)  # the same field again (any letter case)
    ctx.records.schema = ctx.custom_fields.add(schema, (sobject, fdef))
    return field_summary(sobject, fdef)


def add_object(
    ctx: Context, *, name: str, label: str | None = None, plural: str | None = None
) -> dict[str, Any]:
    """Add a custom object (``Invoice__c``) to the org, with ``Name`` and ``OwnerId``; add its
    fields with :func:`add_field`. Adding it again changes nothing; with another label it is
    refused.

    Raises:
        RegistryError: a name Salesforce would refuse, or a standard object's name.
    """
    from sfbearer.emulator.custom_fields import custom_object

    with ctx.db.lock:
        schema = _current_schema(ctx)
        existing = schema.get(name) if isinstance(name, str) else None
        if existing is not None and existing.custom:
            if (label or existing.label, plural or existing.label_plural) != (
                existing.label, existing.label_plural):  # fmt: skip
                raise RegistryError(
                    f"the org already has {existing.name}, labelled {existing.label!r} "
                    f"({existing.label_plural!r}); a custom object is not relabelled here"
                )
            return object_summary(existing)
        obj = custom_object(schema, name, label, plural)
        ctx.records.schema = ctx.custom_fields.add_object(schema, obj)
        return object_summary(obj)


def _current_schema(ctx: Context) -> Any:
    """The org's schema as its state file has it now: what another process added to the same
    file (``add-object --state`` while serving) is taken in before adding more."""
    schema = ctx.custom_fields.load()
    if (schema.custom, schema.objects_custom) != (
        ctx.records.schema.custom, ctx.records.schema.objects_custom):  # fmt: skip
        ctx.records.schema = schema
    return ctx.records.schema


def object_summary(obj: Any) -> dict[str, Any]:
    """A custom object as the admin API shows it."""
    return {"name": obj.name, "label": obj.label, "plural": obj.label_plural,
            "key_prefix": obj.key_prefix}  # fmt: skip


def field_summary(sobject: str, fdef: Any) -> dict[str, Any]:
    """A custom field as the admin API and ``add-field --json`` show it."""
    return {"object": sobject, "name": fdef.name, "type": fdef.type, "length": fdef.length,
            "external_id": fdef.external_id, "unique": fdef.unique, "required": fdef.required,
            "reference_to": list(fdef.reference_to), "values": list(fdef.picklist)}  # fmt: skip


def authorize(
    ctx: Context,
    *,
    app: str,
    profile: str | None = None,
    permission_set: str | None = None,
    user: str | None = None,
) -> AppRecord:
    """Pre-authorize a profile, a permission set, or one user for ``app``."""
    return ctx.registry.authorize(app, profile=profile, permission_set=permission_set, user=user)


def revoke_sessions(ctx: Context, user: str | None = None) -> int:
    """Revoke every session, or one user's; returns how many live sessions ended."""
    if user is None:
        return ctx.sessions.revoke()
    record = ctx.registry.get_user_by_username(user)
    if record is None:
        raise RegistryError(f"no user named {user!r}")
    return ctx.sessions.revoke(record.id)


def describe_state(ctx: Context) -> dict[str, Any]:
    """Apps and users as plain data (no secrets: certificates are public)."""
    return {
        "org_id": ctx.org_id,
        "url": ctx.base_url,
        "validation": ctx.config.validation,
        "apps": [a.to_dict() for a in ctx.registry.list_apps()],
        "users": [u.to_dict() for u in ctx.registry.list_users()],
        "custom_objects": [object_summary(o) for o in ctx.records.schema.objects_custom],
        "custom_fields": [field_summary(o, f) for o, f in ctx.records.schema.custom],
    }


def load_app_metadata(ctx: Context, directory: str | os.PathLike[str]) -> list[str]:
    """Create the apps an External Client App metadata directory describes.

    Apps without a certificate (not set up for the JWT bearer flow) are skipped.

    Returns:
        The names of the apps created.
    """
    from sfbearer.emulator.metadata import read_app_metadata

    created = []
    for spec in read_app_metadata(Path(directory)):
        if not spec.certificate_pem:
            continue
        add_app(
            ctx,
            name=spec.name,
            certificate=spec.certificate_pem,
            scopes=",".join(spec.scopes) or "api",
            policy=spec.policy,
            session_timeout=spec.session_timeout_minutes or ctx.config.default_session_timeout,
            consumer_key=spec.consumer_key,
            installed=spec.enabled,
            profiles=spec.profiles,
            permission_sets=spec.permission_sets,
        )
        created.append(spec.name)
    return created
