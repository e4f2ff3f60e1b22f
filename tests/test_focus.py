"""Focus overrides: parsing CSV and JSON Lines, errors naming the line, checks against the batch."""

from __future__ import annotations

import pytest

from smartcrop.focus import Focus, by_input, check, csv_line, input_key, pick, read_focus
from smartcrop.options import parse_ratio, parse_size

TARGETS = (parse_ratio("9:16"), parse_ratio("1:1"), parse_size("1080x1350"))


def write(tmp_path, text, name="focus.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_csv_points_boxes_targets_comments_and_header(tmp_path):
    p = write(tmp_path, "input,x,y\n# a comment\n\na.jpg,10,20\nb.jpg,1,2,30,40,9:16\n"
                        '"c, d.jpg",5.5,6\ne.jpg,1,2,1080x1350\n')
    a, b, c, e = read_focus(p)
    assert (a.input, a.point, a.box, a.target) == ("a.jpg", (10, 20), None, None)
    assert (b.box, b.target, b.where) == ((1, 2, 30, 40), "9:16", f"{p}:5")
    assert c.input == "c, d.jpg" and c.point == (5.5, 6)
    assert e.target == "1080x1350" and e.point == (1, 2)


def test_json_lines(tmp_path):
    p = write(tmp_path, '{"input": "a.jpg", "point": [3, 4]}\n'
                        '{"input": "b.jpg", "box": [0, 0, 10, 10], "target": "1:1"}\n', "f.jsonl")
    a, b = read_focus(p)
    assert a.point == (3, 4) and b.box == (0, 0, 10, 10) and b.target == "1:1"


@pytest.mark.parametrize(("text", "message"), [
    ("a.jpg,1\n", ":1: expected input,x,y"),
    ("ok.jpg,1,2\na.jpg,x,2\n", ":2: point must be 2 numbers"),
    ("a.jpg,1,2,0,5\n", ":1: box width and height must be positive"),
    ("a.jpg,-1,2\n", ":1: point ['-1', '2'] is outside the image"),
    ("a.jpg,nan,2\n", ":1: point must be 2 numbers"),
    ('{"input": "a.jpg"}\n', ':1: give "point"'),
    ('{"input": "a.jpg", "point": [1, 2]}\n{"input": "a.jpg", "point": [1]}\n', ":2: point must be 2"),
    ('{"input": "a.jpg", "point": [1, 2], "zoom": 2}\n', ":1: unknown field(s) zoom"),
    ('{"input": "a.jpg", "point": [1, 2]}\nnot json\n', ":2: not JSON"),
    ('{"input": "a.jpg", "point": [true, 2]}\n', ":1: point must be 2 numbers"),
])
def test_malformed_lines_name_the_line(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")) as e:
        read_focus(p)
    assert str(p) in str(e.value)


def test_empty_file_is_no_overrides(tmp_path):
    assert read_focus(write(tmp_path, "# nothing yet\n")) == ()


def test_check_against_the_batch(tmp_path):
    sizes = {input_key("in/a.jpg"): (800, 600), input_key("in/b.jpg"): (300, 500)}

    def size(path):
        return sizes[input_key(path)]

    def run(text):
        check(read_focus(write(tmp_path, text)), ["in/a.jpg", "in/b.jpg"], TARGETS, size)

    run("in/a.jpg,800,600\n./in/b.jpg,0,0,300,500,9x16\n")  # edges and ./ spellings are fine
    with pytest.raises(ValueError, match=r"focus.csv:2: input in/c.jpg is not in this batch"):
        run("in/a.jpg,1,1\nin/c.jpg,1,1\n")
    with pytest.raises(ValueError, match=r":1: point 801,5 is outside in/a.jpg \(800x600\)"):
        run("in/a.jpg,801,5\n")
    with pytest.raises(ValueError, match=r":1: box 0,0,300,501 is outside in/b.jpg \(300x500\)"):
        run("in/b.jpg,0,0,300,501\n")
    with pytest.raises(ValueError, match=r":1: target 16:9 is not one of this run's \(9:16, 1:1, 108"):
        run("in/b.jpg,1,1,16:9\n")
    with pytest.raises(ValueError, match=r":2: in/a.jpg already has an override for 1x1 at .*:1"):
        run("in/a.jpg,1,1,1:1\nin/a.jpg,2,2,1x1\n")


def test_object_storage_inputs_match_by_uri(tmp_path):
    from smartcrop.storage import StoredPath

    uri = "s3://bucket/trips/a.jpg"
    assert input_key(StoredPath(uri)) == input_key(uri) == uri
    check(read_focus(write(tmp_path, f"{uri},1,1\n")), [StoredPath(uri)], TARGETS, lambda p: (10, 10))


def test_unreadable_input_is_left_to_its_error_record(tmp_path):
    def size(path):
        raise ValueError("cannot decode")

    check(read_focus(write(tmp_path, "a.jpg,99999,1\n")), ["a.jpg"], TARGETS, size)


def test_pick_prefers_the_targets_own_line():
    every = Focus("f:1", "a.jpg", point=(1, 2))
    own = Focus("f:2", "a.jpg", point=(3, 4), target="9x16")
    table = by_input([every, own])
    entries = table[input_key("a.jpg")]
    assert pick(entries, TARGETS[0], TARGETS) is own
    assert pick(entries, TARGETS[1], TARGETS) is every
    assert pick([own], TARGETS[1], TARGETS) is None


def test_fingerprint_names_what_is_asked():
    a = Focus("f:1", "a.jpg", point=(1, 2))
    assert a.fingerprint == Focus("g:9", "./a.jpg", point=(1.0, 2.0)).fingerprint
    assert a.fingerprint != Focus("f:1", "a.jpg", point=(1, 3)).fingerprint
    assert a.fingerprint != Focus("f:1", "a.jpg", point=(1, 2), target="1:1").fingerprint
    assert len(a.fingerprint) == 12


def test_csv_line_round_trips(tmp_path):
    line = csv_line('odd, "name".jpg', (10, 20.25, 30, 40), "9:16")
    (f,) = read_focus(write(tmp_path, line + "\n"))
    assert f.input == 'odd, "name".jpg' and f.box == (10, 20.25, 30, 40)
    assert f.target == "9:16"


ODD_NAMES = ["#1.jpg", " 2.jpg", "a,b.jpg", 'q"x.jpg', "n\nl.jpg", "c\rr.jpg", "tail .jpg", "{j}.jpg",
             "input", "ünï cødé ✓.jpg", "sp\u2028ace.jpg", "\ttab.jpg"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_csv_line_round_trips_any_name(tmp_path, name):
    """csv_line writes what read_focus reads back: a name starting with # was read as a comment
    (the line silently ignored), spaces at its ends were stripped, a line break split it."""
    # First in the file and on its line, where #, { (JSON Lines) and "input" (a header) matter.
    lines = [csv_line(name, (5.5, 6)), csv_line(name, (1, 2, 30, 40), "9:16"),
             csv_line(f"in/{name}", (1, 2))]
    p = tmp_path / "focus.csv"
    p.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    a, b, c = read_focus(p)
    assert (a.input, a.point) == (name, (5.5, 6))
    assert (b.input, b.box, b.target) == (name, (1, 2, 30, 40), "9:16")
    assert (c.input, c.point) == (f"in/{name}", (1, 2))
    breaks = sum(name.count(x) for x in ("\n", "\r"))  # lines are numbered where a record starts
    assert [f.where for f in (a, b, c)] == [f"{p}:{n}" for n in (1, 2 + breaks, 3 + 2 * breaks)]
    assert not csv_line("plain name.jpg", (1, 2)).startswith('"')  # quoted only where it must be


def test_quoted_fields_are_kept_verbatim_and_only_unquoted_lines_are_comments(tmp_path):
    p = tmp_path / "focus.csv"
    p.write_bytes('\ufeffinput , x , y\r\n'  # BOM, a header, CRLF, spaces around commas
                  '  # a comment, indented\r\n'
                  ' a.jpg , 1 , 2 \r\n'
                  ' " b.jpg " , 3 ,4\r\n'  # spaces around a quoted field are not part of it
                  '"#c.jpg",5,6\r\n'
                  '"input",7,8\r\n'  # a file named input, not a second header
                  '"multi\r\nline.jpg",9,10\r\n'
                  '\r\n'
                  '#"not",1,2\r\n'.encode("utf-8"))
    rows = read_focus(p)
    assert [(f.input, f.point, f.where.rsplit(":", 1)[1]) for f in rows] == [
        ("a.jpg", (1, 2), "3"), (" b.jpg ", (3, 4), "4"), ("#c.jpg", (5, 6), "5"), ("input", (7, 8), "6"),
        ("multi\r\nline.jpg", (9, 10), "7")]


@pytest.mark.parametrize(("text", "message"), [
    ('a.jpg,1,2\n"b.jpg,1,2\n', ":2: a quoted field is not closed"),
    ('"a"b.jpg,1,2\n', ":1: text after a quoted field"),
])
def test_malformed_quoting_names_the_line(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_focus(write(tmp_path, text))


def test_odd_names_match_their_inputs_and_others_stay_errors(tmp_path):
    """A focus line for #1.jpg matches that input; a line for an input not in the batch is
    still an error, and a comment line still says nothing."""
    names = ["#1.jpg", " 2.jpg", "tail .jpg"]
    text = "# reviewed\n" + "".join(csv_line(n, (1, 1)) + "\n" for n in names)
    entries = read_focus(write(tmp_path, text))
    assert [f.input for f in entries] == names
    check(entries, names, TARGETS, lambda p: (10, 10))
    with pytest.raises(ValueError, match=r"focus.csv:3: input  2.jpg is not in this batch"):
        check(entries, ["#1.jpg", "2.jpg", "tail .jpg"], TARGETS, lambda p: (10, 10))
