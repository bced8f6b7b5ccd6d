"""The report page's explorable view (dlexp.report.explore and static/explore.js): its
data, its detail scripts, and in a real browser: sort, filter, brush, a trial's detail."""

import json
import os
import re
import shlex
import time

import pytest
from test_report import _browser

from dlexp import report
from dlexp.report import explore

PLAIN = "20260101-000000-plain-aaaaaa"


def test_detail_names_are_safe_and_distinct():
    ids = ["report_grid/t0007", "report_grid_t0007", "a/../../etc", "x y:z", "", PLAIN]
    names = [explore.detail_name(i) for i in ids]
    assert len(set(names)) == len(ids)
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+\.js", name) and not name.startswith(".")
        assert explore.DETAIL_NAME.match(name)
    assert explore.detail_name("report_grid/t0007").startswith("report_grid_t0007-")


def test_page_data_has_every_searched_key_as_a_column(runs_dir):
    rep = report.build(runs_dir)
    data = explore.page_data(rep)
    json.dumps(data, allow_nan=False)  # plain JSON
    (search,) = data["searches"]
    assert search["name"] == "tinygrid" and search["trials"] == 4 == search["completed"]
    assert search["keys"] == ["model.first_neuron", "train.optimizer"]
    assert search["best"] == "tinygrid/t000" and search["best_score"] == pytest.approx(
        0.92708, 1e-4
    )
    assert {i["key"] for i in search["importances"]} == set(search["keys"])
    for key in search["keys"] + ["val_accuracy", "id", "status"]:
        assert key in data["columns"]
    rows = {r["id"]: r for r in data["rows"]}
    assert len(rows) == len(rep.entries)
    t = rows["tinygrid/t002"]
    assert t["values"]["model.first_neuron"] == "8" and t["values"]["train.optimizer"] == "adam"
    assert t["detail"] == "detail/" + explore.detail_name("tinygrid/t002")
    assert rows["tinygrid/t000"]["best"] and not t["best"]
    assert rows[PLAIN]["epoch"] == 15 and rows[PLAIN]["metrics"]["val_accuracy"] > 0.9


def test_detail_data_and_the_files_beside_the_page(runs_dir, tmp_path):
    rep = report.build(runs_dir)
    page, _ = report.write_html(rep, tmp_path / "out")
    out = page.parent
    for name in ("data.js", "plotly.min.js", "explore.js", "explore.css"):
        assert (out / name).stat().st_size > 1000, name
    assert (out / "data.js").read_text().startswith("window.DLEXP_DATA = {")
    details = sorted((out / "detail").glob("*.js"))
    assert len(details) == len(rep.entries)
    plain = next(e for e in rep.entries if e.id == PLAIN)
    text = (out / "detail" / explore.detail_name(PLAIN)).read_text()
    assert text.startswith("window.dlexpDetail({") and text.endswith("});\n")
    data = json.loads(text[len("window.dlexpDetail(") : -len(");\n")])
    assert data["command"] == f"dlexp train --from {shlex.quote(str(plain.records[0].path))}"
    assert "epochs: 15" in data["config"] and len(data["history"]) == 15
    assert data["pictures"] and all((out / p["src"]).exists() for p in data["pictures"])
    # no still picture is drawn without pictures=True: the page is written at once
    fast, drawn = report.write_html(report.build(runs_dir), tmp_path / "fast", pictures=False)
    assert drawn == 0 and not list((tmp_path / "fast" / "img").glob("*.png"))
    assert "<img" not in fast.read_text()
    # the server draws one trial's pictures when it is opened
    detail = explore.draw_detail(report.build(runs_dir), "tinygrid/t001", tmp_path / "fast")
    assert detail["pictures"] and all(
        (tmp_path / "fast" / p["src"]).exists() for p in detail["pictures"]
    )


def test_the_page_opens_on_the_summary_not_on_tables(runs_dir, tmp_path):
    page, _ = report.write_html(report.build(runs_dir), tmp_path / "out")
    text = page.read_text()
    summary, explore_at = text.index("<section id='summary'>"), text.index("<section id='explore'>")
    assert summary < explore_at < text.index("still pictures")
    assert "<tr class='best'>" not in text  # the tables of old are gone: explore.js draws one
    # every still picture is further down, in a closed <details>, and loaded lazily
    assert text.count("<img ") == text.count("<img loading='lazy'") > 10
    assert text.index("<img ") > explore_at


# --- in a real browser ----------------------------------------------------------------


@pytest.fixture
def browser():
    b, why = _browser()
    if b is None:
        if os.environ.get("DLEXP_REQUIRE_BROWSER"):
            pytest.fail(f"the browser test must run here: {why}")
        pytest.skip(why)
    yield b
    b.quit()


