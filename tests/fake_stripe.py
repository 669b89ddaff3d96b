"""A small stateful fake of Stripe on loopback, speaking the endpoints clients/payments.py uses
(customers, Checkout sessions in setup mode, payment-method detach) and serving the hosted card
page itself. localstripe has no Checkout sessions, which is the hosted page we use.

Card numbers behave as in Stripe's test mode: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002
is declined. A finished setup can send a signed `checkout.session.completed` event to
`webhook_url`, signed with `webhook_secret` the way Stripe signs (t=…,v1=HMAC-SHA256).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

CARDS = {
    "4242424242424242": ("visa", None),
    "5555555555554444": ("mastercard", None),
    "4000000000000002": ("visa", "Your card was declined."),
    "4000000000000341": ("visa", None),  # attaches, but every charge is declined
}
CHARGE_DECLINED = {"0341"}


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class FakeStripe:
    def __init__(self, webhook_secret: str = "whsec_test"):  # noqa: S107 (a fake's)
        self.webhook_secret = webhook_secret
        self.webhook_url = ""
        self.customers: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.methods: dict[str, dict] = {}
        self.intents: dict[str, dict] = {}  # by idempotency key
        self.requests: list[tuple[str, str]] = []  # (method, path) of every API call
        self.down = False  # answer 500 to every API call
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _form(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                return {k: v[-1] for k, v in parse_qs(raw).items()}

            def _json(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _html(self, status: int, body: str, location: str = ""):
                data = body.encode()
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                if url.path.startswith("/pay/"):
                    return self._html(200, fake.hosted_page(url.path.rsplit("/", 1)[-1]))
                fake.requests.append(("GET", url.path))
                if fake.down:
                    return self._json(500, {"error": {"message": "down", "type": "api_error"}})
                if url.path.startswith("/v1/checkout/sessions/"):
                    session = fake.sessions.get(url.path.rsplit("/", 1)[-1])
                    if session is None:
                        return self._json(404, _missing("checkout session"))
                    return self._json(200, fake.expanded(session))
                return self._json(404, _missing("route"))

            def do_POST(self):
                url = urlparse(self.path)
                form = self._form()
                if url.path.startswith("/pay/"):
                    status, body, location = fake.pay(url.path.rsplit("/", 1)[-1], form)
                    return self._html(status, body, location)
                fake.requests.append(("POST", url.path))
                if fake.down:
                    return self._json(500, {"error": {"message": "down", "type": "api_error"}})
                if url.path == "/v1/customers":
                    cid = f"cus_{next(fake._ids)}"
                    fake.customers[cid] = {"id": cid, "object": "customer", **form}
                    return self._json(200, fake.customers[cid])
                if url.path == "/v1/checkout/sessions":
                    sid = f"cs_test_{next(fake._ids)}"
                    host = f"http://127.0.0.1:{fake.port}"
                    fake.sessions[sid] = {
                        "id": sid,
                        "object": "checkout.session",
                        "mode": form.get("mode"),
                        "customer": form.get("customer"),
                        "client_reference_id": form.get("client_reference_id"),
                        "success_url": form.get("success_url"),
                        "cancel_url": form.get("cancel_url"),
                        "status": "open",
                        "setup_intent": None,
                        "url": f"{host}/pay/{sid}",
                    }
                    return self._json(200, fake.sessions[sid])
                if url.path == "/v1/payment_intents":
                    key = self.headers.get("Idempotency-Key", "")
                    if key in fake.intents:
                        return self._json(200, fake.intents[key])
                    pm = fake.methods.get(form.get("payment_method", ""))
                    if pm is None or pm["customer"] != form.get("customer"):
                        return self._json(400, _missing("payment method"))
                    if pm["card"]["last4"] in CHARGE_DECLINED:
                        error = {
                            "type": "card_error",
                            "code": "card_declined",
                            "message": "Your card was declined.",
                        }
                        return self._json(402, {"error": error})
                    intent = {
                        "id": f"pi_{next(fake._ids)}",
                        "object": "payment_intent",
                        "amount": int(form["amount"]),
                        "currency": form["currency"],
                        "status": "succeeded",
                    }
                    fake.intents[key] = intent
                    return self._json(200, intent)
                if url.path.startswith("/v1/payment_methods/") and url.path.endswith("/detach"):
                    pm = fake.methods.get(url.path.split("/")[3])
                    if pm is None or pm["customer"] is None:
                        return self._json(400, _missing("payment method"))
                    pm["customer"] = None
                    return self._json(200, pm)
                return self._json(404, _missing("route"))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    # --- the hosted page --------------------------------------------------------------------

    def hosted_page(self, sid: str) -> str:
        return f'<form method="post" action="/pay/{sid}"><input name="number"></form>'

    def pay(self, sid: str, form: dict) -> tuple[int, str, str]:
        """The admin types a card on the hosted page: (status, body, redirect location)."""
        session = self.sessions.get(sid)
        if session is None or session["status"] != "open":
            return 404, "No such session.", ""
        number = form.get("number", "").replace(" ", "")
        brand, declined = CARDS.get(number, ("", "Your card number is invalid."))
        if declined:
            return 402, declined, ""
        pm_id = f"pm_{next(self._ids)}"
        self.methods[pm_id] = {
            "id": pm_id,
            "object": "payment_method",
            "customer": session["customer"],
            "card": {
                "brand": brand,
                "last4": number[-4:],
                "exp_month": int(form.get("exp_month", 12)),
                "exp_year": int(form.get("exp_year", 2030)),
            },
        }
        session["status"] = "complete"
        session["setup_intent"] = f"seti_{next(self._ids)}"
        session["payment_method"] = pm_id
        if self.webhook_url and form.get("webhook") != "no":
            self.send_event(session)
        return 303, "", session["success_url"].replace("{CHECKOUT_SESSION_ID}", sid)

    def expanded(self, session: dict) -> dict:
        body = {k: v for k, v in session.items() if k != "payment_method"}
        if session["setup_intent"]:
            body["setup_intent"] = {
                "id": session["setup_intent"],
                "object": "setup_intent",
                "payment_method": self.methods[session["payment_method"]],
            }
        return body

    def event_payload(self, session: dict) -> bytes:
        event = {
            "id": f"evt_{next(self._ids)}",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {"object": {k: v for k, v in session.items() if k != "payment_method"}},
        }
        return json.dumps(event).encode()

    def send_event(self, session: dict) -> int:
        payload = self.event_payload(session)
        request = urllib.request.Request(  # noqa: S310 (our own loopback URL)
            self.webhook_url,
            data=payload,
            headers={"Stripe-Signature": sign(payload, self.webhook_secret)},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status


def _missing(what: str) -> dict:
    return {"error": {"message": f"No such {what}", "type": "invalid_request_error"}}
