"""The own-process runner's reading of its child's results (tests/rig/own_process.py)."""

from __future__ import annotations

from pathlib import Path

from tests.rig.own_process import junit_key, read_junit


def test_a_node_id_maps_to_the_classname_and_name_junit_gives_it():
    assert junit_key("tests/a/test_b.py::test_c[x-y/z]") == "tests.a.test_b::test_c[x-y/z]"
    assert junit_key("tests/a/test_b.py::Group::test_c") == "tests.a.test_b.Group::test_c"


def test_a_teardown_error_fails_a_test_that_passed_and_skips_keep_their_reason(tmp_path: Path):
    xml = tmp_path / "junit.xml"
    xml.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.m" name="test_ok" />'
        '<testcase classname="tests.m" name="test_skip"><skipped message="not today" /></testcase>'
        '<testcase classname="tests.m" name="test_fail"><failure message="boom">trace</failure></testcase>'
        '<testcase classname="tests.m" name="test_teardown" />'
        '<testcase classname="tests.m" name="test_teardown"><error message="teardown broke" /></testcase>'
        "</testsuite></testsuites>"
    )
    outcomes = read_junit(xml)
    assert outcomes["tests.m::test_ok"].status == "passed"
    assert (outcomes["tests.m::test_skip"].status, outcomes["tests.m::test_skip"].message) == (
        "skipped",
        "not today",
    )
    assert (
        outcomes["tests.m::test_fail"].status == "failed" and "boom" in outcomes["tests.m::test_fail"].message
    )
    assert outcomes["tests.m::test_teardown"].status == "failed"
