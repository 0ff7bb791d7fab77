"""Builds the Norwegian (nb) spaCy pipeline with a working lookup lemmatizer.

No trained nb pipeline can be downloaded here, and the lemma_lookup table that
spacy-lookups-data ships covers almost no inflected words. Its full-form lexicon
(nb_lemma_exc: nouns, adjectives, adverbs, verbs) does, so it is merged into one lookup table
(verbs win, as in "kjøpte" -> "kjøpe"). Rasa's SpacyNLP lower-cases text before spaCy sees
it, so the keys are lower case. Output: a spaCy pipeline directory for SpacyNLP's `model`.
"""

import gzip
import json
import sys
from pathlib import Path

import spacy
import spacy_lookups_data
from spacy.lookups import Lookups

TABLE_ORDER = ("adv", "adj", "noun", "verb")  # later tables overwrite earlier ones


def merged_lemma_table() -> dict:
    source = Path(spacy_lookups_data.__file__).parent / "data" / "nb_lemma_exc.json.gz"
    exceptions = json.loads(gzip.open(source).read())
    table = {}
    for part in TABLE_ORDER:
        for form, lemmas in exceptions[part].items():
            if lemmas:
                table[form.lower()] = lemmas[0].lower()
    return table


def build(target: Path) -> None:
    nlp = spacy.blank("nb")
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    lookups = Lookups()
    lookups.add_table("lemma_lookup", merged_lemma_table())
    lemmatizer.initialize(lookups=lookups)
    nlp.meta["name"] = "nb_lemma"
    nlp.meta["description"] = "Blank nb tokenizer + lookup lemmatizer merged from spacy-lookups-data"
    target.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".spacy/nb_lemma")
    build(out)
    check = spacy.load(out)
    print(out, [t.lemma_ for t in check("kjøpte kondomer og tok testene")])
