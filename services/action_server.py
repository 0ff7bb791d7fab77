"""The action server: rasa-sdk's executor behind two guards (ops/processes.py starts it).

- Only Rasa may run actions: every call carries the shared secret header (endpoints.yml sets it
  from the environment). Without it, a forged tracker could book or cancel.
- A failing action never leaks a conversation: rasa-sdk's own error handler returns the whole
  tracker in a 500 body, and Rasa logs that body. Here a failure is logged as the action's name
  and the exception's type, and the user gets a kind answer in a normal reply.

    python -m services.action_server   (ACTION_PORT, ACTION_HOST, ACTION_SERVER_SECRET)

Its settings (core/settings.py: the action_server section, its host and port) are read once at
start; the actions' clock and booking limits are put in place from them (actions/clock.py,
actions/limits.py).
"""

import json
import logging
import os
import traceback
import zlib
from typing import Any, Dict

from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException
from sanic import Sanic, response

from actions import clock, limits
from core.settings import ActionServerSettings, load_settings
from services.internal_secrets import ACTION_HEADER, ACTION_SECRET_ENV, matches, required
from services.private_logs import exception_types, keep_text_out_of_logs

log = logging.getLogger("actions.server")


def failure_reply(call: Dict[str, Any]) -> Dict[str, Any]:
    """What the user sees when an action failed: a kind answer in the conversation's language."""
    from core.content import load, service_details, text_in

    language = ((call.get("tracker") or {}).get("slots") or {}).get("language") or "nb"
    text = text_in(load("gateway.yml")["action_failed"], language)  # Bokmål for any other language
    return {"events": [], "responses": [{"text": text.format(**service_details())}]}


def with_service_details(result: Dict[str, Any], call: Dict[str, Any]) -> Dict[str, Any]:
    """The service's details (content/service.yml, the hours from the schedule) for every answer.

    They reach Rasa's responses as slots set at session start; when that start failed (the action
    server was down), a response would show "None" for {service_phone}. So every templated
    response this server asks for gets them as values (Rasa fills templates with these before
    slots), and missing slots are set again for the responses Rasa utters by itself."""
    from core.content import service_details

    templated = [reply for reply in result.get("responses") or [] if reply.get("response")]
    slots = (call.get("tracker") or {}).get("slots") or {}
    unset = call.get("next_action") != "action_session_start" and any(  # every detail is a service_… slot
        key.startswith("service_") and value is None for key, value in slots.items()
    )
    if not templated and not unset:
        return result  # most calls: nothing to fill, and the details are not read
    details = service_details()
    for reply in templated:
        for key, value in details.items():
            reply.setdefault(key, value)
    missing = [key for key in details if key in slots and slots[key] is None]
    if missing and unset:
        result["events"] = [
            {"event": "slot", "name": key, "value": details[key], "timestamp": None} for key in missing
        ] + list(result.get("events") or [])
    return result


def where(error: BaseException) -> str:
    """The file and line where the error was raised, without its message."""
    frames = traceback.extract_tb(error.__traceback__)
    return f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else "?"


def failing_on_purpose(executor: ActionExecutor) -> None:
    def failing(action):
        async def run(dispatcher, tracker, domain):
            await action(dispatcher, tracker, domain)
            raise RuntimeError(f"failed on purpose after reading {tracker.latest_message.get('text')!r}")

        return run

    executor.actions = {name: failing(action) for name, action in executor.actions.items()}


def set_up_actions(settings: ActionServerSettings) -> None:
    """The actions' clock (real time unless a clock file is set) and their booking limits."""
    clock.use(clock.Clock(settings.clock_file))
    limits.use(settings.limits)


def create_app(secret: str, fail_on_purpose: bool = False) -> Sanic:
    """`fail_on_purpose`: fault injection for the privacy test (tests/test_security.py, the
    settings' ACTIONS_FAIL_ON_PURPOSE): every action raises, with the user's text in the
    exception, after it has run. Never set in production."""
    app = Sanic("actions", configure_logging=False)
    executor = ActionExecutor()
    executor.register_package("actions")
    if fail_on_purpose:
        failing_on_purpose(executor)

    @app.get("/health")
    async def health(_):
        return response.json({"status": "ok"})

    @app.post("/webhook")
    async def webhook(request):
        if not matches(request.headers.get(ACTION_HEADER, ""), secret):
            return response.json({"error": "forbidden"}, status=403)
        try:
            body = request.body
            if request.headers.get("Content-Encoding") == "deflate":
                body = zlib.decompress(body)
            call = json.loads(body)
        except (ValueError, zlib.error, RecursionError):
            return response.json({"error": "invalid body"}, status=400)
        if not isinstance(call, dict) or not isinstance(call.get("tracker"), dict):
            return response.json({"error": "invalid body"}, status=400)
        name = str(call.get("next_action"))[:64]
        try:
            result = await executor.run(call)
            return response.json(with_service_details(result, call) if result is not None else None)
        except ActionExecutionRejection as rejection:  # a form's slot not extracted: Rasa goes on
            return response.json({"error": rejection.message, "action_name": rejection.action_name}, status=400)
        except ActionNotFoundException:
            return response.json({"error": "unknown action", "action_name": name}, status=404)
        except Exception as error:  # noqa: BLE001 – the boundary: nothing about the user leaves it
            log.error("action %s failed: %s at %s", name, exception_types(error), where(error))
            return response.json(failure_reply(call))

    @app.exception(Exception)
    async def any_error(request, error):
        log.error("request failed: %s", exception_types(error))
        return response.json({"error": "internal error"}, status=500)

    return app


def main() -> None:
    keep_text_out_of_logs()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    set_up_actions(settings.action_server)
    app = create_app(required(ACTION_SECRET_ENV), fail_on_purpose=settings.action_server.fail_on_purpose)
    app.run(settings.action_host, settings.action_port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
