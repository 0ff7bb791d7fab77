"""The web channel: the chat widget's pages, its socket and its HTTP API on the gateway's app.

GET  /                      demo page of the service with the widget       (web_pages.py)
GET  /widget.js, /widget.css, /personvern, /privacy                        (web_pages.py)
GET  /ws                    WebSocket: the widget's conversation, pushed both ways (web_socket.py)
POST /api/v1/messages       {"session", "text"} -> the bot's replies       (web_api.py)
POST /api/v1/history        {"session"} -> the conversation so far
POST /api/v1/sessions/delete {"session"} -> deletes the conversation (also sent as a beacon)
GET  /api/v1/widget-texts   ?language= -> the widget's labels (content/web.yml)
"""

from aiohttp import web

from bot.channels import web_api, web_pages, web_socket
from bot.channels.web_chat import WebChat
from bot.conversations import Conversations
from bot.pseudonyms import Pseudonyms
from bot.settings import Settings


class WebChannel:
    """Puts the widget's pages, socket and API on the gateway's app."""

    def __init__(self, settings: Settings, conversations: Conversations, pseudonyms: Pseudonyms, redis=None) -> None:
        self.chat = WebChat(settings, conversations, pseudonyms, redis)

    def attach(self, app: web.Application) -> None:
        async def push_bus(_app: web.Application):
            await self.chat.bus.start()
            yield
            await self.chat.bus.stop()

        app.cleanup_ctx.append(push_bus)
        web_pages.add_routes(app, self.chat.settings)
        web_socket.add_routes(app, self.chat)
        web_api.add_routes(app, self.chat)
