"""The ``swift`` driver's parameters, as distribution's former swift driver read them.

:class:`SwiftParameters` holds the parsed ``storage.swift`` section: credentials and the
Keystone scoping options (tenant, domains, trust, region, endpoint type), the container and
prefix, the segment size, and the TempURL settings. :func:`connection_options` turns them into
the keyword arguments of ``swiftclient.Connection``: TempAuth (v1) or Keystone v2/v3, chosen
by ``authversion`` or, when it is 0 or absent, by the end of ``authurl``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from distribution_storage.driver.errors import ConfigurationError
from distribution_storage.driver.parameters import ParameterReader

MIB = 1 << 20
DEFAULT_CHUNK_SIZE = 20 * MIB
MIN_CHUNK_SIZE = 1 * MIB
ENDPOINT_TYPES = ("public", "internal", "admin")


@dataclass(frozen=True)
class SwiftParameters:
    """The parsed ``storage.swift`` parameters."""

    username: str
    password: str
    authurl: str
    container: str
    region: str = ""
    tenant: str = ""
    tenantid: str = ""
    domain: str = ""
    domainid: str = ""
    tenantdomain: str = ""
    tenantdomainid: str = ""
    trustid: str = ""
    insecureskipverify: bool = False
    chunksize: int = DEFAULT_CHUNK_SIZE
    prefix: str = ""
    secretkey: str = ""
    accesskey: str = ""
    authversion: int = 0
    endpointtype: str = "public"
    tempurlcontainerkey: bool = False
    tempurlmethods: tuple[str, ...] = ("GET", "HEAD")

    @property
    def auth_version(self) -> str:
        """``1``, ``2`` or ``3``: given, or guessed from the URL as gophercloud did."""
        if self.authversion:
            return str(self.authversion)
        tail = self.authurl.rstrip("/").rsplit("/", 1)[-1]
        if tail.startswith("v3"):
            return "3"
        if tail.startswith("v2"):
            return "2"
        return "1"


def _methods(reader: ParameterReader) -> tuple[str, ...]:
    raw = reader._raw("tempurlmethods")  # a list in YAML, a comma list from the environment
    if raw is None or raw == "":
        return ("GET", "HEAD")
    items = raw if isinstance(raw, list | tuple) else str(raw).replace(",", " ").split()
    methods = tuple(str(m).strip().upper() for m in items if str(m).strip())
    for method in methods:
        if method not in ("GET", "HEAD", "PUT", "POST", "DELETE"):
            raise ConfigurationError(
                f"unknown HTTP method {method!r}", key="storage.swift.tempurlmethods"
            )
    return methods


def parse_parameters(parameters: Mapping[str, Any]) -> SwiftParameters:
    """Read and check the ``storage.swift`` parameters; unknown keys are an error."""
    r = ParameterReader("swift", parameters)
    params = SwiftParameters(
        username=r.string("username", required=True),
        password=r.string("password", required=True),
        authurl=r.string("authurl", required=True),
        container=r.string("container", required=True),
        region=r.string("region"),
        tenant=r.string("tenant"),
        tenantid=r.string("tenantid"),
        domain=r.string("domain"),
        domainid=r.string("domainid"),
        tenantdomain=r.string("tenantdomain"),
        tenantdomainid=r.string("tenantdomainid"),
        trustid=r.string("trustid"),
        insecureskipverify=r.boolean("insecureskipverify", False),
        chunksize=r.integer("chunksize", DEFAULT_CHUNK_SIZE, minimum=MIN_CHUNK_SIZE),
        prefix=r.string("prefix").strip("/"),
        secretkey=r.string("secretkey"),
        accesskey=r.string("accesskey"),
        authversion=r.integer("authversion", 0, minimum=0, maximum=3),
        endpointtype=r.choice("endpointtype", "public", ENDPOINT_TYPES),
        tempurlcontainerkey=r.boolean("tempurlcontainerkey", False),
        tempurlmethods=_methods(r),
    )
    r.finish()
    if not params.authurl.startswith(("http://", "https://")):
        raise ConfigurationError("must be an http(s) URL", key="storage.swift.authurl")
    if "/" in params.container:
        raise ConfigurationError("must not contain '/'", key="storage.swift.container")
    return params


def connection_options(params: SwiftParameters) -> dict[str, Any]:
    """Keyword arguments for ``swiftclient.Connection`` (without a pre-obtained token)."""
    os_options: dict[str, str] = {"endpoint_type": params.endpointtype}
    scoped = {
        "region_name": params.region,
        "tenant_name": params.tenant,
        "project_name": params.tenant,
        "tenant_id": params.tenantid,
        "project_id": params.tenantid,
        "user_domain_name": params.domain,
        "user_domain_id": params.domainid,
        "project_domain_name": params.tenantdomain,
        "project_domain_id": params.tenantdomainid,
    }
    os_options.update({k: v for k, v in scoped.items() if v})
    return {
        "authurl": params.authurl,
        "user": params.username,
        "key": params.password,
        "auth_version": params.auth_version,
        "os_options": os_options,
        "insecure": params.insecureskipverify,
        "tenant_name": params.tenant or None,
        "retries": 3,
        "starting_backoff": 0.5,
        "max_backoff": 4,
        "timeout": 120,
    }


def trust_scoped_token(params: SwiftParameters) -> tuple[str, str]:
    """The storage URL and a token scoped to ``trustid`` (Keystone v3, via keystoneauth1).

    python-swiftclient cannot request trust-scoped tokens itself, so the driver obtains one
    here and hands it to the connection as a pre-authenticated token.
    """
    try:
        ks_session = import_module("keystoneauth1.session")
        v3 = import_module("keystoneauth1.identity.v3")
    except ImportError as exc:
        raise ConfigurationError(
            "needs the package keystoneauth1 (pip install keystoneauth1)",
            key="storage.swift.trustid",
        ) from exc
    auth = v3.Password(
        auth_url=params.authurl,
        username=params.username,
        password=params.password,
        user_domain_name=params.domain or None,
        user_domain_id=params.domainid or None,
        trust_id=params.trustid,
    )
    sess = ks_session.Session(auth=auth, verify=not params.insecureskipverify)
    token = sess.get_token()
    url = sess.get_endpoint(
        service_type="object-store",
        interface=params.endpointtype,
        region_name=params.region or None,
    )
    return str(url), str(token)
