"""A generated WordPress blog served through the REST API (wp/v2) on this machine, for bench/sync.py.

The peer runs in a process of its own, so that the syncing process's time and memory are Pilote's alone; it
listens on 127.0.0.1 only, for at most `LIFETIME` seconds and `MAX_REQUESTS` requests, and stops when its
parent says so or goes away. Every object is rendered to JSON once, when the blog is made: a request only
picks pre-rendered objects and joins them, so the peer costs little next to the client.

It answers what the WordPress connector (`pilote.sources.wordpress`) asks, as WordPress does: published
posts (`orderby=date|modified`, `order`, `after`, `modified_after`), comments by id, newest first (`after`;
with the application password, `status=any&context=edit`: every status and the commenters' e-mail, IP
address and browser; without it, approved comments only), `_embed=author`, `per_page` up to 100, `page`,
the `X-WP-Total` and `X-WP-TotalPages` headers, and HTTP 400 `rest_*_invalid_page_number` past the last
page. Any other parameter or value is refused with HTTP 400, so that a connector that starts asking
something else fails here instead of being measured against answers it did not ask for.

The blog: posts in French and English (the demo's texts, `pilote.simulate.texts`), comments spread over the
300 days before now, each on a recent post, 45 % of them replies to a comment of the same post (the team
answers some), by a crowd of recurring commenters; statuses 88 % approved, 5 % held, 5 % spam, 2 % trash.
The order "grow" adds `growth` comments over the last two days, one new post per 100 of them, and edits three
older posts.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import html
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from random import Random
from resource import RUSAGE_SELF, getrusage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from pilote.simulate.names import MAIL_DOMAINS, ascii_slug, display_name, full_name
from pilote.simulate.texts import Voice, article, blog_title, compose, random_topic

SITE = "https://blog.atelier-lumen.example"  # the links inside the objects (data only: never fetched)
USER, PASSWORD = "bench-editor", "bnch AAAA BBBB CCCC DDDD EEEE"  # an invented application password
LIFETIME = 3600.0  # seconds: the peer stops by itself after this
MAX_REQUESTS = 100_000
PER_PAGE_MAX = 100
TEAM = ((1, "Claire Martin", "claire-m"), (2, "Tom Leroy", "tom"), (3, "Nadia Benali", "nadia-b"))
STATUSES = (("approved", 0.88), ("hold", 0.05), ("spam", 0.05), ("trash", 0.02))
INTENTS = ("question", "praise", "complaint", "thanks", "agree", "suggestion", "chitchat", "same_problem")
SPAM = ("Great post!!! Visit <a href=\"http://{d}\" rel=\"nofollow ugc\">cheap watches</a> best price",
        "Nice article, check <a href=\"http://{d}\" rel=\"nofollow ugc\">this offer</a> for you")  # fmt: skip
PARAMETERS = {
    "posts": {"orderby": ("date", "modified"), "order": ("asc", "desc"), "status": ("publish",),
              "_embed": ("author",), "per_page": None, "page": None, "after": None, "modified_after": None},
    "comments": {"orderby": ("id",), "order": ("desc",), "status": ("any",), "context": ("edit",),
                 "_embed": ("author",), "per_page": None, "page": None, "after": None},
}  # fmt: skip
_FRENCH_SPACES = re.compile(r" ([!?:;»])")


@dataclass(frozen=True, slots=True)
class Shape:
    """What blog to make: comments before and after it grows, and who reads it ("moderator" or "public")."""

    backfill: int
    growth: int = 0
    viewer: str = "moderator"
    seed: int = 1


@dataclass(slots=True)
class Post:
    date: str  # date_gmt, ISO: strings of this form sort as the times they name
    modified: str
    body: bytes


@dataclass(slots=True)
class Blog:
    """The rendered blog, before and after its growth."""

    viewer: str
    posts_before: list[Post]
    posts_after: list[Post]
    comments: list[bytes]  # what the viewer may see, by id
    comment_dates: list[str]
    visible_before: int
    expect: dict[str, dict[str, int]]
    grown: bool = False
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def make_blog(shape: Shape, now: datetime) -> Blog:
    """The blog, every object rendered for `shape.viewer`."""
    rng = Random(shape.seed)
    start, cut, end = now - timedelta(days=300), now - timedelta(days=2), now - timedelta(minutes=1)
    old_posts, new_posts = max(10, shape.backfill // 60), shape.growth // 100
    post_times = [start, *sorted(_between(rng, start, cut - timedelta(days=1)) for _ in range(old_posts - 1))]
    post_times += sorted(_between(rng, cut, end - timedelta(hours=1)) for _ in range(new_posts))
    posts = [_post(rng, 10 + 7 * n, when) for n, when in enumerate(post_times)]
    edited = {id(p): p for p in rng.sample(posts[:old_posts], min(3, old_posts))}
    crowd = [_person(rng) for _ in range(max(50, (shape.backfill + shape.growth) // 6))]
    times = sorted(_between(rng, start + timedelta(hours=1), cut) for _ in range(shape.backfill))
    times += sorted(_between(rng, cut, end) for _ in range(shape.growth))
    public = shape.viewer == "public"
    dates, bodies, before = [], [], 0
    for number, comment in enumerate(_comments(rng, times, posts, post_times, crowd)):  # rendered as made
        if not public or comment["status"] == "approved":
            dates.append(comment["date_gmt"])
            bodies.append(_dump(_comment_view(comment) if public else comment))
            before += number < shape.backfill
    rendered_before = [_rendered_post(p) for p in posts[:old_posts]]
    after = [_edit(rng, p, cut, end) if id(p) in edited else p for p in posts]
    growth = {"new": new_posts + len(bodies) - before, "updated": len(edited)}
    return Blog(
        viewer=shape.viewer,
        posts_before=rendered_before,
        posts_after=[_rendered_post(p) for p in after],
        comments=bodies,
        comment_dates=dates,
        visible_before=before,
        expect={"backfill": {"new": old_posts + before}, "growth": growth},
    )


def _between(rng: Random, first: datetime, last: datetime) -> datetime:
    return first + (last - first) * rng.random()


def _gmt(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def _local(when: datetime) -> str:
    return _gmt(when + timedelta(hours=1))  # the blog's time zone: Paris in winter


def _paragraphs(text: str, language: str) -> str:
    """What WordPress renders of a text: escaped, typographic apostrophes, French spaces, <p> and <br />."""
    body = html.escape(text, quote=False).replace("'", "&#8217;")
    if language == "fr":
        body = _FRENCH_SPACES.sub(r"&nbsp;\1", body)
    return "".join(f"<p>{part.replace(chr(10), '<br />' + chr(10))}</p>\n" for part in body.split("\n\n"))


def _avatar(seed: str) -> dict[str, str]:
    digest = hashlib.md5(seed.encode(), usedforsecurity=False).hexdigest()
    return {size: f"https://secure.gravatar.com/avatar/{digest}?s={size}&d=mm&r=g" for size in ("24", "48", "96")}


def _user(number: int) -> dict[str, Any]:
    _, name, slug = TEAM[number - 1]
    return {"id": number, "name": name, "url": "", "description": "", "link": f"{SITE}/author/{slug}/",
            "slug": slug, "avatar_urls": _avatar(slug),
            "_links": {"self": [{"href": f"{SITE}/wp-json/wp/v2/users/{number}"}],
                       "collection": [{"href": f"{SITE}/wp-json/wp/v2/users"}]}}  # fmt: skip


def _person(rng: Random) -> dict[str, str]:
    language = "fr" if rng.random() < 0.65 else "en"
    first, last = full_name(rng, language)
    email = f"{ascii_slug(f'{first}.{last}', '.')}{rng.randint(1, 99)}@{rng.choice(MAIL_DOMAINS)}"
    url = f"https://{ascii_slug(first + last)}.example" if rng.random() < 0.2 else ""
    return {"name": display_name(rng, first, last), "email": email, "url": url, "language": language}


def _post(rng: Random, number: int, when: datetime) -> dict[str, Any]:
    language, topic = ("fr" if rng.random() < 0.65 else "en"), random_topic(rng)
    title = blog_title(rng, language, topic)
    paragraphs = article(rng, language, topic, rng.randint(3, 6))
    slug = ascii_slug(title, "-")[:60]
    link = f"{SITE}/{when:%Y/%m/%d}/{slug}/"
    author = rng.randint(1, len(TEAM))
    return {"id": number, "date": _local(when), "date_gmt": _gmt(when), "guid": {"rendered": f"{SITE}/?p={number}"},
            "modified": _local(when), "modified_gmt": _gmt(when), "slug": slug, "status": "publish", "type": "post",
            "link": link, "title": {"rendered": _paragraphs(title, language)[3:-5]},
            "content": {"rendered": _paragraphs("\n\n".join(paragraphs), language), "protected": False},
            "excerpt": {"rendered": _paragraphs(paragraphs[0], language), "protected": False},
            "author": author, "featured_media": 0, "comment_status": "open", "ping_status": "closed",
            "sticky": False, "template": "", "format": "standard", "meta": {"footnotes": ""},
            "categories": [rng.randint(2, 9)], "tags": [], "language": language, "link_base": link,
            "_links": {"self": [{"href": f"{SITE}/wp-json/wp/v2/posts/{number}"}],
                       "collection": [{"href": f"{SITE}/wp-json/wp/v2/posts"}],
                       "author": [{"embeddable": True, "href": f"{SITE}/wp-json/wp/v2/users/{author}"}],
                       "replies": [{"embeddable": True, "href": f"{SITE}/wp-json/wp/v2/comments?post={number}"}]},
            "_embedded": {"author": [_user(author)]}}  # fmt: skip


def _edit(rng: Random, post: dict[str, Any], first: datetime, last: datetime) -> dict[str, Any]:
    when = _between(rng, first, last)
    content = post["content"]["rendered"] + "<p><strong>Mise à jour&nbsp;:</strong> les horaires ont changé.</p>\n"
    return {**post, "modified": _local(when), "modified_gmt": _gmt(when),
            "content": {**post["content"], "rendered": content}}  # fmt: skip


def _rendered_post(post: dict[str, Any]) -> Post:
    kept = {k: v for k, v in post.items() if k not in ("language", "link_base")}
    return Post(post["date_gmt"], post["modified_gmt"], _dump(kept))


def _comments(rng: Random, times: list[datetime], posts: list[dict[str, Any]], post_times: list[datetime],
              crowd: list[dict[str, str]]) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Comments in id order: each on one of the latest posts published before it, often a reply."""
    threads: dict[int, list[int]] = {}
    number = 100
    for when in times:
        number += 1 if rng.random() < 0.9 else 2  # ids of comments deleted for good are gaps
        published = bisect.bisect_right(post_times, when)
        post = posts[published - 1 - min(int(rng.expovariate(0.25)), published - 1)]
        earlier = threads.setdefault(post["id"], [])
        parent = rng.choice(earlier[-6:]) if earlier and rng.random() < 0.45 else 0
        who = None if parent and rng.random() < 0.15 else rng.choice(crowd)  # None: one of the team
        yield _comment(rng, number, when, post, parent, who)
        earlier.append(number)


