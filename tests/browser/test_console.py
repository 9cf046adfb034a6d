"""The issue's acceptance list in a real browser: sign in with a one-time link (and fail
with a used or an expired one), upload a file and watch it become searchable, ask and see
a streamed answer with quotes and citations, mark 👎 and correct it so it shows in the
feedback list, a learner refused an admin page and a passage outside their audiences,
and a form post without the CSRF token rejected."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.domain.conversation import Actor
from bot.domain.grounded import QUOTES_STAND
from bot.domain.jobs import utcnow
from bot.domain.web import digest, new_secret, sign_in_url
from tests.browser.conftest import ADMIN, LEARNER
from tests.conftest import wait_until

BADGES = """# Badges

## Lost badges
Lost badges are replaced at the Orion front desk for a fee of 12 euros.
"""


def test_a_one_time_link_signs_in_once_and_not_when_expired(browser, console, look):
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    link = console.link(LEARNER)
    page.goto(link)
    look(page, "signin")
    page.get_by_role("button", name="Sign in").click()  # opening the link spent nothing
    page.wait_for_url(f"{console.url}/")
    page.get_by_label("Your question").wait_for()
    look(page, "chat")
    cookie = next(c for c in context.cookies() if c["name"] == "learnloop_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    other = browser.new_context(bypass_csp=True)
    again = other.new_page()
    again.goto(link)
    with again.expect_response(f"{console.url}/signin") as posted:
        again.get_by_role("button", name="Sign in").click()
    assert posted.value.status == 403
    assert "used or expired" in again.locator("main").inner_text()
    look(again, "signin-refused")
    token = new_secret()  # a link issued eleven minutes ago
    console.parts.web_records.add_link(digest(token), LEARNER, utcnow() - timedelta(minutes=1))
    again.goto(sign_in_url(console.url, token))
    with again.expect_response(f"{console.url}/signin") as posted:
        again.get_by_role("button", name="Sign in").click()
    assert posted.value.status == 403
    assert again.goto(f"{console.url}/").status == 401  # still no session
    look(again, "signed-out")
    context.close()
    other.close()


def learner(name: str) -> Actor:
    """A learner of the test's own (sign-in links are rate-limited per user)."""
    return Actor("slack", f"U{name.upper()}", "T1")


def test_a_form_post_without_the_csrf_token_is_rejected(signed_in, console):
    page = signed_in(learner("csrf"))
    refused = page.request.post(f"{console.url}/ask", form={"question": "Taxi receipts?"})
    assert refused.status == 403  # the session cookie went along; the token did not
    csrf = page.locator('input[name="csrf"]').first.get_attribute("value")
    accepted = page.request.post(
        f"{console.url}/ask", form={"question": "Taxi receipts?", "csrf": csrf}
    )
    assert accepted.status == 200


def test_a_learner_is_refused_admin_pages_and_passages_outside_their_audiences(
    signed_in, console, look
):
    page = signed_in(learner("refused"))
    assert page.get_by_role("link", name="Material").count() == 0  # not offered either
    response = page.goto(f"{console.url}/material")
    assert response.status == 403
    assert "Only LearnLoop admins" in page.locator("main").inner_text()
    look(page, "admin-refused")
    response = page.goto(f"{console.url}/source/{console.hr_chunk}")
    assert response.status == 403
    assert "90,000" not in page.content()
    look(page, "source-refused")


def test_an_uploaded_file_becomes_searchable(signed_in, console, look, tmp_path):
    page = signed_in(ADMIN)
    page.get_by_role("link", name="Material").click()
    page.get_by_role("heading", name="Material").wait_for()
    look(page, "material")
    badges = tmp_path / "badges.md"
    badges.write_text(BADGES)
    page.get_by_label(re.compile("^File")).set_input_files(str(badges))
    page.get_by_label("Audiences").fill("everyone")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f]{32}$"))
    page.get_by_text("now searchable").wait_for(timeout=120_000)  # the panel polls itself
    assert page.locator(".state").inner_text() == "done"
    look(page, "job")

    hit = wait_until(
        lambda: console.index.searcher.search("lost badge replacement fee", k=3).passages,
        timeout=30,
        what="the uploaded document in search",
    )
    assert hit[0].source == "badges.md"
    page.goto(f"{console.url}/material")
    page.get_by_role("link", name="badges.md", exact=True).click()
    assert "Orion front desk" in page.locator("main").inner_text()
    look(page, "document")
    page.goto(f"{console.url}/actions")
    assert "badges.md for everyone" in page.locator("main").inner_text()
    look(page, "admin-log")
    page.goto(f"{console.url}/jobs")
    look(page, "jobs")


def finished(page):
    """The latest answer once its stream ended, failing on an error shown instead."""
    answer = page.locator(".answer").last
    page.locator(".answer.done, .answer .error").last.wait_for(timeout=330_000)
    assert answer.locator(".error").count() == 0, answer.inner_text()
    return answer


def test_a_streamed_answer_shows_quotes_first_and_citations_to_the_source(signed_in, console, look):
    page = signed_in(learner("asker"))
    page.get_by_label("Your question").fill("When must taxi receipts reach the finance desk?")
    page.get_by_role("button", name="Ask").click()
    answer = page.locator(".answer").last
    # quotes and their citations stream first, before the model has written a word
    quote = answer.locator("blockquote").first
    quote.wait_for(timeout=90_000)
    assert "45 days" in quote.inner_text()
    href = answer.locator('blockquote a[href^="/source/"]').first.get_attribute("href")
    source = page.context.new_page()  # the passage, while the answer goes on streaming
    assert source.goto(f"{console.url}{href}").status == 200
    assert "Zephyr finance desk" in source.locator("main").inner_text()
    look(source, "source")

    finished(page)  # the model's words, checked against the passages
    assert answer.locator('.sources a[href^="/source/"]').count() >= 1
    shown = answer.locator(".text").inner_text()
    assert "45 days" in shown or shown == QUOTES_STAND  # a checked sentence, or the quotes
    assert "45 days" in answer.locator("blockquote").first.inner_text()  # shown once, kept
    look(page, "answer")


def test_a_down_vote_and_a_correction_appear_in_the_feedback_list(signed_in, console, look):
    page = signed_in(learner("rater"))
    question = "How do I book a ski chalet in Norway?"  # not in the material: no model call
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Ask").click()
    answer = finished(page)
    answer.get_by_role("button", name="Not helpful").click()
    answer.get_by_text("marked 👎").wait_for()
    answer.get_by_label("Suggest a correction").fill("Chalets are booked through the Orion desk.")
    answer.get_by_role("button", name="Send correction").click()
    answer.get_by_text("correction was recorded").wait_for()
    look(page, "answer-rated")

    admin = signed_in(ADMIN)

    def listed() -> str:
        admin.goto(f"{console.url}/review")
        text = admin.locator("main").inner_text()
        return text if "Chalets are booked through the Orion desk." in text else ""

    text = wait_until(listed, timeout=60, what="the 👎 and its correction in the feedback list")
    assert f"Marked 👎: {question}" in text and f"Unanswered: {question}" in text
    look(admin, "feedback")
