"""score on bad input: empty gold, unusable options, ids that never match, texts that break a table."""

from subtitle_vlm.score import score_predictions
from subtitle_vlm.score.score_cli import main as score_main


def _csv(path, text: str):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_gold_without_rows_is_an_error_not_a_perfect_score(tmp_path, capsys):
    from subtitle_vlm.cli import main

    gold = _csv(tmp_path / "g.csv", "id,text\n")
    pred = _csv(tmp_path / "p.csv", "id,text\na,好\n")
    assert main(["score", "--gold", gold, "--pred", pred]) == 2
    cap = capsys.readouterr()
    assert "no rows under the header" in cap.err and "mean" not in cap.out


def test_negative_worst_is_an_error(tmp_path, capsys):
    from subtitle_vlm.cli import main

    gold = _csv(tmp_path / "g.csv", "id,text\na,好\n")
    assert main(["score", "--gold", gold, "--pred", gold, "--worst", "-1"]) == 2
    assert "--worst -1" in capsys.readouterr().err


def test_ids_that_never_match_get_a_hint(tmp_path, capsys):
    gold = _csv(tmp_path / "g.csv", "id,text\nvideo3_1,好\nvideo3_2,走\n")
    pred = _csv(tmp_path / "p.csv", "id,text\nvideo3_1.jpg,好\nvideo3_2.jpg,走\n")
    assert score_main(["--gold", gold, "--pred", pred]) == 0
    err = capsys.readouterr().err
    assert "no predicted id matches a gold id" in err and "without the extension" in err


def test_markdown_rows_stay_one_line_with_newlines_and_pipes():
    rep = score_predictions({"a|1": "第一\n行", "b": "x"}, {"a|1": "第一", "b": "x"})
    md = rep.to_markdown()
    row = next(line for line in md.splitlines() if line.startswith("| a"))
    assert row == "| a\\|1 | 2 | 第一\\n行 | 第一 |"


def test_report_out_blocked_by_a_folder_is_exit_2(tmp_path, capsys):
    from subtitle_vlm.cli import main

    gold = _csv(tmp_path / "g.csv", "id,text\na,好\n")
    (tmp_path / "r.json").mkdir()
    assert main(["score", "--gold", gold, "--pred", gold, "--out", str(tmp_path / "r.json")]) == 2
    assert "a folder of that name is in the way" in capsys.readouterr().err