def _comment(rng: Random, number: int, when: datetime, post: dict[str, Any], parent: int,
             who: dict[str, str] | None) -> dict[str, Any]:  # fmt: skip
    status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
    language = post["language"] if rng.random() < 0.85 else ("en" if post["language"] == "fr" else "fr")
    user = rng.randint(1, len(TEAM)) if who is None else 0
    if who is None:
        who = {"name": TEAM[user - 1][1], "email": f"{TEAM[user - 1][2]}@atelier-lumen.example", "url": SITE}
    name, email, url = who["name"], who["email"], who["url"]
    if status == "spam":
        domain = f"deals{rng.randint(1, 500)}.example"
        raw, rendered = SPAM[0].format(d=domain), f"<p>{rng.choice(SPAM).format(d=domain)}</p>\n"
        name, email, url = "Best Offers", f"promo@{domain}", f"http://{domain}"
    else:
        intent = "answer" if user else rng.choice(INTENTS)
        raw = compose(rng, Voice(language, intent, "forum"), random_topic(rng))
        rendered = _paragraphs(raw, language)
    links: dict[str, Any] = {"self": [{"href": f"{SITE}/wp-json/wp/v2/comments/{number}"}],
                             "collection": [{"href": f"{SITE}/wp-json/wp/v2/comments"}],
                             "up": [{"embeddable": True, "post_type": "post",
                                     "href": f"{SITE}/wp-json/wp/v2/posts/{post['id']}"}]}  # fmt: skip
    if user:
        links["author"] = [{"embeddable": True, "href": f"{SITE}/wp-json/wp/v2/users/{user}"}]
    if parent:
        links["in-reply-to"] = [{"embeddable": True, "href": f"{SITE}/wp-json/wp/v2/comments/{parent}"}]
    comment = {"id": number, "post": post["id"], "parent": parent, "author": user, "author_name": name,
               "author_email": email, "author_url": url, "author_ip": f"203.0.113.{number % 250 + 1}",
               "author_user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
               "date": _local(when), "date_gmt": _gmt(when), "content": {"rendered": rendered, "raw": raw},
               "link": f"{post['link_base']}#comment-{number}", "status": status, "type": "comment",
               "author_avatar_urls": _avatar(email), "meta": [], "_links": links}  # fmt: skip
    if user:
        comment["_embedded"] = {"author": [_user(user)]}
    return comment


