"""The command line answers user mistakes with one clear line and exit code 2, no traceback."""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from pathlib import Path

import pytest

from calltime.cli import main
from localaws import scratch
from localaws.commands import MODEL_DIR_PREFIX


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--calls", "/nonexistent/calls.csv", "--out", "{tmp}/out"],
     "calltime train: error: [Errno 2] No such file or directory: '/nonexistent/calls.csv'"),
    (["serve", "--model", "{tmp}/not-a-tarball.tar.gz"],
     "calltime serve: error: {tmp}/not-a-tarball.tar.gz is not a model.tar.gz (not a gzip "
     "file)"),
    (["serve", "--model", "{tmp}/not-a-tarball.tar.gz", "--port", "99999"],
     "calltime serve: error: argument --port: '99999': a port is 0 (any free one) to 65535"),
    (["invoke", "--url", "http://127.0.0.1:{closed_port}", "--body", "{{}}"],
     f"calltime invoke: error: [Errno {errno.ECONNREFUSED}] "
     f"{os.strerror(errno.ECONNREFUSED)}"),
    (["local", "run", "--definition", "{tmp}/broken.json"],
     "calltime local: error: {tmp}/broken.json is not JSON (an ASL state machine definition): "
     "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    (["invoke", "--endpoint", "calltime-local-optimal-call-time", "--local-state",
      "{tmp}/nothing-here", "--body", "{{}}"],
     "calltime invoke: error: no local account in {tmp}/nothing-here (run `make pipeline` first)"),
])
def test_user_errors_are_one_line(argv, message, tmp_path, capsys) -> None:
    (tmp_path / "not-a-tarball.tar.gz").write_bytes(b"plain text")
    (tmp_path / "broken.json").write_text("{not json")
    # A port bound by this test and not listening: connections to it are refused, whatever
    # else runs on the machine (no port is assumed free).
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        try:
            code = main([a.format(tmp=tmp_path, closed_port=port) for a in argv])
        except SystemExit as exited:  # argparse refuses a bad argument by exiting, code 2
            code = exited.code
    err = capsys.readouterr().err
    assert code == 2
    assert message.format(tmp=tmp_path) in err
    # A refused command leaves no temporary directory of this process behind.
    mine = [d for d in Path(tempfile.gettempdir()).glob(f"{MODEL_DIR_PREFIX}*")
            if (d / scratch.OWNER_FILE).is_file()
            and (d / scratch.OWNER_FILE).read_text().strip() == str(os.getpid())]
    assert mine == []
    assert "Traceback" not in err


@pytest.mark.parametrize(("argv", "message"), [
    (["generate", "--out", "x", "--contacts", "0"],
     "argument --contacts: '0' must be a number greater than 0"),
    (["local", "pipeline", "--contacts", "-5"],
     "argument --contacts: '-5' must be a number greater than 0"),
    (["local", "pipeline", "--data", "/nonexistent/calls.csv"],
     "argument --data: '/nonexistent/calls.csv': no such file"),
    (["local", "pipeline", "--scenario", "broken"], "argument --scenario: invalid choice"),
    (["local", "endpoint", "--model", "m.tar.gz", "--max-concurrency", "500"],
     "argument --max-concurrency: '500': serverless MaxConcurrency is one of 1..200"),
    (["local", "endpoint", "--model", "m.tar.gz", "--memory-mb", "1000"],
     "argument --memory-mb: '1000': serverless MemorySizeInMB is one of 1024, 2048"),
    (["runs", "list", "--limit", "-1"], "argument --limit: '-1' must be a number greater than 0"),
])
def test_bad_arguments_are_refused_before_anything_runs(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_file_that_is_no_model_is_refused_by_name(tmp_path, capsys) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an artifact")
    assert main(["local", "endpoint", "--model", str(notes), "--port", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"calltime local endpoint: error: --model {notes}: not a model.tar.gz (`calltime "
        "train` writes one)")


def test_a_model_that_does_not_serve_is_refused_with_the_reason(artifacts, tmp_path,
                                                                 capsys) -> None:
    broken = tmp_path / "model.tar.gz"
    broken.write_bytes(artifacts["import_error"])
    assert main(["local", "endpoint", "--model", str(broken), "--port", "0",
                 "--cold-start-delay", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"calltime local endpoint: error: --model {broken}: ")
    assert "did not pass the ping health check" in err and "not_a_module_anywhere" in err


def test_an_aws_command_without_credentials_is_one_line(monkeypatch, capsys) -> None:
    """`calltime unlock --bucket` on a machine with no AWS credentials: say so, no traceback."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code = main(["unlock", "--bucket", "calltime-models", "--region", "us-east-1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == "calltime unlock: error: Unable to locate credentials"


def test_bench_scale_refuses_a_size_that_is_no_row_count(capsys) -> None:
    from benchmarks.scale import main as bench

    with pytest.raises(SystemExit) as exit_info:
        bench(["--sizes", "1M abc"])
    assert exit_info.value.code == 2
    assert "argument --sizes: 'abc' is not a row count" in capsys.readouterr().err
