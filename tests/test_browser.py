"""The browser helper itself sees what it must: console errors, outside requests, text."""

from pathlib import Path

from browser_page import open_page


def test_open_page_reports_errors_requests_and_text(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><h1>Health</h1><img src='http://127.0.0.1:9/x.png'>"
        "<script>console.error('broken'); undefinedCall()</script></body></html>"
    )
    check = open_page(page)
    assert "Health" in check.text
    assert "broken" in check.console_errors
    assert any(e.startswith("uncaught:") for e in check.console_errors)
    assert check.outside_requests == ["http://127.0.0.1:9/x.png"]
    assert check.screenshot.startswith(b"\x89PNG")


def test_clean_page_has_no_errors(tmp_path: Path) -> None:
    page = tmp_path / "clean.html"
    page.write_text("<html><body><p>ok</p><svg width='10' height='10'></svg></body></html>")
    check = open_page(page)
    assert check.console_errors == []
    assert check.outside_requests == []
