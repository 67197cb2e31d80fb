import json

import pytest

from subtitle_vlm.io import write_csv_predictions
from subtitle_vlm.score import cer, levenshtein, score_predictions
from subtitle_vlm.score.score_cli import main as score_main


def test_levenshtein_counts_edits():
    assert levenshtein("你好嗎", "你好嗎") == 0
    assert levenshtein("你好嗎", "你好") == 1
    assert levenshtein("", "abc") == 3
    assert levenshtein("連長到了", "排長到了嗎") == 2


def test_mean_levenshtein_is_per_row_mean_not_corpus_rate():
    gold = {"a": "一二三四五六七八九十", "b": "好"}
    pred = {"a": "一二三四五六七八九十", "b": "壞了"}
    rep = score_predictions(gold, pred)
    assert rep.mean_levenshtein == pytest.approx(1.0)  # (0 + 2) / 2 rows
    assert rep.cer == pytest.approx(2 / 11)
    assert rep.exact_match == pytest.approx(0.5)


def test_missing_id_counts_as_deleting_reference_and_extra_ids_are_reported():
    gold = {"v_1": "今天天氣很好", "v_2": "走吧"}
    pred = {"v_1": "今天天氣很好", "v_9": "多的"}
    rep = score_predictions(gold, pred)
    assert rep.missing == ["v_2"]
    assert rep.extra == ["v_9"]
    assert rep.rows[1].distance == 2
    assert rep.mean_levenshtein == pytest.approx(1.0)


def test_normalisation_profile_changes_score():
    gold = {"a": "你好，世界"}
    pred = {"a": "你好,世界"}
    assert score_predictions(gold, pred, "none").mean_levenshtein == 1
    assert score_predictions(gold, pred, "punct").mean_levenshtein == 0


def test_empty_reference_cer():
    assert cer([""], [""]) == 0.0
    assert cer([""], ["x"]) == 1.0


def test_worst_rows_sorted_by_distance():
    gold = {f"id{i}": "一二三四" for i in range(5)}
    pred = {"id0": "一二三四", "id1": "一", "id2": "一二", "id3": "", "id4": "一二三"}
    worst = score_predictions(gold, pred).worst(3)
    assert [r.id for r in worst] == ["id3", "id1", "id2"]


def test_cli_json_and_markdown(tmp_path, capsys):
    g, p = tmp_path / "gold.csv", tmp_path / "pred.csv"
    write_csv_predictions(g, {"video3_2": "你好，世界", "video3_10": "再見"})
    write_csv_predictions(p, {"video3_2": "你好世界", "video3_10": "再見"})
    assert score_main(["--gold", str(g), "--pred", str(p), "--json", "--out", str(tmp_path / "s.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 2 and out["mean_levenshtein"] == pytest.approx(0.5)
    assert out["worst"][0]["id"] == "video3_2"
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))["cer"] == out["cer"]
    assert score_main(["--gold", str(g), "--pred", str(p)]) == 0
    md = capsys.readouterr().out
    assert "| rows |" in md and "video3_2" in md


def test_gold_from_a_labelled_frame_set(tmp_path, capsys):
    from PIL import Image

    frames = tmp_path / "frames"
    frames.mkdir()
    for name in ("f_1.jpg", "f_2.jpg"):
        Image.new("RGB", (4, 4)).save(frames / name)
    (frames / "metadata.jsonl").write_text(
        '{"file_name": "f_1.jpg", "text": "你好"}\n{"file_name": "f_2.jpg", "text": ""}\n', encoding="utf-8")
    pred = tmp_path / "pred.csv"
    write_csv_predictions(pred, {"f_1": "你", "f_2": ""})
    assert score_main(["--gold", str(frames), "--pred", str(pred), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 2 and out["mean_levenshtein"] == pytest.approx(0.5)


def test_gold_frame_set_without_labels_is_an_error(tmp_path):
    from PIL import Image

    from subtitle_vlm.io import InputError

    Image.new("RGB", (4, 4)).save(tmp_path / "x.jpg")
    pred = tmp_path / "pred.csv"
    write_csv_predictions(pred, {"x": ""})
    with pytest.raises(InputError, match="no 'text' label"):
        score_main(["--gold", str(tmp_path), "--pred", str(pred)])
