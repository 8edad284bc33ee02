"""A user in a real browser: headless Chromium (Debian's) against the running api-server.

Log in, see the repo DAG, trigger a run for a date from the trigger dialog, wait for it,
open "Digests" in the navigation (the day's counts, the paused combined DAG), read the
commit table, and follow a commit's permalink to an address that opens the digest at that
commit; and the viewer refuses a request without a login.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.fakes.git_fixture import build_fixture_repo
from tests.live.airflow_stack import AirflowStack

pytestmark = pytest.mark.airflow_live

TZ = "Asia/Shanghai"
DAG_ID = "repo_digest__acme__widgets"
COMBINED_DAG_ID = "repo_digest__all"
DAY = dt.date(2026, 2, 19)
CHROME_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000",
]  # fmt: skip


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory):
    return build_fixture_repo(tmp_path_factory.mktemp("browser_fixture") / "widgets")


@pytest.fixture(scope="module")
def stack(fixture_repo):
    with AirflowStack() as live:
        entry = {"repo": "acme/widgets", "timezone": TZ, "source": "git", "url": str(fixture_repo.path)}
        live.cli("variables", "set", "repo_digest_repos", json.dumps([entry]))
        live.wait_for_dag(DAG_ID)
        yield live


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and chromedriver, "run scripts/install_browser.sh (Debian's chromium and chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in CHROME_ARGS:
        options.add_argument(argument)
    # An explicit driver: Selenium Manager would try to download one.
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.implicitly_wait(15)
    yield driver
    driver.quit()


def log_in(driver, stack: AirflowStack) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{stack.api_url}/")
    WebDriverWait(driver, 30).until(ec.url_contains("/auth/login"))
    driver.find_element(By.NAME, "username").send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(stack.password)
    driver.find_element(By.XPATH, "//button[normalize-space()='Sign in']").click()
    WebDriverWait(driver, 30).until(lambda d: "/auth/login" not in d.current_url)


def test_a_user_triggers_a_day_and_reads_its_digest_in_the_ui(stack, browser, fixture_repo):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    log_in(browser, stack)
    # The repo DAG is in the DAG list.
    browser.get(f"{stack.api_url}/dags")
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.PARTIAL_LINK_TEXT, DAG_ID)))

    # Trigger a run for the day from the DAG's trigger dialog (the UI shows times in UTC).
    browser.get(f"{stack.api_url}/dags/{DAG_ID}")
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Trigger Dag']").click()
    browser.find_element(By.CSS_SELECTOR, "[data-testid='datetime-input']").click()
    for placeholder, value in (("YYYY/MM/DD", DAY.strftime("%Y/%m/%d")), ("HH:mm", "00:00")):
        field = browser.find_element(By.CSS_SELECTOR, f"input[placeholder='{placeholder}']")
        field.click()
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(value, Keys.TAB)
    shown = browser.find_element(By.CSS_SELECTOR, "[data-testid='datetime-input']")
    assert shown.text == DAY.strftime("%b %d, %Y 00:00"), shown.text
    # "Unpause on trigger" stays ticked: a paused DAG's runs do not start.
    browser.find_element(By.XPATH, "//div[@role='dialog']//button[normalize-space()='Trigger']").click()

    def manual_run() -> dict | None:
        return next((r for r in stack.get_runs(DAG_ID) if r["run_type"] == "manual"), None)

    run = stack.poll("the triggered run", 60, manual_run)
    assert run["logical_date"].startswith(DAY.isoformat()) and run["triggered_by"] == "ui", run
    assert stack.wait_for_run(DAG_ID, run["dag_run_id"], timeout=180) == "success"

    # "Digests" in the navigation: the viewer, inside the UI. The day is listed with its
    # commit count; the combined report's DAG is there but paused (as new DAGs are).
    stack.wait_for_dag(COMBINED_DAG_ID)
    expected = fixture_repo.commits_on(DAY, TZ)
    browser.get(f"{stack.api_url}/")
    browser.find_element(By.XPATH, "//*[normalize-space()='Digests']").click()
    WebDriverWait(browser, 30).until(ec.frame_to_be_available_and_switch_to_it((By.TAG_NAME, "iframe")))
    state = browser.find_element(By.ID, "combined-state")
    assert state.get_attribute("data-state") == "paused"
    assert state.text == f"{COMBINED_DAG_ID} is paused: unpause it to build combined reports.", state.text
    day_link = f"section.repo[data-repo='acme/widgets'] a.digest-link[data-day='{DAY.isoformat()}']"
    counts = browser.find_element(By.CSS_SELECTOR, f"{day_link} + span.counts")
    assert counts.get_attribute("data-commits") == str(len(expected)) and expected
    browser.find_element(By.CSS_SELECTOR, day_link).click()
    digest = browser.find_element(By.CSS_SELECTOR, "main#digest")
    assert digest.get_attribute("data-repo") == "acme/widgets" and digest.get_attribute("data-day") == DAY.isoformat()
    rows = digest.find_elements(By.CSS_SELECTOR, "table tbody tr")
    cells = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    assert [c[0] for c in cells] == [
        commit.committer_date.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
        for commit in expected
    ]
    assert [c[1] for c in cells] == [commit.author_name for commit in expected]
    assert [c[2] for c in cells] == [commit.title for commit in expected]  # hostile titles shown as text
    assert browser.find_elements(By.TAG_NAME, "script") == []  # nothing from commits became a script

    # A commit's permalink. The UI's iframe may not navigate the top window (its sandbox has
    # no allow-top-navigation), so the link loads the page itself at the section; the UI then
    # shows the iframe's address in the address bar.
    page = f"/repo-digest/acme/widgets/{DAY.isoformat()}"
    permalink = digest.find_element(By.CSS_SELECTOR, "h4 a.permalink")
    href = urlsplit(permalink.get_attribute("href"))
    anchor = href.fragment
    assert (href.path, href.query) == (page, f"section={anchor}") and anchor, href
    assert permalink.get_attribute("target") in (None, "")
    permalink.click()
    browser.switch_to.default_content()
    shared = f"{stack.api_url}/plugin/digests{page}?section={anchor}#{anchor}"
    WebDriverWait(browser, 30).until(lambda driver: driver.current_url == shared)

    def shows_section(in_frame: bool) -> None:
        """The page was opened afresh and is scrolled so that the section's anchor is in view."""
        if in_frame:
            frame = ec.frame_to_be_available_and_switch_to_it((By.TAG_NAME, "iframe"))
            WebDriverWait(browser, 30).until(frame)
        target = browser.find_element(By.ID, anchor)
        WebDriverWait(browser, 30).until(lambda d: d.execute_script("return location.hash") == f"#{anchor}")
        top = browser.execute_script("return arguments[0].getBoundingClientRect().top", target)
        height = browser.execute_script("return window.innerHeight")
        assert browser.execute_script("return window.scrollY") > 0
        assert 0 <= top < height, (top, height)

    # The address bar's URL, opened afresh: the UI, with the digest at that commit.
    browser.get("about:blank")
    browser.get(shared)
    shows_section(in_frame=True)
    # The link's own address (what "Copy link" gives), opened afresh: the viewer page alone.
    browser.switch_to.default_content()
    browser.get("about:blank")
    browser.get(f"{stack.api_url}{page}?section={anchor}#{anchor}")
    shows_section(in_frame=False)


