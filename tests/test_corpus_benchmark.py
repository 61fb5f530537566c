"""benchmarks/corpus.py: outcomes on real files, damaged copies never crash, a crash is reported."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SPEC = importlib.util.spec_from_file_location(
    "corpus_benchmark", Path(__file__).parent.parent / "benchmarks" / "corpus.py")
corpus = sys.modules[SPEC.name] = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(corpus)


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    for name in ("lvk/avro/MS181101ab-preliminary.avro", "gcn/voevent/pygcn/kill_socket.xml",
                 "snews/snews_cs/test_02_alert_expected.json", "snews/scenarios.json",
                 "coincidence/README.md"):
        shutil.copy(DATA / name, tmp_path / Path(name).name)
    (tmp_path / "empty.json").write_bytes(b"")
    return tmp_path


def test_outcomes_and_damaged_copies(small_corpus, capsys):
    code = corpus.main([str(small_corpus), "--no-tests-data", "--repeat", "1",
                        "--mutations", "12", "--list"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "5 candidate files (1 skipped: documentation 1)" in out
    assert "| parsed | 2 |" in out and "| rejected | 3 |" in out and "crashed: 0" in out
    assert "| GW | 1 | LVK 1 |" in out and "| supernova | 1 | SNEWS 1 |" in out
    assert "GCN packet type N, a control or pointing packet" in out  # pygcn's kill socket
    assert "empty notice" in out
    assert "damaged copies: 60, crashed: 0" in out


def test_a_crash_is_reported_and_fails(small_corpus, capsys, monkeypatch):
    real = corpus.parse_notice

    def buggy(payload, source=None, **kwargs):
        if source and source.endswith(".avro"):
            raise KeyError("bug")
        return real(payload, source=source)

    monkeypatch.setattr(corpus, "parse_notice", buggy)
    assert corpus.main([str(small_corpus), "--no-tests-data", "--repeat", "1"]) == 1
    out = capsys.readouterr().out
    assert "crashed: 1" in out and "MS181101ab-preliminary.avro: KeyError: 'bug'" in out


@pytest.mark.parametrize("encoding", [b"UTA-8", b"shift_jis"])
def test_xml_declaring_an_unreadable_encoding_is_refused(encoding):
    # found by `corpus.py --mutations 40`: voevent-parse's Gaia16aac.xml with its
    # declaration damaged crashed the XML parser with LookupError
    data = (DATA / "gcn/voevent/voevent-parse/Gaia16aac.xml").read_bytes()
    assert b"encoding='UTF-8'" in data[:100]
    damaged = data.replace(b"encoding='UTF-8'", b"encoding='" + encoding + b"'", 1)
    with pytest.raises(corpus.NoticeRejected, match="XML in an encoding that cannot be read"):
        corpus.parse_once(damaged, "Gaia16aac.xml")
