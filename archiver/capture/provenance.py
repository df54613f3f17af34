"""Facts for provenance.json drawn from what the recorder saw: the main document's
redirect chain and server, its TLS certificates, failed and blocked requests, and a
navigation error said in words a person understands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..models import FailedRequest, RedirectHop, TLSInfo
from .exchange import Exchange
from .recorder import Blocked


@dataclass
class DocumentFacts:
    chain: list[RedirectHop] = field(default_factory=list)
    final_url: str | None = None
    status: int | None = None
    server_ip: str | None = None
    server_port: int | None = None
    protocol: str | None = None


def document_facts(main: Exchange | None) -> DocumentFacts:
    facts = DocumentFacts()
    if main is None:
        return facts
    for hop in main.hops:
        if hop.status is None:
            continue
        location = next(
            (v for k, v in (hop.response_headers or {}).items() if k.lower() == "location"), None
        )
        facts.chain.append(RedirectHop(url=hop.url, status=hop.status, location=location))
    last = main.last
    facts.final_url, facts.status = last.url, last.status
    facts.server_ip, facts.server_port, facts.protocol = last.remote_ip, last.remote_port, last.protocol
    return facts


def tls_info(origin: str, pems: list[str], main: Exchange | None) -> TLSInfo:
    info = TLSInfo(origin=origin, certificate_chain_pem=pems)
    for hop in main.hops if main else []:
        sec = hop.security
        if sec and hop.url.startswith(origin):
            info.protocol = sec.get("protocol")
            info.cipher = sec.get("cipher")
            info.key_exchange = sec.get("keyExchange") or sec.get("keyExchangeGroup")
            info.subject = sec.get("subjectName")
            info.issuer = sec.get("issuer")
            info.san = list(sec.get("sanList", []))
            if sec.get("validFrom"):
                info.valid_from = datetime.fromtimestamp(sec["validFrom"], timezone.utc)
            if sec.get("validTo"):
                info.valid_to = datetime.fromtimestamp(sec["validTo"], timezone.utc)
    return info


def merge_blocked(failed: list[FailedRequest], blocked: list[Blocked]) -> list[FailedRequest]:
    """Requests we refused show up twice (our reason, the browser's ERR_BLOCKED_BY_CLIENT):
    one entry each, with our reason."""
    merged = list(failed)
    for item in blocked:
        match = next((f for f in merged if f.url == item.url and f.blocked), None)
        if match is None:
            merged.append(FailedRequest(url=item.url, error=item.reason, blocked=True, target=item.target_type))
        else:
            match.error = item.reason
    return merged


NETWORK_ERRORS = {
    "ERR_NAME_NOT_RESOLVED": "the host name does not resolve (check the spelling, or your DNS/connection)",
    "ERR_CONNECTION_REFUSED": "the server refused the connection (is the site up? is the port right?)",
    "ERR_CONNECTION_TIMED_OUT": "the connection timed out (the host is unreachable from here)",
    "ERR_INTERNET_DISCONNECTED": "this machine is offline",
    "ERR_ADDRESS_UNREACHABLE": "the address is unreachable from here",
    "ERR_BLOCKED_BY_CLIENT": "blocked: the address is private (use --allow-private for internal sites)",
    "ERR_CERT_": "TLS certificate error (the site's certificate is not trusted; --ignore-https-errors records it anyway)",
    "ERR_SSL_": "TLS handshake failed",
    "ERR_TOO_MANY_REDIRECTS": "too many redirects (a redirect loop)",
    "ERR_UNSAFE_PORT": "the browser refuses to connect to this port (a port reserved for other services)",
    "ERR_ABORTED": "the load was aborted (the URL may be a download)",
}


def describe_navigation_error(message: str) -> str:
    for code, text in NETWORK_ERRORS.items():
        if code in message:
            net = message[message.find("net::") :].split()[0] if "net::" in message else code
            return f"{text} [{net}]"
    return message
