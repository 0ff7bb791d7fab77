"""The understanding components' parts, without a trained model or a Rasa server."""

import numpy as np
from rasa.shared.nlu.training_data.message import Message

from components.crisis_marking import mark_crisis
from components.sentences import pieces, sentences
from components.text_model import TextModel, best_temperature, softmax
from core.intents import DEFERRED_TOPIC_KEY, REASON_KEY, TOPIC_RANKING_KEY, is_command


def test_a_letter_is_read_sentence_by_sentence():
    letter = "Hei. Jeg har et spørsmål om testing.\nKona vet ingenting! Hvor kan jeg teste meg?"
    assert sentences(letter) == [
        "Hei.",
        "Jeg har et spørsmål om testing.",
        "Kona vet ingenting!",
        "Hvor kan jeg teste meg?",
    ]
    # one-word sentences say too little alone; the rest are read one by one
    assert pieces(letter) == ["Jeg har et spørsmål om testing.", "Kona vet ingenting!", "Hvor kan jeg teste meg?"]


def test_a_run_on_message_is_read_in_consecutive_windows_of_even_length():
    words = [f"ord{i}" for i in range(40)]
    windows = pieces(" ".join(words))
    assert len(windows) == 3
    # every word once, in order, and no window much shorter than the others
    assert " ".join(windows).split() == words
    assert {len(w.split()) for w in windows} <= {13, 14}


def test_a_short_message_is_one_piece():
    assert pieces("hvor kan jeg teste meg") == []
    assert pieces("") == []


def test_softmax_temperature_is_fitted_to_held_out_scores():
    scores = np.array([[2.0, 0.0], [2.0, 0.0], [2.0, 0.0], [2.0, 0.0]])
    # right three times in four: the best temperature makes the top label about 0.75 likely
    temperature = best_temperature(scores, np.array([0, 0, 0, 1]))
    assert 0.7 < softmax(scores, temperature)[0, 0] < 0.8


def test_text_model_gives_probabilities_that_sum_to_one():
    texts = [
        "hvor kan jeg teste meg",
        "hvor tester jeg meg",
        "hva koster testen",
        "er testen gratis",
        "hvor tar jeg en test",
        "koster det noe å teste seg",
    ]
    labels = ["where", "where", "cost", "cost", "where", "cost"]
    vectors = np.zeros((len(texts), 8), np.float32)  # no meaning vectors: the words decide
    model = TextModel(folds=2).fit(texts, labels, vectors)
    rows = model.probabilities(["hva koster en test"], vectors[:1])
    assert rows.shape == (1, 2) and abs(rows.sum() - 1) < 1e-6
    assert model.labels[int(rows.argmax())] == "cost"


def test_scores_are_the_svms_own_on_the_joined_features():
    # TextModel._scores skips building [vectors, tf-idf]; it must stay the SVM's decision_function
    texts = ["hvor kan jeg teste meg", "hva koster testen", "window period for hiv", "er det farlig", "ha det"]
    labels = ["where", "cost", "window", "danger", "bye"]
    vectors = np.random.default_rng(1).normal(size=(len(texts), 8)).astype(np.float32)
    model = TextModel(folds=1, meaning_weight=2.5, words=True).fit(texts, labels, vectors)
    joined = model.svm.decision_function(model._features(model.vectorizer, texts, vectors))
    assert np.allclose(model._scores(texts, vectors), joined, atol=1e-5)


def test_words_and_word_pairs_can_join_the_character_features():
    texts = ["window period for hiv", "how long is the window period", "where to test", "where can i test"]
    labels = ["window", "window", "where", "where"]
    vectors = np.zeros((len(texts), 8), np.float32)
    model = TextModel(folds=1, words=True).fit(texts, labels, vectors)
    rows = model.probabilities(["the window period?"], vectors[:1])
    assert model.labels[int(rows.argmax())] == "window"


def test_button_payloads_are_left_to_rasa():
    assert is_command("/affirm") and is_command(' /inform{"x": 1}')
    assert not is_command("hei / hallo")


