"""`pilote radar backtest` and `pilote radar nab`: tables, JSON, and one clear line for a bad file."""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from pilote.cli import app

START = datetime(2015, 2, 26, 21, 42, 53)
SPIKE = 10 * 288 + 100


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["radar", *args], catch_exceptions=False)


def history(points: int = 14 * 288, spike: int | None = SPIKE, step: timedelta = timedelta(minutes=5)) -> list[str]:
    """`timestamp,value` rows in NAB's style, a daily rhythm with Poisson-like noise and one burst."""
    rng = random.Random(4)
    lines = ["timestamp,value"]
    for i in range(points):
        when = START + i * step
        mean = 30 + 20 * math.sin(when.hour / 24 * 2 * math.pi)
        value = max(0, round(rng.gauss(mean, math.sqrt(mean))))
        if spike is not None and spike <= i < spike + 12:
            value += 400
        lines.append(f"{when:%Y-%m-%d %H:%M:%S},{value}")
    return lines


def write(tmp_path: Path, lines: list[str], name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_backtest_prints_the_alert_with_its_timestamp_as_written_score_and_severity(tmp_path: Path) -> None:
    result = invoke("backtest", str(write(tmp_path, history())))
    assert result.exit_code == 0, result.stderr
    spike_at = f"{START + SPIKE * timedelta(minutes=5):%Y-%m-%d %H:%M:%S}"
    assert spike_at in result.stdout
    assert "high" in result.stdout
    assert "1 alert(s) at medium sensitivity" in result.stdout


def test_backtest_json_lists_the_alerts_for_scripts(tmp_path: Path) -> None:
    result = invoke("backtest", str(write(tmp_path, history())), "--sensitivity", "low", "--json")
    assert result.exit_code == 0, result.stderr
    report = orjson.loads(result.stdout)
    assert report["sensitivity"] == "low"
    [alert] = report["alerts"]
    assert set(alert) == {"timestamp", "score", "severity"}
    assert alert["timestamp"] == f"{START + SPIKE * timedelta(minutes=5):%Y-%m-%d %H:%M:%S}"
    assert 0.5 < alert["score"] <= 1.0
    assert alert["severity"] == "high"


def test_backtest_says_so_when_nothing_alerts_and_infers_an_hourly_step(tmp_path: Path) -> None:
    path = write(tmp_path, history(points=30 * 24, spike=None, step=timedelta(hours=1)))
    result = invoke("backtest", str(path))
    assert result.exit_code == 0, result.stderr
    assert "No alert at medium sensitivity." in result.stdout
    assert orjson.loads(invoke("backtest", str(path), "--json").stdout)["alerts"] == []


@pytest.mark.parametrize(
    ("lines", "where", "problem"),
    [
        ([], None, "the file is empty"),
        (["timestamp,value"], None, "no data row"),
        (["time,count", "2015-01-01 00:00:00,1"], "line 1", "is not `timestamp,value`"),
        (["timestamp,value", "2015-01-01 00:00:00,1", "2015-01-01 00:05:00,lots"], "line 3", "bad number 'lots'"),
        (["timestamp,value", "2015-01-01 00:00:00,nan"], "line 2", "not a finite number"),
        (["timestamp,value", "yesterday,1"], "line 2", "bad timestamp 'yesterday'"),
        (["timestamp,value", "2015-01-01 00:05:00,1", "2015-01-01 00:00:00,2"], "line 3", "is not after"),
        (["timestamp,value", "2015-01-01 00:00:00,1", "2015-01-01 00:00:00,2"], "line 3", "is not after"),
        (["timestamp,value", "2015-01-01 00:00:00,1,2"], "line 2", "3 fields instead of 2"),
        (["timestamp,value", "2015-01-01 00:00:00+00:00,1", "2015-01-01 00:05:00,1"], "line 3", "no time zone"),
    ],
)
def test_a_malformed_file_gives_one_clear_line_and_exit_1(
    tmp_path: Path, lines: list[str], where: str | None, problem: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    result = invoke("backtest", str(path), "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert str(path) in message
    assert problem in message
    if where:
        assert f"{where}:" in message
    assert "(" in message  # a hint on what to do


def test_a_missing_file_and_an_unknown_sensitivity_are_refused(tmp_path: Path) -> None:
    missing = invoke("backtest", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1
    assert "cannot be read" in missing.stderr
    bad = invoke("backtest", str(write(tmp_path, history())), "--sensitivity", "extreme")
    assert bad.exit_code == 1
    assert "use one of low, medium, high" in bad.stderr


def nab_folder(tmp_path: Path) -> Path:
    """A tiny NAB-layout folder: one file with one labelled window around a burst, and one published row."""
    folder = tmp_path / "nab"
    (folder / "realTweets").mkdir(parents=True)
    (folder / "labels").mkdir()
    write(folder / "realTweets", history(), name="Twitter_volume_X.csv")
    first, last = (f"{START + i * timedelta(minutes=5):%Y-%m-%d %H:%M:%S}.000000" for i in (SPIKE - 100, SPIKE + 99))
    windows = {"realTweets/Twitter_volume_X.csv": [[first, last]]}
    (folder / "labels" / "windows.json").write_text(json.dumps(windows), encoding="utf-8")
    published = ["Detector,Profile,File,Threshold,Score,TP,TN,FP,FN,Total_Count"]
    published += [
        f"someone,{p},realTweets/Twitter_volume_X.csv,0.5,0.5,1,1,0,1,1" for p in ("standard", "reward_low_FP_rate")
    ]
    (folder / "published_scores_dev.csv").write_text("\n".join(published) + "\n", encoding="utf-8")
    return folder


def test_nab_scores_every_profile_beside_the_published_detectors(tmp_path: Path) -> None:
    result = invoke("nab", "--data", str(nab_folder(tmp_path)), "--json")
    assert result.exit_code == 0, result.stderr
    report = orjson.loads(result.stdout)
    standard = report["profiles"]["standard"]
    assert standard["sensitivity"] == "medium"  # the alert levels the nested evaluation chose for every profile
    assert (standard["windows_detected"], standard["windows"], standard["false_alerts"]) == (1, 1, 0)
    assert standard["median_delay_minutes"] == 500.0  # the burst starts 100 rows of 5 minutes into the window
    assert 50 < standard["score"] < 100
    # A published raw score of 0.5 on one window normalises to 100 · (0.5 + 1) / 2.
    assert report["published"] == {"someone": {"standard": 75.0, "reward_low_FP_rate": 75.0}}
    table = invoke("nab", "--data", str(nab_folder(tmp_path / "again")))
    assert "someone" in table.stdout
    assert "1/1 windows detected" in table.stdout


def test_nab_refuses_a_folder_without_its_layout(tmp_path: Path) -> None:
    result = invoke("nab", "--data", str(tmp_path))
    assert result.exit_code == 1
    assert "not a NAB folder" in result.stderr


def test_nab_refuses_published_scores_it_cannot_read(tmp_path: Path) -> None:
    folder = nab_folder(tmp_path)
    (folder / "published_scores_dev.csv").write_text("Detector,Profile\nsomeone,standard\n", encoding="utf-8")
    result = invoke("nab", "--data", str(folder))
    assert result.exit_code == 1
    assert "not NAB's published scores" in result.stderr
    assert "line 2" in result.stderr
