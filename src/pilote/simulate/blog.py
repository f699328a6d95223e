"""The brand's blog: three posts a week in French or English, each with a threaded comment section."""

from __future__ import annotations

import html
import math
from collections.abc import Iterator

from pilote.simulate import texts
from pilote.simulate.community import WRITERS
from pilote.simulate.conversation import REPLY_MIX, Scene, ThreadStyle, discuss, truth
from pilote.simulate.names import ascii_slug
from pilote.simulate.records import Draft, Person, Topic

# Blog readers debate: replies run deeper than on the forum or social media.
STYLE = ThreadStyle(first_delay=(10.0, 1.1), reply_delay=(3.0, 1.2), reply_chance=0.45, max_depth=5, decay=0.75)
PUBLISHING_DAYS = (0, 2, 4)  # Monday, Wednesday, Friday
FRENCH = 0.65
COMMENTS = 28 / 5000  # median comments per post, per member of the community


def generate(scene: Scene) -> list[Draft]:
    """Every post of the window with its comments and replies."""
    drafts: list[Draft] = []
    median = max(1.0, COMMENTS * len(scene.community.people))
    for number, at in enumerate(_publication_times(scene)):
        language = "fr" if scene.rng.random() < FRENCH else "en"
        post = write_post(scene, f"post-{number:04d}", at, language, WRITERS[language])
        drafts.append(post)
        comments = int(scene.rng.lognormvariate(math.log(median), 0.6))
        drafts.extend(discuss(scene, post, comments, STYLE, REPLY_MIX["announcement"]))
    return drafts


def write_post(scene: Scene, external_id: str, at: float, language: str, writer: Person) -> Draft:
    """A blog post by the brand's team on a random subject."""
    rng = scene.rng
    topic = texts.random_topic(rng)
    title = texts.blog_title(rng, language, topic)
    paragraphs = texts.article(rng, language, topic, rng.randint(3, 5))
    return post(scene, external_id, at, writer, topic, (title, paragraphs))


def post(scene: Scene, external_id: str, at: float, writer: Person, topic: Topic, body: tuple[str, list[str]]) -> Draft:
    """A blog post from its title and paragraphs."""
    title, paragraphs = body
    return Draft(
        source="blog",
        external_id=external_id,
        kind="post",
        at=at,
        author=writer,
        text="\n\n".join(paragraphs),
        html="".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs),
        title=title,
        url=f"https://demo.example/blog/{external_id.removeprefix('post-')}-{ascii_slug(title, '-')[:60]}",
        truth=truth(scene, writer, "announcement"),
        topic=topic,
    )


def _publication_times(scene: Scene) -> Iterator[float]:
    window, rng = scene.window, scene.rng
    for day in range(window.days + 1):
        morning = window.midnight(day) + 8.0
        if window.weekday(morning) in PUBLISHING_DAYS:
            at = morning + rng.random() * 2.0
            if window.contains(at):
                yield at