def test_a_crisis_keeps_the_question_the_message_also_asked():
    message = Message.build(text="…")
    message.set("intent", {"name": "faq", "confidence": 0.8})
    message.set(
        TOPIC_RANKING_KEY,
        [{"name": "faq/test_window_period", "confidence": 0.62}, {"name": "crisis_suicide", "confidence": 0.2}],
    )
    mark_crisis(message, "crisis_suicide", "detector")
    assert message.get("intent") == {"name": "crisis_suicide", "confidence": 1.0}
    assert message.get(REASON_KEY) == "detector"
    assert message.get(DEFERRED_TOPIC_KEY) == "faq/test_window_period"


def test_a_family_of_intents_handled_alike_is_sure_when_its_members_together_are():
    from components.topic_classifier import merge_families

    ranked = [("faq/service_contact", 0.30), ("talk_to_human", 0.29), ("book_counsellor", 0.15), ("greet", 0.1)]
    merged = merge_families(ranked, [["talk_to_human", "book_counsellor"]])
    assert merged[0][0] == "talk_to_human" and abs(merged[0][1] - 0.44) < 1e-9
    assert [label for label, _ in merged] == ["talk_to_human", "faq/service_contact", "greet"]
    assert merge_families(ranked, [["cancel_booking", "move_booking"]]) == ranked


def test_a_reference_code_or_a_pin_typed_alone_is_an_answer_whatever_its_letters():
    from components.intent_guard import only_a_code_or_pin

    for alone in ("e3ha-kddk", "E3HA-KDDK.", "acde479k", "ACD-479", "4821", " 48 21 "):
        assert only_a_code_or_pin(alone), alone
    for words in ("takk takk", "ha det", "22 00 00 00", "1930 i morgen", "koden er E3HA-KDDK", "ja", "nett nett"):
        assert not only_a_code_or_pin(words), words


def test_leaving_a_booking_and_cancelling_it_are_decided_by_their_words():
    from components.intent_guard import IntentGuard

    guard = IntentGuard({"guards_file": "content/intent_guards.yml"})

    def decided(text, intent="deny", confidence=0.99, ranking=()):
        message = Message(data={"text": text, "intent": {"name": intent, "confidence": confidence}})
        if ranking:
            message.set("topic_ranking", [{"name": name, "confidence": c} for name, c in ranking])
        guard.process([message])
        return message.get("intent")["name"]

    assert decided("nei itj book nåkka no. æ ringer heller det nummeret") == "stop"
    assert decided("hmm nei vet du hva, drop it. I'll call directly tomorrow", "inform") == "stop"
    assert (
        decided(
            "hei igjen. jeg har en chat på torsdag som jeg må flytte. men jeg slettet alt så han ikke skulle se det",
            "nlu_fallback",
        )
        == "move_booking"
    )
    assert decided("i have a chat appointment on thursday but i need to cancel", "faq") == "cancel_booking"
    # a goodbye at the end of a message the classifier is unsure of
    assert decided("i dont know when. i write again monday. bye", "nlu_fallback", 0.2) == "goodbye"
    assert decided("ok takk, ha det", "thanks", 0.4) == "goodbye"
    assert decided("right, bed. night x", "nlu_fallback", 0.2) == "goodbye"
    assert decided("ok gn", "nlu_fallback", 0.3) == "goodbye"
    # a goodbye needs a word of leave-taking, in slang and in the neighbours' languages too
    for leaving in ("snakkas", "right gotta run, laters 🤙", "må dra, snakks", "hej då", "hav det godt"):
        assert decided(leaving, "goodbye") == "goodbye", leaving
    assert decided("halv tre da", "goodbye", 0.6, [("goodbye", 0.6), ("inform", 0.3)]) == "inform"
    # "night" that is a time, not a leave-taking
    assert decided("it was last night", "nlu_fallback", 0.2) == "nlu_fallback"
    # not these: asking to be called, asking how to book
    assert decided("kan dere ringe meg i morgen?", "book_counsellor") == "book_counsellor"
    assert decided("kan jeg ikke booke en time på chat?", "book_counsellor") == "book_counsellor"
