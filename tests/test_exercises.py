"""tutorial.exercises.check: a right answer passes, a wrong one fails clearly, a stub is 'not attempted',
and an answer that calls the notebook's own (forbidden) function does not pass."""
import pytest
import torch

from tutorial.exercises import check


def lesson_square(x):  # stands in for the notebook's own function
    return x * x


CASES = [(torch.arange(4.0),), (torch.randn(3, 2),)]


def test_a_right_answer_passes_and_a_wrong_one_fails_with_the_hint():
    assert check("square", lambda x: x ** 2, lesson_square, CASES)
    with pytest.raises(AssertionError, match="try x times x"):
        check("square", lambda x: x * 2, lesson_square, CASES, hint="try x times x")


def test_a_stub_is_not_attempted(capsys):
    def stub(x):
        raise NotImplementedError

    assert check("square", stub, lesson_square, CASES) is False
    assert "not attempted" in capsys.readouterr().out


def test_calling_the_forbidden_function_does_not_pass_and_it_is_restored():
    def lazy(x):
        return lesson_square(x)

    alias = lesson_square

    def lazy_alias(x):
        return alias(x)

    for answer in (lazy, lazy_alias):
        with pytest.raises(AssertionError, match="write it yourself"):
            check("square", answer, lesson_square, CASES, forbid=[lesson_square])
    assert lesson_square(torch.tensor(3.0)) == 9  # switched back on afterwards
    assert globals()["lesson_square"] is alias
    assert check("square", lambda x: x ** 2, lesson_square, CASES, forbid=[lesson_square])


def test_a_check_without_cases_is_refused_not_passed():
    with pytest.raises(ValueError, match="at least one test case"):
        check("empty", lambda x: x, lambda x: x, [])
