"""`changwon-sim explore` refuses bad arguments with one line and exit code 2, before serving."""

from __future__ import annotations

import socket

from sim.cli.main import main


def test_a_port_out_of_range_or_taken_is_refused(capsys):
    assert main(["explore", "--port", "70000", "--no-browser"]) == 2
    assert "must be a port number" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["explore", "--port", str(port), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err


def test_a_bad_baseline_is_refused(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ntarifs: []\n", encoding="utf-8")
    assert main(["explore", "--scenario", str(bad), "--no-browser"]) == 2
    assert "tarifs: unknown key" in capsys.readouterr().err
