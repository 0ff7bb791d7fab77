"""Running the service, outside the runtime packages: the process supervisor that starts and
stops the action server, Rasa and the gateway (processes.py), the launcher behind make run and
make shell (launcher.py), and the one-machine cluster behind make cluster with its nginx
configuration template (cluster.py, nginx.conf.template).

ops/ may import bot/, core/ and services/; nothing in bot/, core/, actions/, components/ or
services/ imports ops/ (tests/test_layout.py)."""
