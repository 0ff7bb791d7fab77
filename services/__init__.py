"""Entry points of the two internal services ops/processes.py starts beside the gateway: the Rasa
server (rasa_main.py, gateway_channel.py) and the action server (action_server.py), with the
guards that keep them private: a shared secret on every call, and logs without conversation text.
"""
