"""Results cache, ``--jobs`` parity and the TTY-only progress bar."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from nova_secaudit import cache as cache_module
from nova_secaudit.cache import ResultsCache
from nova_secaudit.rules import ALL_RULES
from nova_secaudit.runner import check_paths
from nova_secaudit.settings import Settings
from support import FIXTURES, run_cli_on_tty

EVERY = Settings(select=tuple(rule.code for rule in ALL_RULES))


@pytest.fixture()
def corpus(tmp_path):
    """Every fixture and rule example as files, three times over (> one
    process-pool chunk), in nested directories."""
    paths = []
    for copy in range(3):
        root = tmp_path / "tree" / f"pkg{copy}"
        root.mkdir(parents=True)
        for fixture in sorted(FIXTURES.glob("*.py")):
            paths.append(root / fixture.name)
            paths[-1].write_bytes(fixture.read_bytes())
        for rule in ALL_RULES:
            for kind in ("bad", "good"):
                for number, example in enumerate(getattr(rule, kind)):
                    paths.append(root / f"{rule.code}_{kind}_{number}.py")
                    paths[-1].write_text(example.source)
    (tmp_path / "tree" / "broken.py").write_text("def f(:\n")
    paths.append(tmp_path / "tree" / "broken.py")
    return [str(p) for p in paths]


def summary(results):
    return [(r.path, r.error, [(f.line, f.col, f.code, f.message)
                               for f in r.findings], r.fingerprints)
            for r in results]


def test_second_run_is_served_from_the_cache(corpus, tmp_path):
    cold = ResultsCache(EVERY, tmp_path / "cache")
    first = summary(check_paths(corpus, EVERY, cache=cold))
    assert cold.misses == len(corpus) and cold.hits == 0
    warm = ResultsCache(EVERY, tmp_path / "cache")
    second = list(check_paths(corpus, EVERY, cache=warm))
    assert warm.hits == len(corpus) and warm.misses == 0
    assert all(result.cached for result in second)
    assert summary(second) == first == summary(check_paths(corpus, EVERY))
    assert any(result.findings for result in second)
    assert any(result.error for result in second)


def test_changed_file_alone_is_checked_again(corpus, tmp_path):
    list(check_paths(corpus, EVERY, cache=ResultsCache(EVERY, tmp_path / "c")))
    changed = corpus[0]
    with open(changed, "a", encoding="utf-8") as stream:
        stream.write("\nimport futurist\nfuturist.ThreadPoolExecutor()\n")
    again = ResultsCache(EVERY, tmp_path / "c")
    results = list(check_paths(corpus, EVERY, cache=again))
    assert (again.misses, again.hits) == (1, len(corpus) - 1)
    assert not results[0].cached
    last_line = len(open(changed, encoding="utf-8").read().splitlines())
    assert "NSA101" in {f.code for f in results[0].findings
                        if f.line == last_line}


def test_configuration_and_tool_are_part_of_the_key(corpus, tmp_path,
                                                    monkeypatch):
    list(check_paths(corpus, EVERY, cache=ResultsCache(EVERY, tmp_path / "c")))
    other = EVERY.replace(max_workers=3)
    assert ResultsCache(other, tmp_path / "c").get(corpus[0], "x") is None
    cached = ResultsCache(other, tmp_path / "c")
    list(check_paths(corpus, other, cache=cached))
    assert cached.hits == 0
    monkeypatch.setattr(cache_module, "_tool_digest", "another-build")
    rebuilt = ResultsCache(EVERY, tmp_path / "c")
    list(check_paths(corpus, EVERY, cache=rebuilt))
    assert rebuilt.hits == 0


def write_signed(cache: ResultsCache, document) -> None:
    """A shard as the tool itself would have written it (valid HMAC)."""
    body = json.dumps(document).encode()
    cache.shard.write_bytes(cache._sign(body) + b"\n" + body)


def test_unsigned_or_malformed_cache_is_a_miss(corpus, tmp_path):
    first = ResultsCache(EVERY, tmp_path / "c")
    expected = summary(check_paths(corpus, EVERY, cache=first))
    first.shard.write_text('{"format": 2, "entries": {"' + corpus[0] +
                           '": ["bad", 1]}')
    unsigned = ResultsCache(EVERY, tmp_path / "c")
    assert summary(check_paths(corpus, EVERY, cache=unsigned)) == expected
    assert unsigned.hits == 0
    mac, body = first.shard.read_bytes().split(b"\n", 1)
    shard = json.loads(body)
    shard["entries"][corpus[1]][1] = [["not", "a", "finding"]]
    shard["entries"][corpus[2]] = [{"a": 1}, 2, None, 4, 5]
    shard["entries"][corpus[3]][2] = "fingerprints"
    write_signed(first, shard)
    again = ResultsCache(EVERY, tmp_path / "c")
    assert summary(check_paths(corpus, EVERY, cache=again)) == expected
    assert again.misses == 3
    assert (tmp_path / "c" / ".gitignore").read_text().endswith("*\n")


def test_jobs_output_identical_to_one_job(corpus):
    one = summary(check_paths(corpus, EVERY, jobs=1))
    assert summary(check_paths(corpus, EVERY, jobs=2, chunk=4)) == one
    assert summary(check_paths(corpus, EVERY, jobs=3, chunk=7)) == one


def cli(cwd, *args, env=None):
    return subprocess.run([sys.executable, "-m", "nova_secaudit.cli",
                           "check", *args], cwd=cwd, capture_output=True,
                          text=True, env=env)


def test_cli_jobs_and_cache_do_not_change_output(corpus, tmp_path):
    tree = tmp_path / "tree"
    baseline = cli(tree, "--jobs", "1", "--no-cache", "--format", "json", ".")
    assert baseline.returncode == 2  # broken.py
    for args in (("--jobs", "2"), ("--jobs", "2"), ("--jobs", "1")):
        run = cli(tree, *args, "--format", "json", ".")
        assert (run.stdout, run.stderr) == (baseline.stdout, baseline.stderr)
    shards = list(cache_module.default_cache_root().glob("results/*.json"))
    assert len(shards) == 1
    assert not list(tmp_path.rglob("*cache*")), "nothing in the tree"


def test_no_cache_writes_nothing(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    assert cli(tmp_path, "--no-cache", ".").returncode == 0
    assert not cache_module.default_cache_root().exists()


@pytest.mark.parametrize("ci", [None, "true"], ids=["tty", "tty-in-ci"])
def test_progress_bar_only_on_an_interactive_terminal(corpus, tmp_path, ci):
    out, tty = run_cli_on_tty(tmp_path / "tree", "check", "--no-cache",
                              "--jobs", "1", ".", ci=ci)
    assert "NSA101" in out
    assert ("file/s" in tty or "files/s" in tty or "it/s" in tty or
            "nova-secaudit:" in tty) is (ci is None), tty
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["TERM"] = "xterm"
    piped = cli(tmp_path / "tree", "--no-cache", ".", env=env)
    assert "nova-secaudit:" not in piped.stderr


def test_fix_proposals_are_cached_with_the_findings(tmp_path):
    pytest.importorskip("libcst")
    seed = tmp_path / "seed.py"
    seed.write_bytes((FIXTURES / "nova_context_seed.py").read_bytes())
    paths = [str(seed)]
    plain = ResultsCache(EVERY, tmp_path / "c")
    list(check_paths(paths, EVERY, cache=plain))
    asked = ResultsCache(EVERY, tmp_path / "c")
    first = list(check_paths(paths, EVERY, cache=asked, fixes=True))
    assert asked.misses == 1  # stored without fixes: computed again
    assert any(first[0].fixes)
    again = ResultsCache(EVERY, tmp_path / "c")
    second = list(check_paths(paths, EVERY, cache=again, fixes=True))
    assert again.hits == 1 and second[0].fixes == first[0].fixes
    assert len(second[0].fixes) == len(second[0].findings)


def test_concurrent_runs_keep_each_others_entries(corpus, tmp_path):
    first, second = corpus[:5], corpus[5:9]
    one = ResultsCache(EVERY, tmp_path / "c")
    two = ResultsCache(EVERY, tmp_path / "c")  # both loaded an empty shard
    list(check_paths(first, EVERY, cache=one))
    list(check_paths(second, EVERY, cache=two))
    both = ResultsCache(EVERY, tmp_path / "c")
    list(check_paths(first + second, EVERY, cache=both))
    assert both.hits == len(first + second)


# -- the checked tree cannot forge or redirect the cache ----------------

FINDING = "import futurist\nfuturist.ThreadPoolExecutor()\n"


def hide_findings(cache: ResultsCache, key: bytes | None = None) -> None:
    """Rewrite the shard so every entry claims "no findings", signed with
    ``key`` (an attacker's guess) or unsigned."""
    body = cache.shard.read_bytes().split(b"\n", 1)[1]
    shard = json.loads(body)
    for entry in shard["entries"].values():
        entry[1:3] = [], []
    body = json.dumps(shard).encode()
    mac = b"0" * 64 if key is None else \
        cache_module.hmac.new(key, body, "sha256").hexdigest().encode()
    cache.shard.write_bytes(mac + b"\n" + body)


@pytest.mark.parametrize("key", [None, b"\0" * 32, b"guessed"])
def test_forged_shard_cannot_hide_findings(tmp_path, monkeypatch, key):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(FINDING)
    assert cli(tmp_path, ".").returncode == 1
    shard, = cache_module.default_cache_root().glob("results/*.json")
    forged = ResultsCache(Settings(), shard.parent)
    assert forged.shard == shard
    hide_findings(forged, key)
    run = cli(tmp_path, ".")
    assert run.returncode == 1 and "a.py:2:1: NSA101" in run.stdout


def test_a_committed_in_tree_cache_is_never_read(tmp_path):
    # What older versions trusted: ./.nova-secaudit-cache/results-*.json.
    (tmp_path / "a.py").write_text(FINDING)
    planted = tmp_path / ".nova-secaudit-cache"
    planted.mkdir()
    (planted / "results-0.json").write_text(json.dumps(
        {"format": 1, "entries": {"./a.py": ["x", [], [], None, None]}}))
    run = cli(tmp_path, ".")
    assert run.returncode == 1 and "a.py:2:1: NSA101" in run.stdout
    assert [p.name for p in planted.iterdir()] == ["results-0.json"]


def test_entry_naming_another_file_is_a_miss(tmp_path):
    secret = tmp_path / "environ"
    secret.write_text("OS_PASSWORD=hunter2\n")
    checked = tmp_path / "a.py"
    checked.write_text(FINDING)
    cache = ResultsCache(EVERY, tmp_path / "c")
    first, = check_paths([str(checked)], EVERY, cache=cache)
    body = json.loads(cache.shard.read_bytes().split(b"\n", 1)[1])
    body["entries"][str(checked)][1][0][0] = str(secret)
    write_signed(cache, body)
    again = ResultsCache(EVERY, tmp_path / "c")
    second, = check_paths([str(checked)], EVERY, cache=again)
    assert again.misses == 1 and not second.cached
    assert {f.path for f in second.findings} == {str(checked)}


def test_reports_read_only_files_the_run_checked(tmp_path):
    from nova_secaudit.engine import Finding
    from nova_secaudit.reporting import Report, render
    from nova_secaudit.runner import FileResult

    secret = tmp_path / "environ"
    secret.write_text("OS_PASSWORD=hunter2\n")
    checked = tmp_path / "a.py"
    checked.write_text(FINDING)
    stray = Finding(str(secret), 1, 0, "NSA101", "forged", "x", 1, 5)
    report = Report([FileResult(str(checked), [stray], fingerprints=["f"],
                                fixes=[None])])
    for fmt in ("sarif", "html", "json", "github"):
        assert "hunter2" not in render(report, fmt), fmt
    assert report.source(str(checked)) == FINDING


def test_symlinked_cache_folder_is_never_followed(tmp_path):
    (tmp_path / "a.py").write_text(FINDING)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / ".nova-secaudit-cache"
    link.symlink_to(elsewhere)
    run = cli(tmp_path, "--cache-dir", str(link), ".")
    assert run.returncode == 1 and "a.py:2:1: NSA101" in run.stdout
    assert run.stderr == (f"nova-secaudit: warning: cache disabled: {link}: "
                          "is a symbolic link\n")
    assert list(elsewhere.iterdir()) == []
    # The default folder too: a link planted there is refused.
    root = cache_module.default_cache_root()
    root.mkdir(parents=True, exist_ok=True)
    (root / "results").symlink_to(elsewhere)
    run = cli(tmp_path, ".")
    assert run.returncode == 1 and "cache disabled" in run.stderr
    assert list(elsewhere.iterdir()) == []


def test_symlinked_shard_is_replaced_not_followed(tmp_path):
    target = tmp_path / "victim"
    target.write_text("keep me\n")
    checked = tmp_path / "a.py"
    checked.write_text(FINDING)
    cache = ResultsCache(EVERY, tmp_path / "c")
    (tmp_path / "c").mkdir()
    cache.shard.symlink_to(target)
    list(check_paths([str(checked)], EVERY, cache=cache))
    assert target.read_text() == "keep me\n"
    assert not cache.shard.is_symlink()


def test_key_is_private_and_a_shared_key_disables_the_cache(tmp_path):
    ResultsCache(EVERY, tmp_path / "c")
    key = cache_module.default_cache_root() / "key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_bytes()) == cache_module.KEY_BYTES
    key.chmod(0o644)
    readable = ResultsCache(EVERY, tmp_path / "c")
    assert readable.problem == (f"cache disabled: key {key}: not a private "
                                "0600 key file of ours")
    (tmp_path / "a.py").write_text(FINDING)
    list(check_paths([str(tmp_path / "a.py")], EVERY, cache=readable))
    assert readable.hits == 0 and not readable.shard.exists()


def test_python_libcst_and_tree_are_part_of_the_key(tmp_path, monkeypatch):
    names = {ResultsCache(EVERY, tmp_path / "c").shard_name}
    monkeypatch.setattr(sys, "version", "3.12.0 (other build)")
    names.add(ResultsCache(EVERY, tmp_path / "c").shard_name)
    monkeypatch.setattr(cache_module, "_libcst_version", lambda: "0.0.1")
    names.add(ResultsCache(EVERY, tmp_path / "c").shard_name)
    monkeypatch.chdir(tmp_path)
    names.add(ResultsCache(EVERY, tmp_path / "c").shard_name)
    assert len(names) == 4


def test_hundred_thousand_deep_signed_entry_is_a_miss(tmp_path):
    checked = tmp_path / "a.py"
    checked.write_text(FINDING)
    cache = ResultsCache(EVERY, tmp_path / "c")
    list(check_paths([str(checked)], EVERY, cache=cache))
    deep = "[" * 100000 + "]" * 100000
    body = b'{"format": 2, "entries": {"x": ' + deep.encode() + b"}}"
    cache.shard.write_bytes(cache._sign(body) + b"\n" + body)
    again = ResultsCache(EVERY, tmp_path / "c")
    result, = check_paths([str(checked)], EVERY, cache=again)
    assert again.misses == 1 and result.findings


def cached_check_peak(root, count: int) -> tuple[int, int]:
    """(peak traced bytes, total file bytes) of a cached check of
    ``count`` 200 kB files."""
    import tracemalloc

    root.mkdir()
    comment = "# " + "x" * 98 + "\n"
    for index in range(count):
        (root / f"m{index}.py").write_text(FINDING + comment * 2000)
    paths = sorted(str(p) for p in root.glob("m*.py"))
    tracemalloc.start()
    try:
        results = list(check_paths(paths, EVERY,
                                   cache=ResultsCache(EVERY, root / "c")))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert all(r.findings and not r.error for r in results)
    return peak, sum(os.path.getsize(p) for p in paths)


def test_memory_is_flat_in_the_number_of_files(tmp_path):
    few, _ = cached_check_peak(tmp_path / "few", 8)
    many, total = cached_check_peak(tmp_path / "many", 32)
    assert total > 6_000_000
    # Holding every file's bytes at once would add 4.8 MB (> few) here.
    assert many < few * 1.3, (few, many, total)
