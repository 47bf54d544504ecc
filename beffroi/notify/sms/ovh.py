"""OVHcloud's SMS API: POST /sms/{serviceName}/jobs, and GET
/sms/{serviceName}/outgoing?tag=… to learn whether a message was accepted.

Every call is signed as OVH's API requires: X-Ovh-Signature is "$1$" and the
SHA-1, in hexadecimal, of application secret, consumer key, method, full URL,
body and timestamp joined with "+".
"""

import hashlib
import json
import logging
import ssl
import time
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from beffroi.notify.http import HttpClient, HttpError, Response
from beffroi.notify.sms.base import BaseBackend, Outgoing, SmsError

logger = logging.getLogger(__name__)

# OVH's answers are small JSON documents (ids of one job, an error); the
# longest, a look-up by tag, lists a few ids.
MAX_ANSWER_BYTES = 1024 * 1024

# 400 answers about the credentials or the clock, not about the message.
ACCESS_ERRORS = {"INVALID_SIGNATURE", "QUERY_TIME_OUT", "INVALID_KEY", "INVALID_CREDENTIAL", "NOT_CREDENTIAL"}


def ovh_signature(*, application_secret: str, consumer_key: str, method: str, url: str, body: str, timestamp: str) -> str:
    joined = "+".join([application_secret, consumer_key, method.upper(), url, body, timestamp])
    return "$1$" + hashlib.sha1(joined.encode("utf-8")).hexdigest()  # noqa: S324 (OVH's scheme)


class OvhBackend(BaseBackend):
    def __init__(
        self,
        *,
        endpoint: str,
        application_key: str,
        application_secret: str,
        consumer_key: str,
        service_name: str,
        sender: str = "",
        timeout: float = 10.0,
        concurrency: int = 8,
        proxy: str = "",
        ssl_context: ssl.SSLContext | None = None,
    ):
        super().__init__(sender=sender)
        self.endpoint = endpoint.rstrip("/")
        self.application_key = application_key
        self.application_secret = application_secret
        self.consumer_key = consumer_key
        self.service_name = service_name
        self.timeout = timeout
        self.concurrency = concurrency
        self.proxy = proxy
        self.ssl_context = ssl_context
        self.client: HttpClient | None = None

    @classmethod
    def from_settings(cls) -> "OvhBackend":
        names = ["SMS_OVH_APPLICATION_KEY", "SMS_OVH_APPLICATION_SECRET", "SMS_OVH_CONSUMER_KEY", "SMS_OVH_SERVICE_NAME"]
        missing = [name for name in names if not getattr(settings, name)]
        if missing:
            raise ImproperlyConfigured(f"SMS_BACKEND=ovh needs {', '.join(missing)}")
        return cls(
            endpoint=settings.SMS_OVH_ENDPOINT,
            application_key=settings.SMS_OVH_APPLICATION_KEY,
            application_secret=settings.SMS_OVH_APPLICATION_SECRET,
            consumer_key=settings.SMS_OVH_CONSUMER_KEY,
            service_name=settings.SMS_OVH_SERVICE_NAME,
            sender=settings.SMS_SENDER,
            timeout=settings.SMS_TIMEOUT_SECONDS,
            concurrency=settings.SMS_CONCURRENCY,
            proxy=settings.OUTBOUND_PROXY,
        )

    @property
    def service_url(self) -> str:
        return f"{self.endpoint}/sms/{quote(self.service_name, safe='')}"

    def timestamp(self) -> str:
        return str(int(time.time()))

    def headers(self, method: str, url: str, body: str) -> dict[str, str]:
        timestamp = self.timestamp()
        signature = ovh_signature(
            application_secret=self.application_secret,
            consumer_key=self.consumer_key,
            method=method,
            url=url,
            body=body,
            timestamp=timestamp,
        )
        return {
            "X-Ovh-Application": self.application_key,
            "X-Ovh-Consumer": self.consumer_key,
            "X-Ovh-Timestamp": timestamp,
            "X-Ovh-Signature": signature,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    async def open(self) -> None:
        self.client = HttpClient(
            timeout=self.timeout, max_body=MAX_ANSWER_BYTES, proxy=self.proxy, ssl_context=self.ssl_context
        )

    async def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    async def _call(self, method: str, url: str, body: str = "") -> Response:
        try:
            return await self.client.request(method, url, self.headers(method, url, body), body.encode("utf-8"))
        except HttpError as exc:
            raise SmsError(f"Pas de réponse d’OVH ({exc}).") from exc

    async def send(self, message: Outgoing) -> str:
        payload = {
            "message": message.text,
            "receivers": [message.to],
            "noStopClause": True,
            "priority": "high",
            "tag": message.tag,
        }
        if self.sender:
            payload["sender"] = self.sender
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        response = await self._call("POST", f"{self.service_url}/jobs", body)
        if response.status != 200:
            raise _refusal(response, message.tag)
        try:
            answer = response.json()
            ids = answer.get("ids") or []
            invalid = answer.get("invalidReceivers") or []
        except (ValueError, AttributeError):
            raise SmsError("Réponse illisible d’OVH.") from None
        if ids:
            return str(ids[0])
        if invalid:
            raise SmsError("Numéro refusé par OVH (invalide ou injoignable).", permanent=True)
        raise SmsError("OVH n’a pas pris le message en charge.")

    async def lookup(self, tag: str) -> str | None:
        response = await self._call("GET", f"{self.service_url}/outgoing?tag={quote(tag, safe='')}")
        if response.status != 200:
            logger.warning("OVH, recherche de l’étiquette %s : HTTP %s %r", tag, response.status, response.body[:200])
            raise SmsError(f"Vérification auprès d’OVH impossible (HTTP {response.status}).")
        try:
            ids = response.json()
        except ValueError:
            raise SmsError("Réponse illisible d’OVH.") from None
        if not isinstance(ids, list):
            raise SmsError("Réponse illisible d’OVH.")
        return str(ids[0]) if ids else None


def _refusal(response: Response, tag: str) -> SmsError:
    """An answer other than 200 to a send, as a reason in French."""
    try:
        error = response.json()
        code, text = str(error.get("errorCode", "")), str(error.get("message", ""))
    except (ValueError, AttributeError):
        code, text = "", response.body[:200].decode("utf-8", "replace")
    logger.warning("OVH a refusé le SMS %s : HTTP %s %s %s", tag, response.status, code, text)
    status = response.status
    if status in (401, 403) or (status == 400 and code in ACCESS_ERRORS):
        return SmsError(f"Accès à l’API OVH refusé (HTTP {status}) : vérifier les clés et l’heure du serveur.")
    if status == 400:
        return SmsError("Message refusé par OVH (HTTP 400).", permanent=True)
    if status == 404:
        return SmsError("Service SMS OVH introuvable (HTTP 404) : vérifier SMS_OVH_SERVICE_NAME.")
    if status == 429:
        return SmsError("Trop de requêtes vers OVH (HTTP 429).")
    if status >= 500:
        return SmsError(f"Service SMS d’OVH indisponible (HTTP {status}).")
    return SmsError(f"Réponse inattendue d’OVH (HTTP {status}).")