def _comment_view(comment: dict[str, Any]) -> dict[str, Any]:
    """What the public sees of a comment (context=view): no e-mail, IP address, browser nor raw content."""
    hidden = ("author_email", "author_ip", "author_user_agent")
    return {**{k: v for k, v in comment.items() if k not in hidden},
            "content": {"rendered": comment["content"]["rendered"]}}  # fmt: skip


def _dump(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj).decode().encode()  # a copy of its own size: orjson's buffer keeps 8 kB or more


def _error(code: str, message: str, status: int) -> tuple[int, bytes, dict[str, str]]:
    return status, _dump({"code": code, "message": message, "data": {"status": status}}), {}


def answer(blog: Blog, path: str, query: dict[str, list[str]], authorization: str | None) -> tuple[
    int, bytes, dict[str, str]]:  # fmt: skip
    """Status, body and headers for GET `path?query`, as WordPress would answer them."""
    route = path.removeprefix("/wp-json/wp/v2/")
    if route not in PARAMETERS:
        return _error("rest_no_route", "No route was found matching the URL and request method.", 404)
    args = {name: values[-1] for name, values in query.items()}
    for name, value in args.items():
        allowed = PARAMETERS[route].get(name, ())
        if name not in PARAMETERS[route] or (allowed is not None and value not in allowed):
            return _error("rest_invalid_param", f"Invalid parameter(s): {name} (the bench peer)", 400)
    moderator = authorization == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    if authorization and not moderator:
        return _error("incorrect_password", "The provided password is an invalid application password.", 401)
    if route == "comments" and ("status" in args or "context" in args) and not moderator:
        return _error("rest_forbidden_context", "Sorry, you are not allowed to edit comments.", 401)
    try:
        per_page, page = int(args.get("per_page", "10")), int(args.get("page", "1"))
    except ValueError:
        return _error("rest_invalid_param", "Invalid parameter(s): page, per_page", 400)
    if not (1 <= per_page <= PER_PAGE_MAX and page >= 1):
        return _error("rest_invalid_param", "Invalid parameter(s): page, per_page", 400)
    with blog.lock:
        blog.requests += 1
        grown = blog.grown
    listing = _posts(blog, args, grown) if route == "posts" else _comments_of(blog, args, grown)
    total, pages = len(listing), -(-len(listing) // per_page)
    if page > pages and total:
        return _error(f"rest_{route[:-1]}_invalid_page_number",
                      "The page number requested is larger than the number of pages available.", 400)  # fmt: skip
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages),
               "Link": f'<{SITE}/wp-json/>; rel="https://api.w.org/"'}  # fmt: skip
    return 200, b"[" + b",".join(listing[(page - 1) * per_page : page * per_page]) + b"]", headers


