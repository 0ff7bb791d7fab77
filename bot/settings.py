"""All settings in one place: environment variables with defaults (documented in the README)."""
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    rasa_host: str
    rasa_port: int
    action_host: str
    action_port: int
    gateway_host: str
    gateway_port: int
    rasa_auth_token: str
    tracker_db: Path
    model_path: Path
    var_dir: Path

    @property
    def rasa_url(self) -> str:
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.gateway_host}:{self.gateway_port}"

    @property
    def action_server_url(self) -> str:
        return f"http://{self.action_host}:{self.action_port}/webhook"


def load_settings() -> Settings:
    var_dir = Path(_env("VAR_DIR", str(PROJECT_ROOT / "var")))
    return Settings(
        rasa_host=_env("RASA_HOST", "127.0.0.1"),
        rasa_port=int(_env("RASA_PORT", "5005")),
        action_host=_env("ACTION_HOST", "127.0.0.1"),
        action_port=int(_env("ACTION_PORT", "5055")),
        gateway_host=_env("GATEWAY_HOST", "127.0.0.1"),
        gateway_port=int(_env("GATEWAY_PORT", "8000")),
        rasa_auth_token=_env("RASA_AUTH_TOKEN", ""),
        tracker_db=Path(_env("TRACKER_DB", str(var_dir / "tracker.db"))),
        model_path=Path(_env("RASA_MODEL", str(PROJECT_ROOT / "models" / "current.tar.gz"))),
        var_dir=var_dir,
    )
