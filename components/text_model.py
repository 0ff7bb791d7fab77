"""A calibrated linear text classifier on two kinds of features, without Rasa.

- meaning: the multilingual e5 sentence vector (components/embedder.py), which carries nynorsk,
  dialect, Swedish, Danish and English to the same place as Bokmål;
- form: tf-idf of character n-grams of the normalised words (ae/o/a for æ/ø/å, no accents), which
  carries typos, missing letters and rare words the vector blurs; optionally also of the words
  and word pairs, which carry phrases ("window period", "ta test") that n-grams split up
  (bench/topic_experiment.py: one point more topic accuracy on the looked-at sets).
A linear SVM separates the labels; a softmax with one temperature, fitted on the scores of a
held-out fold, turns its scores into probabilities that mean what they say ("0.6" is right about 6 times in 10).
Used by the topic classifier and by the crisis detector (components/*_classifier.py).
"""

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from core.reference_codes import without_codes
from core.text_normalise import normalise

Embed = Callable[[Sequence[str]], np.ndarray]


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / max(temperature, 1e-3)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def best_temperature(scores: np.ndarray, gold: np.ndarray) -> float:
    """The softmax temperature with the lowest negative log-likelihood on held-out scores."""
    best, best_loss = 1.0, float("inf")
    for temperature in np.geomspace(0.02, 2.0, 60):
        probabilities = softmax(scores, temperature)
        loss = -np.mean(np.log(probabilities[np.arange(len(gold)), gold] + 1e-12))
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best


@dataclass
class TextModel:
    c: float = 0.5
    meaning_weight: float = 1.0
    words: bool = False  # also word uni- and bigrams
    class_weight: Optional[str] = None
    folds: int = 3
    labels: List[str] = field(default_factory=list)
    temperature: float = 1.0
    vectorizer: Optional[object] = None  # a TfidfVectorizer, or a FeatureUnion of two
    svm: Optional[LinearSVC] = None
    vocabulary: frozenset = frozenset()  # every normalised word of the training examples

    def _new_vectorizer(self):
        characters = self._tfidf("char_wb", (2, 5))
        if not self.words:
            return characters
        return FeatureUnion([("characters", characters), ("words", self._tfidf("word", (1, 2)))])

    @staticmethod
    def _tfidf(analyzer: str, ngram_range) -> TfidfVectorizer:
        return TfidfVectorizer(
            analyzer=analyzer,
            ngram_range=ngram_range,
            min_df=2,
            sublinear_tf=True,
            preprocessor=normalise,
            dtype=np.float32,
        )

    def _new_svm(self) -> LinearSVC:
        return LinearSVC(C=self.c, class_weight=self.class_weight, random_state=1)

    def _features(self, vectorizer, texts: Sequence[str], vectors: np.ndarray):
        return hstack([csr_matrix(vectors * self.meaning_weight), vectorizer.transform(texts)]).tocsr()

    def fit(self, texts: Sequence[str], labels: Sequence[str], vectors: np.ndarray) -> "TextModel":
        self.labels = sorted(set(labels))
        index: Dict[str, int] = {label: i for i, label in enumerate(self.labels)}
        gold = np.array([index[label] for label in labels])
        self.temperature = self._calibrate(list(texts), gold, vectors)
        self.vocabulary = frozenset(word for text in texts for word in normalise(text).split())
        self.vectorizer = self._new_vectorizer().fit(texts)
        self.svm = self._new_svm().fit(self._features(self.vectorizer, texts, vectors), gold)
        return self

    def _calibrate(self, texts: List[str], gold: np.ndarray, vectors: np.ndarray) -> float:
        """Temperature from held-out scores, so it reflects messages the SVM has not seen: one
        fold of `folds` is held out (a few thousand examples fix one number well; scoring every
        fold would double the training time)."""
        smallest_class = np.bincount(gold).min()
        folds = min(self.folds, int(smallest_class))
        if folds < 2:
            return 1.0
        train, test = next(StratifiedKFold(folds, shuffle=True, random_state=1).split(texts, gold))
        vectorizer = self._new_vectorizer().fit([texts[i] for i in train])
        svm = self._new_svm().fit(self._features(vectorizer, [texts[i] for i in train], vectors[train]), gold[train])
        scores = np.zeros((len(test), len(self.labels)), np.float32)
        fold_scores = svm.decision_function(self._features(vectorizer, [texts[i] for i in test], vectors[test]))
        scores[:, svm.classes_] = fold_scores.reshape(len(test), -1)
        return best_temperature(scores, gold[test])

    def _scores(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """The SVM's decision_function on [vectors, tf-idf], without building the joined sparse
        matrix: the same numbers, a few milliseconds less per message."""
        coef, dimension = self.svm.coef_, vectors.shape[1]
        dense = vectors @ (self.meaning_weight * coef[:, :dimension]).T
        sparse = self.vectorizer.transform(texts) @ coef[:, dimension:].T
        return np.asarray(dense + sparse + self.svm.intercept_)

    def known_share(self, text: str) -> float:
        """The share of a message's words (of three letters or more) seen in the training data."""
        words = [w for w in normalise(without_codes(text)).split() if len(w) >= 3 and not w.isdigit()]
        if len(words) < 2:  # one unknown word may be a rare medical term, not mashing
            return 1.0
        return sum(w in self.vocabulary for w in words) / len(words)

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Rows of probabilities over self.labels, one row per text."""
        scores = self._scores(texts, vectors).reshape(len(texts), -1)
        if len(self.labels) == 2:  # a binary SVM gives one score: the second label's side
            scores = np.hstack([-scores, scores]) / 2
        return softmax(scores, self.temperature)