def _posts(blog: Blog, args: dict[str, str], grown: bool) -> list[bytes]:
    posts = blog.posts_after if grown else blog.posts_before
    after, modified_after = _moment(args.get("after")), _moment(args.get("modified_after"))
    kept = [p for p in posts if (not after or p.date > after) and (not modified_after or p.modified > modified_after)]
    key = (lambda p: p.modified) if args.get("orderby") == "modified" else (lambda p: p.date)
    kept.sort(key=key, reverse=args.get("order", "desc") == "desc")
    return [p.body for p in kept]


@dataclass(frozen=True, slots=True)
class _Newest:
    """comments[low:high], newest first, without copying them."""

    comments: list[bytes]
    low: int
    high: int

    def __len__(self) -> int:
        return max(self.high - self.low, 0)

    def __getitem__(self, window: slice) -> list[bytes]:
        first, last = self.high - window.start, max(self.high - window.stop, self.low)
        return self.comments[last:first][::-1] if first > last else []


def _comments_of(blog: Blog, args: dict[str, str], grown: bool) -> _Newest:
    count = len(blog.comments) if grown else blog.visible_before
    after = _moment(args.get("after"))
    return _Newest(blog.comments, bisect.bisect_right(blog.comment_dates, after, 0, count) if after else 0, count)


def _moment(value: str | None) -> str | None:
    """An ISO 8601 time as the peer's sortable UTC form (WordPress reads `Z` and offsets alike)."""
    if not value:
        return None
    return _gmt(datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC))


def _handler(blog: Blog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if blog.requests >= MAX_REQUESTS:
                status, body, headers = _error("bench_over", "the bench peer served enough", 503)
            else:
                status, body, headers = answer(blog, parts.path, parse_qs(parts.query),
                                               self.headers.get("Authorization"))  # fmt: skip
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def serve(conn: Connection, shape: Shape) -> None:
    """The peer process: make the blog, serve it, obey the parent ("grow", "usage", "stop") until it goes."""
    blog = make_blog(shape, datetime.now(UTC))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(blog))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    conn.send({"port": server.server_address[1], "expect": blog.expect})
    deadline = time.monotonic() + LIFETIME
    try:
        while (left := deadline - time.monotonic()) > 0 and conn.poll(left):
            command = conn.recv()
            if command == "stop":
                break
            if command == "grow":
                with blog.lock:
                    blog.grown = True
            conn.send({"cpu": time.process_time(), "max_rss_kb": getrusage(RUSAGE_SELF).ru_maxrss,
                       "requests": blog.requests})  # fmt: skip
    except EOFError:  # the parent went away
        pass
    finally:
        server.shutdown()
        server.server_close()
