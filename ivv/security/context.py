"""What the security suite needs about one running stack, gathered from the stack object and its profile.

Credentials come from the stack (`ivv.stack.credentials`: the device's secret and API keys minted for
the run, the environment variables an endpoint-only profile names, or a local stack's own), registered
for redaction the moment they are read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivv.config.profile import Profile
from ivv.contract import document as contract_lib
from ivv.errors import ProfileError
from ivv.security.surface import Surface


@dataclass
class SecurityContext:
    profile: Profile
    target: object
    surface: Surface
    health_url: str | None
    files_base: str
    file_routes: list[str]
    file_headers: dict[str, str]
    rate_limit: dict = field(default_factory=dict)
    max_request_bytes: int | None = None
    binds: dict[int, str] = field(default_factory=dict)      # device port -> configured address
    service_users: list[str] = field(default_factory=list)
    stack: object = None


def build(stack) -> SecurityContext:
    """The context of a running stack (ivv.stack.base.Stack): where it answers, its credentials (minted
    for the run by the stack where it mints any), its configured binds and service users."""
    profile = stack.profile
    credentials = stack.credentials()
    if profile.contract_path is None:
        raise ProfileError(f"{profile.path}: no `contract`; the security probes need the roles per method")
    api = stack.api
    surface = Surface(api.url, contract_lib.load(profile.contract_path), credentials,
                      auth_method=api.login_method, auth_param=api.login_param,
                      leeway_s=(profile.auth.get("jwt") or {}).get("leeway_s"))
    files = profile.rpc.get("files") or {}
    routes = [route.split("{filename}")[0] for route in files.get("routes", [])]
    header = files.get("auth_header", "Authorization: Bearer {token}")
    name, _, value = header.partition(":")
    token = credentials.token(surface.roles[-1])
    return SecurityContext(
        profile=profile, target=stack.target, surface=surface, health_url=stack.health_url(), files_base=stack.files_base,
        file_routes=routes, file_headers={name.strip(): value.strip().replace("{token}", token)},
        rate_limit=dict(profile.rpc.get("rate_limit") or {}),
        max_request_bytes=profile.rpc.get("max_message_bytes"), binds=stack.binds(),
        service_users=[u["name"] for u in profile.users], stack=stack)
