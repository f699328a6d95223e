"""The bad buzz: a battery that falls off mid-ride, a joking reply from the brand, and three days of anger.

A well-followed rider posts a video of her Lumen City 2 losing its battery; the brand answers with a
wink; three other influential accounts pick it up under #LumenGate. Negative mentions and complaints
surge for about five hours, peak, then fade over two to three days; the brand apologises and recalls
the faulty latches after 22 hours. Members and outsiders take part, in French and English.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random

from pilote.simulate import blog, forum, social
from pilote.simulate.clock import PEAK, WEEKDAY_HOURS, Window
from pilote.simulate.community import BRAND, WRITERS
from pilote.simulate.conversation import Scene, brand_answer, draw, mix, respond, truth
from pilote.simulate.episodes import Roots
from pilote.simulate.records import Draft, Episode, Person, Topic, child
from pilote.simulate.texts import FAULTY_PRODUCT

ONSET = (0.78, 17.0)  # share of the window elapsed, hour of the day (UTC)
LENGTH, RAMP, DECAY = 72.0, 5.0, 12.0  # hours: whole episode, rise to the peak, decay time after it
BLUNDER_AFTER, APOLOGY_AFTER = 1.5, 22.0
CROWD = 0.6  # messages of the crowd per member of the community
OUTSIDERS = 0.45  # share of the crowd's messages written by people who never wrote before
ANSWER_RATE = 0.35  # the team is overwhelmed: it answers fewer complaints, later
CROWD_MIX = mix("complaint .38 criticism .27 same_problem .12 question .1 rude .05 praise .08")
WHERE = mix("mention .62 reply .2 forum .12 blog .06")
BATTERY = Topic(FAULTY_PRODUCT, 0)
DESCRIPTION = (
    "A rider's video of a Lumen City 2 battery falling off, then a joking reply from @VeloLumen: negative"
    " mentions and complaints surge under #LumenGate, amplified by four influential accounts, peak within"
    " hours and fade over three days; the brand apologises and recalls the latches after 22 hours"
)


@dataclass(slots=True, frozen=True)
class Amplifier:
    """An influential account that spreads the story: when (hours after the onset), what, how far."""

    after: float
    person: Person
    text: str
    likes: int
    shares: int


def _influencer(key: str, name: str, social_handle: str, language: str, followers: int) -> Person:
    return Person(
        key=f"influencer-{key}",
        name=name,
        handle=social_handle.lower(),
        social=social_handle,
        language=language,
        role="influencer",
        followers=followers,
    )


AMPLIFIERS = (
    Amplifier(
        0.0,
        _influencer("lucie", "Lucie Martel", "LucieEnSelle", "fr", 48_000),
        "La batterie de mon Lumen City 2 s'est décrochée en pleine descente. J'allais doucement, heureusement."
        " @VeloLumen, c'est quoi ce défaut ? 🎥 https://video.example/lucie/batterie-lumen",
        5_400,
        1_250,
    ),
    Amplifier(
        4.0,
        _influencer("jen", "Jennifer Okafor", "gearwire_jen", "en", 120_000),
        "Vélo Lumen's answer to a battery falling off mid-ride: 'remember to click it in' 😬 Owners, check"
        " your City 2 battery latch. #LumenGate https://gearwire.example/lumen-city-2-battery",
        8_900,
        2_300,
    ),
    Amplifier(
        6.0,
        _influencer("mobilites", "Mobilités Douces", "MobilitesDouces", "fr", 35_000),
        "Sécurité des vélos électriques : plusieurs propriétaires de Lumen City 2 signalent des batteries qui"
        " se décrochent. On attend une réaction sérieuse de @VeloLumen. #LumenGate",
        2_100,
        640,
    ),
    Amplifier(
        9.0,
        _influencer("dan", "Dan Whitfield", "cargodad_uk", "en", 22_000),
        "Two riders in our club had the same latch failure on the Lumen City 2 this month. Not a joke,"
        " @VeloLumen. #LumenGate",
        1_500,
        410,
    ),
)
BLUNDER = "@LucieEnSelle Pensez à bien clipser la batterie, ça marche beaucoup mieux 😉"
APOLOGY = {
    "fr": (
        "Batterie du Lumen City 2 : nos excuses et ce que nous faisons",
        [
            "Hier, une cliente a montré la batterie de son Lumen City 2 se détacher en roulant. Notre réponse sur les"
            " réseaux sociaux était déplacée : nous vous présentons nos excuses, à elle et à vous tous.",
            "Nos équipes ont identifié un défaut sur le verrou de batterie de certains Lumen City 2 fabriqués entre"
            " mars et mai. Par précaution, nous rappelons gratuitement tous les vélos concernés.",
            "Vérifiez le numéro de série sous le cadre sur demo.example/rappel : si votre vélo est concerné, un"
            " revendeur remplace le verrou en vingt minutes, sans frais.",
        ],
    ),
    "en": (
        "Lumen City 2 battery: our apology and what we are doing",
        [
            "Yesterday a rider showed the battery of her Lumen City 2 coming off mid-ride. Our reply on social media"
            " was out of place: we apologise to her and to all of you.",
            "Our teams found a fault in the battery latch of some Lumen City 2 bikes built between March and May. As"
            " a precaution we are recalling every affected bike, free of charge.",
            "Check the serial number under the frame at demo.example/recall: if your bike is affected, a dealer will"
            " replace the latch in twenty minutes, at no cost.",
        ],
    ),
}
APOLOGY_POSTS = {
    "fr": "Nous vous devons des excuses : notre réponse d'hier était déplacée. Rappel gratuit des verrous de"
    " batterie du Lumen City 2, tous les détails 👉 {url}",
    "en": "We owe you an apology: our reply yesterday was out of place. Free recall of the Lumen City 2 battery"
    " latch, all the details 👉 {url}",
}


def bad_buzz(scene: Scene, roots: Roots) -> tuple[Episode, list[Draft]]:
    """The episode's ground-truth window and every message of it."""
    window = scene.window
    onset = window.midnight(round(ONSET[0] * window.days)) + ONSET[1]
    end = min(onset + LENGTH, window.hours - 1 / 60)
    buzz = Scene(scene.rng, window, scene.community, "bad_buzz", end, ANSWER_RATE, buzz=True, topic=BATTERY)
    drafts = _spark(buzz, onset) + _statement(buzz, onset + APOLOGY_AFTER)
    drafts += _crowd(buzz, onset, roots, [d for d in drafts if d.source != "forum"])
    return Episode("bad_buzz", "bad_buzz", window.moment(onset), window.moment(end), DESCRIPTION), drafts


