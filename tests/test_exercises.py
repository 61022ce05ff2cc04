"""tutorial.exercises.check: a right answer passes, a wrong one fails clearly, a stub is 'not attempted',
an answer that calls the notebook's own (forbidden) function does not pass, and an empty or malformed
answer (no return value, the wrong kind of value, an exception) gets a printed message, not a traceback."""
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


def test_an_answer_that_returns_nothing_is_reported_not_raised(capsys):
    def forgot_return(x):
        x * x

    assert check("square", forgot_return, lesson_square, CASES) is False
    out = capsys.readouterr().out
    assert "case 0" in out and "returned nothing" in out and "return" in out


def test_an_answer_of_the_wrong_kind_is_reported(capsys):
    assert check("square", lambda x: (x * x).tolist(), lesson_square, CASES) is False
    assert "returned a list" in capsys.readouterr().out
    assert check("square", lambda x: (x * x, x), lesson_square, CASES) is False
    out = capsys.readouterr().out
    assert "returned a tuple of 2" in out and "expected a tensor of shape (4,)" in out
    assert check("square", lambda x: x * x > 0, lesson_square, CASES) is False  # a bool tensor
    assert "expected a real float32 tensor" in capsys.readouterr().out
    assert check("size", lambda n: "28", lambda n: n, [(28,)]) is False
    assert "expected a number (int)" in capsys.readouterr().out
    assert check("square", "x * x", lesson_square, CASES) is False  # not a function at all
    assert "should be a function" in capsys.readouterr().out


def test_a_number_or_a_one_element_tensor_is_accepted_where_it_fits():
    assert check("sum", lambda x: float(x.sum()), lambda x: x.sum(), [(torch.arange(4.0),)])
    assert check("size", lambda n: torch.tensor(n), lambda n: n, [(28,), (3,)])


def test_an_answer_that_raises_is_reported_with_the_exception_and_the_case(capsys):
    def breaks_on_matrices(x):
        if x.dim() > 1:
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")
        return x * x

    assert check("square", breaks_on_matrices, lesson_square, CASES) is False
    out = capsys.readouterr().out
    assert "case 1" in out and "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in out
    assert "a tensor of shape (3, 2)" in out
    assert check("square", lambda x, y: x, lesson_square, CASES) is False  # wrong signature
    assert "TypeError" in capsys.readouterr().out


def test_wrong_values_still_raise_with_the_case_number_and_nan_is_named():
    with pytest.raises(AssertionError, match="case 0: shape"):
        check("square", lambda x: x[:2], lesson_square, CASES)
    with pytest.raises(AssertionError, match="NaN or infinity"):
        check("square", lambda x: x * x / 0 * 0, lesson_square, CASES)
    with pytest.raises(AssertionError, match="case 0: got 27, expected 28"):
        check("size", lambda n: n - 1, lambda n: n, [(28,)])


def test_a_forbidden_call_raises_and_names_the_case_even_when_the_answer_is_otherwise_fine():
    def lazy(x):
        return lesson_square(x)

    with pytest.raises(AssertionError, match=r"square, case 0: this exercise asks you to write it yourself"):
        check("square", lazy, lesson_square, CASES, forbid=[lesson_square])


def test_a_library_function_reached_through_a_module_can_be_forbidden():
    import torch.nn.functional as F

    def through_module(x, w):
        return F.conv2d(x, w)

    cases = [(torch.randn(1, 1, 4, 4), torch.randn(1, 1, 2, 2))]
    with pytest.raises(AssertionError, match="write it yourself"):
        check("conv", through_module, lambda x, w: torch.nn.functional.conv2d(x, w), cases, forbid=[F.conv2d])
    assert F.conv2d is torch.conv2d  # restored
    assert check("conv", through_module, lambda x, w: torch.nn.functional.conv2d(x, w), cases)


def test_an_assert_inside_the_answer_fails_with_the_case_and_the_hint():
    def asserts(x):
        if x.dim() != 1:
            raise AssertionError  # what a bare assert raises in a notebook
        return x * x

    with pytest.raises(AssertionError, match="case 1: an assert in your function failed. try x times x"):
        check("square", asserts, lesson_square, CASES, hint="try x times x")


def test_an_answer_that_calls_the_checks_own_reference_does_not_pass():
    def _private_reference(x):  # a reference defined in the check cell, as the notebooks do
        return x * x

    def copies_the_reference(x):
        return _private_reference(x)

    with pytest.raises(AssertionError, match="write it yourself"):
        check("square", copies_the_reference, _private_reference, CASES)
    assert _private_reference(torch.tensor(3.0)) == 9  # restored afterwards
    assert check("square", lambda x: x * x, _private_reference, CASES)
