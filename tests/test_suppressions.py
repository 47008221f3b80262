"""Which ``# noqa`` / ``# pylint: disable=`` comments the CLI honours for a
finding, and that finding them reads only the finding's statement."""

from __future__ import annotations

import subprocess
import sys
import tokenize

import pytest

from nova_secaudit import suppressions
from nova_secaudit.runner import check_file
from nova_secaudit.settings import Settings

HEAD = "import futurist\n\n"
# Each case: the module after HEAD, and whether NSA101 (reported on the
# line of the call's start) is suppressed -- as flake8 decides for noqa.
FLAKE8_CASES = {
    "same-line": ("P = futurist.ThreadPoolExecutor()  # noqa: NSA101\n",
                  True),
    "multi-line-string-comment-after-it": (
        'P = futurist.ThreadPoolExecutor(thread_name_prefix="""a\n'
        'b""")  # noqa: NSA101\n', True),
    "backslash-continuation": (
        "P = futurist.ThreadPoolExecutor() + \\\n"
        "    1  # noqa: NSA101\n", True),
    "bracketed-call-comment-on-last-line": (
        "P = futurist.ThreadPoolExecutor(\n"
        "    thread_name_prefix='a')  # noqa: NSA101\n", False),
    "comment-on-the-line-above": (
        "# noqa: NSA101\nP = futurist.ThreadPoolExecutor()\n", False),
    "other-code": ("P = futurist.ThreadPoolExecutor()  # noqa: NSA401\n",
                   False),
    "after-semicolon-on-a-string-end": (
        'X = """a\nb"""; P = futurist.ThreadPoolExecutor()  # noqa\n',
        True),
    "string-ends-on-the-finding-line": (
        'X = """a\nb"""; P = futurist.ThreadPoolExecutor()\n'
        "Y = 1  # noqa\n", False),
}


def codes(tmp_path, body: str, name: str = "m.py") -> list[str]:
    path = tmp_path / name
    path.write_text(HEAD + body)
    result = check_file(str(path), Settings())
    assert result.error is None
    return [found.code for found in result.findings]


@pytest.mark.parametrize("case", sorted(FLAKE8_CASES))
def test_noqa_covers_the_lines_flake8_joins(tmp_path, case):
    body, suppressed = FLAKE8_CASES[case]
    assert ("NSA101" not in codes(tmp_path, body)) is suppressed


def test_flake8_agrees_on_every_case(tmp_path):
    for index, case in enumerate(sorted(FLAKE8_CASES)):
        (tmp_path / f"case_{index}.py").write_text(
            HEAD + FLAKE8_CASES[case][0])
    done = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select=NSA101",
         "--format=%(path)s", str(tmp_path)],
        capture_output=True, text=True)
    flagged = {line.rsplit("/", 1)[-1] for line in done.stdout.split()}
    for index, case in enumerate(sorted(FLAKE8_CASES)):
        suppressed = FLAKE8_CASES[case][1]
        assert (f"case_{index}.py" not in flagged) is suppressed, case


def test_pylint_comment_on_a_multi_line_string_end(tmp_path):
    body = ('P = futurist.ThreadPoolExecutor(thread_name_prefix="""a\n'
            'b""")  # pylint: disable=unbounded-executor\n')
    assert codes(tmp_path, body) == []


def test_noqa_inside_a_string_suppresses_nothing(tmp_path):
    # flake8 matches its regex on raw lines, string contents included; a
    # security finding must not vanish because of data.
    body = 'P = futurist.ThreadPoolExecutor(thread_name_prefix="# noqa")\n'
    assert codes(tmp_path, body) == ["NSA101"]


def test_only_the_findings_statement_is_tokenized(tmp_path, monkeypatch):
    filler = "".join(f"def f{n}(x):\n    return x + {n}  # noqa: E501\n"
                     for n in range(200))
    body = filler + "P = futurist.ThreadPoolExecutor()  # noqa: NSA101\n" \
        "Q = futurist.ThreadPoolExecutor()\n"
    read = []
    real = tokenize.generate_tokens

    def recording(readline):
        tokens = list(real(readline))
        read.append(tokens[-1].start[0])
        return iter(tokens)

    monkeypatch.setattr(suppressions.tokenize, "generate_tokens", recording)
    assert codes(tmp_path, body) == ["NSA101"]  # Q's finding only
    # P's line alone (with the end marker's line); Q's holds no comment.
    assert read == [2]


def test_statement_that_cannot_be_tokenized_alone(tmp_path, monkeypatch):
    # If a statement's lines ever fail to tokenize on their own, the whole
    # file is read instead and the comment still counts.
    from nova_secaudit.analysis import ModuleFacts

    monkeypatch.setattr(ModuleFacts, "statement_lines",
                        lambda self, line: (line - 1, line))
    body = 'X = """a\nb"""; P = futurist.ThreadPoolExecutor()  # noqa\n'
    assert codes(tmp_path, body) == []
