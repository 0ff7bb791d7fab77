"""Rasa's REST channel, answering only the gateway (credentials.yml names it).

Messages must pass the gateway first: it masks ID and phone numbers, applies the flood limits
and pseudonymises channel ids. A request to the webhook without the gateway's secret header is
refused, so nothing else on the host can write into a conversation.
"""

from typing import Any, Dict, Optional, Text

from rasa.core.channels.rest import RestInput
from sanic import response

from services.internal_secrets import GATEWAY_HEADER, GATEWAY_SECRET_ENV, matches, required


class GatewayInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "gateway"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "GatewayInput":
        return cls()

    def __init__(self) -> None:
        self.secret = required(GATEWAY_SECRET_ENV)

    def blueprint(self, on_new_message):
        webhook = super().blueprint(on_new_message)

        @webhook.middleware("request")
        async def only_the_gateway(request):
            if request.method != "GET" and not matches(request.headers.get(GATEWAY_HEADER, ""), self.secret):
                return response.json({"error": "forbidden"}, status=403)

        return webhook