BACKFILLED = [dt.date(2026, 2, 17), dt.date(2026, 2, 18)]


def calendar_days(browser, year: int) -> dict[dt.date, str]:
    """The Calendar's daily view of ``year`` (it opens on this year): each day with runs, and their states."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element(By.XPATH, "//button[normalize-space()='Daily']").click()
    for _ in range(dt.date.today().year - year):
        # The arrow before the year's heading goes one year back.
        browser.find_element(By.XPATH, f"//*[normalize-space()='{dt.date.today().year}']/preceding::button[1]").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.XPATH, f"//*[normalize-space()='{year}']"))
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid='calendar-cell'][data-has-data='true']")
    )
    cells = browser.find_elements(By.CSS_SELECTOR, "span > [data-testid='calendar-cell']")  # real days, in order
    assert len(cells) == (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days, len(cells)
    return {dt.date(year, 1, 1) + dt.timedelta(days=i): cell.get_attribute("data-states")
            for i, cell in enumerate(cells) if cell.get_attribute("data-has-data") == "true"}  # fmt: skip


def test_the_runs_list_and_the_calendar_show_each_day_on_its_own_date(stack, browser):
    """A backfilled day and a day triggered from the dialog (the previous test), each on its own date."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    stack.unpause(DAG_ID)
    stack.cli("backfill", "create", "--dag-id", DAG_ID, "--from-date", BACKFILLED[0].isoformat(),
              "--to-date", BACKFILLED[-1].isoformat())  # fmt: skip
    stack.wait_for_runs(DAG_ID, 2, timeout=180, run_type="backfill")
    log_in(browser, stack)

    # The Runs list shows run IDs and "Run After", not logical dates: both name the day.
    browser.get(f"{stack.api_url}/dags/{DAG_ID}/runs")
    WebDriverWait(browser, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "table tbody tr")) >= 3)
    rows = {}
    for row in browser.find_elements(By.CSS_SELECTOR, "table tbody tr"):
        cells = [cell.get_attribute("textContent").strip() for cell in row.find_elements(By.TAG_NAME, "td")]
        run_id = next(cell for cell in cells if "__" in cell)
        rows[run_id] = cells[cells.index(run_id) + 1]  # the Run After column follows the ID
    for day in BACKFILLED:
        run_after = rows[f"backfill__{day.isoformat()}T00:00:00+00:00"]
        assert run_after.startswith(day.isoformat()), (day, run_after)
    manual = [run_id for run_id in rows if run_id.startswith("manual__")]
    assert [run_id.split("__")[1] for run_id in manual] == [f"{DAY.isoformat()}_Asia-Shanghai"], rows

    # The Calendar's daily view places each run on its day.
    browser.get(f"{stack.api_url}/dags/{DAG_ID}/calendar")
    days = calendar_days(browser, DAY.year)
    february = {day: state for day, state in days.items() if day.month == 2}
    assert february == {BACKFILLED[0]: "success", BACKFILLED[1]: "success", DAY: "success"}, days


