"""Every competency question answers exactly its expected result, and says which question it answers."""

from __future__ import annotations

import pytest

from kg.config import PROJECT_ROOT
from kg.site.competency import matches, questions

QUESTIONS = questions(PROJECT_ROOT / "queries")


def test_there_are_at_least_25_questions():
    assert len(QUESTIONS) >= 25


@pytest.mark.parametrize("question", QUESTIONS, ids=[q.name for q in QUESTIONS])
def test_question_gives_its_expected_answer(store, question):
    assert question.question.startswith("Question"), "the file must start with a '# Question: …' comment"
    assert question.expected_path.exists(), f"missing expected result {question.expected_path.name}"
    actual = question.answer(store)
    expected = question.expected_path.read_text(encoding="utf-8")
    assert len(expected.splitlines()) > 1, "an expected answer with no rows proves nothing"
    assert matches(question, actual, expected), f"\n--- expected\n{expected}\n--- actual\n{actual}"