def _ready(browser, page):
    browser.get(page.as_uri())
    for _ in range(200):
        if browser.execute_script("return window.dlexpReady || 0"):
            return
        time.sleep(0.05)
    pytest.fail("explore.js never said it was ready: " + str(browser.get_log("browser")))


def _ids(browser) -> list[str]:
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#table tbody tr')).map(t => t.dataset.id)"
    )


def _column(browser, name) -> list[str]:
    return browser.execute_script(
        "const k = Array.from(document.querySelectorAll('#table th')).findIndex("
        "  th => th.textContent.replace(/ [▲▼]$/, '') === arguments[0]);"
        "return Array.from(document.querySelectorAll('#table tbody tr')).map("
        "  t => t.children[k].textContent)",
        name,
    )


def test_sort_filter_brush_and_open_a_trial(runs_dir, tmp_path, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    rep = report.build(runs_dir)
    page, _ = report.write_html(rep, tmp_path / "out")
    _ready(browser, page)
    assert len(_ids(browser)) == len(rep.entries)
    assert (
        browser.find_element(By.ID, "count").text
        == f"{len(rep.entries)} of {len(rep.entries)} shown"
    )
    # (1) a click on a header sorts by it, a second click the other way
    header = next(
        th
        for th in browser.find_elements(By.CSS_SELECTOR, "#table th")
        if th.text == "val_accuracy"
    )
    header.click()
    values = [float(v) for v in _column(browser, "val_accuracy") if v]
    assert values == sorted(values, reverse=True) and len(values) >= 8  # a metric: best first
    header = next(
        th
        for th in browser.find_elements(By.CSS_SELECTOR, "#table th")
        if "val_accuracy" in th.text
    )
    header.click()
    values = [float(v) for v in _column(browser, "val_accuracy") if v]
    assert values == sorted(values)
    # (2) typing narrows the rows to those matching
    box = browser.find_element(By.ID, "filter")
    box.send_keys("tinygrid")
    time.sleep(0.4)
    assert sorted(_ids(browser)) == [f"tinygrid/t00{i}" for i in range(4)]
    box.clear()
    box.send_keys("sgd")
    time.sleep(0.4)
    assert set(_ids(browser)) == {"tinygrid/t001", "tinygrid/t003"}
    assert browser.find_element(By.ID, "count").text == f"2 of {len(rep.entries)} shown"
    box.clear()
    box.send_keys(" ")
    time.sleep(0.4)
    assert len(_ids(browser)) == len(rep.entries)
    # (3) a mouse drag along the first axis (model.first_neuron: 4 below, 8 on top)
    # selects the trials of 8 alone, and the table follows
    brushes = browser.find_elements(By.CSS_SELECTOR, ".axis-brush rect.background")
    assert len(brushes) == 3  # two searched keys and the objective
    rect = brushes[0]
    h = rect.size["height"]
    assert h > 100
    # from the axis' middle (6) up past its top (8): the brush stops at the end
    drag = ActionChains(browser).move_to_element(rect).click_and_hold()
    drag.move_by_offset(0, -int(h * 0.3)).move_by_offset(0, -int(h * 0.4)).release().perform()
    time.sleep(0.5)
    assert sorted(_ids(browser)) == ["tinygrid/t002", "tinygrid/t003"]
    assert set(_column(browser, "model.first_neuron")) == {"8"}
    # the filter and the brush together
    box.send_keys("adam")
    time.sleep(0.4)
    assert _ids(browser) == ["tinygrid/t002"]
    browser.find_element(By.ID, "clear").click()
    time.sleep(0.4)
    assert len(_ids(browser)) == len(rep.entries)
    # (4) a click on a row opens its detail: curves, config, the command, its pictures
    row = browser.find_element(By.CSS_SELECTOR, "#table tbody tr[data-id='tinygrid/t000']")
    row.click()
    for _ in range(100):
        if browser.find_elements(By.ID, "command"):
            break
        time.sleep(0.05)
    best = next(e for e in rep.entries if e.id == "tinygrid/t000")
    command = browser.find_element(By.ID, "command").text
    assert command == f"dlexp train --from {shlex.quote(str(best.records[0].path))}"
    assert "first_neuron" in browser.find_element(By.ID, "config").text
    assert browser.find_elements(By.CSS_SELECTOR, "#curves .curve .main-svg")  # drawn by Plotly
    time.sleep(0.5)
    pictures = browser.execute_script(
        "return Array.from(document.querySelectorAll('#pictures img')).map("
        "  i => [i.complete, i.naturalWidth, i.alt])"
    )
    assert pictures and all(done and width > 0 for done, width, _ in pictures), pictures
    assert any("learning curves of tinygrid/t000" in alt for *_, alt in pictures)
    errors = [m for m in browser.get_log("browser") if m["level"] == "SEVERE"]
    assert not errors, errors