def _spark(scene: Scene, onset: float) -> list[Draft]:
    """The influencers' posts and the brand's clumsy reply to the first one."""
    drafts: list[Draft] = []
    for number, amplifier in enumerate(AMPLIFIERS, start=1):
        at, person = onset + amplifier.after, amplifier.person
        if not scene.open(at):
            continue
        post = social.social_draft(
            f"buzz-{number}", at, person, amplifier.text, BATTERY, truth(scene, person, "complaint")
        )
        post.likes, post.shares, post.truth.trigger = amplifier.likes, amplifier.shares, number == 1
        drafts.append(post)
        if number == 1 and scene.open(at + BLUNDER_AFTER):
            blunder = child(
                post, at=at + BLUNDER_AFTER, author=BRAND, text=BLUNDER, truth=truth(scene, BRAND, "answer")
            )
            blunder.likes, blunder.shares, blunder.truth.trigger = 90, 780, True
            post.truth.answered_after = round(BLUNDER_AFTER * 3600)
            drafts.append(blunder)
    return drafts


def _statement(scene: Scene, at: float) -> list[Draft]:
    """The apology: a blog post and a social post in each language."""
    if not scene.open(at + 0.5):
        return []
    drafts: list[Draft] = []
    for language, body in APOLOGY.items():
        statement = blog.post(scene, f"post-statement-{language}", at, WRITERS[language], BATTERY, body)
        text = APOLOGY_POSTS[language].format(url=statement.url)
        fact = truth(scene, BRAND, "announcement", language)
        post = social.social_draft(f"brand-statement-{language}", at + 0.5, BRAND, text, BATTERY, fact)
        post.likes, post.shares = 600, 150
        drafts += [statement, post]
    return drafts


def _crowd(scene: Scene, onset: float, roots: Roots, stage: list[Draft]) -> list[Draft]:
    """Everyone else: mentions, replies to the stage's posts, forum topics and blog comments."""
    rng, drafts = scene.rng, []
    size = round(CROWD * len(scene.community.people))
    outsiders = [scene.community.outsider(rng, n) for n in range(max(1, round(size * OUTSIDERS / 1.4)))]
    forum_threads: list[Draft] = []
    moments = sorted(onset + _offset(rng, scene.window, onset) for _ in range(size))
    for number, at in enumerate(moment for moment in moments if scene.open(moment)):
        author = _voice(scene, at, outsiders)
        message = _join(scene, (number, at, author), roots, stage, forum_threads)
        drafts.append(message)
        answer = brand_answer(scene, message, "social" if message.source == "social" else "forum")
        drafts.extend([answer] if answer is not None else [])
    return drafts


def _join(
    scene: Scene, who: tuple[int, float, Person], roots: Roots, stage: list[Draft], threads: list[Draft]
) -> Draft:
    """One message of the crowd, wherever this person speaks up."""
    rng, (number, at, author) = scene.rng, who
    intent, where = draw(rng, CROWD_MIX), draw(rng, WHERE)
    visible = [d for d in stage if d.at < at and d.source == "social"]
    if where == "reply" and visible:
        target = rng.choices(visible, weights=[d.shares or 1 for d in visible])[0]
        return respond(scene, target, at, author, intent, "social")
    posts = [d for d in stage if d.at < at and d.source == "blog"]
    blog_post = posts[-1] if posts else roots.latest("blog", at)
    if where == "blog" and blog_post is not None:
        return respond(scene, blog_post, at, author, intent)
    if where == "forum":
        if threads and rng.random() < 0.65:
            return respond(scene, rng.choice(threads), at, author, intent)
        threads.append(forum.open_topic(scene, f"topic-{roots.spawn()}", at, author, (intent, BATTERY)))
        return threads[-1]
    return social.mention(scene, f"mention-b{number:05d}", at, author, (intent, BATTERY))


def _voice(scene: Scene, at: float, outsiders: list[Person]) -> Person:
    """Who speaks: someone drawn in from outside (a few of them several times), a regular, or an occasional member."""
    rng = scene.rng
    roll = rng.random()
    if roll < OUTSIDERS:
        return outsiders[int(len(outsiders) * rng.random() ** 2)]
    if roll < OUTSIDERS + (1 - OUTSIDERS) / 2:
        return scene.community.pick(rng, "social", at)
    return scene.community.quiet(rng, at)


def _offset(rng: Random, window: Window, onset: float) -> float:
    """Hours after the onset, drawn from the crisis curve: a quick rise, a peak, a slow decay; fewer at night."""
    while True:
        after = rng.random() * LENGTH
        level = (after / RAMP) ** 2 if after < RAMP else math.exp(-(after - RAMP) / DECAY)
        level *= WEEKDAY_HOURS[int(window.hour_of_day(onset + after))] / PEAK
        if rng.random() < level:
            return after
