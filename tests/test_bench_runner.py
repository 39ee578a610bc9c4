"""bench/run_all.py: one command runs every benchmark, reports each, survives a failing one."""
from __future__ import annotations

import importlib.util

from helpers_core import PROJECT_ROOT


def load_runner():
    spec = importlib.util.spec_from_file_location("run_all", PROJECT_ROOT / "bench" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_benchmark_script_exists_and_takes_its_arguments():
    runner = load_runner()
    for name, (script, args, quick) in runner.BENCHMARKS.items():
        path = runner.BENCH / script
        assert path.is_file(), name
        text = path.read_text()
        for flag in {a for a in args + quick if a.startswith("--")}:
            assert f'"{flag}"' in text, (name, flag)


def test_runner_reports_each_benchmark_and_fails_when_one_fails(tmp_path, monkeypatch, capsys):
    runner = load_runner()
    (tmp_path / "good.py").write_text("import sys\nprint('ratio 1.5x', sys.argv[1:])\n")
    (tmp_path / "bad.py").write_text("import sys\nsys.exit('no nbgrader here')\n")
    monkeypatch.setattr(runner, "BENCH", tmp_path)
    monkeypatch.setattr(runner, "BENCHMARKS", {"good": ("good.py", ["--n", "4"], ["--quick"]),
                                               "bad": ("bad.py", [], [])})
    out = tmp_path / "report.md"
    assert runner.main(["--out", str(out)]) == 1
    report = out.read_text()
    assert "## good" in report and "ratio 1.5x ['--n', '4']" in report
    assert "## bad" in report and "FAILED with exit status 1" in report
    assert "no nbgrader here" in report and "failed: bad" in report
    assert "cores" in report and "load average before" in report
    assert runner.main(["--quick", "--only", "good"]) == 0
    assert "['--quick']" in capsys.readouterr().out
