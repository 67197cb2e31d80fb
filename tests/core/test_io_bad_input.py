"""io on bad input: outputs with something in the way, folders given as files, broken CSVs, encodings."""

import pytest

from subtitle_vlm.io import (InputError, atomic_write_text, iter_csv_rows, read_csv_predictions, read_frame_set,
                             read_jsonl, repair_jsonl_tail, save_image_atomic)


def test_a_folder_in_the_way_of_an_output_is_an_input_error(tmp_path):
    (tmp_path / "report.json").mkdir()
    with pytest.raises(InputError, match=r"report\.json: cannot write it \(a folder of that name is in the way\)"):
        atomic_write_text(tmp_path / "report.json", "{}")
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temp file left behind


def test_a_file_in_the_output_path_is_an_input_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match=r"afile/p\.png: cannot write it \(a file in the path is in the way"):
        from PIL import Image

        save_image_atomic(Image.new("RGB", (4, 4)), tmp_path / "afile" / "p.png")


def test_an_output_under_proc_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot write it"):
        atomic_write_text("/proc/subtitle-vlm-test/x.txt", "x")


def test_reading_a_folder_as_a_file_says_so(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        read_jsonl(tmp_path)
    with pytest.raises(InputError, match="is a folder"):
        repair_jsonl_tail(tmp_path)
    with pytest.raises(InputError, match="is a folder"):
        read_csv_predictions(tmp_path)


def test_csv_with_bom_crlf_and_quoted_newline_reads_and_counts_lines(tmp_path):
    p = tmp_path / "g.csv"
    p.write_bytes(b"\xef\xbb\xbf" + 'id,text\r\na,"第一\r\n行"\r\nb,第二\r\nb,重複\r\n'.encode())
    rows = list(iter_csv_rows(p))
    assert [n for n, _ in rows] == [1, 2, 4, 5]  # the quoted newline makes row a span lines 2-3
    assert rows[1][1] == ["a", "第一\r\n行"]
    with pytest.raises(InputError, match=r"g\.csv:5: id 'b' appears twice"):
        read_csv_predictions(p)


def test_csv_unclosed_quote_names_its_line(tmp_path):
    p = tmp_path / "u.csv"
    p.write_text('id,text\na,好\nb,"沒關上\nc,x\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"u\.csv:3: not valid CSV.*never closed"):
        read_csv_predictions(p)


def test_csv_row_with_an_unquoted_comma_is_an_error(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,text\na,你好,世界\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"c\.csv:2: 3 fields.*quote"):
        read_csv_predictions(p)


def test_empty_csv_is_an_error_but_header_only_is_no_rows(tmp_path):
    p = tmp_path / "e.csv"
    p.write_bytes(b"")
    with pytest.raises(InputError, match="empty file"):
        read_csv_predictions(p)
    p.write_text("id,text\n", encoding="utf-8")
    assert read_csv_predictions(p) == {}


def test_non_utf8_csv_names_line_and_byte(tmp_path):
    p = tmp_path / "b.csv"
    p.write_bytes("id,text\na,好\n".encode() + "b,".encode() + "壞".encode("big5") + b"\n")
    with pytest.raises(InputError, match=r"b\.csv:3: not UTF-8 \(byte 0x\w\w at byte 3 of the line\).*iconv"):
        read_csv_predictions(p)


def test_frame_set_record_without_a_file_name_string(tmp_path):
    (tmp_path / "metadata.jsonl").write_text('{"file_name": "a.jpg", "text": ""}\n{"file_name": 3}\n')
    with pytest.raises(InputError, match=r"metadata\.jsonl:2: record has no 'file_name' string"):
        read_frame_set(tmp_path)


def test_the_encoding_hint_names_gbk_for_a_gbk_file_and_big5_for_a_big5_one(tmp_path):
    from subtitle_vlm.io import guess_legacy_encoding

    simplified = "我们的字幕是简体中文，这句话说得很清楚。\n请把文件转换成统一码。\n"
    traditional = "我們的字幕是繁體中文，這句話說得很清楚。\n請把檔案轉換成萬國碼。\n"
    gbk, big5 = simplified.encode("gbk"), traditional.encode("big5")
    assert guess_legacy_encoding(gbk) == "GBK"
    assert guess_legacy_encoding(big5) == "BIG5"
    for name, raw, enc, text in [("g.csv", gbk, "GBK", simplified), ("b.csv", big5, "BIG5", traditional)]:
        p = tmp_path / name
        p.write_bytes(b"id,text\n" + raw)
        with pytest.raises(InputError, match=rf"iconv -f {enc} -t UTF-8") as e:
            read_csv_predictions(p)
        assert "BIG5" not in str(e.value) if enc == "GBK" else "GBK" not in str(e.value)
        assert raw.decode(enc) == text  # following the hint gives the text back, not mojibake


def test_check_output_refuses_an_input_a_wrong_suffix_and_a_file_it_did_not_write(tmp_path):
    from subtitle_vlm.io import check_output, json_object_with

    gold = tmp_path / "g.csv"
    gold.write_text("id,text\n")
    kw = dict(flag="--out", command="score", suffixes=(".json", ".md"), kind="report")
    with pytest.raises(InputError, match=r"--out .*g\.csv is also the --gold input"):
        check_output(gold, inputs=[("--gold", gold)], **kw)
    with pytest.raises(InputError, match=r"is also the --gold input"):  # through another spelling of the path
        check_output(tmp_path / "sub" / ".." / "g.csv", inputs=[("--gold", str(gold))], overwrite=True, **kw)
    with pytest.raises(InputError, match=r"a \.txt name for a report file; name it with \.json, \.md"):
        check_output(tmp_path / "r.txt", **kw)
    other = tmp_path / "r.json"
    other.write_text('{"mine": 1}')
    with pytest.raises(InputError, match="a file is already there that score did not write; pass --overwrite"):
        check_output(other, ours=json_object_with("cer"), **kw)
    assert check_output(other, ours=json_object_with("cer"), overwrite=True, **kw) == other
    other.write_text('{"cer": 0.1}')
    assert check_output(other, ours=json_object_with("cer"), **kw) == other


def test_output_lock_is_exclusive_and_released(tmp_path):
    from subtitle_vlm.io import output_lock

    out = tmp_path / "p.csv"
    with output_lock(out, "predict") as lock:
        assert lock.read_text().split()[0] == str(__import__("os").getpid())
    assert not lock.exists()
