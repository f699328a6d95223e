"""Social media: short mentions of the brand with hashtags and @-mentions, replies, and the brand's own posts."""

from __future__ import annotations

from random import Random

from pilote.simulate import texts
from pilote.simulate.clock import daily_times, poisson
from pilote.simulate.community import BRAND
from pilote.simulate.conversation import Scene, ThreadStyle, discuss, draw, mix, truth
from pilote.simulate.records import Draft, Person, Topic, Truth

STYLE = ThreadStyle(first_delay=(0.7, 1.3), reply_delay=(0.8, 1.2), reply_chance=0.22, max_depth=2, style="social")
MENTIONS = 230 / 5000  # mentions a day, per member of the community
PROMOTIONS = 2 / 7  # brand posts a day besides announcing each blog post
MENTION_MIX = mix(
    "chitchat .39 praise .28 criticism .12 question .045 complaint .04 suggestion .06 rude .03 same_problem .035"
)
HASHTAGS = {
    "fr": ("#vélotaf", "#VAE", "#mobilité", "#vélo", "#LumenCity", "#cyclisme"),
    "en": ("#bikecommute", "#ebike", "#cycling", "#bikelife", "#LumenCity", "#commute"),
}
HANDLE = f"@{BRAND.social}"


def generate(scene: Scene, posts: list[Draft]) -> list[Draft]:
    """The mentions of the window with their replies, and the brand's posts."""
    rng, drafts = scene.rng, []
    per_day = MENTIONS * len(scene.community.people)
    for number, at in enumerate(daily_times(rng, scene.window, "social", per_day)):
        author = scene.community.pick(rng, "social", at)
        subject = (draw(rng, MENTION_MIX), texts.random_topic(rng))
        drafts.extend(conversation(scene, mention(scene, f"mention-{number:06d}", at, author, subject)))
    for number, (at, blog_post) in enumerate(_brand_agenda(scene, posts)):
        drafts.extend(conversation(scene, brand_post(scene, f"brand-{number:04d}", at, blog_post)))
    return drafts


def conversation(scene: Scene, root: Draft) -> list[Draft]:
    """A social message and the replies it draws: most get none, famous accounts get many."""
    rng = scene.rng
    count = int(rng.paretovariate(2.5)) - 1 + poisson(rng, root.author.followers / 20_000)
    return [root, *discuss(scene, root, count, STYLE)]


def mention(scene: Scene, external_id: str, at: float, author: Person, subject: tuple[str, Topic]) -> Draft:
    """A member's message naming the brand."""
    intent, topic = subject
    text = texts.compose(scene.rng, texts.Voice(author.language, intent, "social", scene.buzz), topic)
    text = decorate(scene.rng, text, author.language)
    return social_draft(external_id, at, author, text, topic, truth(scene, author, intent))


def decorate(rng: Random, text: str, language: str) -> str:
    """Make a text a mention: the brand's handle or hashtag, and sometimes a hashtag of the community."""
    if HANDLE not in text and "#LumenGate" not in text:
        where = rng.random()
        if where < 0.45:
            text = f"{HANDLE} {text}"
        elif where < 0.75:
            text = f"{text} {HANDLE}"
        else:
            text = f"{text} #VeloLumen"
    if rng.random() < 0.35:
        text = f"{text} {rng.choice(HASHTAGS.get(language, HASHTAGS['en']))}"
    return text


def brand_post(scene: Scene, external_id: str, at: float, blog_post: Draft | None) -> Draft:
    """The brand's own post: an announcement of a blog post, or a promotion."""
    rng = scene.rng
    language = blog_post.truth.language if blog_post else ("fr" if rng.random() < 0.65 else "en")
    topic = blog_post.topic if blog_post else texts.random_topic(rng)
    templates = texts.lexicon(language).cores["announcement"]
    template = templates[0] if blog_post else rng.choice(templates[1:])
    extra = {"title": blog_post.title or "", "url": blog_post.url or ""} if blog_post else {}
    text = texts.fill(rng, texts.lexicon(language), template, topic, extra)
    return social_draft(external_id, at, BRAND, text, topic, truth(scene, BRAND, "announcement", language))


def social_draft(external_id: str, at: float, author: Person, text: str, topic: Topic, fact: Truth) -> Draft:
    """A root message on the social channel: the brand's own post, or someone's mention of it."""
    return Draft(
        source="social",
        external_id=external_id,
        kind="post" if author.role == "brand" else "mention",
        at=at,
        author=author,
        text=text,
        url=f"https://social.example/@{author.social}/{external_id}",
        truth=fact,
        topic=topic,
    )


def _brand_agenda(scene: Scene, posts: list[Draft]) -> list[tuple[float, Draft | None]]:
    """When the brand posts: an hour or two after each blog post, plus a few promotions a week."""
    rng, window = scene.rng, scene.window
    agenda: list[tuple[float, Draft | None]] = [(p.at + rng.uniform(0.5, 2.5), p) for p in posts]
    for day in range(window.days + 1):
        for at in (window.midnight(day) + rng.uniform(8.0, 17.0) for _ in range(poisson(rng, PROMOTIONS))):
            agenda.append((at, None))
    return sorted((entry for entry in agenda if window.contains(entry[0])), key=lambda entry: entry[0])
