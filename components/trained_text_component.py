"""Base for the graph components that train a TextModel (components/text_model.py) on the NLU
training data and keep it, pickled, in the model archive."""

import hashlib
import pickle
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

from components.message_parts import whole_vectors
from components.text_model import TextModel

# The core modules the components read text with (tests/test_layout.py checks the list is complete).
MODEL_CORE_MODULES = ("text_normalise.py", "phrase_matcher.py", "intents.py", "reference_codes.py")


class TrainedTextComponent(GraphComponent):
    model_file = "text_model.pkl"

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[TextModel] = None,
    ) -> None:
        self.config = config
        self.model_storage = model_storage
        self.resource = resource
        self.model = model

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """Rasa's training cache keys on config and data only; the model also depends on this
        package's code (features) and on the core modules it reads text with, so a change to
        any of them retrains."""
        digest = hashlib.sha256()
        core = Path(__file__).parent.parent / "core"
        for source in sorted(Path(__file__).parent.glob("*.py")) + [core / name for name in MODEL_CORE_MODULES]:
            digest.update(source.read_bytes())
        return digest.hexdigest()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TrainedTextComponent":
        return cls(config, model_storage, resource)

    def fit_and_keep(self, texts: List[str], labels: List[str], **model_options: Any) -> TextModel:
        """Trains the model on the examples (with their e5 vectors) and stores it."""
        model = TextModel(
            c=float(self.config["c"]), meaning_weight=float(self.config["meaning_weight"]), **model_options
        )
        self.model = model.fit(texts, labels, whole_vectors(texts))
        with self.model_storage.write_to(self.resource) as directory:
            (directory / self.model_file).write_bytes(pickle.dumps(self.model))
        return self.model

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "TrainedTextComponent":
        with model_storage.read_from(resource) as directory:
            model = pickle.loads((directory / cls.model_file).read_bytes())
        return cls(config, model_storage, resource, model)
