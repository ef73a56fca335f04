"""The simulator's HTTP front: a WSGI app in front of moto's server.

Per AWS request it resolves the account from the access key (moto's own mapping, which includes
assumed-role keys), checks credential expiry on the simulated clock, applies injected faults, wraps
STS AssumeRole with the External ID check, answers WorkSpaces itself and passes everything else to
moto. ``/_simulator/...`` is the JSON control API. One re-entrant lock serialises state changes, so
several worker processes can call it concurrently.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from moto.iam.models import get_account_id_from
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from simulator import backend as sim_backend
from simulator import model, operations, world
from simulator.errors import AwsError
from simulator.faults import CallFaults
from simulator.state import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, STATE, IssuedCredential, StartupOptions

AUTH_PATTERN = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
STS_MIN_DURATION = 900
STS_MAX_DURATION = 43200

StartResponse = Callable[..., Any]


def _form(body: bytes) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


class AwsCall:
    """What one AWS request is: service, operation, caller and parsed parameters."""

    def __init__(self, environ: dict[str, Any], body: bytes) -> None:
        self.body = body
        query = parse_qs(environ.get("QUERY_STRING", ""))
        auth = environ.get("HTTP_AUTHORIZATION", "") or query.get("X-Amz-Credential", [""])[0]
        match = AUTH_PATTERN.search(auth) or AUTH_PATTERN.search(f"Credential={auth}/aws4_request")
        self.access_key_id = match.group(1) if match else ""
        self.region = match.group(2) if match else DEFAULT_REGION
        self.service = match.group(3) if match else ""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        self.params: dict[str, Any] = {}
        self.protocol = "query"
        if target.startswith("WorkspacesService."):
            self.service = "workspaces"
        if target:
            self.protocol = "json"
            self.operation = target.split(".", 1)[1]
            try:
                self.params = json.loads(body or b"{}")
            except ValueError:
                self.params = {"_unparsed": body.decode("utf-8", "replace")}
        else:
            form = _form(body) if body else {k: v[-1] for k, v in query.items()}
            self.operation = form.get(
                "Action", environ.get("REQUEST_METHOD", "") + " " + environ.get("PATH_INFO", "")
            )
            self.params = form
            if self.service == "ec2":
                self.protocol = "ec2"
        self.key = self.operation if self.service == "workspaces" else f"{self.service}:{self.operation}"
        self.account_id = (
            get_account_id_from(self.access_key_id) if self.access_key_id else DEFAULT_ACCOUNT_ID
        )


def _error_body(call: AwsCall, error: AwsError, request_id: str) -> tuple[bytes, str]:
    if call.protocol == "json":
        payload = {"__type": error.code, "message": error.message}
        return json.dumps(payload).encode(), JSON_CONTENT_TYPE
    code, message = escape(error.code), escape(error.message)
    if call.protocol == "ec2":
        xml = (
            f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    else:
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    return xml.encode(), "text/xml"


def _expired_code(call: AwsCall) -> str:
    return "ExpiredTokenException" if call.protocol == "json" else "ExpiredToken"


class SimulatorApp:
    """The WSGI application: control API, AWS request pipeline, moto for everything not WorkSpaces."""

    def __init__(self) -> None:
        self.moto_app = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_simulator"):
            from simulator.control_api import handle_control

            status, payload = handle_control(environ)
            body = json.dumps(payload, default=str).encode()
            start_response(
                f"{status} {'OK' if status < 400 else 'ERROR'}", [("Content-Type", "application/json")]
            )
            return [body]
        if path.startswith("/moto-api"):
            with STATE.lock:
                answer = list(self.moto_app(environ, start_response))
                if path.rstrip("/") == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
                    # moto forgot its backends; the simulator's accounts, credentials and faults go too.
                    world.reset()
                return answer
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        return self.handle_aws(environ, body, start_response)

    # ------------------------------------------------------------------ AWS
    def handle_aws(
        self, environ: dict[str, Any], body: bytes, start_response: StartResponse
    ) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        with STATE.lock:
            call = AwsCall(environ, body)
            record = STATE.recorder.start(
                operation=call.key,
                service=call.service,
                account_id=call.account_id,
                region=call.region,
                access_key_id=call.access_key_id,
                request=call.params,
                time=datetime.fromtimestamp(STATE.now(), UTC).isoformat(),
                request_id=request_id,
            )
            faults = STATE.faults.decide(call.key, call.service)
            if (
                call.service == "workspaces"
                and faults.kind is None
                and not STATE.rate_limit.take(call.account_id, call.region)
            ):
                faults.kind, faults.code = "throttle", "ThrottlingException"
            if faults.late_answer_seconds:
                record["late_answer_seconds"] = faults.late_answer_seconds
        # Outside the lock: slow calls must not block others. A late answer is still in flight here: it
        # takes effect only after the delay, so a Describe meanwhile (or the client's retry) does not see it.
        delay = faults.latency_ms / 1000.0 + faults.late_answer_seconds
        if delay:
            time.sleep(delay)
        with STATE.lock:
            status, headers, payload = self._answer(environ, call, faults, request_id)
            late = "late_answer" if faults.late_answer_seconds else None
            record.update(status=status, fault=faults.kind or late)
            if status >= 400:
                record["error_code"] = self._error_code(payload, headers)
        headers = [*headers, ("x-amzn-RequestId", request_id), ("Content-Length", str(len(payload)))]
        start_response(f"{status} {'OK' if status < 400 else 'ERROR'}", headers)
        return [payload]

    @staticmethod
    def _error_code(payload: bytes, headers: list[tuple[str, str]]) -> str | None:
        text = payload.decode("utf-8", "replace")
        found = re.search(r'"__type":\s*"([^"]+)"', text) or re.search(r"<Code>([^<]+)</Code>", text)
        return found.group(1).split("#")[-1] if found else None

    def _answer(
        self, environ: dict[str, Any], call: AwsCall, faults: CallFaults, request_id: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            self._check_credentials(call)
            if faults.kind == "throttle":
                raise AwsError(faults.code or "ThrottlingException", "Rate exceeded")
            if faults.kind == "error":
                raise AwsError(faults.code or "InternalFailure", "The service had an error; try again.")
            if faults.kind == "expired_token":
                raise AwsError(_expired_code(call), "The security token included in the request is expired")
            if call.service == "workspaces":
                status, headers, payload = self._workspaces(call, faults)
            elif call.service == "sts" and call.operation == "AssumeRole":
                status, headers, payload = self._assume_role(environ, call)
            else:
                status, headers, payload = self._moto_capture(environ, call.body)
            if faults.kind == "lose_response":
                # The operation happened; the client only sees a 500 and must find what was made.
                raise AwsError("InternalFailure", "The server failed to send the response.")
            return status, headers, payload
        except AwsError as error:
            payload, content_type = _error_body(call, error, request_id)
            headers = [("Content-Type", content_type)]
            if call.protocol == "json":
                headers.append(("x-amzn-ErrorType", error.code))
            return error.status, headers, payload

    def _check_credentials(self, call: AwsCall) -> None:
        credential = STATE.credentials.get(call.access_key_id)
        if credential is not None and STATE.now() >= credential.expires_at:
            raise AwsError(_expired_code(call), "The security token included in the request is expired")

    def _workspaces(self, call: AwsCall, faults: CallFaults) -> tuple[int, list[tuple[str, str]], bytes]:
        if call.operation not in operations.OPERATIONS:
            raise AwsError(
                "NotImplemented", f"The WorkSpaces simulator does not implement {call.operation}.", status=501
            )
        if "_unparsed" in call.params:
            raise AwsError("SerializationException", "The request body is not valid JSON.")
        model.validate_input(call.operation, call.params)
        backend = sim_backend.backend_for(call.account_id, call.region)
        if backend is None:
            raise AwsError("UnrecognizedClientException", f"The Region {call.region} is not valid.")
        result = operations.dispatch(backend, self._context(call, faults), call.params)
        payload = json.dumps(model.conform_output(call.operation, result)).encode()
        return 200, [("Content-Type", JSON_CONTENT_TYPE)], payload

    @staticmethod
    def _context(call: AwsCall, faults: CallFaults) -> operations.RequestContext:
        """Who signed the call, and which of the customer's policies applies to them."""
        account = STATE.account(call.account_id)
        credential = STATE.credentials.get(call.access_key_id)
        principal = (
            f"arn:aws:sts::{call.account_id}:assumed-role/{credential.role_arn.split('/')[-1]}/{credential.session_name}"
            if credential
            else f"arn:aws:iam::{call.account_id}:user/{call.access_key_id or 'anonymous'}"
        )
        adoption_role = credential is not None and credential.role_arn == account.adoption_role_arn
        return operations.RequestContext(
            operation=call.operation,
            account_id=call.account_id,
            region=call.region,
            access_key_id=call.access_key_id,
            principal_arn=principal,
            tag_policy_applies=(
                account.tag_enforcement
                and call.access_key_id != account.admin_access_key_id
                and not adoption_role
            ),
            strict_tag_keys=account.tag_policy_strict_keys,
            adoption_role=adoption_role,
            adoption_role_exists=account.adoption_stack,
            faults=faults,
        )

    def _assume_role(
        self, environ: dict[str, Any], call: AwsCall
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        role_arn = call.params.get("RoleArn", "")
        external_id = call.params.get("ExternalId")
        duration = int(call.params.get("DurationSeconds") or 3600)
        if not STS_MIN_DURATION <= duration <= STS_MAX_DURATION:
            raise AwsError(
                "ValidationError",
                f"DurationSeconds must be between {STS_MIN_DURATION} and {STS_MAX_DURATION}.",
            )
        parts = role_arn.split(":")
        target_account = parts[4] if len(parts) > 5 else ""
        account = STATE.accounts.get(target_account)
        if account is not None and account.registered:
            caller = f"arn:aws:iam::{call.account_id}:user/partner"
            denied = AwsError(
                "AccessDenied",
                f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            )
            if role_arn not in account.assumable_role_arns() or external_id != account.external_id:
                raise denied
            if duration > account.max_session_duration:
                raise AwsError(
                    "ValidationError",
                    "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                )
        status, headers, payload = self._moto_capture(environ, call.body)
        if status != 200:
            return status, headers, payload
        text = payload.decode()
        key = re.search(r"<AccessKeyId>([^<]+)</AccessKeyId>", text)
        expires_at = STATE.now() + duration
        if key:
            session = call.params.get("RoleSessionName", "")
            STATE.credentials[key.group(1)] = IssuedCredential(
                access_key_id=key.group(1),
                account_id=target_account or call.account_id,
                role_arn=role_arn,
                session_name=session,
                expires_at=expires_at,
            )
        expiration = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = re.sub(r"<Expiration>[^<]*</Expiration>", f"<Expiration>{expiration}</Expiration>", text)
        return status, headers, text.encode()

    # ----------------------------------------------------------------- moto
    def _moto_capture(self, environ: dict[str, Any], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"] = int(status.split()[0])
            captured["headers"] = [(k, v) for k, v in headers if k.lower() != "content-length"]

        environ = dict(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        chunks = self.moto_app(environ, capture)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        return captured["status"], captured["headers"], payload


class QuietRequestHandler(MotoRequestHandler):
    """moto's request handler without a log line per request (the recorder keeps the calls)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class SimulatorServer:
    """The simulator on a port, in a daemon thread (``port=0`` picks a free one)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, options: StartupOptions | None = None) -> None:
        self.host = host
        self.port = port
        self.options = options or StartupOptions()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.demo: dict[str, Any] | None = None

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        assert isinstance(host, str), "a bound IP socket names its host as text (typeshed allows bytes)"
        return f"http://{host}:{port}"

    def prepare(self) -> None:
        """Apply the startup options to the process-wide state (and build the demo world if asked)."""
        import os

        # moto's ~thousands of public AMIs would slow every reset and hide the seeded ones.
        os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        STATE.options = self.options
        with STATE.lock:
            world.reset()
            if self.options.demo_world:
                self.demo = world.create_demo_world(ready=self.options.demo_ready)

    def start(self) -> SimulatorServer:
        self.prepare()
        self._server = make_server(
            self.host, self.port, SimulatorApp(), threaded=True, request_handler=QuietRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="workspaces-simulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self, prepared: bool = False) -> None:
        if not prepared:
            self.prepare()
        self._server = make_server(
            self.host, self.port, SimulatorApp(), threaded=True, request_handler=QuietRequestHandler
        )
        self._server.serve_forever()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