def test_the_trigger_dialogs_default_gives_a_digest_marked_partial(stack, browser):
    """Clicking Trigger without changing anything: the logical date is now, the day not over."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    log_in(browser, stack)
    before = {run["dag_run_id"] for run in stack.get_runs(DAG_ID)}
    browser.get(f"{stack.api_url}/dags/{DAG_ID}")
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Trigger Dag']").click()
    browser.find_element(By.XPATH, "//div[@role='dialog']//button[normalize-space()='Trigger']").click()
    run = stack.poll("the triggered run", 60,
                     lambda: next((r for r in stack.get_runs(DAG_ID) if r["dag_run_id"] not in before), None))  # fmt: skip
    assert stack.wait_for_run(DAG_ID, run["dag_run_id"], timeout=180) == "success"
    today = dt.datetime.fromisoformat(run["logical_date"]).astimezone(ZoneInfo(TZ)).date()
    path = stack.store / "acme" / "widgets" / f"{today:%Y}" / f"{today.isoformat()}"
    data = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["partial_until"] is not None
    assert f"⚠️ 部分日：{today} 尚未结束" in path.with_suffix(".md").read_text(encoding="utf-8")
    # In the Digests page too: the day has its "partial" badge, and the digest says it first.
    browser.get(f"{stack.api_url}/")
    browser.find_element(By.XPATH, "//*[normalize-space()='Digests']").click()
    WebDriverWait(browser, 30).until(ec.frame_to_be_available_and_switch_to_it((By.TAG_NAME, "iframe")))
    day_link = f"section.repo[data-repo='acme/widgets'] a.digest-link[data-day='{today.isoformat()}']"
    browser.find_element(By.XPATH, f"//a[@data-day='{today.isoformat()}']/following-sibling::span[contains(@class, 'partial')]")
    browser.find_element(By.CSS_SELECTOR, day_link).click()
    quote = browser.find_element(By.CSS_SELECTOR, "main#digest blockquote")
    assert quote.text.startswith(f"⚠️ 部分日：{today} 尚未结束"), quote.text


def test_the_viewer_refuses_a_request_without_login(stack, browser):
    url = f"{stack.api_url}/repo-digest/acme/widgets/{DAY.isoformat()}"
    assert requests.get(url, timeout=30, allow_redirects=False).status_code == 401
    page = requests.get(url, timeout=30, allow_redirects=False, headers={"Accept": "text/html"})
    assert page.status_code in (302, 303, 307) and "/auth/login" in page.headers["location"]
    browser.get(url)  # a browser without a session lands on the login page
    assert "/auth/login" in browser.current_url
